-- 0008_ipam: address assignment (IPAM) for the provisioner's claim, and the
-- job pipeline's retry schedule.
--
-- One row per address handed out: an IPv4 host address, or an IPv6 /64
-- (stored as its network, e.g. 2001:db8:0:3::/64). The primary key makes
-- handing out an address twice impossible, also across provisioners; a
-- server holds at most one address per family.
CREATE TABLE ip_assignments (
    address    inet PRIMARY KEY,
    family     integer NOT NULL CHECK (family IN (4, 6)),
    pool_id    uuid NOT NULL REFERENCES ip_pools (id),
    server_id  uuid NOT NULL REFERENCES servers (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (server_id, family)
);
CREATE INDEX ip_assignments_pool_idx ON ip_assignments (pool_id, address);

-- The /64 after the one at a (inet + bigint carries across all 128 bits;
-- 2^64 does not fit a bigint, so four steps of 2^62).
CREATE FUNCTION sw_ip6_next64(a inet) RETURNS inet
LANGUAGE sql IMMUTABLE AS $$
    SELECT set_masklen(a + 4611686018427387904 + 4611686018427387904
                         + 4611686018427387904 + 4611686018427387904, 64)
$$;

-- The lowest free address of a pool, NULL when it is full. IPv4: a host
-- address, never the network, the broadcast or the gateway address. IPv6:
-- the lowest free /64 of the prefix (the n-th /64 is network + n * 2^64).
-- Candidates are the first address and the one after each taken one (and
-- after the gateway), so this does not enumerate the pool.
CREATE FUNCTION sw_ipam_free(p ip_pools) RETURNS inet
LANGUAGE sql STABLE AS $$
    WITH taken AS (SELECT a.address FROM ip_assignments a WHERE a.pool_id = p.id),
    cand AS (
        SELECT CASE WHEN p.family = 4 THEN set_masklen(host(network(p.network))::inet + 1, 32)
                    ELSE set_masklen(network(p.network), 64) END AS c
        UNION ALL
        SELECT CASE WHEN p.family = 4 THEN set_masklen(t.address + 1, 32)
                    ELSE sw_ip6_next64(t.address) END
          FROM taken t
        UNION ALL
        SELECT set_masklen(p.gateway + 1, 32) WHERE p.family = 4 AND p.gateway IS NOT NULL
    )
    SELECT c FROM cand
     WHERE c <<= p.network
       AND (p.family = 6 OR (c > set_masklen(network(p.network), 32)
                             AND c < set_masklen(broadcast(p.network), 32)
                             AND (p.gateway IS NULL OR host(c) <> host(p.gateway))))
       AND NOT EXISTS (SELECT 1 FROM taken t WHERE t.address = c)
     ORDER BY c LIMIT 1
$$;

-- Gives server s one IPv4 address and one IPv6 /64 from the pools of
-- location loc (lowest free address of the first pool, by network, that has
-- one), records them and sets servers.ipv4 / servers.ipv6. The location's
-- pools are locked for the rest of the transaction, so concurrent claims in
-- one location take turns and never pick the same address (the primary key
-- of ip_assignments is the backstop). A server that holds an address of a
-- family keeps it. A family without a pool in the location, or whose pools
-- are full, gets no address; exhausted says which (NULL: no pool at all).
CREATE FUNCTION sw_ipam_assign(s uuid, loc uuid,
                               OUT ipv4 inet, OUT ipv6 inet,
                               OUT v4_exhausted boolean, OUT v6_exhausted boolean)
LANGUAGE plpgsql AS $$
DECLARE
    fam integer;
    p ip_pools;
    got inet;
BEGIN
    PERFORM 1 FROM ip_pools WHERE location_id = loc ORDER BY id FOR UPDATE;
    FOREACH fam IN ARRAY ARRAY[4, 6] LOOP
        SELECT address INTO got FROM ip_assignments WHERE server_id = s AND family = fam;
        IF got IS NULL THEN
            FOR p IN SELECT * FROM ip_pools WHERE location_id = loc AND family = fam
                     ORDER BY network LOOP
                got := sw_ipam_free(p);
                IF got IS NOT NULL THEN
                    INSERT INTO ip_assignments (address, family, pool_id, server_id)
                        VALUES (got, fam, p.id, s);
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        IF fam = 4 THEN
            ipv4 := got;
            v4_exhausted := CASE WHEN got IS NOT NULL THEN false
                                 WHEN EXISTS (SELECT 1 FROM ip_pools WHERE location_id = loc
                                              AND family = 4) THEN true END;
        ELSE
            ipv6 := got;
            v6_exhausted := CASE WHEN got IS NOT NULL THEN false
                                 WHEN EXISTS (SELECT 1 FROM ip_pools WHERE location_id = loc
                                              AND family = 6) THEN true END;
        END IF;
        got := NULL;
    END LOOP;
    UPDATE servers SET ipv4 = host(sw_ipam_assign.ipv4)::inet, ipv6 = sw_ipam_assign.ipv6,
                       updated_at = now()
     WHERE id = s;
END
$$;

-- Gives back every address server s holds (its create failed, or it was
-- terminated) and clears servers.ipv4 / servers.ipv6.
CREATE FUNCTION sw_ipam_release(s uuid) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM ip_assignments WHERE server_id = s;
    UPDATE servers SET ipv4 = NULL, ipv6 = NULL WHERE id = s AND (ipv4 IS NOT NULL OR ipv6 IS NOT NULL);
$$;

-- A job whose engine answer was a retryable failure is dispatched again at
-- retry_at (exponential backoff with jitter) by the provisioner's sweeper.
ALTER TABLE jobs ADD COLUMN retry_at timestamptz;
CREATE INDEX jobs_retry_idx ON jobs (retry_at) WHERE retry_at IS NOT NULL;
