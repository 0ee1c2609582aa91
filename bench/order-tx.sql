-- bench/order-tx.sql - pgbench script for bench/api.sh: the statements the
-- panel runs for one POST /v1/orders with an Idempotency-Key, in the same
-- order and with the same transaction boundaries, without HTTP, auth or the
-- panel (the reference the panel's order rate is compared with):
--
--   idempotency key claim            (own statement; router -> idempotency.c)
--   BEGIN
--     plan and template check        (orders.c)
--     INSERT server  RETURNING json  (orders.c)
--     INSERT order   RETURNING json  (orders.c)
--     INSERT job     RETURNING json  (orders.c)
--     INSERT outbox + pg_notify      (api.c sw_api_enqueue_job)
--     UPDATE idempotency key: done   (idempotency.c, with the answer)
--   COMMIT
--   INSERT audit row                 (own statement; router.c)
--
-- The panel makes its UUIDs in C; here gen_random_uuid() makes them in the
-- statement and \gset carries them on. Run with -M prepared, as the panel's
-- pooled connections run their statements (core/db.c). Variables from -D:
-- owner (the customer's account id), token (its token id), plan, tpl.
\set r random(1, 1000000000000000)
INSERT INTO idempotency_keys (account_id, key, method, path, body_hash, state)
  VALUES (:owner, 'pgb-' || :client_id::text || '-' || :r::text, 'POST', '/v1/orders',
          '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4', 'running')
  ON CONFLICT DO NOTHING RETURNING 1;
BEGIN;
SELECT p.kind, t.kind FROM plans p, templates t
  WHERE p.id = :plan AND p.state = 'active' AND t.id = :tpl AND t.state = 'active';
INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname, ssh_keys)
  VALUES (gen_random_uuid(), :owner, :plan, :tpl, NULL,
          'p' || :client_id::text || '-' || :r::text || '.bench.example',
          ARRAY(SELECT json_array_elements_text('[]'::json)))
  RETURNING id AS sid, sw_server_json(servers) AS sjson \gset
INSERT INTO orders (id, account_id, server_id, plan_id, price_amount, price_currency)
  SELECT gen_random_uuid(), :owner, :sid, p.id, p.price_monthly, p.currency
  FROM plans p WHERE p.id = :plan RETURNING sw_order_json(orders) AS ojson \gset
INSERT INTO jobs (id, server_id, account_id, type) VALUES (gen_random_uuid(), :sid, :owner, 'create')
  RETURNING id AS jid, sw_job_json(jobs) AS jjson \gset
WITH o AS (INSERT INTO outbox (stream, payload)
           VALUES ('jobs', '{"job_id":"' || :jid::text || '","server_id":"' || :sid::text
                           || '","type":"create"}'))
  SELECT pg_notify('outbox', '');
UPDATE idempotency_keys SET state = 'done', status = 202,
    response = json_build_object('order', :ojson::json, 'server', :sjson::json,
                                 'job', :jjson::json)::text,
    updated_at = now()
  WHERE account_id = :owner AND key = 'pgb-' || :client_id::text || '-' || :r::text;
COMMIT;
INSERT INTO audit_log (id, actor_id, token_id, action, object_id, status, result, remote,
                       idempotency_key)
  VALUES (gen_random_uuid(), :owner, :token, 'POST /v1/orders', :sid, 202, 'ok', '127.0.0.1',
          'pgb-' || :client_id::text || '-' || :r::text);
