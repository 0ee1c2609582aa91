-- 0039_ha_suspended_fence_wrapped.sql: the leftovers of issue 15's "High
-- availability".
--   sw_node_fail(node)
--                   as in 0036, over the node's ha servers that are
--                   running, stopped or suspended: a suspended one on
--                   shared storage gets a recover job too (defined on its
--                   new node, left stopped, still suspended: the
--                   provisioner's node job says recover_stopped, and the
--                   job's effect keeps the suspension); on local storage
--                   it is reported lost. Before, a suspended ha server
--                   stayed placed on the failed node, and its unsuspend
--                   could never run.
--   nodes.fence_secret_wrapped
--                   true when nodes.fence_secret holds the secret wrapped
--                   with the control plane's master key (core/bkkey:
--                   crypto_secretbox, base64), as the panel now stores it;
--                   false for a row written before, which holds it as
--                   given: the provisioner wraps such a row the first
--                   time its health thread passes with the master key.
--                   A wrapped 16 KiB secret is 21,900 characters of base64.

ALTER TABLE nodes ADD COLUMN fence_secret_wrapped boolean NOT NULL DEFAULT false;
ALTER TABLE nodes DROP CONSTRAINT nodes_fence_secret_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_fence_secret_check
    CHECK (length(fence_secret) <= CASE WHEN fence_secret_wrapped THEN 21900 ELSE 16384 END);

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
                AND sv.state IN ('running', 'stopped', 'suspended')
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
