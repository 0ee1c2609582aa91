-- 0001_init: accounts, inventory, catalogue, orders, servers, jobs, outbox,
-- allocations and usage. Ids are UUIDs made by the application.

CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('operator', 'reseller', 'customer')),
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    password_hash text,
    -- a customer's reseller (NULL: a customer of the operator); NULL for others
    reseller_id   uuid REFERENCES accounts (id),
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (reseller_id IS NULL OR kind = 'customer')
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE INDEX accounts_reseller_idx ON accounts (reseller_id) WHERE reseller_id IS NOT NULL;

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    name         text NOT NULL DEFAULT '',
    token_hash   text NOT NULL UNIQUE,       -- keyed BLAKE2b of the token, hex
    scope        text NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'read')),
    kind         text NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session')),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_account_idx ON api_tokens (account_id);

CREATE TABLE locations (
    id         uuid PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nodes (
    id                uuid PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    location_id       uuid NOT NULL REFERENCES locations (id),
    engine_uri        text NOT NULL,
    kinds             text[] NOT NULL CHECK (kinds <@ ARRAY['container', 'pv', 'hvm']::text[]
                                             AND cardinality(kinds) > 0),
    cpus              integer NOT NULL CHECK (cpus > 0),
    ram_mb            bigint NOT NULL CHECK (ram_mb > 0),
    disk_gb           bigint NOT NULL CHECK (disk_gb > 0),
    reserved_ram_mb   bigint NOT NULL DEFAULT 0 CHECK (reserved_ram_mb >= 0),
    cpu_ratio         numeric(8, 3) NOT NULL DEFAULT 4.0 CHECK (cpu_ratio > 0),
    ram_ratio         numeric(8, 3) NOT NULL DEFAULT 1.0 CHECK (ram_ratio > 0),
    state             text NOT NULL DEFAULT 'active'
                      CHECK (state IN ('active', 'draining', 'offline')),
    generation        bigint NOT NULL DEFAULT 0,  -- bumped by every claim
    last_heartbeat_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
    id            uuid PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('container', 'pv', 'hvm')),
    vcpus         integer NOT NULL CHECK (vcpus > 0),
    ram_mb        bigint NOT NULL CHECK (ram_mb > 0),
    burst_ram_mb  bigint NOT NULL DEFAULT 0 CHECK (burst_ram_mb >= 0),
    swap_mb       bigint NOT NULL DEFAULT 0 CHECK (swap_mb >= 0),
    disk_gb       bigint NOT NULL CHECK (disk_gb > 0),
    bandwidth_gb  bigint NOT NULL DEFAULT 0 CHECK (bandwidth_gb >= 0),
    price_hourly  bigint NOT NULL DEFAULT 0 CHECK (price_hourly >= 0),   -- minor units
    price_monthly bigint NOT NULL DEFAULT 0 CHECK (price_monthly >= 0),  -- minor units
    currency      text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE templates (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('container', 'pv', 'hvm')),
    os         text NOT NULL,
    state      text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, kind)
);

CREATE TABLE servers (
    id          uuid PRIMARY KEY,               -- also the libvirt domain UUID
    owner_id    uuid NOT NULL REFERENCES accounts (id),
    plan_id     uuid NOT NULL REFERENCES plans (id),
    template_id uuid NOT NULL REFERENCES templates (id),
    location_id uuid REFERENCES locations (id), -- requested; NULL: any
    node_id     uuid REFERENCES nodes (id),     -- set by the claim
    hostname    text NOT NULL,
    ssh_keys    text[] NOT NULL DEFAULT '{}',
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'provisioning', 'running', 'stopped', 'suspended',
                                 'terminating', 'terminated', 'failed')),
    ipv4        inet,
    ipv6        inet,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX servers_owner_idx ON servers (owner_id, created_at, id);
CREATE INDEX servers_node_idx ON servers (node_id) WHERE node_id IS NOT NULL;

CREATE TABLE orders (
    id         uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    server_id  uuid NOT NULL REFERENCES servers (id),
    plan_id    uuid NOT NULL REFERENCES plans (id),
    state      text NOT NULL DEFAULT 'accepted'
               CHECK (state IN ('accepted', 'completed', 'failed')),
    price_amount   bigint NOT NULL,
    price_currency text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_idx ON orders (account_id, created_at, id);

CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    server_id   uuid NOT NULL REFERENCES servers (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),  -- who asked
    type        text NOT NULL CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall',
                                              'resize', 'suspend', 'unsuspend', 'terminate',
                                              'reset_password')),
    state       text NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    error_code  text,
    progress    integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    node_id     uuid REFERENCES nodes (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_server_idx ON jobs (server_id, created_at);
CREATE INDEX jobs_state_idx ON jobs (state) WHERE state IN ('queued', 'running');

-- Transactional outbox: rows written in the same transaction as the change
-- they announce; the provisioner's relay publishes them to Redis and stamps
-- published_at. Republishing is harmless: consumers are idempotent.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    stream       text NOT NULL,
    payload      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- What each live server takes from its node (the ledger).
CREATE TABLE allocations (
    server_id   uuid PRIMARY KEY REFERENCES servers (id),
    node_id     uuid NOT NULL REFERENCES nodes (id),
    vcpus       bigint NOT NULL,
    mem_guar_mb bigint NOT NULL,
    mem_max_mb  bigint NOT NULL,
    disk_gb     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocations_node_idx ON allocations (node_id);

-- Raw usage samples, stored once per sample id.
CREATE TABLE usage_samples (
    sample_id     text PRIMARY KEY,
    server_id     uuid NOT NULL REFERENCES servers (id),
    node_id       uuid NOT NULL REFERENCES nodes (id),
    ts            timestamptz NOT NULL,
    period_s      integer NOT NULL CHECK (period_s > 0),
    cpu_ns        bigint NOT NULL CHECK (cpu_ns >= 0),
    mem_mb        bigint NOT NULL,
    mem_max_mb    bigint NOT NULL,
    net_rx_bytes  bigint NOT NULL,
    net_tx_bytes  bigint NOT NULL,
    disk_rd_bytes bigint NOT NULL,
    disk_wr_bytes bigint NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_samples_server_ts_idx ON usage_samples (server_id, ts);
