/* console.h - a server's console over a WebSocket (issue 16).
 *
 * POST /v1/servers/{id}/console {"type":"serial"} answers a one-time
 * ticket (stored as its keyed hash, core/crypto.h) valid 60 s, and the
 * WebSocket URL to present it to: GET /v1/console/ws?ticket=T with an
 * Upgrade (RFC 6455). The HTTP adapter (http.c, the one file that sees
 * libmicrohttpd) takes the ticket with sw_console_take() before it answers
 * 101, then hands the upgraded socket to sw_console_run(), which frames it
 * with wslay and relays it to the server's node over the console link
 * (core/conlink.h, engines/console.h). Only "serial" is served for now;
 * "vnc" would be one more relay of the same shape.
 */
#ifndef SW_PANEL_CONSOLE_H
#define SW_PANEL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct sw_panel;
struct sw_err;
struct sw_console;

#define SW_CONSOLE_WS_PATH "/v1/console/ws"
#define SW_CONSOLE_ACCEPT_LEN 28

/* The ticket's session: the ticket is used up (single use) and the server
 * still running. Returns owned (handed to sw_console_run(), or freed with
 * sw_console_free()); NULL with err (SW_ENOTFOUND: unknown, used or
 * expired; SW_ECONFLICT: the server no longer runs). */
struct sw_console *sw_console_take(struct sw_panel *app, const char *ticket, struct sw_err *err);
void sw_console_free(struct sw_console *c);

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; -1 when the key
 * is missing or malformed. */
int sw_console_accept(const char *key, char out[SW_CONSOLE_ACCEPT_LEN + 1]);

/* Relays the upgraded socket fd (extra: bytes the adapter read past the
 * handshake, copied) in a detached thread; done(arg) is called once the
 * socket may be closed. Takes c. */
void sw_console_run(struct sw_console *c, int fd, const char *extra, size_t nextra,
                    void (*done)(void *), void *arg);

#endif
