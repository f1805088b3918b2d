/* config_print.c - --help text, the README table and the effective-config
 * dump, all generated from config_keys.def. */
#include "config/config_keys.h"

#include <ctype.h>
#include <string.h>

static void dashed(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

static void upper_env(const char *name, char *out, size_t n)
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
        dashed(k->name, flag, sizeof flag);
        upper_env(k->name, env, sizeof env);
        if (k->kind == KIND_BOOL)
            fprintf(out, "  --%s, --no-%s\n", flag, flag);
        else
            fprintf(out, "  --%s %s\n", flag, k->metavar);
        fprintf(out, "      %s\n      [%s = %s; env %s%s%s]\n", k->help, k->name, shown_default(k), env,
                k->alt_env ? ", " : "", k->alt_env ? k->alt_env : "");
    }
    fputs("  --config FILE\n      read settings from FILE first (env CLEANER_CONFIG)\n", out);
}

void config_print_markdown(FILE *out)
{
    char env[CONFIG_KEY_NAME_MAX + 8];
    fputs("| key | default | env | meaning |\n|---|---|---|---|\n", out);
    for (size_t i = 0; i < config_key_count; i++) {
        const config_key *k = &config_keys[i];
        upper_env(k->name, env, sizeof env);
        fprintf(out, "| `%s` | %s%s%s | `%s`%s%s%s | %s |\n", k->name, k->def[0] ? "`" : "", shown_default(k),
                k->def[0] ? "`" : "", env, k->alt_env ? ", `" : "", k->alt_env ? k->alt_env : "",
                k->alt_env ? "`" : "", k->help);
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
        fprintf(out, "%s = ", config_keys[i].name);
        print_value(out, value);
    }
}
