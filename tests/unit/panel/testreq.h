/* testreq.h - panel handlers called without a socket or a database, as
 * h2o tests its handlers: a struct sw_req built in memory (body, path
 * parameters, the caller), the handler found in the route table by method
 * and pattern, and its error checked as the client reads it (errmap.h). */
#ifndef SW_TESTS_PANEL_TESTREQ_H
#define SW_TESTS_PANEL_TESTREQ_H

#include <jansson.h>

#include "core/err.h"
#include "panel/api.h"

#define SW_TEST_ID "00000000-0000-4000-8000-0000000000aa"

/* A request by a caller of role (and its account kind) with body text (may
 * be NULL) and path parameter id (may be NULL); no database (reaching it
 * fails the test unless sw_testreq_accepted expects it), no query string,
 * no order rate limit. */
void sw_testreq_init(struct sw_req *req, unsigned role, const char *body, const char *id);

/* Runs the handler of route "method pattern" on req; returns its result
 * with err filled, and frees whatever the response holds. */
int sw_testreq_call(const char *method, const char *pattern, struct sw_req *req,
                    struct sw_err *err);

/* Asserts (cmocka) that calling the route as role with body fails with
 * HTTP status and an error message starting with msg_prefix, as
 * sw_errmap_body() answers them. */
void sw_testreq_refused(const char *method, const char *pattern, unsigned role, const char *body,
                        int status, const char *msg_prefix);

/* Asserts that calling the route as role with body passes the handler's
 * checks: it must reach the database (here unavailable) with no error
 * before. */
void sw_testreq_accepted(const char *method, const char *pattern, unsigned role,
                         const char *body);

/* A JSON text as a new reference; aborts the test when malformed. */
json_t *sw_testreq_json(const char *text);

/* Asserts that err has code and a message starting with msg_prefix. */
void sw_testreq_err_is(const struct sw_err *err, int code, const char *msg_prefix);

#endif
