/* snowflake.h - Discord ids (snowflakes) as the daemon reads them.
 *
 * Discord sends ids as JSON strings of decimal digits, and some as JSON
 * integers (`not_found` in GUILD_MEMBERS_CHUNK, ids a client sent as
 * numbers): https://discord.com/developers/docs/reference#snowflakes.
 * Every module that reads an id from a payload uses this one parser, so
 * what counts as a valid id is decided once. */
#ifndef DC_SNOWFLAKE_H
#define DC_SNOWFLAKE_H

#include <stdint.h>
#include <cjson/cJSON.h>

/* The id in v: a string of 1-20 decimal digits, or a JSON integer below
 * 2^53 (where a double is exact).  0 when absent, of another type, or above
 * INT64_MAX (the store keeps ids as signed 64-bit integers: those are
 * malformed, never wrapped). */
uint64_t snowflake_json(const cJSON *v);

#endif
