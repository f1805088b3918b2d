/* suggest.h - "did you mean ...?" for mistyped keys, flags and commands. */
#ifndef DC_SUGGEST_H
#define DC_SUGGEST_H

#include <stddef.h>

/* Edit distance (insert, delete, substitute, swap two neighbours) of a, b.
 * Words longer than SUGGEST_MAX_WORD count as far from everything. */
#define SUGGEST_MAX_WORD 64
size_t suggest_distance(const char *a, const char *b);

/* Non-zero when candidate is close enough to typo to be worth suggesting:
 * one edit for short words, two for medium, three for long ones. */
int suggest_is_close(const char *typo, const char *candidate);

#endif
