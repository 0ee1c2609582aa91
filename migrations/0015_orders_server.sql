-- 0015_orders_server: finishing a create sets its order's state by server
-- (provisioner/jobdb.c), which scanned every order: 924 sequential scans
-- reading 883,100 rows for 1,000 orders in bench/provision.

CREATE INDEX orders_server_idx ON orders (server_id);
