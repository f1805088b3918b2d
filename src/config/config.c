/* config.c - the key table and the parser of every value.
 *
 * Each kind of value has one parse function that validates everything
 * first and writes cfg only on success, so a rejected value never leaves a
 * half-applied setting behind.  Defaults go through the same parsers. */
#include "config/config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/suggest.h"
#include "base/uri.h"

const config_key config_keys[] = {
#define CONFIG_KEY(name, kind, field, lo, hi, def, metavar, alt_env, help) \
    { #name, kind, offsetof(config, field), lo, hi, def, metavar, alt_env, help },
#include "config/config_keys.def"
#undef CONFIG_KEY
};
const size_t config_key_count = sizeof config_keys / sizeof config_keys[0];

/* Permission bits a name may stand for
 * (https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags). */
#define PERM_ADMINISTRATOR (UINT64_C(1) << 3)
#define PERM_MANAGE_GUILD (UINT64_C(1) << 5)

#define FIELD(cfg, k, type) ((type *)((char *)(cfg) + (k)->offset))

/* ---- names -------------------------------------------------------------- */

int config_key_normalize(const char *in, size_t len, char *out, size_t outlen)
{
    if (len + 1 > outlen)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = in[i] == '-' ? '_' : (char)tolower((unsigned char)in[i]);
    out[len] = '\0';
    return 1;
}

const config_key *config_key_find(const char *normalized)
{
    for (size_t i = 0; i < config_key_count; i++)
        if (strcmp(config_keys[i].name, normalized) == 0)
            return &config_keys[i];
    return NULL;
}

const config_key *config_key_suggest(const char *normalized)
{
    const config_key *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < config_key_count; i++) {
        size_t d = suggest_distance(normalized, config_keys[i].name);
        if (d < best_d && suggest_is_close(normalized, config_keys[i].name)) {
            best = &config_keys[i];
            best_d = d;
        }
    }
    return best;
}

