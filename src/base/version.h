/* version.h - the release of discord-cleaner (semantic versioning). */
#ifndef DC_VERSION_H
#define DC_VERSION_H

#define DC_VERSION "0.1.0"

#endif
