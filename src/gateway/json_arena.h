/* json_arena.h - gateway messages parsed with their nodes in an arena.
 *
 * cJSON allocates every node and every string of a message separately: a
 * GUILD_MEMBER_REMOVE is 23 malloc/free pairs, which was a tenth of the CPU
 * a replayed event costs (make bench, callgrind).  json_arena_parse() has cJSON
 * carve a message out of one per-thread block instead, and json_arena_free()
 * releases the block once no tree parsed into it is left.
 *
 * Rules for a tree from json_arena_parse():
 *   - free it with json_arena_free(), never cJSON_Delete() (that only costs speed:
 *     the block is not reused until every such tree is gone, so later
 *     messages fall back to malloc);
 *   - nothing of it may outlive json_arena_free(), detached items included (the
 *     message paths treat the payload as const);
 *   - items added to it may come from anywhere: the hooks free() whatever
 *     lies outside the block.
 * A message too large for the block continues in malloc'd nodes; other
 * threads and every other cJSON call allocate with malloc as before. */
#ifndef DC_JSON_ARENA_H
#define DC_JSON_ARENA_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* NULL for invalid JSON, and for a message whose parse would cost far more
 * than its size suggests (see json_arena_last_error()). */
cJSON *json_arena_parse(const char *text, size_t len);
void json_arena_free(cJSON *tree);

/* What a message may cost once parsed.  A cJSON value takes ~80 bytes of
 * heap whatever its text: a 62 MB `[0,0,...]` made 2.5 GB.  Real gateway
 * payloads spend >= 10 bytes of text a value (a 1000-member chunk ~18, a
 * READY with 2500 guilds ~25), so a message may hold at most
 * max(JA_NODES_FLOOR, len / JA_BYTES_PER_NODE) values, never more than
 * JA_NODES_CAP (~40 MB of nodes), nested at most JA_DEPTH_MAX deep.
 * Messages under JA_NODES_FLOOR bytes cannot exceed that and are not scanned. */
#define JA_NODES_FLOOR 65536
#define JA_BYTES_PER_NODE 4
#define JA_NODES_CAP 500000
#define JA_DEPTH_MAX 64

/* 0 when text (len bytes) is within the bounds above, else -1 with the
 * reason in json_arena_last_error().  A cheap pass: strings skipped, values
 * counted by separators and brackets (an upper bound). */
int json_arena_check_cost(const char *text, size_t len);
/* Why the last json_arena_parse on this thread returned NULL. */
const char *json_arena_last_error(void);
/* cJSON allocations this thread made from malloc (outside the block). */
size_t json_arena_heap_allocs(void);

#endif
