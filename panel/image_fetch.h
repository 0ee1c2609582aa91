/* image_fetch.h - the panel's image fetcher: one thread fetching the
 * pending images registered by URL (admin_images.c) with libcurl.
 *
 * Every address it connects to, the first and each redirect's, is checked
 * as webhooks' are (core/hookdest.h): loopback, private, link-local and
 * the like are refused unless SLIPWAY_IMAGES_ALLOW_PRIVATE=1. What arrives
 * is hashed while it is written (image_store.h), compared with the sha256
 * given at registration, inspected, and only then kept and marked ready;
 * anything else marks the image failed with the reason. A fetch is claimed
 * with a lease in PostgreSQL, so several panels share the work and a panel
 * that stops mid-fetch leaves it to be fetched again (at most 3 tries in
 * all, then failed): no image stays pending for ever.
 */
#ifndef SW_PANEL_IMAGE_FETCH_H
#define SW_PANEL_IMAGE_FETCH_H

struct sw_err;

/* Starts the thread (its own connection to db_url); -1 with err. */
int sw_image_fetch_start(const char *db_url, struct sw_err *err);
/* Asks the thread to look for work now (a new pending image). */
void sw_image_fetch_wake(void);
/* Stops the thread: a fetch under way is abandoned and its lease given
 * back, so the next start fetches it again. */
void sw_image_fetch_stop(void);

#endif
