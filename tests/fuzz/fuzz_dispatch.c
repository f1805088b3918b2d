/* fuzz_dispatch.c - dispatch payload decode: one JSON document given, as
 * `d`, to the cleaner policy under every event name the daemon reads
 * (proto/events.def), with and without stored guilds (READY's guard). */
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "policy/cleaner.h"
#include "gateway/json_arena.h"
#include "base/log.h"

static const dc_event events[] = {
#define X(name) DC_EV_##name,
#include "proto/events.def"
#undef X
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(DCL_ERROR);
    cJSON *d = json_arena_parse((const char *)data, size);     /* as the daemon parses messages */
    static const uint64_t stored[] = { 1000000000000000001ULL, 1000000000000000002ULL, 3 };
    for (int variant = 0; variant < 2; variant++) {
        cleaner_context cx = { .shard_id = 0, .shard_count = variant ? 2 : 1, .max_delete_share = 0.5,
                          .stored_guilds = variant ? stored : NULL, .n_stored = variant ? 3 : 0,
                          .unassigned_rows = variant ? 10 : 0 };
        for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
            cleaner_actions acts = { 0 };
            cleaner_on_dispatch(&cx, events[i], d, &acts);
            cleaner_actions_free(&acts);
        }
    }
    json_arena_free(d);
    return 0;
}
