/* console.h - the engine's serial consoles (issue 16): the panel asks on
 * the node's list "console:<node>:open" (core/conlink.h) for session S of
 * a server; the engine opens the domain's serial console
 * (virDomainOpenConsole, forced: the newest session wins) into a virStream
 * and relays it over S's two lists until either side ends. When the
 * stream ends the engine pushes an end saying why: "the server stopped"
 * when the domain is no longer running. A server that does not live on
 * this node has no domain here, so it gets an end at once.
 */
#ifndef SW_ENGINE_CONSOLE_H
#define SW_ENGINE_CONSOLE_H

#include <stdbool.h>

struct sw_engine;

/* Serves open requests until stopping(arg) is true; each session runs in
 * its own detached threads with their own Redis connections to redis_url
 * (borrowed, as eng: both must outlive the process's sessions). */
void sw_engine_console_serve(const struct sw_engine *eng, const char *redis_url,
                             bool (*stopping)(void *), void *arg);

#endif
