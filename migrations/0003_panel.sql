-- 0003_panel: idempotency keys, the audit log, reseller quotas and external
-- ids, IP pools.

-- Idempotency-Key per account: the first request's answer, replayed to a
-- retry with the same body. 'running' while the first is in flight.
CREATE TABLE idempotency_keys (
    account_id uuid NOT NULL REFERENCES accounts (id),
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method     text NOT NULL,
    path       text NOT NULL,
    body_hash  text NOT NULL,
    state      text NOT NULL CHECK (state IN ('running', 'done')),
    status     integer,
    response   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Who did what to which object, when, from where. Written for every write.
CREATE TABLE audit_log (
    id              uuid PRIMARY KEY,
    actor_id        uuid REFERENCES accounts (id),
    token_id        uuid,
    action          text NOT NULL,   -- "POST /v1/orders"
    object_id       text,
    status          integer NOT NULL,
    result          text NOT NULL,   -- "ok" or the error code
    remote          text NOT NULL,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at);

CREATE FUNCTION sw_audit_json(a audit_log) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'actor_id', a.actor_id, 'token_id', a.token_id,
                             'action', a.action, 'object_id', a.object_id, 'status', a.status,
                             'result', a.result, 'remote', a.remote,
                             'idempotency_key', a.idempotency_key,
                             'created_at', sw_ts(a.created_at))
$$;

-- A reseller's billing system knows its customers by its own id.
ALTER TABLE accounts ADD COLUMN external_id text
    CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 128);
CREATE UNIQUE INDEX accounts_reseller_external_key ON accounts (reseller_id, external_id)
    WHERE external_id IS NOT NULL;

CREATE OR REPLACE FUNCTION sw_account_json(a accounts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'kind', a.kind, 'email', a.email, 'name', a.name,
                             'reseller_id', a.reseller_id, 'external_id', a.external_id,
                             'state', a.state, 'created_at', sw_ts(a.created_at))
$$;

-- Limits of a reseller's whole subtree. NULL: no limit on that resource.
CREATE TABLE reseller_quotas (
    reseller_id uuid PRIMARY KEY REFERENCES accounts (id),
    max_servers integer CHECK (max_servers >= 0),
    max_vcpus   integer CHECK (max_vcpus >= 0),
    max_ram_mb  bigint CHECK (max_ram_mb >= 0),
    max_disk_gb bigint CHECK (max_disk_gb >= 0),
    max_ipv4    integer CHECK (max_ipv4 >= 0),
    kinds       text[] NOT NULL DEFAULT ARRAY['container', 'pv', 'hvm']
                CHECK (kinds <@ ARRAY['container', 'pv', 'hvm']::text[]),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Address pools per location: an IPv4 range or an IPv6 prefix (assignment
-- of /64s and addresses to servers is the provisioner's).
CREATE TABLE ip_pools (
    id          uuid PRIMARY KEY,
    location_id uuid NOT NULL REFERENCES locations (id),
    family      integer NOT NULL CHECK (family IN (4, 6)),
    network     cidr NOT NULL UNIQUE,
    gateway     inet,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (family(network) = family),
    CHECK (gateway IS NULL OR gateway << network)
);

CREATE FUNCTION sw_ip_pool_json(p ip_pools) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'location_id', p.location_id, 'family', p.family,
                             'network', p.network::text, 'gateway', host(p.gateway),
                             'size', CASE WHEN p.family = 4
                                          THEN 2 ^ (32 - masklen(p.network))
                                          ELSE NULL END,
                             'created_at', sw_ts(p.created_at))
$$;

-- What a job needs beyond its type: resize's plan, reinstall's template.
ALTER TABLE jobs ADD COLUMN params jsonb NOT NULL DEFAULT '{}';
