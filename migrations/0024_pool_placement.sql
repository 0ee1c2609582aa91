-- 0024_pool_placement: the DISK class from a node's storage pools
-- (provisioner/README.md "Storage pools", core/diskpool.h). One function
-- reads a node's pools as placement needs them, for the provisioner's node
-- read and the engine's ledger re-check alike, so both count the same
-- capacity: one group "reported present capacity allocation ratio_milli
-- fill_threshold" per pool, ';' between, in the engine's order
-- (sw_diskpool_parse), per node. A set-returning SQL function, so that the
-- planner inlines it: joined on node_id, a read of one node aggregates only
-- its pools, and a read of all nodes aggregates them in one pass (2,000
-- nodes: 24 ms against 59 ms for a scalar function called per node).
-- SECURITY INVOKER: the engine's role sees only its
-- own node's pools (0019's policy), and reads back the report columns it
-- writes itself and its pools' disk_ratio; not available_bytes, so
-- SELECT * stays refused (tests/security/hostile_node_db.sh).

CREATE FUNCTION sw_node_pool_figures() RETURNS TABLE (node_id uuid, figures text)
LANGUAGE sql STABLE AS $$
    SELECT q.node_id,
           string_agg(concat_ws(' ', (q.reported_at IS NOT NULL)::int,
                                coalesce(q.present, false)::int, coalesce(q.capacity_bytes, 0),
                                coalesce(q.allocation_bytes, 0),
                                round(q.disk_ratio * 1000)::bigint, q.fill_threshold),
                      ';' ORDER BY q.position, q.name)
    FROM node_pools q GROUP BY q.node_id
$$;

GRANT SELECT (disk_ratio, present, capacity_bytes, allocation_bytes, reported_at)
    ON node_pools TO slipway_engine;
