-- 0004_reseller: deleting a reseller's customer, and a reseller's quota use
-- defined once for the order check and GET /v1/reseller/quota.

-- A deleted customer is kept (its orders, jobs, usage and audit rows name
-- it) but can no longer log in, order or be seen by its reseller. Its email
-- and external_id are freed for reuse and kept in deleted_email and
-- deleted_external_id.
ALTER TABLE accounts DROP CONSTRAINT accounts_state_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_state_check
    CHECK (state IN ('active', 'suspended', 'deleted'));
ALTER TABLE accounts
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN deleted_email text,
    ADD COLUMN deleted_external_id text,
    ADD CONSTRAINT accounts_deleted_check CHECK ((state = 'deleted') = (deleted_at IS NOT NULL));

-- What a reseller's customers' live servers (not terminated, not failed)
-- take from its quota: one IPv4 address per server, and per resource the
-- larger of the server's plan and the plan of a change-plan still queued or
-- running (so a pending upgrade already counts, a pending downgrade not yet).
CREATE FUNCTION sw_reseller_use(r uuid, OUT servers bigint, OUT vcpus bigint, OUT ram_mb bigint,
                                OUT disk_gb bigint, OUT ipv4 bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*),
           coalesce(sum(greatest(p.vcpus, x.vcpus)), 0),
           coalesce(sum(greatest(p.ram_mb, x.ram_mb)), 0),
           coalesce(sum(greatest(p.disk_gb, x.disk_gb)), 0),
           count(*)
    FROM servers s
    JOIN accounts c ON c.id = s.owner_id
    JOIN plans p ON p.id = s.plan_id
    LEFT JOIN LATERAL (
        SELECT rp.vcpus, rp.ram_mb, rp.disk_gb
        FROM jobs j JOIN plans rp ON rp.id::text = j.params->>'plan_id'
        WHERE j.server_id = s.id AND j.type = 'resize' AND j.state IN ('queued', 'running')
        ORDER BY j.created_at DESC LIMIT 1) x ON true
    WHERE c.reseller_id = r AND s.state NOT IN ('terminated', 'failed')
$$;
