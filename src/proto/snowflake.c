/* snowflake.c - the one parser of Discord ids (see snowflake.h). */
#include "proto/snowflake.h"

uint64_t snowflake_json(const cJSON *v)
{
    /* Integers only below 2^53, where a double is still exact. */
    if (cJSON_IsNumber(v))
        return v->valuedouble >= 1 && v->valuedouble < 9007199254740992.0 &&
               v->valuedouble == (double)(uint64_t)v->valuedouble ? (uint64_t)v->valuedouble : 0;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return 0;
    /* Digits only (no sign, space or "0x" that strtoull would take), and
     * the value must fit a signed 64-bit integer: the store keeps ids as
     * SQLite INTEGERs, where 2^64-1 would wrap to -1 and name another row.
     * Parsed by hand in one pass, it is two per removal.  Up to 18 digits
     * always fit; a 19th or 20th (leading zeros) only while the result stays
     * within INT64_MAX; a 21st never. */
    const char *s = v->valuestring;
    uint64_t x = 0;
    size_t n = 0;
    for (unsigned d; (d = (unsigned)(unsigned char)s[n] - '0') <= 9; n++) {
        if (n >= 18 && (n > 19 || x > INT64_MAX / 10 || (x == INT64_MAX / 10 && d > INT64_MAX % 10)))
            return 0;
        x = x * 10 + d;
    }
    return s[n] == '\0' ? x : 0;
}
