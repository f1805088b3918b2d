/* config_logfmt.c - the log_format setting (text | json), kept apart from
 * config.c so the #18 additions merge as one new file. */
#include <stdio.h>

#include "base/log.h"
#include "config/config_keys.h"

dc_err config_logfmt_set(config *cfg, const char *v, char *err, size_t errlen)
{
    int fmt = log_format_from_name(v);
    if (fmt < 0) {
        char quoted[64];
        config_quote_value(v, quoted, sizeof quoted);
        snprintf(err, errlen, "expected text or json, got %s", quoted);
        return DC_ERR_CONFIG;
    }
    cfg->log_format = fmt;
    return DC_OK;
}

void config_logfmt_format(const config *cfg, char *buf, size_t n)
{
    snprintf(buf, n, "%s", cfg->log_format == DCL_FMT_JSON ? "json" : "text");
}
