/* json_arena.h - gateway messages parsed with their nodes in an arena.
 *
 * cJSON allocates every node and every string of a message separately: a
 * GUILD_MEMBER_REMOVE is 23 malloc/free pairs, which was a tenth of the CPU
 * a replayed event costs (make bench, callgrind).  ja_parse() has cJSON
 * carve a message out of one per-thread block instead, and ja_free()
 * releases the block once no tree parsed into it is left.
 *
 * Rules for a tree from ja_parse():
 *   - free it with ja_free(), never cJSON_Delete() (that only costs speed:
 *     the block is not reused until every such tree is gone, so later
 *     messages fall back to malloc);
 *   - nothing of it may outlive ja_free(), detached items included (the
 *     message paths treat the payload as const);
 *   - items added to it may come from anywhere: the hooks free() whatever
 *     lies outside the block.
 * A message too large for the block continues in malloc'd nodes; other
 * threads and every other cJSON call allocate with malloc as before. */
#ifndef DC_JSON_ARENA_H
#define DC_JSON_ARENA_H

#include <stddef.h>
#include <cjson/cJSON.h>

cJSON *ja_parse(const char *text, size_t len);
void ja_free(cJSON *tree);

#endif
