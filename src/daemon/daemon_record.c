/* daemon_record.c - see daemon_record.h. */
#include "daemon/daemon_record.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"
#include "proto/proto.h"
#include "fixture/record.h"
#include "fixture/record_rest.h"

static const char *record_path;
static int record_decoded;
static recorder *recs[MAX_SHARDS];   /* by the shard's slot in d->shards */

static recorder **rec_of(const shard *s)
{
    return &recs[s - s->d->shards];
}

int daemon_record_args(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
            record_path = argv[++i];
        } else if (strcmp(argv[i], "--record-decoded") == 0) {
            record_decoded = 1;
        } else {
            fprintf(stderr, "discord-cleaner run: unexpected argument '%.64s'\n", argv[i]);
            return 64;
        }
    }
    return 0;
}

static void on_frame(void *ctx, transport_conn *c, char dir, int binary, const void *data, size_t len, int complete)
{
    shard *s = ctx;
    (void)c;
    record_frame(*rec_of(s), loop_now(s->d->loop), dir, binary, data, len, complete);
}

static void on_conn(void *ctx, transport_conn *c, int open, int close_code)
{
    shard *s = ctx;
    record_conn(*rec_of(s), loop_now(s->d->loop), open, close_code, !open && transport_conn_closed_by_us(c));
}

void daemon_record_attach(dc_daemon *d, shard *s, transport_handlers *h)
{
    if (!record_path)
        return;
    /* One shard: FILE.  Several: FILE.shardN each, every one a fixture that
     * `replay` runs on its own (it runs one shard). */
    char path[4096];
    if (d->n_shards > 1)
        snprintf(path, sizeof path, "%s.shard%d", record_path, s->id);
    else
        snprintf(path, sizeof path, "%s", record_path);
    record_info info = { .shard_id = s->id, .shard_count = d->shard_count,
                         .intents = daemon_intents(d->cfg),
                         .compressed = d->cfg->compress == COMPRESS_ZLIB_STREAM, .raw = !record_decoded,
                         .wall_ms = loop_wall(d->loop), .mono_ms = loop_now(d->loop) };
    recorder **rec = rec_of(s);
    if (record_open(rec, path, &info) != DC_OK) {
        LOG_E("record", "cannot create %s; shard %d runs without recording", path, s->id);
        return;
    }
    LOG_I("record", "recording shard %d's gateway session to %s (%s)", s->id, path,
          record_decoded ? "decoded" : "raw frames");
    h->on_frame = on_frame;
    h->on_conn = on_conn;
    record_rest_wrap(d->loop, *rec, &d->pending);
}

void daemon_record_stop(void)
{
    record_rest_unwrap();
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        record_close(recs[i]);
        recs[i] = NULL;
    }
}