void config_quote_value(const char *value, char *buf, size_t n)
{
    char shown[48];
    size_t len = uri_redact(value, shown, sizeof shown);   /* a db URI's password: never */
    if (len > 40) {
        snprintf(buf, n, "a %zu-character value (not shown)", len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        shown[i] = !isprint((unsigned char)shown[i]) ? '?' : shown[i];
    log_redact(shown);
    snprintf(buf, n, "'%s'", shown);
}

/* "expected <what>, got '<value>'" */
static dc_err expected(char *err, size_t errlen, const char *what, const char *value)
{
    char quoted[64];
    config_quote_value(value, quoted, sizeof quoted);
    snprintf(err, errlen, "expected %s, got %s", what, quoted);
    return DC_ERR_CONFIG;
}

/* ---- scalar parsers ----------------------------------------------------- */

static int parse_whole(const char *s, long long *out)
{
    const char *p = s + (*s == '-');
    if (!*p)
        return 0;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno == 0;
}

/* Decimal numbers only: strtod alone would also take "inf", "nan", "0x1p3". */
static int parse_real(const char *s, double *out)
{
    if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
        return 0;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

/* Discord snowflake: digits only, non-zero, fits a signed 64-bit integer
 * (the store's INTEGER; a larger id would wrap to a negative one). */
static int parse_snowflake(const char *s, size_t len, uint64_t *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno != 0 || v == 0 || v > INT64_MAX)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" };
    static const char *const no[] = { "false", "0", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 1;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 1;
    }
    return 0;
}

/* "64M" -> 67108864; suffixes K, M, G (binary), optionally "KiB"/"KB". */
static int parse_size(const char *s, double *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0)
        return 0;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (mult > 1 && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
        end += strlen(end);
    *out = (double)n * mult;
    return *end == '\0';
}

/* The shortest text that reads back as v: --print-config and a reload
 * (config_reload.c parses it again) must not round 0.0123456 to 0.0123457. */
static void format_number(char *buf, size_t n, double v)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---- generic kinds ------------------------------------------------------ */

static dc_err set_whole(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    long long n;
    if (!parse_whole(v, &n) || n < (long long)k->lo || n > (long long)k->hi) {
        char what[96];
        snprintf(what, sizeof what, "a whole number from %lld to %lld", (long long)k->lo, (long long)k->hi);
        return expected(err, errlen, what, v);
    }
    *FIELD(cfg, k, int) = (int)n;
    return DC_OK;
}

static dc_err set_real(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    double d;
    if (!parse_real(v, &d) || d < k->lo || d > k->hi) {
        char what[96], lo[32], hi[32];
        format_number(lo, sizeof lo, k->lo);
        format_number(hi, sizeof hi, k->hi);
        snprintf(what, sizeof what, "a number from %s to %s", lo, hi);
        return expected(err, errlen, what, v);
    }
    *FIELD(cfg, k, double) = d;
    return DC_OK;
}

/* A share is a fraction in (0, 1]: zero would forbid every delete. */
static dc_err set_share(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    double d;
    if (!parse_real(v, &d) || d <= k->lo || d > k->hi)
        return expected(err, errlen, "a number greater than 0 and at most 1", v);
    *FIELD(cfg, k, double) = d;
    return DC_OK;
}

static dc_err set_size(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    double d;
    if (!parse_size(v, &d) || d < k->lo || d > k->hi)
        return expected(err, errlen, "a size from 4K to 1G (a number of bytes, or with suffix K, M or G)", v);
    *FIELD(cfg, k, size_t) = (size_t)d;
    return DC_OK;
}

static dc_err set_bool(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    int b;
    if (!parse_bool(v, &b))
        return expected(err, errlen, k->kind == KIND_ON_OFF ? "on or off" : "true or false", v);
    *FIELD(cfg, k, int) = b;
    return DC_OK;
}

static dc_err set_string(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    if (!*v && k->kind != KIND_OPT_PATH) {
        snprintf(err, errlen, "must not be empty");
        return DC_ERR_CONFIG;
    }
    char *copy = NULL;
    if (*v && !(copy = strdup(v))) {
        snprintf(err, errlen, "out of memory");
        return DC_ERR_NOMEM;
    }
    char **slot = FIELD(cfg, k, char *);
    free(*slot);
    *slot = copy;
    return DC_OK;
}

/* ---- special kinds ------------------------------------------------------ */

/* Trims, strips a pasted "Bot " prefix, and never echoes the value. */
/* A secret (the bot token, http_token): kept, registered for redaction,
 * never printed. */
static dc_err set_token(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    char **field = (char **)((char *)cfg + k->offset);
    while (isspace((unsigned char)*v))
        v++;
    if (field == &cfg->token && strncmp(v, "Bot ", 4) == 0)
        v += 4;
    size_t len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    for (size_t i = 0; i < len; i++) {
        if (!isgraph((unsigned char)v[i])) {
            snprintf(err, errlen, "contains spaces or control characters (value not shown)");
            return DC_ERR_CONFIG;
        }
    }
    char *copy = NULL;
    if (len && !(copy = strndup(v, len))) {
        snprintf(err, errlen, "out of memory");
        return DC_ERR_NOMEM;
    }
    if (*field) {
        explicit_bzero(*field, strlen(*field));
        free(*field);
    }
    *field = copy;
    if (copy)
        log_add_secret(copy);
    return DC_OK;
}

/* https:// anywhere; plain http:// only to this machine (the test double). */
static dc_err set_url(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    static const char *const loopback[] = { "http://127.0.0.1", "http://localhost", "http://[::1]" };
    int ok = strncmp(v, "https://", 8) == 0 && v[8];
    for (size_t i = 0; !ok && i < 3; i++) {
        size_t n = strlen(loopback[i]);
        ok = strncmp(v, loopback[i], n) == 0 && (v[n] == '\0' || v[n] == ':' || v[n] == '/');
    }
    if (!ok)
        return expected(err, errlen, "an https:// URL (http:// only for 127.0.0.1, localhost or [::1])", v);
    char trimmed[1024];
    size_t len = strlen(v);
    if (len >= sizeof trimmed) {
        snprintf(err, errlen, "URL longer than %zu characters", sizeof trimmed - 1);
        return DC_ERR_CONFIG;
    }
    memcpy(trimmed, v, len + 1);
    while (len > 8 && trimmed[len - 1] == '/')   /* callers append "/gateway/bot" */
        trimmed[--len] = '\0';
    return set_string(cfg, k, trimmed, err, errlen);
}

static dc_err set_log_level(config *cfg, const char *v, char *err, size_t errlen)
{
    int level = log_level_from_name(v);
    if (level < 0)
        return expected(err, errlen, "error, warn, info or debug", v);
    cfg->log_level = level;
    return DC_OK;
}

static dc_err set_compress(config *cfg, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "zlib-stream") == 0)
        cfg->compress = COMPRESS_ZLIB_STREAM;
    else if (strcmp(v, "none") == 0)
        cfg->compress = COMPRESS_NONE;
    else
        return expected(err, errlen, "zlib-stream or none", v);
    return DC_OK;
}

