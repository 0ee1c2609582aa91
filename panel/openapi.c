/* openapi.c - GET /v1/openapi.json: the API's own description, with no
 * token, exactly as committed in panel/openapi.json (openapi.h). */
#include "config.h"
#include "panel/openapi.h"
#include "panel/handlers.h"
#include "core/alloc.h"

#include <string.h>

SW_HANDLER(sw_h_openapi)
{
    (void)req;
    (void)err;
    resp->status = 200;
    resp->text = sw_malloc(sw_openapi_doc_len + 1);
    memcpy(resp->text, sw_openapi_doc, sw_openapi_doc_len + 1);
    resp->content_type = "application/json";
    return 0;
}

const struct sw_route sw_routes_openapi[] = {
    {"GET", "/v1/openapi.json", PUBLIC, SW_OWN_NONE, sw_h_openapi,
     "this API as OpenAPI 3 (panel/openapi.json), no token", 0},
    SW_ROUTES_END,
};
