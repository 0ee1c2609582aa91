-- 0037_shared_pools.sql: a shared pool is offered once per location, not
-- once per node that declares it (issue 13, "Accounting"; issue 15).
--   Nodes of one location that declare a pool of the same name `shared`
--   see one storage (the convention recovery's placement already uses,
--   provisioner/recover.c). Until now each of them offered its whole
--   capacity x ratio to placement, so two nodes doubled it.
--   sw_pool_used_elsewhere_gb(node, pool)
--                   the disk (allocations.disk_gb) of the servers placed on
--                   the location's other nodes that declare pool `shared`,
--                   each unless its root is recorded in another pool (a
--                   server still provisioning has no volume yet: counted).
--                   SECURITY DEFINER: an engine's role reads no other
--                   node's allocations, yet its admission re-check counts
--                   the same figure; it may ask about its own node only
--                   (sw_engine_node_guard).
--   sw_node_pool_figures()
--                   as in 0024, with a seventh figure per pool: that
--                   number for a shared pool, 0 for others
--                   (core/diskpool.c subtracts it from the pool's offer).
--   A claim locks the shared pools of its node (provisioner/claim.c, an
--   advisory lock per location and pool name) before it re-reads them, so
--   two claims on two nodes of one shared pool take turns.

CREATE FUNCTION sw_pool_used_elsewhere_gb(p_node uuid, p_pool text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(p_node, 'shared pool use');
    RETURN (SELECT coalesce(sum(a.disk_gb), 0)::bigint
              FROM public.nodes me
              JOIN public.nodes o ON o.location_id = me.location_id AND o.id <> me.id
              JOIN public.node_pools op ON op.node_id = o.id AND op.name = p_pool AND op.shared
              JOIN public.allocations a ON a.node_id = o.id
             WHERE me.id = p_node
               AND NOT EXISTS (SELECT 1 FROM public.server_disks d
                                WHERE d.server_id = a.server_id AND d.role = 'root'
                                  AND d.pool <> p_pool));
END
$$;
REVOKE ALL ON FUNCTION sw_pool_used_elsewhere_gb(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_pool_used_elsewhere_gb(uuid, text) TO slipway_engine;

CREATE OR REPLACE FUNCTION sw_node_pool_figures() RETURNS TABLE (node_id uuid, figures text)
LANGUAGE sql STABLE AS $$
    SELECT q.node_id,
           string_agg(concat_ws(' ', (q.reported_at IS NOT NULL)::int,
                                coalesce(q.present, false)::int, coalesce(q.capacity_bytes, 0),
                                coalesce(q.allocation_bytes, 0),
                                round(q.disk_ratio * 1000)::bigint, q.fill_threshold,
                                CASE WHEN q.shared
                                     THEN sw_pool_used_elsewhere_gb(q.node_id, q.name) ELSE 0 END),
                      ';' ORDER BY q.position, q.name)
    FROM node_pools q GROUP BY q.node_id
$$;