static dc_err set_member_source(config *cfg, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "gateway") == 0)
        cfg->member_source = MEMBER_SOURCE_GATEWAY;
    else if (strcmp(v, "rest") == 0)
        cfg->member_source = MEMBER_SOURCE_REST;
    else
        return expected(err, errlen, "gateway or rest", v);
    return DC_OK;
}

/* Reads an unsigned decimal at *p (no sign, at most 9 digits). */
static int read_count(const char **p, int *out)
{
    const char *s = *p;
    long n = 0;
    int digits = 0;
    while (isdigit((unsigned char)*s) && digits < 10) {
        n = n * 10 + (*s++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 9)
        return 0;
    *out = (int)n;
    *p = s;
    return 1;
}

/* "auto" | "ID/COUNT" | "FIRST-LAST/COUNT" */
static dc_err set_shards(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    static const char what[] = "auto, ID/COUNT or FIRST-LAST/COUNT with FIRST <= LAST < COUNT";
    if (strcmp(v, "auto") == 0) {
        cfg->shard_first = cfg->shard_last = cfg->shard_count = 0;
        return DC_OK;
    }
    const char *p = v;
    int first, last, count;
    if (!read_count(&p, &first))
        return expected(err, errlen, what, v);
    last = first;
    if (*p == '-' && (p++, !read_count(&p, &last)))
        return expected(err, errlen, what, v);
    if (*p != '/' || (p++, !read_count(&p, &count)) || *p != '\0')
        return expected(err, errlen, what, v);
    if (first > last || last >= count || count > (int)k->hi)
        return expected(err, errlen, what, v);
    cfg->shard_first = first;
    cfg->shard_last = last;
    cfg->shard_count = count;
    return DC_OK;
}

static dc_err set_opt_snowflake(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    uint64_t id = 0;
    if (*v && !parse_snowflake(v, strlen(v), &id))
        return expected(err, errlen, "a Discord id (digits only, not 0)", v);
    *FIELD(cfg, k, uint64_t) = id;
    return DC_OK;
}

static dc_err set_permission(config *cfg, const char *v, char *err, size_t errlen)
{
    uint64_t bits;
    if (strcasecmp(v, "ADMINISTRATOR") == 0)
        bits = PERM_ADMINISTRATOR;
    else if (strcasecmp(v, "MANAGE_GUILD") == 0)
        bits = PERM_MANAGE_GUILD;
    else if (!parse_snowflake(v, strlen(v), &bits))   /* same shape: digits, non-zero */
        return expected(err, errlen, "ADMINISTRATOR, MANAGE_GUILD or a non-zero decimal bit mask", v);
    cfg->admin_permission = bits;
    return DC_OK;
}

static dc_err set_prefix(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    int printable = 1;
    for (size_t i = 0; i < len; i++)
        printable &= isgraph((unsigned char)v[i]) != 0;
    if (len < (size_t)k->lo || len > (size_t)k->hi || !printable)
        return expected(err, errlen, "1 to 8 characters without spaces", v);
    memcpy(cfg->prefix, v, len + 1);
    return DC_OK;
}

/* both | prefix | slash | off; the old boolean spellings (on, true, yes, 1
 * and off, false, no, 0) keep old config files working: on = both. */
static dc_err set_commands(config *cfg, const char *v, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        config_commands value;
    } names[] = { { "both", COMMANDS_BOTH }, { "prefix", COMMANDS_PREFIX }, { "slash", COMMANDS_SLASH },
                  { "off", COMMANDS_OFF } };
    int on;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(v, names[i].name) == 0)
            return cfg->commands = names[i].value, DC_OK;
    if (!parse_bool(v, &on))
        return expected(err, errlen, "both, prefix, slash or off (on means both)", v);
    cfg->commands = on ? COMMANDS_BOTH : COMMANDS_OFF;
    return DC_OK;
}

