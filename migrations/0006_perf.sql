-- 0006_perf: the same JSON text from the API view functions (0002), made
-- with less work per row. Found with bench/api.sh (GET /v1/servers?limit=20).
--
-- PostgreSQL inlines a LANGUAGE sql function into the query calling it (no
-- function call and no planning of its body per query) only when its body is
-- one SELECT of an expression without sub-selects, no more volatile than the
-- function is declared. 0002's functions missed that:
--   - sw_ts and sw_money are declared IMMUTABLE, but to_char() and
--     json_build_object() are STABLE, so every timestamp and price went
--     through a full SQL function call, in every sw_*_json;
--   - sw_server_json looked up the node's location with a sub-select.
-- Inlined, a page of 21 servers took a quarter of the executor time.
-- Each function returns the same text as before, byte for byte.

CREATE OR REPLACE FUNCTION sw_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION sw_money(amount bigint, currency text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('amount', amount, 'currency', currency)
$$;

-- The location of a node (NULL for no node, or none found): the fallback for
-- a server ordered without a location. Not inlined itself (it reads a
-- table), and called only when the server has no location of its own.
CREATE FUNCTION sw_node_location(node uuid) RETURNS uuid
LANGUAGE sql STABLE STRICT AS $$
    SELECT n.location_id FROM nodes n WHERE n.id = node
$$;

-- The server, the object lists carry most of (GET /v1/servers and the
-- reseller's views, 20-200 per page): json_build_object looks up the type of
-- every argument again for every row, half of PostgreSQL's time for a page.
-- Every value of this shape is a string or null, so json_object(text[])
-- builds it from text without those lookups; it writes the same text, byte
-- for byte, " : " and ", " separators included. (json_object makes every
-- value a string: a field that is a number, boolean or object needs
-- json_build_object again.)
CREATE OR REPLACE FUNCTION sw_server_json(s servers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_object(ARRAY[
        'id', s.id::text, 'state', s.state, 'hostname', s.hostname,
        'plan_id', s.plan_id::text, 'template_id', s.template_id::text,
        'location_id', coalesce(s.location_id, sw_node_location(s.node_id))::text,
        'owner_id', s.owner_id::text,
        'ipv4', host(s.ipv4), 'ipv6', host(s.ipv6), 'error', s.error,
        'created_at', sw_ts(s.created_at),
        'updated_at', sw_ts(s.updated_at)])
$$;
