#include "config.h"
#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum sw_log_level sw_log_level = SW_LOG_INFO;
static const char *log_comp = "slipway";

static const char *const level_names[] = {
    [SW_LOG_DEBUG] = "debug", [SW_LOG_INFO] = "info", [SW_LOG_WARN] = "warn",
    [SW_LOG_ERROR] = "error", [SW_LOG_OFF] = "off",
};

int sw_log_init(const char *component, const char *level_name)
{
    if (component)
        log_comp = component;
    if (!level_name || !*level_name)
        return 0;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(level_names[i], level_name) == 0) {
            sw_log_level = (enum sw_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *sw_log_quote(char *buf, size_t n, const char *s)
{
    if (n == 0)
        return buf;
    if (!s)
        s = "";
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
            plain = 0;
    if (plain) {
        snprintf(buf, n, "%s", s);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (const char *p = s; *p && o + 4 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)c;
        }
    }
    if (o < n - 1)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void sw_log_emit(enum sw_log_level level, const char *event, const char *fmt, ...)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s comp=%s event=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], log_comp, event);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    while (len > 0 && line[len - 1] == ' ')
        len--;
    line[len++] = '\n';
    /* One write per line, so lines from threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void sw_log_err(enum sw_log_level level, const char *event, const struct sw_err *err)
{
    if (level < sw_log_level || !err)
        return;
    char m[600], d[1100];
    const char *file = err->file ? strrchr(err->file, '/') : NULL;
    sw_log_emit(level, event, "code=%s retryable=%d msg=%s detail=%s at=%s:%d",
                sw_errc_name(err->code), err->retryable ? 1 : 0,
                sw_log_quote(m, sizeof m, err->msg), sw_log_quote(d, sizeof d, err->detail),
                file ? file + 1 : (err->file ? err->file : "?"), err->line);
}
