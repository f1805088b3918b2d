/* commands_progress.c - the text of a reply that is edited while a
 * commanded sweep waits and runs (sans-I/O: state in, text out).
 *
 * Both reply paths use it: the prefix commands' reply (posted, then edited
 * with PATCH /channels/{c}/messages/{m}) and the slash commands' deferred
 * answer (edited with PATCH .../messages/@original).  The daemon decides
 * when to send (reply_handle.c: at most one edit every 2 s); this file
 * only says what. */
#include "policy/commands.h"

#include <inttypes.h>
#include <stdio.h>

/* "member list chunk 2 of 5, 1500 members listed" or the wait for the first. */
static void put_list(const commands_progress *p, char *buf, size_t cap)
{
    if (p->chunk_count > 0)
        snprintf(buf, cap, "member list chunk %d of %d, %" PRId64 " members listed", p->chunks_seen, p->chunk_count,
                 p->members);
    else if (p->members > 0)
        snprintf(buf, cap, "%" PRId64 " members listed so far", p->members);
    else
        snprintf(buf, cap, "asking Discord for the member list");
}

void commands_format_sweep_progress(const commands_progress *p, int dry_run, char *buf, size_t cap)
{
    const char *what = dry_run ? "Dry run of this server's sweep" : "Sweep of this server";
    const char *gone = dry_run ? "counted" : "removed";
    char wait[256], list[128];
    if (p->queued) {
        commands_format_wait(p->why, p->wait_ms, wait, sizeof wait);
        snprintf(buf, cap, "%s queued. %s", what, wait);
        return;
    }
    put_list(p, list, sizeof list);
    if (p->stale > 0)
        snprintf(buf, cap, "%s running: %s, %" PRId64 " of %" PRId64 " stale row(s) %s so far.", what, list,
                 p->removed, p->stale, gone);
    else
        snprintf(buf, cap, "%s running: %s, %" PRId64 " row(s) %s so far.", what, list, p->removed, gone);
}
