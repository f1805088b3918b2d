/* config_load.c - settings from a config file, the environment and the
 * token file.  Every message names where the bad value came from (file and
 * line, variable name) and never shows the token. */
#include "config/config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_FILE_MAX 4096

/* ---- config file -------------------------------------------------------- */

static char *skip_space(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static void trim_end(char *s)
{
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
}

/* The text after '=': an optional "..." or '...' quoted value, then an
 * optional comment.  Unquoted, '#' starts a comment only at the start or
 * after whitespace, so "prefix = a#b" keeps its '#'.  Returns NULL and sets
 * *why on a malformed value. */
static char *parse_value(char *s, const char **why)
{
    s = skip_space(s);
    if (*s == '"' || *s == '\'') {
        char *close = strchr(s + 1, *s);
        if (!close) {
            *why = "unterminated quote";
            return NULL;
        }
        *close = '\0';
        char *after = skip_space(close + 1);
        if (*after && *after != '#') {
            *why = "unexpected text after the closing quote";
            return NULL;
        }
        return s + 1;
    }
    for (char *p = s; *p; p++) {
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    trim_end(s);
    return s;
}

/* One non-blank, non-comment line.  *is_token tells the caller the line
 * set the token (so the file's permissions matter). */
static dc_err load_line(config *cfg, char *line, int *is_token, char *why, size_t whylen)
{
    char *eq = strchr(line, '=');
    if (!eq) {
        snprintf(why, whylen, "expected 'key = value', found no '='");
        return DC_ERR_CONFIG;
    }
    *eq = '\0';
    trim_end(line);
    if (!*line) {
        snprintf(why, whylen, "missing key before '='");
        return DC_ERR_CONFIG;
    }
    const char *bad = NULL;
    char *value = parse_value(eq + 1, &bad);
    if (!value) {
        /* A long "key" may be a pasted token: name it only when short. */
        if (strlen(line) <= 40)
            snprintf(why, whylen, "%s: %s", line, bad);
        else
            snprintf(why, whylen, "%s", bad);
        return DC_ERR_CONFIG;
    }
    char name[CONFIG_KEY_NAME_MAX];
    *is_token = config_key_normalize(line, strlen(line), name, sizeof name) && strcmp(name, "token") == 0;
    return config_set(cfg, line, value, why, whylen);
}

static dc_err refuse_open_token_holder(const char *path, mode_t mode, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "%s holds the token but is readable by group/others (mode %04o); "
             "chmod 600 it or move the token to token_file",
             path, (unsigned)(mode & 07777));
    return DC_ERR_CONFIG;
}

dc_err config_load_file(config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return DC_ERR_CONFIG;
    }
    struct stat st;
    mode_t mode = fstat(fileno(f), &st) == 0 ? st.st_mode : 0;
    char *line = NULL, why[512];
    size_t cap = 0;
    int lineno = 0, saw_token = 0;
    dc_err rc = DC_OK;
    while (rc == DC_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = skip_space(line);
        trim_end(s);
        if (!*s || *s == '#')
            continue;
        int is_token = 0;
        rc = load_line(cfg, s, &is_token, why, sizeof why);
        saw_token |= is_token;
        if (rc != DC_OK)
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
    }
    if (line) {
        explicit_bzero(line, cap);   /* may have held the token */
        free(line);
    }
    fclose(f);
    if (rc == DC_OK && saw_token && (mode & (S_IRGRP | S_IROTH)))
        rc = refuse_open_token_holder(path, mode, err, errlen);
    return rc;
}

/* ---- environment -------------------------------------------------------- */

static dc_err apply_env(config *cfg, const char *var, size_t var_len, const config_key *k,
                        const char *value, char *err, size_t errlen)
{
    char why[512];
    dc_err rc = config_key_set(cfg, k, value, why, sizeof why);
    if (rc != DC_OK)
        snprintf(err, errlen, "environment variable %.*s: %s", (int)var_len, var, why);
    return rc;
}

/* CLEANER_BATCH_SIZE=... ; an unknown CLEANER_* name is an error (a typo
 * silently ignored would run the daemon with a setting the operator did not
 * intend).  CLEANER_CONFIG names the config file and is read elsewhere. */
