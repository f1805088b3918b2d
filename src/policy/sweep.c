/* sweep.c - see sweep.h for the flow. */
#include "policy/sweep.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/vec.h"

#define SW_MAX_CHUNKS 65536           /* 65.5M members at 1000 per chunk */

struct sweep {
    sweep_config cfg;                 /* the running sweep's */
    sweep_config next_cfg;            /* sweep_set_config's, taken at sweep_start */
    uint64_t rng;
    sweep_state state;
    uint64_t guild;
    int force, dry_run;
    char nonce[33];
    unsigned nonce_counter;
    int64_t started_ms, deadline_ms;
    /* collection */
    uint8_t *seen;                    /* one byte per chunk index */
    int chunk_count, chunks_seen;
    int64_t members;
    /* confirmation */
    uint64_t *pending;                /* sampled ids still unconfirmed */
    size_t n_pending;
    /* deletion */
    int64_t stale, total_rows, removed;
    /* outgoing actions (FIFO) */
    sweep_action *q;
    size_t q_head, q_len, q_cap;
    char result[400];
    sweep_nonce_fn nonce_fn;
    void *nonce_ctx;
    int via_rest;                     /* collecting from REST pages */
    int64_t listed, expected;         /* sweep_on_list_size; expected <= 0 unknown */
    int confirm_all;                  /* short list: every stale row confirmed */
    int64_t kept;                     /* confirm_all: stale rows that were members after all */
    long lookups_free;                /* sweep_set_lookups_free; -1 unknown */
};

void sweep_set_nonce_source(sweep *sw, sweep_nonce_fn fn, void *ctx)
{
    sw->nonce_fn = fn;
    sw->nonce_ctx = ctx;
}