/* Discord's rule for a chat-input command name is ^[-_\p{L}\p{N}]{1,32}$
 * in lower case (where a script has case); ASCII a-z, 0-9, - and _ is the
 * part of it accepted here, which every client can type. */
static dc_err set_slash_name(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len < (size_t)k->lo || len > (size_t)k->hi || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
        return expected(err, errlen, "1 to 32 of a-z, 0-9, - and _ (Discord's rule for command names)", v);
    memcpy(cfg->slash_command_name, v, len + 1);
    return DC_OK;
}

/* ---- comma lists -------------------------------------------------------- */

/* Calls item(ctx, start, len, index) for each non-empty, trimmed item. */
typedef dc_err (*list_item_fn)(void *ctx, const char *s, size_t len, size_t index, char *err, size_t errlen);

static dc_err for_each_item(const char *v, list_item_fn item, void *ctx, char *err, size_t errlen)
{
    size_t index = 0;
    while (*v) {
        size_t len = strcspn(v, ",");
        const char *s = v, *e = v + len;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (e > s) {
            dc_err rc = item(ctx, s, (size_t)(e - s), index++, err, errlen);
            if (rc != DC_OK)
                return rc;
        }
        v += len + (v[len] == ',');
    }
    return DC_OK;
}

static dc_err item_error(char *err, size_t errlen, const char *what, const char *s, size_t len)
{
    char item[64];
    snprintf(item, sizeof item, "%.*s", (int)(len < 63 ? len : 63), s);
    return expected(err, errlen, what, item);
}

static dc_err too_many(char *err, size_t errlen, size_t max)
{
    snprintf(err, errlen, "at most %zu items allowed", max);
    return DC_ERR_CONFIG;
}

static dc_err owner_item(void *ctx, const char *s, size_t len, size_t index, char *err, size_t errlen)
{
    config *tmp = ctx;
    if (index >= CONFIG_MAX_OWNER_IDS)
        return too_many(err, errlen, CONFIG_MAX_OWNER_IDS);
    if (!parse_snowflake(s, len, &tmp->owner_ids[index]))
        return item_error(err, errlen, "Discord user ids (digits only, not 0) separated by commas", s, len);
    tmp->n_owner_ids = index + 1;
    return DC_OK;
}

static dc_err guild_interval_item(void *ctx, const char *s, size_t len, size_t index, char *err, size_t errlen)
{
    static const char what[] = "GUILD_ID:HOURS with HOURS from 0.01 to 8760";
    config *tmp = ctx;
    if (index >= CONFIG_MAX_GUILD_INTERVALS)
        return too_many(err, errlen, CONFIG_MAX_GUILD_INTERVALS);
    const char *colon = memchr(s, ':', len);
    char hours[32];
    size_t hlen = colon ? len - (size_t)(colon - s) - 1 : 0;
    if (!colon || hlen == 0 || hlen >= sizeof hours)
        return item_error(err, errlen, what, s, len);
    memcpy(hours, colon + 1, hlen);
    hours[hlen] = '\0';
    config_guild_interval *gi = &tmp->guild_intervals[index];
    if (!parse_snowflake(s, (size_t)(colon - s), &gi->guild_id) || !parse_real(hours, &gi->hours) ||
        gi->hours < 0.01 || gi->hours > 8760)
        return item_error(err, errlen, what, s, len);
    tmp->n_guild_intervals = index + 1;
    return DC_OK;
}

