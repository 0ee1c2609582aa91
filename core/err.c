#include "config.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const errc_names[] = {
    [SW_OK] = "ok",
    [SW_EINVALID] = "invalid",
    [SW_EUNAUTHENTICATED] = "unauthenticated",
    [SW_EFORBIDDEN] = "forbidden",
    [SW_ENOTFOUND] = "not_found",
    [SW_ECONFLICT] = "conflict",
    [SW_EUNPROCESSABLE] = "unprocessable",
    [SW_ETOO_LARGE] = "too_large",
    [SW_ERATE_LIMITED] = "rate_limited",
    [SW_EUNSUPPORTED] = "unsupported",
    [SW_EUNAVAILABLE] = "unavailable",
    [SW_EINTERNAL] = "internal",
};

const char *sw_errc_name(enum sw_errc code)
{
    if ((unsigned)code >= sizeof errc_names / sizeof errc_names[0] || !errc_names[code])
        return "internal";
    return errc_names[code];
}

void sw_err_clear(struct sw_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void sw_err_set_at(struct sw_err *err, const char *file, const char *func, int line,
                   enum sw_errc code, bool retryable, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    err->retryable = retryable;
    err->file = file;
    err->func = func;
    err->line = line;
    err->detail[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

void sw_err_detail(struct sw_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}
