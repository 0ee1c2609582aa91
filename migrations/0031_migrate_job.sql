-- 0031_migrate_job.sql: the migrate job end to end (issue 15, "Migration
-- (operators)"; provisioner/README.md "Migration").
--   nodes.migrate_uri  the node's libvirt URI as ANOTHER node's libvirtd
--                      reaches it (peer-to-peer migration: the source's
--                      daemon connects to the target's); NULL: its
--                      engine_uri. Operators set it on POST/PATCH
--                      /v1/admin/nodes.
--   nodes.migrate_stream_uri
--                      where the memory stream to this node goes
--                      ("tcp://10.0.0.2"); NULL: its hypervisor picks.
--   migration_claims   the target's share of a server being moved: held
--                      from the claim (under the target's generation guard)
--                      until the job ends. allocations' key is server_id,
--                      so the server's allocation stays on the source
--                      meanwhile and both nodes hold room for it. The
--                      claim's node-use query (provisioner/claim.c) counts
--                      these rows as use.
--   jobs.cancel_requested_at
--                      an operator's cancel of a running migrate job
--                      (POST /v1/admin/jobs/{id}/cancel); the engine learns
--                      it through sw_engine_job_cancelled().

ALTER TABLE nodes ADD COLUMN migrate_uri text
    CHECK (migrate_uri IS NULL OR length(migrate_uri) BETWEEN 1 AND 512);
ALTER TABLE nodes ADD COLUMN migrate_stream_uri text
    CHECK (migrate_stream_uri IS NULL OR length(migrate_stream_uri) BETWEEN 1 AND 512);

CREATE TABLE migration_claims (
    server_id   uuid PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    node_id     uuid NOT NULL REFERENCES nodes (id),
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    vcpus       integer NOT NULL CHECK (vcpus >= 0),
    mem_guar_mb bigint NOT NULL CHECK (mem_guar_mb >= 0),
    mem_max_mb  bigint NOT NULL CHECK (mem_max_mb >= 0),
    disk_gb     bigint NOT NULL CHECK (disk_gb >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX migration_claims_node_idx ON migration_claims (node_id);

ALTER TABLE jobs ADD COLUMN cancel_requested_at timestamptz;

-- Whether an operator asked to cancel job, which runs on node. A node's
-- role may ask only for its own node's jobs (42501 otherwise, as
-- sw_engine_server_epochs); the owner (the tests' engines) for any. Nothing
-- else of the job is answered.
CREATE FUNCTION sw_engine_job_cancelled(node uuid, job uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(node, 'jobs');
    RETURN coalesce((SELECT j.cancel_requested_at IS NOT NULL FROM public.jobs j
                      WHERE j.id = job AND j.node_id = node AND j.state = 'running'), false);
END
$$;
REVOKE ALL ON FUNCTION sw_engine_job_cancelled(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_job_cancelled(uuid, uuid) TO slipway_engine;