/* SQL identifier as SQLite accepts it unquoted: [A-Za-z_][A-Za-z0-9_]*. */
static int copy_identifier(char *dst, size_t cap, const char *s, size_t len)
{
    if (len == 0 || len >= cap || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 1;
}

static dc_err clean_table_item(void *ctx, const char *s, size_t len, size_t index, char *err, size_t errlen)
{
    static const char what[] =
        "TABLE:USER_COLUMN:GUILD_COLUMN with names of letters, digits and _ (not starting with a digit)";
    config *tmp = ctx;
    if (index >= CONFIG_MAX_CLEAN_TABLES)
        return too_many(err, errlen, CONFIG_MAX_CLEAN_TABLES);
    config_clean_table *t = &tmp->clean_tables[index];
    char *dst[3] = { t->table, t->user_col, t->guild_col };
    const char *p = s, *end = s + len;
    for (int part = 0; part < 3; part++) {
        const char *stop = part < 2 ? memchr(p, ':', (size_t)(end - p)) : end;
        if (!stop || !copy_identifier(dst[part], sizeof t->table, p, (size_t)(stop - p)))
            return item_error(err, errlen, what, s, len);
        p = stop + 1;
    }
    tmp->n_clean_tables = index + 1;
    return DC_OK;
}

/* Lists parse into a scratch copy and replace the old list only when whole. */
static dc_err set_list(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    config tmp;
    memset(&tmp, 0, sizeof tmp);
    list_item_fn fn = k->kind == KIND_SNOWFLAKE_LIST  ? owner_item
                    : k->kind == KIND_GUILD_INTERVALS ? guild_interval_item
                                                      : clean_table_item;
    dc_err rc = for_each_item(v, fn, &tmp, err, errlen);
    if (rc != DC_OK)
        return rc;
    if (k->kind == KIND_SNOWFLAKE_LIST) {
        memcpy(cfg->owner_ids, tmp.owner_ids, sizeof tmp.owner_ids);
        cfg->n_owner_ids = tmp.n_owner_ids;
    } else if (k->kind == KIND_GUILD_INTERVALS) {
        memcpy(cfg->guild_intervals, tmp.guild_intervals, sizeof tmp.guild_intervals);
        cfg->n_guild_intervals = tmp.n_guild_intervals;
    } else {
        memcpy(cfg->clean_tables, tmp.clean_tables, sizeof tmp.clean_tables);
        cfg->n_clean_tables = tmp.n_clean_tables;
    }
    return DC_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

dc_err config_key_set(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    switch (k->kind) {
    case KIND_TOKEN: return set_token(cfg, k, v, err, errlen);
    case KIND_PATH:
    case KIND_OPT_PATH: return set_string(cfg, k, v, err, errlen);
    case KIND_URL: return set_url(cfg, k, v, err, errlen);
    case KIND_LOG_LEVEL: return set_log_level(cfg, v, err, errlen);
    case KIND_COMPRESS: return set_compress(cfg, v, err, errlen);
    case KIND_SHARDS: return set_shards(cfg, k, v, err, errlen);
    case KIND_WHOLE: return set_whole(cfg, k, v, err, errlen);
    case KIND_REAL: return set_real(cfg, k, v, err, errlen);
    case KIND_SHARE: return set_share(cfg, k, v, err, errlen);
    case KIND_SIZE: return set_size(cfg, k, v, err, errlen);
    case KIND_BOOL:
    case KIND_ON_OFF: return set_bool(cfg, k, v, err, errlen);
    case KIND_MEMBER_SOURCE: return set_member_source(cfg, v, err, errlen);
    case KIND_OPT_SNOWFLAKE: return set_opt_snowflake(cfg, k, v, err, errlen);
    case KIND_PREFIX: return set_prefix(cfg, k, v, err, errlen);
    case KIND_PERMISSION: return set_permission(cfg, v, err, errlen);
    case KIND_COMMANDS: return set_commands(cfg, v, err, errlen);
    case KIND_SLASH_NAME: return set_slash_name(cfg, k, v, err, errlen);
    case KIND_GUILD_INTERVALS:
    case KIND_CLEAN_TABLES:
    case KIND_SNOWFLAKE_LIST: return set_list(cfg, k, v, err, errlen);
    case KIND_NOTIFY:
    case KIND_TEMPLATE: return config_grace_set(cfg, k, v, err, errlen);
    case KIND_LOG_FORMAT: return config_logfmt_set(cfg, v, err, errlen);
    }
    snprintf(err, errlen, "internal error: unhandled key kind");
    return DC_ERR_INTERNAL;
}

/* Surrounding whitespace is never meaningful in a value. */
static char *trimmed_copy(const char *v)
{
    while (isspace((unsigned char)*v))
        v++;
    size_t len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    return strndup(v, len);
}

dc_err config_set(config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    char name[CONFIG_KEY_NAME_MAX] = "";
    const config_key *k = NULL;
    if (config_key_normalize(key, strlen(key), name, sizeof name))
        k = config_key_find(name);
    if (!k) {
        const config_key *near = config_key_suggest(name);
        char shown[CONFIG_KEY_NAME_MAX + 8];
        config_quote_value(key, shown, sizeof shown);
        if (near)
            snprintf(err, errlen, "unknown key %s (did you mean '%s'?)", shown, near->name);
        else
            snprintf(err, errlen, "unknown key %s (see 'discord-cleaner help config')", shown);
        return DC_ERR_CONFIG;
    }
    char *v = trimmed_copy(value ? value : "");
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return DC_ERR_NOMEM;
    }
    char why[512];
    dc_err rc = config_key_set(cfg, k, v, why, sizeof why);
    if (k->kind == KIND_TOKEN)
        explicit_bzero(v, strlen(v));
    free(v);
    if (rc != DC_OK)
        snprintf(err, errlen, "%s: %s", k->name, why);
    return rc;
}

dc_err config_defaults(config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[256];
    for (size_t i = 0; i < config_key_count; i++) {
        dc_err rc = config_key_set(cfg, &config_keys[i], config_keys[i].def, err, sizeof err);
        if (rc != DC_OK) {
            config_free(cfg);
            return rc == DC_ERR_NOMEM ? rc : DC_ERR_INTERNAL;   /* a bad default is a bug */
        }
    }
    return DC_OK;
}

dc_err config_copy(config *dst, const config *src)
{
    *dst = *src;
    char **own[] = { &dst->token, &dst->token_file, &dst->api_base, &dst->db, &dst->log_file,
                     &dst->http_listen, &dst->http_token, &dst->http_token_file };
    const char *from[] = { src->token, src->token_file, src->api_base, src->db, src->log_file,
                           src->http_listen, src->http_token, src->http_token_file };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        *own[i] = NULL;              /* none of src's: config_free below frees only copies */
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (from[i] && !(*own[i] = strdup(from[i]))) {
            config_free(dst);
            return DC_ERR_NOMEM;
        }
    return DC_OK;
}

void config_free(config *cfg)
{
    if (cfg->token)
        explicit_bzero(cfg->token, strlen(cfg->token));
    free(cfg->token);
    if (cfg->http_token)
        explicit_bzero(cfg->http_token, strlen(cfg->http_token));
    free(cfg->http_token);
    free(cfg->http_token_file);
    free(cfg->http_listen);
    cfg->http_token = cfg->http_token_file = cfg->http_listen = NULL;
    free(cfg->token_file);
    free(cfg->api_base);
    free(cfg->db);
    free(cfg->log_file);
    cfg->token = cfg->token_file = cfg->api_base = cfg->db = cfg->log_file = NULL;
}

/* ---- formatting (for config_dump) --------------------------------------- */

static void format_size(char *buf, size_t n, size_t v)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        size_t unit = (size_t)1 << (10 * (3 - i));
        if (v >= unit && v % unit == 0) {
            snprintf(buf, n, "%zu%c", v / unit, units[i]);
            return;
        }
    }
    snprintf(buf, n, "%zu", v);
}

