-- 0043_reverse_dns: reverse DNS of servers' addresses (issue 16).
--
-- An operator offers PTRs in an IP pool by naming the pool's reverse zone
-- on a PowerDNS Authoritative server (its HTTP API URL, server id, zone and
-- API key, the key wrapped with the master key as backup secrets are:
-- core/bkkey.h). A customer's PTR is an intent row here first; the panels'
-- PTR thread (panel/ptr_sync.c) writes it to PowerDNS and retries with
-- backoff while PowerDNS is down, so a PTR asked for is never lost.
CREATE TABLE ip_pool_rdns (
    pool_id         uuid PRIMARY KEY REFERENCES ip_pools (id),
    api_url         text NOT NULL CHECK (api_url ~ '^https?://[^/]'),
    api_server      text NOT NULL DEFAULT 'localhost'
                    CHECK (api_server ~ '^[A-Za-z0-9._-]{1,64}$'),
    zone            text NOT NULL CHECK (zone ~ '\.(in-addr|ip6)\.arpa\.$'),
    api_key_wrapped text NOT NULL,
    forward_confirm boolean NOT NULL DEFAULT false,
    ttl             integer NOT NULL DEFAULT 3600 CHECK (ttl BETWEEN 60 AND 604800),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per address with a PTR wanted or still to be removed. ptr NULL:
-- the PTR is to be deleted (the customer's DELETE, or the address given
-- back); the row goes once PowerDNS has done it. version counts changes:
-- the thread marks a row synced only if nobody changed it meanwhile.
CREATE TABLE ptr_records (
    id          uuid PRIMARY KEY,
    address     inet NOT NULL UNIQUE
                CHECK (masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END),
    server_id   uuid NOT NULL REFERENCES servers (id),
    pool_id     uuid NOT NULL REFERENCES ip_pools (id),
    ptr         text CHECK (ptr IS NULL OR length(ptr) BETWEEN 1 AND 253),
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced')),
    version     bigint NOT NULL DEFAULT 1,
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    next_at     timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ptr_records_due_idx ON ptr_records (next_at) WHERE state = 'pending';
CREATE INDEX ptr_records_server_idx ON ptr_records (server_id);

CREATE FUNCTION sw_ptr_json(p ptr_records) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('address', host(p.address), 'ptr', p.ptr, 'state', p.state,
                             'attempts', p.attempts, 'error', p.error,
                             'updated_at', sw_ts(p.updated_at))
$$;

-- An address given back (sw_ipam_release: a failed create, a terminated
-- server) takes its PTRs with it: each is marked for deletion, and the
-- panels' PTR threads delete it from PowerDNS.
CREATE FUNCTION sw_ptr_on_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ptr_records SET ptr = NULL, state = 'pending', version = version + 1,
                           attempts = 0, error = NULL, next_at = now(), updated_at = now()
     WHERE server_id = OLD.server_id AND address <<= OLD.address AND ptr IS NOT NULL;
    RETURN OLD;
END
$$;
CREATE TRIGGER ip_assignments_ptr_release AFTER DELETE ON ip_assignments
    FOR EACH ROW EXECUTE FUNCTION sw_ptr_on_release();
