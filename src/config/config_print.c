/* config_print.c - --help text, the README table and the effective-config
 * dump, all generated from config_keys.def. */
#include "config/config_keys.h"

#include <ctype.h>
#include <string.h>

void config_key_flag_name(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

void config_key_env_name(const char *name, char *out, size_t n)
{
    snprintf(out, n, "CLEANER_%s", name);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

static const char *shown_default(const config_key *k)
{
    return k->def[0] ? k->def : "(unset)";
}

void config_print_help(FILE *out)
{
    char flag[CONFIG_KEY_NAME_MAX], env[CONFIG_KEY_NAME_MAX + 8];
    fputs("Settings: each is a config-file key (--config FILE, 'key = value'), a flag and\n"
          "an environment variable.  Flags beat the environment, which beats the file.\n\n",
          out);
    for (size_t i = 0; i < config_key_count; i++) {
        const config_key *k = &config_keys[i];
        config_key_flag_name(k->name, flag, sizeof flag);
        config_key_env_name(k->name, env, sizeof env);
        if (k->kind == KIND_BOOL)
            fprintf(out, "  --%s, --no-%s\n", flag, flag);
        else
            fprintf(out, "  --%s %s\n", flag, k->metavar);
        fprintf(out, "      %s\n      [%s = %s; env %s%s%s]\n", k->help, k->name, shown_default(k), env,
                k->alt_env ? ", " : "", k->alt_env ? k->alt_env : "");
    }
    fputs("  --config FILE\n      read settings from FILE first (env CLEANER_CONFIG)\n", out);
}

/* The words an enum takes, or NULL: the metavar already lists them when it
 * holds a '|' (commands, notify_departed). */
static const char *kind_words(const config_key *k)
{
    switch (k->kind) {
    case KIND_LOG_LEVEL: return "error, warn, info, debug";
    case KIND_COMPRESS: return "zlib-stream, none";
    case KIND_MEMBER_SOURCE: return "gateway, rest";
    case KIND_BOOL: return "true, false";
    case KIND_ON_OFF: return "on, off";
    default: return strchr(k->metavar, '|') ? k->metavar : NULL;
    }
}

/* The README's Range column: lo..hi for numbers, the words for enums, the
 * form for everything else; from the same table the parser checks. */
static void kind_range(const config_key *k, char *buf, size_t n)
{
    const char *words = kind_words(k);
    if (words) {
        snprintf(buf, n, "%s", words);
        for (char *p = buf; *p; p++)
            if (*p == '|')
                *p = ',';
        return;
    }
    switch (k->kind) {
    case KIND_WHOLE: case KIND_REAL: snprintf(buf, n, "%.15g..%.15g", k->lo, k->hi); return;
    case KIND_SHARE: snprintf(buf, n, "over %.15g, up to %.15g", k->lo, k->hi); return;
    case KIND_SIZE: snprintf(buf, n, "%.15g..%.15g bytes (K, M, G suffixes)", k->lo, k->hi); return;
    case KIND_PREFIX: case KIND_SLASH_NAME: case KIND_TEMPLATE:
        snprintf(buf, n, "text, %g..%g characters", k->lo, k->hi); return;
    case KIND_PATH: case KIND_OPT_PATH:   /* a path, or what the metavar says (HOST:PORT) */
        snprintf(buf, n, "%s", strcmp(k->metavar, "FILE") == 0 ? "path" : k->metavar);
        return;
    case KIND_URL: snprintf(buf, n, "URL"); return;
    case KIND_TOKEN: snprintf(buf, n, "secret"); return;
    case KIND_SHARDS: snprintf(buf, n, "auto, ID/COUNT, FIRST-LAST/COUNT"); return;
    case KIND_OPT_SNOWFLAKE: snprintf(buf, n, "snowflake"); return;
    case KIND_SNOWFLAKE_LIST: snprintf(buf, n, "snowflakes, comma-separated"); return;
    case KIND_GUILD_INTERVALS: snprintf(buf, n, "GUILD_ID:HOURS list"); return;
    case KIND_CLEAN_TABLES: snprintf(buf, n, "table:column list"); return;
    case KIND_PERMISSION: snprintf(buf, n, "permission name"); return;
    default: snprintf(buf, n, "%s", k->metavar); return;
    }
}

void config_print_markdown(FILE *out)
{
    char env[CONFIG_KEY_NAME_MAX + 8], range[128];
    fputs("| key | default | range | env | SIGHUP | meaning |\n|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < config_key_count; i++) {
        const config_key *k = &config_keys[i];
        config_key_env_name(k->name, env, sizeof env);
        kind_range(k, range, sizeof range);
        fprintf(out, "| `%s` | %s%s%s | %s | `%s`%s%s%s | %s | %s |\n", k->name, k->def[0] ? "`" : "",
                shown_default(k), k->def[0] ? "`" : "", range, env, k->alt_env ? ", `" : "",
                k->alt_env ? k->alt_env : "", k->alt_env ? "`" : "",
                config_key_reloadable(k->name) ? "reloaded" : "restart", k->help);
    }
}

/* Quote a value that would not survive the config-file reader bare. */
static void print_value(FILE *out, const char *v)
{
    int needs_quotes = strchr(v, '#') || *v == '"' || *v == '\'';
    if (!needs_quotes)
        fprintf(out, "%s\n", v);
    else if (!strchr(v, '"'))
        fprintf(out, "\"%s\"\n", v);
    else
        fprintf(out, "'%s'\n", v);
}

void config_dump(const config *cfg, FILE *out)
{
    char value[4096];
    for (size_t i = 0; i < config_key_count; i++) {
        config_key_format(cfg, &config_keys[i], value, sizeof value);
        /* a secret only says whether it is set, as a comment: the dump
         * read back as a file must not make "(set)" the token */
        fprintf(out, "%s%s = ", config_keys[i].kind == KIND_TOKEN ? "# " : "", config_keys[i].name);
        print_value(out, value);
    }
}
