-- 0005_admin: what the operator routes need beyond 0001-0003: which
-- servers an account suspension suspended (so unsuspend reverses exactly
-- those), IP pools that cannot overlap, and the operator's views of jobs
-- and resellers.

-- A server suspended because its account (or its reseller) was suspended.
-- Unsuspending that account unsuspends exactly these servers, back to the
-- state they had; a server that was suspended already (by its reseller,
-- billing or by hand) gets no hold and stays suspended.
CREATE TABLE suspension_holds (
    account_id uuid NOT NULL REFERENCES accounts (id),  -- the suspended account
    server_id  uuid NOT NULL REFERENCES servers (id),
    job_id     uuid NOT NULL REFERENCES jobs (id),      -- the suspend job
    prev_state text NOT NULL CHECK (prev_state IN ('running', 'stopped')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, server_id)
);
CREATE INDEX suspension_holds_server_idx ON suspension_holds (server_id);

-- Two pools never share an address, also under concurrent creates.
ALTER TABLE ip_pools ADD CONSTRAINT ip_pools_no_overlap
    EXCLUDE USING gist (network inet_ops WITH &&);

-- Operator filters: jobs by state, the audit log by object.
CREATE INDEX jobs_state_created_idx ON jobs (state, created_at, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_id, created_at);

-- The operator's view of a job: the tenant's view plus who asked, where it
-- ran and its parameters.
CREATE FUNCTION sw_admin_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_job_json(j)::jsonb || jsonb_build_object(
               'account_id', j.account_id, 'node_id', j.node_id, 'params', j.params,
               'updated_at', sw_ts(j.updated_at)))::json
$$;

-- A reseller as the operator sees it: the account, its quota (null: no
-- limit; no row: no limits at all), its customers and what their servers
-- take from the quota (sw_reseller_use, 0004: the same count the order
-- check and GET /v1/reseller/quota use).
CREATE FUNCTION sw_admin_reseller_json(a accounts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_account_json(a)::jsonb || jsonb_build_object(
               'quota', json_build_object(
                   'max_servers', q.max_servers, 'max_vcpus', q.max_vcpus,
                   'max_ram_mb', q.max_ram_mb, 'max_disk_gb', q.max_disk_gb,
                   'max_ipv4', q.max_ipv4,
                   'kinds', to_json(coalesce(q.kinds, ARRAY['container', 'pv', 'hvm']))),
               'customers', (SELECT count(*) FROM accounts c
                             WHERE c.reseller_id = a.id AND c.state <> 'deleted'),
               'use', json_build_object('servers', u.servers, 'vcpus', u.vcpus,
                                        'ram_mb', u.ram_mb, 'disk_gb', u.disk_gb,
                                        'ipv4', u.ipv4)))::json
    FROM sw_reseller_use(a.id) u
    LEFT JOIN reseller_quotas q ON q.reseller_id = a.id
$$;
