/* loop_internal.h - what loop.c's live ops take from loop_watch.c
 * (internal to src/loop/). */
#ifndef DC_LOOP_INTERNAL_H
#define DC_LOOP_INTERNAL_H

#include "loop/loop.h"

int loop_live_watch(dc_loop *l, dc_watch *w, int fd, int want_write);
void loop_live_unwatch(dc_loop *l, dc_watch *w);

#endif
