/* config_args.c - settings from the command line, and the whole
 * defaults < file < environment < flags chain.
 *
 * Every key is a flag: --batch-size 100, --batch-size=100; a boolean key
 * takes no value (--dry-run) and has a --no- form.  A subcommand's own
 * flags (replay --expect FILE ...) are passed through untouched in order,
 * so the subcommand parses them without knowing about config keys. */
#include "config/config_keys.h"

#include <string.h>

#include "base/suggest.h"

typedef struct {
    config *cfg;               /* NULL: only looking for --config */
    const config_flag *own;
    char **rest;               /* NULL: nothing collected */
    int n_rest;
    const char *config_path;
} arg_walk;

static void push(arg_walk *w, char *arg)
{
    if (w->rest)
        w->rest[w->n_rest] = arg;
    w->n_rest++;
}

static dc_err usage(char *err, size_t errlen, const char *what, const char *name, size_t len)
{
    snprintf(err, errlen, "option '--%.*s' %s", (int)(len < 64 ? len : 64), name, what);
    return DC_ERR_USAGE;
}

/* "--foo" for a value that was not given; a following "--bar" is taken for
 * a forgotten value, not swallowed as one (use --key=--bar to mean it). */
static const char *option_value(const char *inline_value, int argc, char **argv, int *i)
{
    if (inline_value)
        return inline_value;
    if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
        return argv[++*i];
    return NULL;
}

static const config_flag *find_own(const config_flag *own, const char *name, size_t len)
{
    for (; own && own->name; own++)
        if (strlen(own->name) == len + 2 && strncmp(own->name + 2, name, len) == 0)
            return own;
    return NULL;
}

