/* http.h - the HTTP adapter over libmicrohttpd (http.c is the only file
 * that includes microhttpd.h). */
#ifndef SW_PANEL_HTTP_H
#define SW_PANEL_HTTP_H

#include <stddef.h>

struct sw_panel;
struct sw_err;
struct sw_http;

#define SW_HTTP_MAX_BODY (1024 * 1024)

/* Starts serving on listen ("HOST:PORT"; port 0 picks one) with threads
 * workers. Returns owned (sw_http_stop), writes the bound port into *port. */
struct sw_http *sw_http_start(struct sw_panel *app, const char *listen, unsigned threads,
                              unsigned *port, struct sw_err *err);
void sw_http_stop(struct sw_http *h);

#endif
