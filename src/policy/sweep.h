/* sweep.h - reconciliation of one guild at a time (sans-I/O).
 *
 * A sweep compares a guild's complete member list with the database and
 * removes rows of users who are no longer members.  This module decides; it
 * owns no socket, no database and no clock.  The owner feeds it inputs and
 * carries out the actions it returns (sweep_next_action), answering MEASURE and
 * DELETE_BATCH synchronously with sweep_on_measured / sweep_on_batch_deleted.
 *
 *   start ─► COLLECTING: REQUEST_MEMBERS (op 8), every chunk's ids ─► ADD_MEMBERS
 *        (GUILD_MEMBER_ADD during the sweep ─► ADD_MEMBERS too: a joiner is a member)
 *   all chunks 0..count-1 of THIS request (nonce) ─► MEASURE (stale count, rows, sample)
 *   guard (stale share > max_delete_share, unless forced) ─► DONE, nothing deleted
 *   dry run ─► DONE, reporting what would go
 *   list shorter than the guild's member count ─► every stale row confirmed
 *        (a 200 keeps that member), or refused when there are too many
 *   CONFIRMING: every sampled id checked over REST; 404/10007 confirms;
 *        a 200 means the list was wrong ─► abort; anything else ─► skip this round
 *   DELETING: DELETE_BATCH(batch_size) every batch_delay until the rows are exhausted
 *
 * Anything incomplete aborts and deletes nothing: a missing chunk (timeout),
 * a RATE_LIMITED answer, a disconnect, a chunk of another shape.
 *
 * The member list can also come from REST (GET /guilds/{id}/members, 1000 per
 * page, ascending ids): always with rest_source, or when op 8 was rate
 * limited or not answered at all and rest_fallback is set.  A failed page
 * aborts the same way. */
#ifndef DC_SWEEP_H
#define DC_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

/* What a sweep_config left at 0 means: the same as the settings' defaults
 * in config_keys.def (test_config checks that they agree). */
#define SW_DEFAULT_BATCH_SIZE 1000
#define SW_DEFAULT_CHUNK_TIMEOUT_MS 15000

typedef struct {
    int batch_size;              /* rows per delete batch; 0 = SW_DEFAULT_BATCH_SIZE */
    int64_t batch_delay_ms;      /* pause between batches (the loop runs meanwhile) */
    double max_delete_share;     /* guard */
    int confirm_sample;          /* ids confirmed over REST before deleting */
    int64_t chunk_timeout_ms;    /* silence allowed before/between chunks; 0 = SW_DEFAULT_CHUNK_TIMEOUT_MS */
    int rest_source;             /* member_source = rest: page REST instead of op 8 */
    int rest_fallback;           /* op 8 rate limited or unanswered: page REST instead */
    char prefix[16];             /* chat command prefix for the guard's text; "" = "!" */
} sweep_config;

/* Most stale rows confirmed one by one when the list is shorter than the
 * guild's member count (more: the sweep refuses, nothing deleted). */
#define SW_CONFIRM_ALL_MAX 64

typedef enum {
    SW_IDLE = 0,
    SW_COLLECTING,
    SW_MEASURING,
    SW_CONFIRMING,
    SW_DELETING,
} sweep_state;

typedef enum {
    SW_ACT_REQUEST_MEMBERS = 1, /* send op 8 for .guild_id with .nonce; the owner opens an empty member set first */
    SW_ACT_ADD_MEMBERS,         /* .ids[.n] are members of .guild_id (ids NULL: the one .user_id);
                                   ids point into the input of the call that queued them */
    SW_ACT_MEASURE,             /* count stale rows; answer with sweep_on_measured() */
    SW_ACT_CONFIRM,             /* GET /guilds/{guild}/members/{.user_id}; answer with sweep_on_confirmed() */
    SW_ACT_DELETE_BATCH,        /* delete up to .n stale rows of the next slice; answer with sweep_on_batch_deleted() */
    SW_ACT_DONE,                /* finished: .ok, .removed, .text = result for logs/status; drop the member set */
    SW_ACT_FETCH_PAGE,          /* GET /guilds/{guild}/members?limit=1000&after=.user_id; answer with
                                   sweep_on_page(); .user_id == 0: open an empty member set first */
} sweep_action_kind;

typedef struct {
    sweep_action_kind kind;
    uint64_t guild_id;
    uint64_t user_id;
    const uint64_t *ids;
    size_t n;
    const char *nonce;
    int ok;                      /* DONE: 1 = completed (incl. guard/dry run reported), 0 = aborted */
    int guard_tripped;           /* DONE: the guard refused */
    int64_t removed;             /* DONE: rows deleted (would be, in a dry run) */
    const char *text;
} sweep_action;

typedef struct sweep sweep;

