/* ratelimit.c - Discord HTTP rate limiting, sans-I/O (model in ratelimit.h).
 *
 * Requests wait in one FIFO queue.  ratelimit_release() walks it in order and
 * hands out the first request whose bucket and the global window allow it,
 * so within a bucket the order is kept without a queue per bucket.
 * Buckets live in a small chained hash table keyed "hash\nmajor" (learned)
 * or "null route\nmajor" (provisional). */
#include "rest/ratelimit.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RL_TABLE_SLOTS 512
#define RL_PRUNE_AT 1024          /* prune idle buckets above this many */
#define RL_KEY_MAX (RL_HASH_MAX + RL_ROUTE_MAX + RL_MAJOR_MAX + 8)
#define RL_INVALID_SLOTS 10
#define RL_INVALID_SLOT_MS (RL_INVALID_WINDOW_MS / RL_INVALID_SLOTS)
#define RL_429_FALLBACK_MS 1000   /* 429 without any retry hint */

typedef struct ratelimit_bucket {
    struct ratelimit_bucket *next;       /* hash chain */
    char key[RL_KEY_MAX];
    bool known;                   /* a response told us limit/remaining */
    bool reset_known;             /* reset_at is from a response, not used up */
    long limit, remaining;
    int64_t reset_at;             /* remaining refills at this time */
    int64_t blocked_until;        /* a 429 for this bucket */
    int in_flight;
} ratelimit_bucket;

typedef struct ratelimit_route {
    struct ratelimit_route *next;
    char route[RL_ROUTE_MAX];
    char hash[RL_HASH_MAX];
} ratelimit_route;

struct ratelimit_entry {
    ratelimit_entry *prev, *next;        /* in the queue or in the in-flight list */
    char route[RL_ROUTE_MAX];
    char major[RL_MAJOR_MAX];
    void *user;
    int attempt;
    int64_t not_before;           /* retry backoff */
    bool queued;
    ratelimit_bucket *bucket;            /* set while in flight */
};

typedef struct {
    ratelimit_entry *head, *tail;
    size_t count;
} ratelimit_list;

struct ratelimit_limiter {
    ratelimit_opts opts;
    ratelimit_list queue, flying;
    ratelimit_bucket *table[RL_TABLE_SLOTS];
    size_t n_buckets;
    ratelimit_route *routes;
    int64_t global_until;
    int64_t sent[RL_GLOBAL_PER_SEC];  /* ring of the last release times */
    size_t sent_oldest;
    long invalid[RL_INVALID_SLOTS];
    int64_t invalid_slot[RL_INVALID_SLOTS];  /* which slot number each holds */
};

/* ---- header parsing ------------------------------------------------------ */

void ratelimit_headers_init(ratelimit_headers *h)
{
    memset(h, 0, sizeof *h);
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || v != v || v < 0 || v > 1e9)
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < 0)
        return false;
    *out = v;
    return true;
}

static void parse_status_line(ratelimit_headers *h, const char *line)
{
    const char *sp = strchr(line, ' ');
    ratelimit_headers_init(h);   /* a new response (after 100-continue, redirects) */
    if (sp)
        h->status = strtol(sp + 1, NULL, 10);
}

static void apply_header(ratelimit_headers *h, const char *name, const char *value)
{
    if (strcasecmp(name, "x-ratelimit-bucket") == 0) {
        if (*value && strlen(value) < sizeof h->bucket) {
            strcpy(h->bucket, value);
            h->has_bucket = true;
        }
    } else if (strcasecmp(name, "x-ratelimit-limit") == 0) {
        h->has_limit = parse_long(value, &h->limit);
    } else if (strcasecmp(name, "x-ratelimit-remaining") == 0) {
        h->has_remaining = parse_long(value, &h->remaining);
    } else if (strcasecmp(name, "x-ratelimit-reset-after") == 0) {
        h->has_reset_after = parse_double(value, &h->reset_after);
    } else if (strcasecmp(name, "retry-after") == 0) {
        /* an HTTP-date form is possible in HTTP, never sent by Discord */
        if (!h->has_retry_after)
            h->has_retry_after = parse_double(value, &h->retry_after);
    } else if (strcasecmp(name, "x-ratelimit-global") == 0) {
        h->global = strcasecmp(value, "true") == 0;
    } else if (strcasecmp(name, "x-ratelimit-scope") == 0) {
        h->scope_shared = strcasecmp(value, "shared") == 0;
    }
}