static uint64_t next_rand(sweep *sw)
{
    uint64_t z = (sw->rng += 0x9e3779b97f4a7c15ULL);   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static sweep_config with_defaults(const sweep_config *cfg)
{
    sweep_config c = *cfg;
    if (c.chunk_timeout_ms <= 0)
        c.chunk_timeout_ms = SW_DEFAULT_CHUNK_TIMEOUT_MS;
    if (c.batch_size <= 0)
        c.batch_size = SW_DEFAULT_BATCH_SIZE;
    return c;
}

sweep *sweep_new(const sweep_config *cfg, uint64_t seed)
{
    sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->cfg = sw->next_cfg = with_defaults(cfg);
    sw->rng = seed;
    sw->deadline_ms = INT64_MAX;
    return sw;
}

void sweep_set_config(sweep *sw, const sweep_config *cfg)
{
    sw->next_cfg = with_defaults(cfg);
    if (sw->state == SW_IDLE)
        sw->cfg = sw->next_cfg;
}

void sweep_free(sweep *sw)
{
    if (!sw)
        return;
    free(sw->seen);
    free(sw->pending);
    free(sw->q);
    free(sw);
}

static void push(sweep *sw, sweep_action a)
{
    if (sw->q_head + sw->q_len == sw->q_cap) {
        if (sw->q_head > 0) {                 /* compact before growing */
            memmove(sw->q, sw->q + sw->q_head, sw->q_len * sizeof *sw->q);
            sw->q_head = 0;
        }
        if (VEC_GROW(sw->q, sw->q_cap, sw->q_len + 1, 16) != 0) {
            LOG_E("sweep", "out of memory queueing an action");
            return;
        }
    }
    a.guild_id = sw->guild;
    sw->q[sw->q_head + sw->q_len++] = a;
}

int sweep_next_action(sweep *sw, sweep_action *out)
{
    if (!sw->q_len)
        return 0;
    *out = sw->q[sw->q_head++];
    sw->q_len--;
    if (!sw->q_len)
        sw->q_head = 0;
    return 1;
}

static void reset(sweep *sw)
{
    free(sw->seen);
    sw->seen = NULL;
    free(sw->pending);
    sw->pending = NULL;
    sw->n_pending = 0;
    sw->chunk_count = sw->chunks_seen = 0;
    sw->via_rest = 0;
    sw->listed = sw->expected = sw->kept = 0;
    sw->confirm_all = 0;
    sw->lookups_free = -1;
    sw->members = sw->stale = sw->total_rows = sw->removed = 0;
    sw->deadline_ms = INT64_MAX;
    sw->state = SW_IDLE;
}

/* Finish: DONE carries the result text (valid until the next sweep_start). */
static void finish(sweep *sw, int ok, int guard, int64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void finish(sweep *sw, int ok, int guard, int64_t now_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sw->result, sizeof sw->result, fmt, ap);
    va_end(ap);
    log_fields f = LOG_FIELDS_INIT;
    f.guild = sw->guild;
    f.reason = "sweep";
    f.rows = sw->removed;
    f.duration_ms = now_ms - sw->started_ms;
    log_msgf(ok && !guard ? DCL_INFO : DCL_WARN, "sweep", &f, "guild %" PRIu64 ": %s (%lld ms)", sw->guild,
             sw->result, (long long)(now_ms - sw->started_ms));
    push(sw, (sweep_action){ .kind = SW_ACT_DONE, .ok = ok, .guard_tripped = guard,
                          .removed = sw->removed, .text = sw->result });
    reset(sw);
}

/* Collect the list from REST pages, from the first page. */
static void start_rest(sweep *sw, int64_t now_ms, const char *why)
{
    sw->via_rest = 1;
    sw->members = 0;
    sw->state = SW_COLLECTING;
    sw->deadline_ms = now_ms + 4 * sw->cfg.chunk_timeout_ms;   /* the REST client times out first */
    LOG_I("sweep", "guild %" PRIu64 ": reading the member list over REST (%s)", sw->guild, why);
    push(sw, (sweep_action){ .kind = SW_ACT_FETCH_PAGE, .user_id = 0 });
}

dc_err sweep_start(sweep *sw, uint64_t guild_id, int force, int dry_run, int64_t now_ms)
{
    if (sw->state != SW_IDLE)
        return DC_ERR_BUSY;
    reset(sw);
    sw->cfg = sw->next_cfg;          /* sweep_set_config: from this sweep on */
    sw->guild = guild_id;
    sw->force = force;
    sw->dry_run = dry_run;
    sw->started_ms = now_ms;
    /* The nonce ties chunks to this request; a late chunk of an aborted
     * earlier request must never complete this one. */
    if (!sw->nonce_fn || sw->nonce_fn(sw->nonce_ctx, guild_id, sw->nonce, sizeof sw->nonce) != 0)
        snprintf(sw->nonce, sizeof sw->nonce, "sw%08x%08x", ++sw->nonce_counter,
                 (unsigned)(next_rand(sw) & 0xffffffffu));
    sw->result[0] = '\0';
    if (sw->cfg.rest_source) {
        start_rest(sw, now_ms, "member_source = rest");
        return DC_OK;
    }
    sw->state = SW_COLLECTING;
    sw->deadline_ms = now_ms + sw->cfg.chunk_timeout_ms;
    LOG_I("sweep", "guild %" PRIu64 ": requesting the full member list%s%s", guild_id,
          dry_run ? " (dry run)" : "", force ? " (forced)" : "");
    push(sw, (sweep_action){ .kind = SW_ACT_REQUEST_MEMBERS, .nonce = sw->nonce });
    return DC_OK;
}

static int chunk_shape_ok(sweep *sw, int idx, int count)
{
    if (count <= 0 || count > SW_MAX_CHUNKS || idx < 0 || idx >= count)
        return 0;
    return sw->chunk_count == 0 || sw->chunk_count == count;
}

void sweep_on_chunk(sweep *sw, uint64_t guild_id, const char *nonce, int chunk_index, int chunk_count,
                 const uint64_t *ids, size_t n, int64_t now_ms)
{
    if (sw->state != SW_COLLECTING || sw->via_rest || guild_id != sw->guild || !nonce ||
        strcmp(nonce, sw->nonce) != 0)
        return;
    if (!chunk_shape_ok(sw, chunk_index, chunk_count)) {
        finish(sw, 0, 0, now_ms, "aborted: chunk %d of %d does not fit the list (%d chunks expected); "
               "nothing deleted", chunk_index, chunk_count, sw->chunk_count);
        return;
    }
    if (!sw->seen) {
        sw->seen = calloc((size_t)chunk_count, 1);
        if (!sw->seen) {
            finish(sw, 0, 0, now_ms, "aborted: out of memory; nothing deleted");
            return;
        }
        sw->chunk_count = chunk_count;
    }
    if (n)
        push(sw, (sweep_action){ .kind = SW_ACT_ADD_MEMBERS, .ids = ids, .n = n });
    sw->members += (int64_t)n;
    if (!sw->seen[chunk_index]) {
        sw->seen[chunk_index] = 1;
        sw->chunks_seen++;
    }
    sw->deadline_ms = now_ms + sw->cfg.chunk_timeout_ms;
    if (sw->chunks_seen == sw->chunk_count) {
        sw->state = SW_MEASURING;
        sw->deadline_ms = INT64_MAX;
        push(sw, (sweep_action){ .kind = SW_ACT_MEASURE });
    }
}

void sweep_on_member_add(sweep *sw, uint64_t guild_id, uint64_t user_id)
{
    if (sw->state == SW_IDLE || guild_id != sw->guild)
        return;
    /* A joiner is a member whatever phase we are in; the set must know. */
    push(sw, (sweep_action){ .kind = SW_ACT_ADD_MEMBERS, .user_id = user_id, .n = 1 });
}

void sweep_on_rate_limited(sweep *sw, uint64_t guild_id, double retry_after_s, int64_t now_ms)
{
    if (sw->state != SW_COLLECTING || sw->via_rest || guild_id != sw->guild)
        return;
    if (sw->cfg.rest_fallback && sw->chunks_seen == 0) {
        char why[64];
        snprintf(why, sizeof why, "op 8 rate limited for %.1f s", retry_after_s);
        start_rest(sw, now_ms, why);
        return;
    }
    finish(sw, 0, 0, now_ms, "aborted: member list request rate limited (retry after %.1f s); nothing deleted",
           retry_after_s);
}

void sweep_on_page(sweep *sw, uint64_t guild_id, long status, const uint64_t *ids, size_t n, int64_t now_ms)
{
    if (sw->state != SW_COLLECTING || !sw->via_rest || guild_id != sw->guild)
        return;
    if (status != 200) {
        finish(sw, 0, 0, now_ms, "aborted: the REST member list failed after %" PRId64 " members (HTTP %ld)%s; "
               "nothing deleted", sw->members, status,
               status == 403 ? " -- is the Server Members intent enabled?" : "");
        return;
    }
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] > last)
            last = ids[i];
    if (n)
        push(sw, (sweep_action){ .kind = SW_ACT_ADD_MEMBERS, .ids = ids, .n = n });
    sw->members += (int64_t)n;
    if (n < SW_PAGE_SIZE) {
        sw->state = SW_MEASURING;
        sw->deadline_ms = INT64_MAX;
        push(sw, (sweep_action){ .kind = SW_ACT_MEASURE });
        return;
    }
    sw->deadline_ms = now_ms + 4 * sw->cfg.chunk_timeout_ms;
    push(sw, (sweep_action){ .kind = SW_ACT_FETCH_PAGE, .user_id = last });
}

