/* err.h - the error value every fallible slipway function fills.
 *
 * Functions return 0 / -1 (or a pointer / NULL) and fill a caller-owned
 * struct sw_err. Foreign errors (SQLSTATE, hiredis, libvirt) are mapped to a
 * code once, at the boundary. `msg` is safe to show a tenant; `detail` is for
 * the log only and may name internals (never secrets).
 */
#ifndef SW_ERR_H
#define SW_ERR_H

#include <stdbool.h>

enum sw_errc {
    SW_OK = 0,
    SW_EINVALID,         /* bad input */
    SW_EUNAUTHENTICATED, /* no or bad credentials */
    SW_EFORBIDDEN,       /* authenticated, not allowed */
    SW_ENOTFOUND,        /* no such object (or not yours) */
    SW_ECONFLICT,        /* state or uniqueness conflict */
    SW_EUNPROCESSABLE,   /* well-formed but cannot be done (quota, capacity) */
    SW_ETOO_LARGE,       /* input over a size limit */
    SW_ERATE_LIMITED,    /* too many requests; try later */
    SW_EUNSUPPORTED,     /* operation not supported here */
    SW_EUNAVAILABLE,     /* dependency down; usually retryable */
    SW_EINTERNAL,        /* a bug or an unexpected state */
};

struct sw_err {
    enum sw_errc code;
    bool retryable;
    char msg[256];    /* tenant-safe */
    char detail[512]; /* log only */
    const char *file;
    const char *func;
    int line;
};

/* Name of a code: "invalid", "not_found", ...; static storage. */
const char *sw_errc_name(enum sw_errc code);

void sw_err_clear(struct sw_err *err);

/* Sets err (if non-NULL). msg is printf-formatted; detail is left empty. */
void sw_err_set_at(struct sw_err *err, const char *file, const char *func, int line,
                   enum sw_errc code, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Sets err->detail (if err non-NULL), keeping the rest. */
void sw_err_detail(struct sw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SW_ERR(err, code, ...) \
    sw_err_set_at((err), __FILE__, __func__, __LINE__, (code), false, __VA_ARGS__)
#define SW_ERR_RETRY(err, code, ...) \
    sw_err_set_at((err), __FILE__, __func__, __LINE__, (code), true, __VA_ARGS__)

#endif