static void format_list(const config *cfg, const config_key *k, char *buf, size_t n)
{
    size_t used = 0, count = k->kind == KIND_SNOWFLAKE_LIST  ? cfg->n_owner_ids
                          : k->kind == KIND_GUILD_INTERVALS ? cfg->n_guild_intervals
                                                            : cfg->n_clean_tables;
    buf[0] = '\0';
    for (size_t i = 0; i < count && used < n; i++) {
        const char *sep = i ? "," : "";
        int w;
        if (k->kind == KIND_SNOWFLAKE_LIST)
            w = snprintf(buf + used, n - used, "%s%llu", sep, (unsigned long long)cfg->owner_ids[i]);
        else if (k->kind == KIND_GUILD_INTERVALS)
            w = snprintf(buf + used, n - used, "%s%llu:%g", sep,
                         (unsigned long long)cfg->guild_intervals[i].guild_id, cfg->guild_intervals[i].hours);
        else
            w = snprintf(buf + used, n - used, "%s%s:%s:%s", sep, cfg->clean_tables[i].table,
                         cfg->clean_tables[i].user_col, cfg->clean_tables[i].guild_col);
        used += w > 0 ? (size_t)w : 0;
    }
}

static const char *const level_text[] = { "error", "warn", "info", "debug" };