/* Closest config key (as a dashed flag) or own flag to a mistyped option. */
static void suggest_option(const arg_walk *w, const char *name, size_t len, char *out, size_t outlen)
{
    char typo[CONFIG_KEY_NAME_MAX], dashed[CONFIG_KEY_NAME_MAX];
    out[0] = '\0';
    if (!config_key_normalize(name, len, typo, sizeof typo))
        return;
    size_t best = (size_t)-1;
    for (size_t i = 0; i < config_key_count; i++) {
        size_t d = suggest_distance(typo, config_keys[i].name);
        if (d < best && suggest_is_close(typo, config_keys[i].name)) {
            best = d;
            snprintf(out, outlen, "--%s", config_keys[i].name);
        }
    }
    for (const config_flag *f = w->own; f && f->name; f++) {
        config_key_normalize(f->name + 2, strlen(f->name + 2), dashed, sizeof dashed);
        size_t d = suggest_distance(typo, dashed);
        if (d < best && suggest_is_close(typo, dashed)) {
            best = d;
            snprintf(out, outlen, "%s", f->name);
        }
    }
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

static dc_err unknown_option(const arg_walk *w, const char *name, size_t len, char *err, size_t errlen)
{
    char near[CONFIG_KEY_NAME_MAX + 4];
    suggest_option(w, name, len, near, sizeof near);
    if (near[0])
        snprintf(err, errlen, "unknown option '--%.*s' (did you mean '%s'?)", (int)(len < 64 ? len : 64), name, near);
    else
        snprintf(err, errlen, "unknown option '--%.*s'", (int)(len < 64 ? len : 64), name);
    return DC_ERR_USAGE;
}

static dc_err take_own(arg_walk *w, const config_flag *f, const char *inline_value, int argc, char **argv,
                       int *i, char *err, size_t errlen)
{
    if (!f->takes_value) {
        if (inline_value)
            return usage(err, errlen, "takes no value", f->name + 2, strlen(f->name + 2));
        push(w, (char *)f->name);
        return DC_OK;
    }
    const char *value = option_value(inline_value, argc, argv, i);
    if (!value)
        return usage(err, errlen, "needs a value", f->name + 2, strlen(f->name + 2));
    push(w, (char *)f->name);
    push(w, (char *)value);
    return DC_OK;
}

/* --key VALUE, --key=VALUE, --flag, --no-flag */
static dc_err take_key(arg_walk *w, const char *name, size_t len, const char *inline_value, int argc,
                       char **argv, int *i, char *err, size_t errlen)
{
    char norm[CONFIG_KEY_NAME_MAX] = "";
    const config_key *k = NULL;
    const char *value = NULL;
    if (config_key_normalize(name, len, norm, sizeof norm))
        k = config_key_find(norm);
    if (!k && strncmp(norm, "no_", 3) == 0 && (k = config_key_find(norm + 3)) != NULL) {
        if (k->kind != KIND_BOOL)
            return unknown_option(w, name, len, err, errlen);
        if (inline_value)
            return usage(err, errlen, "takes no value", name, len);
        value = "false";
    }
    if (!k)
        return unknown_option(w, name, len, err, errlen);
    if (!value)
        value = k->kind == KIND_BOOL && !inline_value ? "true" : option_value(inline_value, argc, argv, i);
    if (!value)
        return usage(err, errlen, "needs a value", name, len);
    if (!w->cfg)
        return DC_OK;
    char why[512];
    dc_err rc = config_key_set(w->cfg, k, value, why, sizeof why);
    if (rc == DC_ERR_NOMEM)
        return rc;
    if (rc != DC_OK)
        snprintf(err, errlen, "option '--%.*s': %s", (int)(len < 64 ? len : 64), name, why);
    /* A wrong value is a configuration error (78) wherever it was given:
     * flag, environment or file.  64 is for a command line that cannot be
     * read (unknown option, missing value, stray argument). */
    return rc == DC_OK ? DC_OK : DC_ERR_CONFIG;
}

static dc_err take_option(arg_walk *w, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    if (arg[1] != '-') {   /* single-dash options: only -h, handled by main */
        snprintf(err, errlen, "unknown option '%.64s'", arg);
        return DC_ERR_USAGE;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const char *inline_value = eq ? eq + 1 : NULL;
    if (len == 6 && strncmp(name, "config", 6) == 0) {
        const char *path = option_value(inline_value, argc, argv, i);
        if (!path || !*path)
            return usage(err, errlen, "needs a file name", name, len);
        w->config_path = path;
        return DC_OK;
    }
    const config_flag *own = find_own(w->own, name, len);
    if (own)
        return take_own(w, own, inline_value, argc, argv, i, err, errlen);
    return take_key(w, name, len, inline_value, argc, argv, i, err, errlen);
}

static dc_err walk_args(arg_walk *w, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {   /* the rest is the subcommand's, verbatim */
            while (i < argc)
                push(w, argv[i++]);
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            push(w, arg);
            continue;
        }
        dc_err rc = take_option(w, argc, argv, &i, err, errlen);
        if (rc != DC_OK)
            return rc;
    }
    if (w->rest)
        w->rest[w->n_rest] = NULL;
    return DC_OK;
}

dc_err config_load_args(config *cfg, int argc, char **argv, const config_flag *own, char **rest, int *n_rest,
                        char *err, size_t errlen)
{
    arg_walk w = { .cfg = cfg, .own = own, .rest = rest };
    dc_err rc = walk_args(&w, argc, argv, err, errlen);
    if (n_rest)
        *n_rest = w.n_rest;
    return rc;
}

dc_err config_find_config_arg(int argc, char **argv, const config_flag *own, const char **path, char *err,
                              size_t errlen)
{
    arg_walk w = { .own = own };
    dc_err rc = walk_args(&w, argc, argv, err, errlen);
    *path = w.config_path;
    return rc;
}

static const char *env_value(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=' && (*envp)[len + 1])
            return *envp + len + 1;
    return NULL;
}

dc_err config_load_all(config *cfg, int argc, char **argv, char *const *envp, const config_flag *own,
                       char **rest, int *n_rest, char *err, size_t errlen)
{
    dc_err rc = config_defaults(cfg);
    if (rc != DC_OK) {
        snprintf(err, errlen, "cannot set up default settings: %s", dc_strerror(rc));
        return rc;
    }
    const char *path = NULL;
    rc = config_find_config_arg(argc, argv, own, &path, err, errlen);
    if (rc != DC_OK)
        return rc;
    if (!path)
        path = env_value(envp, "CLEANER_CONFIG");
    if (path && (rc = config_load_file(cfg, path, err, errlen)) != DC_OK)
        return rc;
    if ((rc = config_load_env(cfg, envp, err, errlen)) != DC_OK)
        return rc;
    if ((rc = config_load_args(cfg, argc, argv, own, rest, n_rest, err, errlen)) != DC_OK)
        return rc;
    return config_resolve_token(cfg, err, errlen);
}
