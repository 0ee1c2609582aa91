/* data_events.h - node events (node_events, 0013) as operators list them. */
#ifndef SW_PANEL_DATA_EVENTS_H
#define SW_PANEL_DATA_EVENTS_H

#include "panel/data.h"

/* Every node event, oldest first: $1 the caller, $2 node id, $3 kind (each
 * NULL: any). */
extern const struct sw_data_list sw_data_events_list;

#endif
