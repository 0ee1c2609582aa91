-- 0044_shared_move.sql: a server moving between two nodes of one shared
-- pool holds its disk once (issue 15; provisioner/migroute.c, engines/nodedb.c).
--   While a migrate job runs, the server's allocation stays on its source
--   (0031). A target that declares the same pool shared already counts
--   that disk in its offer (sw_pool_used_elsewhere_gb, 0037), so its claim
--   holds none and its engine's admission must not count it again.
--   sw_shared_disk_elsewhere_gb(node, server)
--                   the server's allocated disk when that allocation is on
--                   another node of node's location, every volume of the
--                   server is recorded in a pool both nodes declare
--                   shared, and the server has at least one; else 0.
--                   SECURITY DEFINER: an engine reads no other node's
--                   allocations; it may ask about its own node only
--                   (sw_engine_node_guard).

CREATE FUNCTION sw_shared_disk_elsewhere_gb(p_node uuid, p_server uuid) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(p_node, 'shared pool use');
    RETURN coalesce((
        SELECT a.disk_gb
          FROM public.allocations a
          JOIN public.nodes src ON src.id = a.node_id
          JOIN public.nodes me ON me.id = p_node AND me.location_id = src.location_id
         WHERE a.server_id = p_server AND a.node_id <> p_node
           AND EXISTS (SELECT 1 FROM public.server_disks d WHERE d.server_id = p_server)
           AND NOT EXISTS (
               SELECT 1 FROM public.server_disks d
                WHERE d.server_id = p_server AND NOT EXISTS (
                      SELECT 1 FROM public.node_pools x JOIN public.node_pools y
                          ON y.name = x.name AND y.shared AND y.node_id = p_node
                       WHERE x.node_id = src.id AND x.shared AND x.name = d.pool))), 0)::bigint;
END
$$;
REVOKE ALL ON FUNCTION sw_shared_disk_elsewhere_gb(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_shared_disk_elsewhere_gb(uuid, uuid) TO slipway_engine;
