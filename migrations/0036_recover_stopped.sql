-- 0036_recover_stopped.sql: a failed node's stopped ha servers are
-- recovered too (issue 15, "High availability").
--   sw_node_fail(node)
--                   as in 0033, over the node's ha servers that are running
--                   or stopped: on shared storage each gets a recover job
--                   (a stopped one is defined on its new node and left
--                   stopped: the provisioner's node job says so,
--                   recover_stopped), on local storage each is reported
--                   lost. Before, a stopped ha server stayed placed on the
--                   failed node, and its customer could not start it
--                   anywhere. A suspended server (an operator's or
--                   billing's suspension) still stays where it is: its
--                   recovery would have to keep the suspension.

CREATE OR REPLACE FUNCTION sw_node_fail(p_node uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    n integer := 0;
    lost integer := 0;
BEGIN
    PERFORM 1 FROM nodes WHERE id = p_node AND health = 'fenced' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE nodes SET state = 'offline' WHERE id = p_node;
    FOR s IN SELECT sv.id, sv.owner_id, sv.state
               FROM servers sv JOIN plans p ON p.id = sv.plan_id
              WHERE sv.node_id = p_node AND coalesce(sv.ha, p.ha)
                AND sv.state IN ('running', 'stopped')
              ORDER BY sv.id FOR UPDATE OF sv LOOP
        IF sw_server_on_shared(s.id) THEN
            IF NOT EXISTS (SELECT 1 FROM jobs WHERE server_id = s.id AND type = 'recover'
                              AND state IN ('queued', 'running')) THEN
                -- its jobs still waiting on the dead node will never be
                -- answered: failed now, so the recovery is not held behind them
                UPDATE jobs SET state = 'failed', finished_at = now(), progress = 100,
                       error = 'the server''s node failed', error_code = 'node_failed'
                 WHERE server_id = s.id AND node_id = p_node AND state = 'running';
                PERFORM sw_server_job_with(s.id, s.owner_id, 'recover',
                                           jsonb_build_object('from_node', p_node));
                n := n + 1;
            END IF;
        ELSE
            UPDATE servers SET state = 'failed',
                   error = 'its node failed and its volumes are on the node''s local storage:'
                           ' it cannot be restarted elsewhere'
             WHERE id = s.id;
            PERFORM sw_event_emit('server.lost', s.owner_id, jsonb_build_object(
                'server_id', s.id, 'node_id', p_node,
                'reason', 'volumes on local storage'));
            lost := lost + 1;
        END IF;
    END LOOP;
    PERFORM sw_node_health_set(p_node, 'failed', 'node.failed',
                               jsonb_build_object('recovering', n, 'lost', lost));
    RETURN n;
END
$$;