void sweep_on_disconnect(sweep *sw, int64_t now_ms)
{
    if (sw->state == SW_COLLECTING && !sw->via_rest)
        finish(sw, 0, 0, now_ms, "aborted: disconnected after %d of %d chunks; nothing deleted",
               sw->chunks_seen, sw->chunk_count);
}

void sweep_abort(sweep *sw, const char *why, int64_t now_ms)
{
    if (sw->state != SW_IDLE)
        finish(sw, 0, 0, now_ms, "aborted: %s; %" PRId64 " row(s) removed before that", why, sw->removed);
}

static void start_deleting(sweep *sw, int64_t now_ms)
{
    sw->state = SW_DELETING;
    sw->deadline_ms = INT64_MAX;
    LOG_I("sweep", "guild %" PRIu64 ": deleting %" PRId64 " stale row(s) in batches of %d", sw->guild,
          sw->stale, sw->cfg.batch_size);
    (void)now_ms;
    push(sw, (sweep_action){ .kind = SW_ACT_DELETE_BATCH, .n = (size_t)sw->cfg.batch_size });
}

#define SW_SHOWN_SAMPLE 5

/* The n_out smallest of ids[0..n) into out, ascending; returns how many. */
static size_t smallest_ids(const uint64_t *ids, size_t n, uint64_t *out, size_t n_out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k == n_out && ids[i] >= out[k - 1])
            continue;                            /* not among the smallest so far */
        size_t j = k < n_out ? k++ : n_out - 1;  /* a free slot, or the largest's */
        while (j > 0 && out[j - 1] > ids[i]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = ids[i];
    }
    return k;
}

