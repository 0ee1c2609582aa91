#include "config.h"
#include "panel/data_events.h"

const struct sw_data_list sw_data_events_list = {
    "sw_node_event_json(t)", "node_events",
    "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.node_id = $2)"
    " AND ($3::text IS NULL OR t.kind = $3)",
    NULL};
