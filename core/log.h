/* log.h - one line per event, key=value, to stderr.
 *
 *   ts=2026-11-21T10:00:00.123Z level=info comp=panel event=order.created order=... server=...
 *
 * The level is checked before any formatting happens (the macros test
 * sw_log_level first). Values that may hold spaces or quotes must be passed
 * through sw_log_quote(). Never log secrets, tokens or passwords.
 */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stddef.h>

struct sw_err;

enum sw_log_level { SW_LOG_DEBUG = 0, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR, SW_LOG_OFF };

extern enum sw_log_level sw_log_level;

/* Sets the component name (borrowed: a string literal) and the level from a
 * name ("debug", "info", "warn", "error", "off"); returns -1 for an unknown name. */
int sw_log_init(const char *component, const char *level_name);

void sw_log_emit(enum sw_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs an error once, where it is handled: code, msg, detail and source place. */
void sw_log_err(enum sw_log_level level, const char *event, const struct sw_err *err);

/* Writes s into buf as a log value: bare if it has no space, quote, '=' or
 * control character, otherwise double-quoted with escapes. Returns buf. */
const char *sw_log_quote(char *buf, size_t n, const char *s);

#define SW_LOG(lvl, event, ...)                      \
    do {                                             \
        if ((lvl) >= sw_log_level)                   \
            sw_log_emit((lvl), (event), __VA_ARGS__); \
    } while (0)
#define sw_debug(event, ...) SW_LOG(SW_LOG_DEBUG, event, __VA_ARGS__)
#define sw_info(event, ...) SW_LOG(SW_LOG_INFO, event, __VA_ARGS__)
#define sw_warn(event, ...) SW_LOG(SW_LOG_WARN, event, __VA_ARGS__)
#define sw_error(event, ...) SW_LOG(SW_LOG_ERROR, event, __VA_ARGS__)

#endif
