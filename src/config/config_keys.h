/* config_keys.h - the key table of config_keys.def, for config*.c only.
 *
 * config.c parses values, config_load.c reads them from files, the
 * environment and argv, config_print.c prints help and dumps; all three
 * walk the one table so names, defaults and help never drift apart. */
#ifndef DC_CONFIG_KEYS_H
#define DC_CONFIG_KEYS_H

#include <stddef.h>
#include "config/config.h"

typedef enum {
    KIND_TOKEN, KIND_PATH, KIND_OPT_PATH, KIND_URL, KIND_LOG_LEVEL, KIND_COMPRESS,
    KIND_SHARDS, KIND_WHOLE, KIND_REAL, KIND_SHARE, KIND_SIZE, KIND_BOOL, KIND_ON_OFF,
    KIND_MEMBER_SOURCE, KIND_OPT_SNOWFLAKE, KIND_GUILD_INTERVALS, KIND_CLEAN_TABLES,
    KIND_PREFIX, KIND_PERMISSION, KIND_SNOWFLAKE_LIST,
    KIND_COMMANDS, KIND_SLASH_NAME,
    KIND_NOTIFY, KIND_TEMPLATE,                     /* #17 grace (config_grace.c) */
    KIND_LOG_FORMAT                                 /* #18 logs (config_logfmt.c) */
} config_kind;

typedef struct {
    const char *name;
    config_kind kind;
    size_t offset;          /* of the field in config */
    double lo, hi;
    const char *def, *metavar, *alt_env, *help;
} config_key;

extern const config_key config_keys[];
extern const size_t config_key_count;

/* Longest key name plus slack; longer input can never match. */
#define CONFIG_KEY_NAME_MAX 48

/* "Batch-Size" -> "batch_size" (lower case, '-' -> '_'); 0 if too long. */
int config_key_normalize(const char *in, size_t len, char *out, size_t outlen);
/* A key's flag without its dashes ("batch_size" -> "batch-size") and its
 * environment name ("CLEANER_BATCH_SIZE"), as --help and the man page show them. */
void config_key_flag_name(const char *name, char *out, size_t n);
void config_key_env_name(const char *name, char *out, size_t n);
/* Lookup by normalized name; NULL when unknown. */
const config_key *config_key_find(const char *normalized);
/* Closest key to a mistyped normalized name, or NULL. */
const config_key *config_key_suggest(const char *normalized);
/* Parse value into cfg; on error cfg is unchanged and err holds a message
 * without the key name ("expected ..., got '...'"). */
dc_err config_key_set(config *cfg, const config_key *k, const char *value, char *err, size_t errlen);
/* The effective value as config-file text (token: "(set)" / "(unset)"). */
void config_key_format(const config *cfg, const config_key *k, char *buf, size_t n);
/* config_grace.c: notify_departed and notify_message. */
dc_err config_grace_set(config *cfg, const config_key *k, const char *v, char *err, size_t errlen);
void config_grace_format(const config *cfg, const config_key *k, char *buf, size_t n);
/* log_format: text|json (config_logfmt.c). */
dc_err config_logfmt_set(config *cfg, const char *v, char *err, size_t errlen);
void config_logfmt_format(const config *cfg, char *buf, size_t n);
/* 'value' for an error message; long values are described, never shown,
 * so a token pasted into the wrong key does not end up on screen. */
void config_quote_value(const char *value, char *buf, size_t n);

#endif
