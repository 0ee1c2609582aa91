#include "config.h"
#include "panel/errmap.h"
#include "core/err.h"

static const struct {
    enum sw_errc code;
    int status;
    const char *api_code;
} status_map[] = {
    {SW_EINVALID, 400, "invalid_request"},
    {SW_EUNAUTHENTICATED, 401, "unauthenticated"},
    {SW_EFORBIDDEN, 403, "forbidden"},
    {SW_ENOTFOUND, 404, "not_found"},
    {SW_ECONFLICT, 409, "conflict"},
    {SW_ETOO_LARGE, 413, "payload_too_large"},
    {SW_EUNPROCESSABLE, 422, "unprocessable"},
    {SW_EUNSUPPORTED, 422, "unprocessable"},
    {SW_ERATE_LIMITED, 429, "rate_limited"},
    {SW_EUNAVAILABLE, 503, "unavailable"},
    {SW_EINTERNAL, 500, "internal"},
};

int sw_errmap_status(int errc, const char **api_code)
{
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++) {
        if ((int)status_map[i].code == errc) {
            *api_code = status_map[i].api_code;
            return status_map[i].status;
        }
    }
    *api_code = "internal";
    return 500;
}

json_t *sw_errmap_body(const struct sw_err *err, int *status)
{
    const char *api_code;
    *status = sw_errmap_status(err->code, &api_code);
    const char *msg = err->msg[0] ? err->msg : api_code;
    if (err->code == SW_EINTERNAL)
        msg = "internal error";
    return json_pack("{s:{s:s, s:s}}", "error", "code", api_code, "message", msg);
}