/* The list's size matched the guild's count and the share is small: the
 * sample only has to catch a gross error, so it takes what the rate limit
 * allows now (at least one lookup) instead of waiting for a new window.
 * Forced sweeps, large shares and unchecked lists keep confirm_sample. */
static int cheap_sample(const sweep *sw, double share)
{
    return sw->lookups_free >= 0 && sw->expected > 0 && sw->listed >= sw->expected && !sw->force &&
           share <= sw->cfg.max_delete_share / 2;
}

void sweep_set_lookups_free(sweep *sw, long n)
{
    sw->lookups_free = n;
}

void sweep_on_measured(sweep *sw, int64_t stale, int64_t total_rows, const uint64_t *sample, size_t n_sample,
                    int64_t now_ms)
{
    if (sw->state != SW_MEASURING)
        return;
    sw->stale = stale;
    sw->total_rows = total_rows;
    if (sweep_list_short(sw))
        LOG_W("sweep", "guild %" PRIu64 ": the member list has %" PRId64 " members, the guild %" PRId64
              "; treating it as incomplete", sw->guild, sw->listed, sw->expected);
    if (stale <= 0) {
        finish(sw, 1, 0, now_ms, "ok: %" PRId64 " members listed, no stale rows", sw->members);
        return;
    }
    double share = total_rows > 0 ? (double)stale / (double)total_rows : 1.0;
    if (share > sw->cfg.max_delete_share && !sw->force) {
        finish(sw, 1, 1, now_ms, "guard: %" PRId64 " of %" PRId64 " rows (%.0f%%) would go, more than "
               "max_delete_share %.0f%%; nothing deleted. If that is right, confirm with "
               "`discord-cleaner sweep --guild %" PRIu64 " --force` or `%scleanup_users force`",
               stale, total_rows, share * 100, sw->cfg.max_delete_share * 100, sw->guild,
               sw->cfg.prefix[0] ? sw->cfg.prefix : "!");
        return;
    }
    if (sw->dry_run) {
        /* The sample is random; show its smallest ids so a replay (and a
         * reply text) is the same each time whenever all stale rows fit in it. */
        uint64_t shown[SW_SHOWN_SAMPLE];
        size_t n_shown = smallest_ids(sample, n_sample, shown, SW_SHOWN_SAMPLE);
        char ids[160] = "";
        for (size_t i = 0, off = 0; i < n_shown && off < sizeof ids - 24; i++)
            off += (size_t)snprintf(ids + off, sizeof ids - off, "%s%" PRIu64, i ? ", " : "", shown[i]);
        sw->removed = stale;
        char note[160] = "";
        if (sweep_list_short(sw))
            snprintf(note, sizeof note, "; the member list had only %" PRId64 " of %" PRId64 " members, so a "
                     "real sweep confirms each row over REST first", sw->listed, sw->expected);
        finish(sw, 1, 0, now_ms, "dry run: %" PRId64 " of %" PRId64 " rows would be removed (e.g. %s); "
               "nothing deleted%s", stale, total_rows, ids, note);
        return;
    }
    size_t want = sw->cfg.confirm_sample > 0 ? (size_t)sw->cfg.confirm_sample : 0;
    if (sweep_list_short(sw)) {
        /* Someone is missing from the list: only rows confirmed one by
         * one may go, and the sample holds every stale id only when few. */
        if (stale > (int64_t)n_sample || stale > SW_CONFIRM_ALL_MAX) {
            finish(sw, 0, 0, now_ms, "incomplete: the member list has %" PRId64 " of %" PRId64 " members; "
                   "%" PRId64 " stale row(s) are too many to confirm one by one; nothing deleted",
                   sw->listed, sw->expected, stale);
            return;
        }
        sw->confirm_all = 1;
        want = (size_t)stale;
    } else if (cheap_sample(sw, share)) {
        size_t free_now = sw->lookups_free > 1 ? (size_t)sw->lookups_free : 1;
        if (want > free_now)
            want = free_now;
    }
    if (want > n_sample)
        want = n_sample;
    if (!want) {
        start_deleting(sw, now_ms);
        return;
    }
    sw->pending = malloc(want * sizeof *sw->pending);
    if (!sw->pending) {
        finish(sw, 0, 0, now_ms, "aborted: out of memory; nothing deleted");
        return;
    }
    memcpy(sw->pending, sample, want * sizeof *sample);
    sw->n_pending = want;
    sw->state = SW_CONFIRMING;
    sw->deadline_ms = now_ms + 60000;   /* REST answers or times out well before */
    for (size_t i = 0; i < want; i++)
        push(sw, (sweep_action){ .kind = SW_ACT_CONFIRM, .user_id = sample[i] });
}

