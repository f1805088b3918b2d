/* config_grace.c - the settings of the grace period's notice (#17):
 * notify_departed (off | dm) and notify_message, a template whose
 * placeholders are checked when the setting is read, so that a typo such
 * as {gulid} is a start-up error, not a notice sent with the braces in. */
#include "config/config_keys.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIELD(cfg, k, type) ((type *)((char *)(cfg) + (k)->offset))

static const char *const placeholders[] = { "{guild}", "{hours}", "{date}" };

int config_template_check(const char *tmpl, char *err, size_t errlen)
{
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{')) {
        int known = 0;
        for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
            known |= strncmp(p, placeholders[i], strlen(placeholders[i])) == 0;
        if (known)
            continue;
        const char *end = strchr(p, '}');
        int len = end && end - p < 32 ? (int)(end - p + 1) : 1;
        snprintf(err, errlen, "unknown placeholder '%.*s' (known: {guild}, {hours}, {date})", len, p);
        return -1;
    }
    return 0;
}

static dc_err set_notify(config *cfg, const char *v, char *err, size_t errlen)
{
    if (strcasecmp(v, "off") == 0)
        cfg->notify_departed = CONFIG_NOTIFY_OFF;
    else if (strcasecmp(v, "dm") == 0)
        cfg->notify_departed = CONFIG_NOTIFY_DM;
    else {
        char q[80];
        config_quote_value(v, q, sizeof q);
        snprintf(err, errlen, "expected off or dm, got %s", q);
        return DC_ERR_CONFIG;
    }
    return DC_OK;
}

static dc_err set_template(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len < (size_t)k->lo || len > (size_t)k->hi) {
        snprintf(err, errlen, "must be %g to %g characters long, got %zu", k->lo, k->hi, len);
        return DC_ERR_CONFIG;
    }
    if (config_template_check(v, err, errlen) != 0)
        return DC_ERR_CONFIG;
    snprintf(cfg->notify_message, sizeof cfg->notify_message, "%s", v);
    return DC_OK;
}

dc_err config_grace_set(config *cfg, const config_key *k, const char *v, char *err, size_t errlen)
{
    return k->kind == KIND_NOTIFY ? set_notify(cfg, v, err, errlen) : set_template(cfg, k, v, err, errlen);
}

void config_grace_format(const config *cfg, const config_key *k, char *buf, size_t n)
{
    if (k->kind == KIND_NOTIFY)
        snprintf(buf, n, "%s", cfg->notify_departed == CONFIG_NOTIFY_DM ? "dm" : "off");
    else
        snprintf(buf, n, "%s", cfg->notify_message);
}
