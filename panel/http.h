/* http.h - the HTTP adapter over libmicrohttpd (http.c is the only file
 * that includes microhttpd.h). */
#ifndef SW_PANEL_HTTP_H
#define SW_PANEL_HTTP_H

#include <stddef.h>

struct sw_panel;
struct sw_err;
struct sw_http;

#define SW_HTTP_MAX_BODY (1024 * 1024)

/* Limits on clients (SLIPWAY_HTTP_*): a connection idle for timeout_s
 * seconds is closed (a slow client sending a byte now and then is idle
 * between bytes only, so a whole request must also fit: MHD's timeout is
 * reset by every byte); at most max_conns connections at once, at most
 * per_ip (0: no limit) from one address. Connections over a limit are
 * accepted and closed at once. */
struct sw_http_limits {
    unsigned timeout_s;
    unsigned max_conns;
    unsigned per_ip;
};

/* Starts serving on listen ("HOST:PORT"; port 0 picks one) with threads
 * workers. Returns owned (sw_http_stop), writes the bound port into *port. */
struct sw_http *sw_http_start(struct sw_panel *app, const char *listen, unsigned threads,
                              const struct sw_http_limits *limits, unsigned *port,
                              struct sw_err *err);
void sw_http_stop(struct sw_http *h);

#endif
