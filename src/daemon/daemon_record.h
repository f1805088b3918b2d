/* daemon_record.h - `run --record FILE [--record-decoded]`: the daemon side
 * of recording (record.c writes the file).  One daemon per process, so the
 * recorders are this file's own state.  Every shard of the process is
 * recorded: to FILE when the process runs one shard, else to FILE.shardN
 * per shard N (replay runs one shard, so each file replays on its own). */
#ifndef DC_DAEMON_RECORD_H
#define DC_DAEMON_RECORD_H

#include "gateway/transport_lws.h"

typedef struct dc_daemon dc_daemon;
typedef struct shard shard;

/* The run subcommand's own flags; 0, or 64 (message on stderr) on misuse. */
int daemon_record_args(int argc, char **argv);
/* Called for each shard as its connection is created: hooks the recorder
 * into h when this shard is recorded.  A file that cannot be created is
 * logged and the daemon runs on without recording. */
void daemon_record_attach(dc_daemon *d, shard *s, transport_handlers *h);
void daemon_record_stop(void);

#endif