void sweep_on_list_size(sweep *sw, int64_t listed, int64_t expected)
{
    sw->listed = listed;
    sw->expected = expected;
}

int sweep_list_short(const sweep *sw)
{
    return sw->expected > 0 && sw->listed < sw->expected;
}

static int take_pending(sweep *sw, uint64_t user_id)
{
    for (size_t i = 0; i < sw->n_pending; i++)
        if (sw->pending[i] == user_id) {
            sw->pending[i] = sw->pending[--sw->n_pending];
            return 1;
        }
    return 0;
}

void sweep_on_confirmed(sweep *sw, uint64_t user_id, long status, int json_code, int64_t now_ms)
{
    if (sw->state != SW_CONFIRMING || !take_pending(sw, user_id))
        return;
    if (status == 200 && sw->confirm_all) {
        /* One of the members the list lacked: keep the row. */
        sw->kept++;
        push(sw, (sweep_action){ .kind = SW_ACT_ADD_MEMBERS, .user_id = user_id, .n = 1 });
    } else if (status == 200) {
        finish(sw, 0, 0, now_ms, "aborted: the member list was wrong (user %" PRIu64 " is still a member); "
               "nothing deleted", user_id);
        return;
    } else if (!(status == 404 && json_code == 10007)) {
        finish(sw, 0, 0, now_ms, "skipped: could not confirm user %" PRIu64 " left (HTTP %ld, code %d); "
               "nothing deleted, retried next round", user_id, status, json_code);
        return;
    }
    if (sw->n_pending == 0)
        start_deleting(sw, now_ms);
    else
        sw->deadline_ms = now_ms + 60000;   /* answers keep coming (a rate-limited bucket) */
}