sweep *sweep_new(const sweep_config *cfg, uint64_t seed);
/* Replay: take each request's nonce from fn (the nonce the recorded session
 * used, so recorded chunks match) instead of generating one.  fn writes at
 * most cap bytes incl. NUL and returns 0, or -1 to fall back. */
typedef int (*sweep_nonce_fn)(void *ctx, uint64_t guild_id, char *out, size_t cap);
void sweep_set_nonce_source(sweep *sw, sweep_nonce_fn fn, void *ctx);
/* New settings (a reload): from the next sweep_start on.  A sweep that
 * runs keeps the guard, batch size and timeouts it started with. */
void sweep_set_config(sweep *sw, const sweep_config *cfg);
void sweep_free(sweep *sw);

/* Begin a sweep of guild_id.  DC_ERR_BUSY while another runs. */
dc_err sweep_start(sweep *sw, uint64_t guild_id, int force, int dry_run, int64_t now_ms);

/* GUILD_MEMBERS_CHUNK.  Chunks of other requests (nonce) are ignored. */
void sweep_on_chunk(sweep *sw, uint64_t guild_id, const char *nonce, int chunk_index, int chunk_count,
                 const uint64_t *ids, size_t n, int64_t now_ms);
void sweep_on_member_add(sweep *sw, uint64_t guild_id, uint64_t user_id);
/* One REST page of members (status: HTTP status, 0 = transport or parse
 * failure).  A page shorter than SW_PAGE_SIZE is the last. */
#define SW_PAGE_SIZE 1000
void sweep_on_page(sweep *sw, uint64_t guild_id, long status, const uint64_t *ids, size_t n, int64_t now_ms);
/* RATE_LIMITED for opcode 8: abort with the retry time in the result. */
void sweep_on_rate_limited(sweep *sw, uint64_t guild_id, double retry_after_s, int64_t now_ms);
/* The gateway connection dropped: a list in flight is incomplete. */
void sweep_on_disconnect(sweep *sw, int64_t now_ms);
/* The list is complete (answer to MEASURE, before sweep_on_measured): listed =
 * distinct ids in the member set (list and joiners), expected = the guild's
 * member count (GUILD_CREATE, kept up to date by GUILD_MEMBER_ADD/REMOVE;
 * <= 0 unknown).  A list shorter than expected is incomplete: no stale row
 * goes unless each one was confirmed gone over REST (at most
 * SW_CONFIRM_ALL_MAX of them; the owner's sample must then hold them all). */
void sweep_on_list_size(sweep *sw, int64_t listed, int64_t expected);
/* Member lookups the REST rate limit allows right now (-1 unknown; before
 * sweep_on_measured).  A list whose size matched the count, with a stale share
 * at most half of max_delete_share, confirms only that many (at least one)
 * of its sample instead of confirm_sample, so it never waits for a window. */
void sweep_set_lookups_free(sweep *sw, long n);
/* 1 when the list reported by sweep_on_list_size is short of the count. */
int sweep_list_short(const sweep *sw);
void sweep_on_measured(sweep *sw, int64_t stale, int64_t total_rows, const uint64_t *sample, size_t n_sample,
                    int64_t now_ms);
/* REST answer for one sampled id: HTTP status and Discord JSON code. */
void sweep_on_confirmed(sweep *sw, uint64_t user_id, long status, int json_code, int64_t now_ms);
/* rows: users deleted by the batch (-1 on a database error); more: 0 once
 * the guild's rows have all been looked at. */
void sweep_on_batch_deleted(sweep *sw, int64_t rows, int more, int64_t now_ms);
/* #17, with a grace period: the DELETE_BATCH step was answered by marking
 * the guild's stale rows pending instead (`marked` newly, the rest were
 * pending already); the sweep finishes ok having removed nothing, its text
 * says so.  marked < 0: the database failed, as sweep_on_batch_deleted(-1). */
void sweep_on_marked_pending(sweep *sw, int64_t marked, double grace_hours, int64_t now_ms);
/* Abort whatever runs (shutdown, operator). */
void sweep_abort(sweep *sw, const char *why, int64_t now_ms);

void sweep_tick(sweep *sw, int64_t now_ms);
int64_t sweep_next_deadline(const sweep *sw);
int sweep_next_action(sweep *sw, sweep_action *out);

/* 1 when a finished sweep's text (SW_ACT_DONE .text, as stored) keeps the
 * guild out of automatic sweeps until its next interval: the guard refused,
 * or the list was incomplete.  A command (forced or not) still runs it. */
int sweep_result_holds(const char *result);

sweep_state sweep_get_state(const sweep *sw);
uint64_t sweep_guild(const sweep *sw);
/* Progress for status lines: chunks seen/expected, members collected, rows removed so far. */
void sweep_progress(const sweep *sw, int *chunks_seen, int *chunk_count, int64_t *members, int64_t *removed,
                 int64_t *stale);

#endif
