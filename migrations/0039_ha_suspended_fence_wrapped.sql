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
--                   Also: the jobs of a recovered
--                   or lost server that are queued are failed (node_failed)
--                   too, not only its running ones on the node: before, a
--                   job queued before the recover job (a stop, a reboot
--                   asked while the node was dying) came first in the
--                   server's order, was sent to the dead node and held the
--                   recovery behind it until the node came back, or made it
--                   fail (conflict) when the server's state changed
--                   meanwhile; a lost server's job ran when the node came
--                   back and failed not_found. And a lost server (local
--                   storage) gives up its allocation and addresses, as any
--                   failed server: before, the node's capacity and the
--                   addresses leaked. And a server whose recovery was
--                   claimed on this node just before it died too (the
--                   recover job running here) is recovered again: before,
--                   that job was taken for a recovery under way elsewhere,
--                   and the server waited for the node to come back. Found
--                   by the soak (tests/soak).
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
        -- a recovery under way elsewhere goes on; one sent to this node
        -- (claimed here before it died) is failed below, and queued again
        CONTINUE WHEN EXISTS (SELECT 1 FROM jobs WHERE server_id = s.id AND type = 'recover'
                                 AND (state = 'queued' OR (state = 'running'
                                                           AND node_id IS DISTINCT FROM p_node)));
        -- its jobs still waiting on the dead node will never be answered,
        -- and the ones queued before the recovery would be sent there
        -- first (one job at a time per server, in order): failed now, so
        -- the recovery is not held behind them (a lost server has nothing
        -- left to do)
        UPDATE jobs SET state = 'failed', finished_at = now(), progress = 100,
               error = 'the server''s node failed', error_code = 'node_failed'
         WHERE server_id = s.id
           AND (state = 'queued' OR (state = 'running' AND node_id = p_node));
        IF sw_server_on_shared(s.id) THEN
            PERFORM sw_server_job_with(s.id, s.owner_id, 'recover',
                                       jsonb_build_object('from_node', p_node));
            n := n + 1;
        ELSE
            UPDATE servers SET state = 'failed',
                   error = 'its node failed and its volumes are on the node''s local storage:'
                           ' it cannot be restarted elsewhere'
             WHERE id = s.id;
            -- failed: it holds nothing, as a failed create
            DELETE FROM allocations WHERE server_id = s.id;
            PERFORM sw_ipam_release(s.id);
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