void sweep_on_batch_deleted(sweep *sw, int64_t rows, int more, int64_t now_ms)
{
    if (sw->state != SW_DELETING)
        return;
    if (rows < 0) {
        finish(sw, 0, 0, now_ms, "aborted: database error after %" PRId64 " row(s); the rest stay", sw->removed);
        return;
    }
    int64_t before = sw->removed;
    sw->removed += rows;
    if (!more) {
        if (sw->confirm_all)
            finish(sw, 1, 0, now_ms, "ok: %" PRId64 " stale row(s) removed, each confirmed over REST: the "
                   "member list had %" PRId64 " of %" PRId64 " members (%" PRId64 " found and kept)",
                   sw->removed, sw->listed, sw->expected, sw->kept);
        else
            finish(sw, 1, 0, now_ms, "ok: %" PRId64 " members listed, %" PRId64 " stale row(s) removed",
                   sw->members, sw->removed);
        return;
    }
    int64_t every = (int64_t)sw->cfg.batch_size * 20;
    if (sw->removed / every != before / every)
        LOG_I("sweep", "guild %" PRIu64 ": %" PRId64 "/%" PRId64 " rows removed", sw->guild, sw->removed,
              sw->stale);
    /* Pause after real deletes; a slice with nothing stale only yields. */
    sw->deadline_ms = now_ms + (rows ? sw->cfg.batch_delay_ms : 0);
}

void sweep_on_marked_pending(sweep *sw, int64_t marked, double grace_hours, int64_t now_ms)
{
    if (sw->state != SW_DELETING)
        return;
    if (marked < 0) {
        sweep_on_batch_deleted(sw, -1, 0, now_ms);
        return;
    }
    finish(sw, 1, 0, now_ms, "ok: %" PRId64 " members listed, %" PRId64 " stale row(s) kept for the grace period "
           "of %g h (%" PRId64 " member(s) newly pending)", sw->members, sw->stale, grace_hours, marked);
}

void sweep_tick(sweep *sw, int64_t now_ms)
{
    if (now_ms < sw->deadline_ms)
        return;
    switch (sw->state) {
    case SW_COLLECTING:
        if (sw->via_rest)
            finish(sw, 0, 0, now_ms, "aborted: the REST member list stalled after %" PRId64 " members; "
                   "nothing deleted", sw->members);
        else if (sw->chunk_count == 0 && sw->cfg.rest_fallback)
            start_rest(sw, now_ms, "op 8 was not answered");
        else if (sw->chunk_count == 0)
            finish(sw, 0, 0, now_ms, "aborted: no answer to the member list request within %lld ms "
                   "(chunk_timeout; is the Server Members intent enabled?); nothing deleted",
                   (long long)sw->cfg.chunk_timeout_ms);
        else
            finish(sw, 0, 0, now_ms, "aborted: timed out after %d of %d chunks (none for %lld ms, "
                   "chunk_timeout); nothing deleted", sw->chunks_seen, sw->chunk_count,
                   (long long)sw->cfg.chunk_timeout_ms);
        break;
    case SW_CONFIRMING:
        finish(sw, 0, 0, now_ms, "skipped: confirmations did not arrive; nothing deleted");
        break;
    case SW_DELETING:
        sw->deadline_ms = INT64_MAX;
        push(sw, (sweep_action){ .kind = SW_ACT_DELETE_BATCH, .n = (size_t)sw->cfg.batch_size });
        break;
    default:
        sw->deadline_ms = INT64_MAX;
        break;
    }
}

int sweep_result_holds(const char *result)
{
    return result && (strncmp(result, "guard:", 6) == 0 || strncmp(result, "incomplete:", 11) == 0);
}

int64_t sweep_next_deadline(const sweep *sw) { return sw->deadline_ms; }
sweep_state sweep_get_state(const sweep *sw) { return sw->state; }
uint64_t sweep_guild(const sweep *sw) { return sw->state == SW_IDLE ? 0 : sw->guild; }

void sweep_progress(const sweep *sw, int *chunks_seen, int *chunk_count, int64_t *members, int64_t *removed,
                 int64_t *stale)
{
    *chunks_seen = sw->chunks_seen;
    *chunk_count = sw->chunk_count;
    *members = sw->members;
    *removed = sw->removed;
    *stale = sw->stale;
}