static dc_err apply_cleaner_var(config *cfg, const char *var, size_t var_len, const char *value,
                                char *err, size_t errlen)
{
    static const char prefix[] = "CLEANER_";
    const char *suffix = var + sizeof prefix - 1;
    size_t suffix_len = var_len - (sizeof prefix - 1);
    char name[CONFIG_KEY_NAME_MAX] = "";
    if (suffix_len == 6 && strncmp(suffix, "CONFIG", 6) == 0)
        return DC_OK;
    const config_key *k = NULL;
    if (config_key_normalize(suffix, suffix_len, name, sizeof name))
        k = config_key_find(name);
    if (k)
        return apply_env(cfg, var, var_len, k, value, err, errlen);
    const config_key *near = name[0] ? config_key_suggest(name) : NULL;
    char wanted[CONFIG_KEY_NAME_MAX + 8] = "";
    if (near) {
        snprintf(wanted, sizeof wanted, "CLEANER_%s", near->name);
        for (char *p = wanted; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    }
    snprintf(err, errlen, "environment variable %.*s: unknown setting%s%s%s", (int)var_len, var,
             near ? " (did you mean " : "", wanted, near ? "?)" : "");
    return DC_ERR_CONFIG;
}

dc_err config_load_env(config *cfg, char *const *envp, char *err, size_t errlen)
{
    /* Two passes so CLEANER_* wins over DISCORD_* / legacy CLEANUP_*
     * whatever order the environment lists them in. */
    for (int pass = 0; pass < 2 && envp; pass++) {
        for (char *const *e = envp; *e; e++) {
            const char *eq = strchr(*e, '=');
            if (!eq || !eq[1])   /* FOO= counts as unset */
                continue;
            size_t var_len = (size_t)(eq - *e);
            dc_err rc = DC_OK;
            if (pass == 1 && strncmp(*e, "CLEANER_", 8) == 0) {
                rc = apply_cleaner_var(cfg, *e, var_len, eq + 1, err, errlen);
            } else if (pass == 0) {
                for (size_t i = 0; i < config_key_count; i++) {
                    const char *alt = config_keys[i].alt_env;
                    if (alt && strlen(alt) == var_len && strncmp(alt, *e, var_len) == 0)
                        rc = apply_env(cfg, *e, var_len, &config_keys[i], eq + 1, err, errlen);
                }
            }
            if (rc != DC_OK)
                return rc;
        }
    }
    return DC_OK;
}

extern char **environ;

void config_protect_token(char **envp)
{
    static const char *const names[] = { "DISCORD_TOKEN", "CLEANER_TOKEN" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        for (char **e = envp; e && *e; e++)
            if (strncmp(*e, names[i], n) == 0 && (*e)[n] == '=')
                memset(*e + n + 1, 0, strlen(*e + n + 1));
        if (envp == environ)
            unsetenv(names[i]);
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fprintf(stderr, "discord-cleaner: cannot make the process non-dumpable: %s\n", strerror(errno));
}

/* ---- token file --------------------------------------------------------- */

static dc_err token_file_error(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "token file %s %s", path, why);
    return DC_ERR_CONFIG;
}

/* Reads at most TOKEN_FILE_MAX - 1 bytes; fails on a bigger file. */
static dc_err read_token_fd(int fd, const char *path, char *buf, char *err, size_t errlen)
{
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, TOKEN_FILE_MAX - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
            return DC_ERR_CONFIG;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used == TOKEN_FILE_MAX - 1)
            return token_file_error(err, errlen, path, "is larger than 4 KiB; is it the right file?");
    }
    buf[used] = '\0';
    return DC_OK;
}

/* The secret `key` from `path` (token_file, http_token_file). */
static dc_err resolve_secret(config *cfg, const char *key, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
        return DC_ERR_CONFIG;
    }
    struct stat st;
    char buf[TOKEN_FILE_MAX], why[256];
    dc_err rc = DC_OK;
    /* fstat on the open descriptor: the file checked is the file read. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = token_file_error(err, errlen, path, "is not a regular file");
    } else if (st.st_mode & (S_IRGRP | S_IROTH)) {
        snprintf(why, sizeof why, "is readable by group/others (mode %04o); chmod 600 it",
                 (unsigned)(st.st_mode & 07777));
        rc = token_file_error(err, errlen, path, why);
    } else if ((rc = read_token_fd(fd, path, buf, err, errlen)) == DC_OK) {
        const config_key *k = config_key_find(key);
        rc = config_key_set(cfg, k, buf, why, sizeof why);
        if (rc != DC_OK)
            token_file_error(err, errlen, path, why);
        else if (!*(char **)((char *)cfg + k->offset))
            rc = token_file_error(err, errlen, path, "is empty");
    }
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return rc;
}

dc_err config_resolve_token(config *cfg, char *err, size_t errlen)
{
    dc_err rc = DC_OK;
    if (!cfg->token && cfg->token_file)
        rc = resolve_secret(cfg, "token", cfg->token_file, err, errlen);
    if (rc == DC_OK && !cfg->http_token && cfg->http_token_file && *cfg->http_token_file)
        rc = resolve_secret(cfg, "http_token", cfg->http_token_file, err, errlen);
    return rc;
}
