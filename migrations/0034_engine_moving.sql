-- 0034_engine_moving.sql: a server being moved is never restored by the
-- engine that holds (or held) its domain (issue 15: never two copies).
--   sw_engine_server_state(node, id)
--                   a server's state as the engine's reconciliation re-reads
--                   it under its job lock before it brings a missing domain
--                   back: NULL when the server is not on node, 'moving'
--                   while a migrate or recover job of it runs. A migration's
--                   source has undefined the domain (or handed it to the
--                   target) before the control plane records the move, and
--                   a restore in that window (evacuate.sh saw it 18 ms after
--                   the source half, on a heartbeat gap's pass) would run a
--                   second copy, on shared storage from the same disk.
--                   The node check is sw_engine_node_guard (0030).

CREATE FUNCTION sw_engine_server_state(node uuid, server uuid) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(node, 'server states');
    RETURN (SELECT CASE WHEN EXISTS (SELECT 1 FROM public.jobs j
                                      WHERE j.server_id = s.id AND j.state = 'running'
                                        AND j.type IN ('migrate', 'recover'))
                        THEN 'moving' ELSE s.state END
              FROM public.servers s WHERE s.id = server AND s.node_id = node);
END
$$;
REVOKE ALL ON FUNCTION sw_engine_server_state(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_server_state(uuid, uuid) TO slipway_engine;
