/* idempotency.h - Idempotency-Key for POSTs (API.md; idempotency.c says how). */
#ifndef SW_PANEL_IDEMPOTENCY_H
#define SW_PANEL_IDEMPOTENCY_H

#include "panel/api.h"

/* Runs fn, the request's handler, under the request's Idempotency-Key (a
 * POST by an authenticated caller): replays a finished first answer, 409
 * while the first is running, 422 for another body under the same key;
 * otherwise runs fn and records its answer in the same transaction.
 * Returns 0 with resp filled, or -1 with err set. */
int sw_idem_run(struct sw_req *req, sw_handler_fn fn, struct sw_resp *resp,
                struct sw_err *err);

#endif