void ratelimit_headers_line(ratelimit_headers *h, const char *line, size_t len)
{
    char buf[512];
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    if (len == 0 || len >= sizeof buf)
        return;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (strncmp(buf, "HTTP/", 5) == 0) {
        parse_status_line(h, buf);
        return;
    }
    char *colon = strchr(buf, ':');
    if (!colon)
        return;
    *colon = '\0';
    char *value = colon + 1;
    while (isspace((unsigned char)*value))
        value++;
    apply_header(h, buf, value);
}

/* ---- route keys ---------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool ratelimit_route_key(const char *method, const char *path, char *out, size_t outlen)
{
    size_t pathlen = strcspn(path, "?#");
    int n = snprintf(out, outlen, "%s ", method);
    if (n < 0 || (size_t)n >= outlen)
        return false;
    size_t pos = (size_t)n;
    /* An interaction's or a webhook's token follows its id: a route per token
     * would add a route entry for every slash command ever answered. */
    int token_next = 0, owner = 0;
    for (size_t i = 0; i < pathlen;) {
        size_t seg = strcspn(path + i, "/?#");
        if (seg > pathlen - i)
            seg = pathlen - i;
        int digits = all_digits(path + i, seg);
        const char *piece = digits ? "{id}" : token_next ? "{token}" : NULL;
        token_next = owner && digits;
        owner = !digits && ((seg == 12 && strncmp(path + i, "interactions", 12) == 0) ||
                            (seg == 8 && strncmp(path + i, "webhooks", 8) == 0));
        size_t plen = piece ? strlen(piece) : seg;
        if (pos + plen + 1 >= outlen)
            return false;
        memcpy(out + pos, piece ? piece : path + i, plen);
        pos += plen;
        i += seg;
        if (i < pathlen && path[i] == '/') {
            out[pos++] = '/';
            i++;
        }
    }
    out[pos] = '\0';
    return true;
}

bool ratelimit_major_from_path(const char *path, char *out, size_t outlen)
{
    static const char *const tops[] = { "/channels/", "/guilds/", "/webhooks/" };
    out[0] = '\0';
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        size_t tl = strlen(tops[i]);
        if (strncmp(path, tops[i], tl) != 0)
            continue;
        size_t idlen = strcspn(path + tl, "/?#");
        if (!all_digits(path + tl, idlen))
            return true;
        if (idlen >= outlen)
            return false;
        memcpy(out, path + tl, idlen);
        out[idlen] = '\0';
        return true;
    }
    return true;
}

/* ---- lists --------------------------------------------------------------- */

static void list_unlink(ratelimit_list *l, ratelimit_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
    l->count--;
}

static void list_push_tail(ratelimit_list *l, ratelimit_entry *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->count++;
}

static void list_push_head(ratelimit_list *l, ratelimit_entry *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    else
        l->tail = e;
    l->head = e;
    l->count++;
}

static void list_free(ratelimit_list *l)
{
    ratelimit_entry *e = l->head;
    while (e) {
        ratelimit_entry *next = e->next;
        free(e);
        e = next;
    }
    memset(l, 0, sizeof *l);
}

/* ---- routes and buckets -------------------------------------------------- */

static ratelimit_route *route_find(const ratelimit_limiter *rl, const char *route)
{
    for (ratelimit_route *r = rl->routes; r; r = r->next)
        if (strcmp(r->route, route) == 0)
            return r;
    return NULL;
}

static void route_learn(ratelimit_limiter *rl, const char *route, const char *hash)
{
    ratelimit_route *r = route_find(rl, route);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return;   /* stays in the null bucket: slower, still correct */
        snprintf(r->route, sizeof r->route, "%s", route);
        r->next = rl->routes;
        rl->routes = r;
    }
    snprintf(r->hash, sizeof r->hash, "%s", hash);
}

static void bucket_key(const ratelimit_limiter *rl, const char *route, const char *major,
                       char *key, size_t keylen)
{
    const ratelimit_route *r = route_find(rl, route);
    if (r)
        snprintf(key, keylen, "%s\n%s", r->hash, major);
    else
        snprintf(key, keylen, "null %s\n%s", route, major);
}

static size_t key_slot(const char *key)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % RL_TABLE_SLOTS;
}

