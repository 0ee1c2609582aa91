/* ptr_sync.h - the panel's PTR thread (issue 16): writes the PTR intents
 * of ptr_records (a customer's PUT or DELETE, an address given back) to
 * each pool's PowerDNS Authoritative server through its HTTP API (a PATCH
 * of the zone's PTR rrset: REPLACE or DELETE), with libcurl.
 *
 * A write is claimed with a lease in PostgreSQL, so several panels share
 * the work and one that stops mid-write leaves it to another. PowerDNS
 * down or refusing: the row keeps its intent and error, and is tried again
 * after 2^attempts seconds (at most 10 minutes), for as long as it takes.
 * A row changed while its write was in flight is written again.
 */
#ifndef SW_PANEL_PTR_SYNC_H
#define SW_PANEL_PTR_SYNC_H

struct sw_err;

/* Starts the thread (its own connection to db_url); -1 with err. */
int sw_ptr_sync_start(const char *db_url, struct sw_err *err);
/* Asks the thread to look for work now (a PTR just asked for). */
void sw_ptr_sync_wake(void);
/* Stops the thread, after the write under way. */
void sw_ptr_sync_stop(void);

#endif