void config_key_format(const config *cfg, const config_key *k, char *buf, size_t n)
{
    const void *field = (const char *)cfg + k->offset;
    switch (k->kind) {
    case KIND_TOKEN: snprintf(buf, n, "%s", *(char *const *)field ? "(set)" : "(unset)"); return;
    case KIND_PATH: /* db: a libpq URI is shown without its password */
        uri_redact(*(char *const *)field ? *(char *const *)field : "", buf, n);
        return;
    case KIND_OPT_PATH:
    case KIND_URL: snprintf(buf, n, "%s", *(char *const *)field ? *(char *const *)field : ""); return;
    case KIND_LOG_LEVEL:
        snprintf(buf, n, "%s", level_text[cfg->log_level >= 0 && cfg->log_level < 4 ? cfg->log_level : 2]);
        return;
    case KIND_COMPRESS: snprintf(buf, n, "%s", cfg->compress == COMPRESS_NONE ? "none" : "zlib-stream"); return;
    case KIND_SHARDS:
        if (cfg->shard_count == 0)
            snprintf(buf, n, "auto");
        else if (cfg->shard_first == cfg->shard_last)
            snprintf(buf, n, "%d/%d", cfg->shard_first, cfg->shard_count);
        else
            snprintf(buf, n, "%d-%d/%d", cfg->shard_first, cfg->shard_last, cfg->shard_count);
        return;
    case KIND_WHOLE: snprintf(buf, n, "%d", *(const int *)field); return;
    case KIND_REAL:
    case KIND_SHARE: format_number(buf, n, *(const double *)field); return;
    case KIND_SIZE: format_size(buf, n, *(const size_t *)field); return;
    case KIND_BOOL: snprintf(buf, n, "%s", *(const int *)field ? "true" : "false"); return;
    case KIND_ON_OFF: snprintf(buf, n, "%s", *(const int *)field ? "on" : "off"); return;
    case KIND_MEMBER_SOURCE: snprintf(buf, n, "%s", cfg->member_source == MEMBER_SOURCE_REST ? "rest" : "gateway"); return;
    case KIND_OPT_SNOWFLAKE:
        if (*(const uint64_t *)field)
            snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field);
        else
            buf[0] = '\0';
        return;
    case KIND_PREFIX: snprintf(buf, n, "%s", cfg->prefix); return;
    case KIND_PERMISSION:
        if (cfg->admin_permission == PERM_ADMINISTRATOR)
            snprintf(buf, n, "ADMINISTRATOR");
        else if (cfg->admin_permission == PERM_MANAGE_GUILD)
            snprintf(buf, n, "MANAGE_GUILD");
        else
            snprintf(buf, n, "%llu", (unsigned long long)cfg->admin_permission);
        return;
    case KIND_GUILD_INTERVALS:
    case KIND_CLEAN_TABLES:
    case KIND_SNOWFLAKE_LIST: format_list(cfg, k, buf, n); return;
    case KIND_COMMANDS: {
        static const char *const text[] = { "off", "prefix", "slash", "both" };
        snprintf(buf, n, "%s", text[cfg->commands & COMMANDS_BOTH]);
        return;
    }
    case KIND_SLASH_NAME: snprintf(buf, n, "%s", cfg->slash_command_name); return;
    case KIND_NOTIFY:
    case KIND_TEMPLATE: config_grace_format(cfg, k, buf, n); return;
    case KIND_LOG_FORMAT: config_logfmt_format(cfg, buf, n); return;
    }
    buf[0] = '\0';
}