static ratelimit_bucket *bucket_find(const ratelimit_limiter *rl, const char *key)
{
    for (ratelimit_bucket *b = rl->table[key_slot(key)]; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return b;
    return NULL;
}

static ratelimit_bucket *bucket_get(ratelimit_limiter *rl, const char *key)
{
    ratelimit_bucket *b = bucket_find(rl, key);
    if (b)
        return b;
    b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    snprintf(b->key, sizeof b->key, "%s", key);
    size_t slot = key_slot(key);
    b->next = rl->table[slot];
    rl->table[slot] = b;
    rl->n_buckets++;
    return b;
}

static bool bucket_idle(const ratelimit_bucket *b, int64_t now)
{
    return b->in_flight == 0 && now >= b->blocked_until &&
           (!b->known || !b->reset_known || now >= b->reset_at);
}

/* Forget buckets nothing waits on, so a bot in many guilds does not grow
 * the table forever.  In-flight entries are the only bucket pointers held. */
static void buckets_prune(ratelimit_limiter *rl, int64_t now)
{
    for (size_t i = 0; i < RL_TABLE_SLOTS; i++) {
        ratelimit_bucket **pp = &rl->table[i];
        while (*pp) {
            ratelimit_bucket *b = *pp;
            if (bucket_idle(b, now)) {
                *pp = b->next;
                free(b);
                rl->n_buckets--;
            } else {
                pp = &b->next;
            }
        }
    }
}

/* 0: may send now; >0: ms to wait; -1: waits for an in-flight response.
 * A bucket we know nothing about (or whose window we used up without
 * hearing the next reset) lets one probe request fly at a time. */
static int64_t bucket_wait_ms(const ratelimit_bucket *b, int64_t now)
{
    if (!b)
        return 0;
    if (now < b->blocked_until)
        return b->blocked_until - now;
    if (b->known && b->remaining > 0)
        return 0;
    if (b->known && b->reset_known)
        return now >= b->reset_at ? 0 : b->reset_at - now;
    return b->in_flight == 0 ? 0 : -1;
}

static void bucket_take(ratelimit_bucket *b, int64_t now)
{
    b->in_flight++;
    if (!b->known)
        return;
    if (b->remaining <= 0 && b->reset_known && now >= b->reset_at) {
        b->reset_known = false;   /* the next response tells the new reset */
        if (b->limit <= 0) {      /* limit never told: probe again */
            b->known = false;
            return;
        }
        b->remaining = b->limit;
    }
    if (b->remaining > 0)
        b->remaining--;
}

/* Fold one response's headers into bucket b.  Other requests of b may still
 * be in flight; the server already counted them, so they come off. */
static void bucket_learn(ratelimit_bucket *b, int64_t now, const ratelimit_headers *h)
{
    if (h->has_limit)
        b->limit = h->limit;
    if (h->has_remaining) {
        long left = h->remaining - b->in_flight;
        b->remaining = left > 0 ? left : 0;
        b->known = true;
    }
    if (h->has_reset_after) {
        b->reset_at = now + (int64_t)(h->reset_after * 1000.0 + 0.5);
        b->reset_known = true;
    } else if (h->has_remaining) {
        b->reset_known = false;
    }
}

/* ---- the global window and the invalid-request counter ------------------- */

static int64_t global_wait_ms(const ratelimit_limiter *rl, int64_t now)
{
    int64_t wait = rl->global_until - now;
    int64_t window = rl->sent[rl->sent_oldest] + 1000 - now;
    if (window > wait)
        wait = window;
    return wait > 0 ? wait : 0;
}

static void global_note_send(ratelimit_limiter *rl, int64_t now)
{
    rl->sent[rl->sent_oldest] = now;
    rl->sent_oldest = (rl->sent_oldest + 1) % RL_GLOBAL_PER_SEC;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void invalid_note(ratelimit_limiter *rl, int64_t now)
{
    int64_t slot = floor_div(now, RL_INVALID_SLOT_MS);
    size_t i = (size_t)(((slot % RL_INVALID_SLOTS) + RL_INVALID_SLOTS) % RL_INVALID_SLOTS);
    if (rl->invalid_slot[i] != slot) {
        rl->invalid_slot[i] = slot;
        rl->invalid[i] = 0;
    }
    rl->invalid[i]++;
}

long ratelimit_invalid_count(const ratelimit_limiter *rl, int64_t now_ms)
{
    int64_t slot = floor_div(now_ms, RL_INVALID_SLOT_MS);
    long total = 0;
    for (size_t i = 0; i < RL_INVALID_SLOTS; i++)
        if (rl->invalid_slot[i] > slot - RL_INVALID_SLOTS && rl->invalid_slot[i] <= slot)
            total += rl->invalid[i];
    return total;
}

/* ---- life cycle ---------------------------------------------------------- */

dc_err ratelimit_new(ratelimit_limiter **out, const ratelimit_opts *opts)
{
    ratelimit_limiter *rl = calloc(1, sizeof *rl);
    if (!rl)
        return DC_ERR_NOMEM;
    rl->opts = *opts;
    if (rl->opts.max_retries < 0)
        rl->opts.max_retries = 0;
    if (rl->opts.backoff_base_ms <= 0)
        rl->opts.backoff_base_ms = 500;
    if (rl->opts.backoff_max_ms < rl->opts.backoff_base_ms)
        rl->opts.backoff_max_ms = rl->opts.backoff_base_ms * 16;
    for (size_t i = 0; i < RL_GLOBAL_PER_SEC; i++)
        rl->sent[i] = INT64_MIN / 2;
    for (size_t i = 0; i < RL_INVALID_SLOTS; i++)
        rl->invalid_slot[i] = INT64_MIN;
    rl->global_until = INT64_MIN / 2;
    *out = rl;
    return DC_OK;
}

void ratelimit_free(ratelimit_limiter *rl)
{
    if (!rl)
        return;
    list_free(&rl->queue);
    list_free(&rl->flying);
    for (size_t i = 0; i < RL_TABLE_SLOTS; i++) {
        ratelimit_bucket *b = rl->table[i];
        while (b) {
            ratelimit_bucket *next = b->next;
            free(b);
            b = next;
        }
    }
    while (rl->routes) {
        ratelimit_route *next = rl->routes->next;
        free(rl->routes);
        rl->routes = next;
    }
    free(rl);
}

ratelimit_entry *ratelimit_submit(ratelimit_limiter *rl, const char *route, const char *major, void *user)
{
    ratelimit_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    snprintf(e->route, sizeof e->route, "%s", route);
    snprintf(e->major, sizeof e->major, "%s", major ? major : "");
    e->user = user;
    e->not_before = INT64_MIN / 2;
    e->queued = true;
    list_push_tail(&rl->queue, e);
    return e;
}

void *ratelimit_entry_user(const ratelimit_entry *e) { return e->user; }
int ratelimit_entry_attempt(const ratelimit_entry *e) { return e->attempt; }
size_t ratelimit_queued(const ratelimit_limiter *rl) { return rl->queue.count; }
size_t ratelimit_in_flight(const ratelimit_limiter *rl) { return rl->flying.count; }

/* ---- releasing ----------------------------------------------------------- */

static int64_t entry_wait_ms(const ratelimit_limiter *rl, const ratelimit_entry *e, int64_t now)
{
    char key[RL_KEY_MAX];
    bucket_key(rl, e->route, e->major, key, sizeof key);
    int64_t wait = bucket_wait_ms(bucket_find(rl, key), now);
    if (wait >= 0 && e->not_before - now > wait)
        wait = e->not_before - now;
    return wait;
}

/* Requests the global window would still let through at now. */
static long global_room(const ratelimit_limiter *rl, int64_t now)
{
    long room = 0;
    if (now < rl->global_until)
        return 0;
    for (size_t i = 0; i < RL_GLOBAL_PER_SEC; i++)
        room += rl->sent[i] + 1000 <= now;
    return room;
}

/* What bucket b lets go at now, before anything queued takes its share. */
static long bucket_room(const ratelimit_bucket *b, int64_t now)
{
    if (!b)
        return 1;                    /* never heard of: one probe */
    if (now < b->blocked_until)
        return 0;
    if (b->known && b->remaining > 0)
        return b->remaining;
    if (b->known && b->reset_known && now >= b->reset_at)
        return b->limit > 0 ? b->limit : 1;
    return bucket_wait_ms(b, now) == 0 ? 1 : 0;
}

long ratelimit_available(const ratelimit_limiter *rl, const char *route, const char *major, int64_t now_ms)
{
    char key[RL_KEY_MAX], other[RL_KEY_MAX];
    bucket_key(rl, route, major ? major : "", key, sizeof key);
    long room = bucket_room(bucket_find(rl, key), now_ms);
    for (const ratelimit_entry *e = rl->queue.head; e && room > 0; e = e->next) {
        bucket_key(rl, e->route, e->major, other, sizeof other);
        room -= strcmp(key, other) == 0;   /* queued ahead of a new request */
    }
    long global = global_room(rl, now_ms) - (long)rl->queue.count;
    return room < global ? (room > 0 ? room : 0) : (global > 0 ? global : 0);
}

ratelimit_entry *ratelimit_release(ratelimit_limiter *rl, int64_t now_ms)
{
    if (global_wait_ms(rl, now_ms) > 0)
        return NULL;
    for (ratelimit_entry *e = rl->queue.head; e; e = e->next) {
        if (entry_wait_ms(rl, e, now_ms) != 0)
            continue;
        char key[RL_KEY_MAX];
        bucket_key(rl, e->route, e->major, key, sizeof key);
        ratelimit_bucket *b = bucket_get(rl, key);
        if (!b)
            return NULL;   /* out of memory: try again on the next wake-up */
        bucket_take(b, now_ms);
        global_note_send(rl, now_ms);
        list_unlink(&rl->queue, e);
        list_push_tail(&rl->flying, e);
        e->queued = false;
        e->bucket = b;
        return e;
    }
    return NULL;
}

int64_t ratelimit_next_wakeup_ms(const ratelimit_limiter *rl, int64_t now_ms)
{
    int64_t best = -1;
    for (const ratelimit_entry *e = rl->queue.head; e; e = e->next) {
        int64_t w = entry_wait_ms(rl, e, now_ms);
        if (w >= 0 && (best < 0 || w < best))
            best = w;
    }
    if (best < 0)
        return -1;
    int64_t global = global_wait_ms(rl, now_ms);
    return global > best ? global : best;
}

/* ---- completing ---------------------------------------------------------- */

static bool is_invalid_request(const ratelimit_headers *h)
{
    return h->status == 401 || h->status == 403 || (h->status == 429 && !h->scope_shared);
}

/* The bucket this route+major maps to after learning from h. */
static ratelimit_bucket *learned_bucket(ratelimit_limiter *rl, const ratelimit_entry *e, const ratelimit_headers *h)
{
    if (h->has_bucket)
        route_learn(rl, e->route, h->bucket);
    char key[RL_KEY_MAX];
    bucket_key(rl, e->route, e->major, key, sizeof key);
    return bucket_get(rl, key);
}

static int64_t retry_after_ms(const ratelimit_headers *h)
{
    if (h->has_retry_after)
        return (int64_t)(h->retry_after * 1000.0 + 0.5);
    if (h->has_reset_after)
        return (int64_t)(h->reset_after * 1000.0 + 0.5);
    return RL_429_FALLBACK_MS;
}

static void note_429(ratelimit_limiter *rl, ratelimit_bucket *b, int64_t now, const ratelimit_headers *h)
{
    int64_t until = now + retry_after_ms(h);
    if (h->global) {
        if (until > rl->global_until)
            rl->global_until = until;
    } else if (b && until > b->blocked_until) {
        b->blocked_until = until;
    }
}

static int64_t backoff_ms(const ratelimit_limiter *rl, int attempt)
{
    int64_t d = rl->opts.backoff_base_ms;
    for (int i = 0; i < attempt && d < rl->opts.backoff_max_ms; i++)
        d *= 2;
    return d < rl->opts.backoff_max_ms ? d : rl->opts.backoff_max_ms;
}

static bool should_retry(const ratelimit_limiter *rl, const ratelimit_entry *e, long status)
{
    if (e->attempt >= rl->opts.max_retries)
        return false;
    return status == 429 || (status >= 500 && status <= 599);
}

ratelimit_verdict ratelimit_complete(ratelimit_limiter *rl, ratelimit_entry *e, int64_t now_ms, const ratelimit_headers *h,
                       int64_t *retry_in_ms)
{
    *retry_in_ms = 0;
    list_unlink(&rl->flying, e);
    if (e->bucket)
        e->bucket->in_flight--;
    e->bucket = NULL;

    ratelimit_bucket *b = learned_bucket(rl, e, h);
    if (b)
        bucket_learn(b, now_ms, h);
    if (is_invalid_request(h))
        invalid_note(rl, now_ms);
    if (h->status == 429)
        note_429(rl, b, now_ms, h);

    if (!should_retry(rl, e, h->status)) {
        free(e);
        if (rl->n_buckets > RL_PRUNE_AT)
            buckets_prune(rl, now_ms);
        return RL_DONE;
    }
    *retry_in_ms = h->status == 429 ? retry_after_ms(h) : backoff_ms(rl, e->attempt);
    e->attempt++;
    e->not_before = now_ms + *retry_in_ms;
    e->queued = true;
    list_push_head(&rl->queue, e);
    return RL_RETRY;
}

void ratelimit_cancel(ratelimit_limiter *rl, ratelimit_entry *e)
{
    if (e->queued) {
        list_unlink(&rl->queue, e);
    } else {
        list_unlink(&rl->flying, e);
        if (e->bucket)
            e->bucket->in_flight--;
    }
    free(e);
}
