-- 0023_iso.sql: ISO installs for hvm servers (issue 13, panel/README.md
-- "API notes: ISO installs").
--   servers.iso_id   the library ISO (images, format iso) mounted on the
--                    server's cdrom, NULL for none; set by the panel in the
--                    transaction that queues mount_iso, cleared by eject_iso
--   servers.boot     'disk' (the root volume first) or 'cdrom' (the ISO
--                    first, then the disk); the panel sets 'cdrom' only with
--                    an ISO, and a job of a server whose ISO is gone boots
--                    the disk (provisioner/jobdb.c)
--   jobs.type        gains mount_iso, eject_iso and set_boot
-- An ISO mounted on a live server is in use: the panel refuses to delete
-- it (409); deleting one that only terminated servers name clears theirs.
-- The engine's role is granted nothing: the ISO reaches the node in its
-- jobs (iso_sha256, iso_bytes, boot) and over HTTP with its own token,
-- which may fetch the ISO mounted on one of its servers.

ALTER TABLE servers
    ADD COLUMN iso_id uuid REFERENCES images (id) ON DELETE SET NULL,
    ADD COLUMN boot text NOT NULL DEFAULT 'disk' CHECK (boot IN ('disk', 'cdrom'));

CREATE INDEX servers_iso ON servers (iso_id) WHERE iso_id IS NOT NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall', 'resize', 'suspend',
                    'unsuspend', 'terminate', 'reset_password', 'mount_iso', 'eject_iso',
                    'set_boot'));

-- Reconciliation's restores keep the cdrom too (engines/nodedb.c): the ISO
-- mounted on each server of a node, read through this function so that the
-- engine's role sees the sha256 and size of its own servers' ISOs only (no
-- grant on images). A node's role may ask for its own node only (42501
-- otherwise); the owner (tests' engines connect as it) for any. An ISO that
-- is not ready is none, and then the server boots its disk.
CREATE FUNCTION sw_engine_isos(node uuid)
RETURNS TABLE (server_id uuid, sha256 text, size_bytes bigint, boot text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF node IS DISTINCT FROM public.sw_engine_node_id() AND EXISTS (
        SELECT 1 FROM pg_auth_members m
          JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
         WHERE g.rolname = 'slipway_engine' AND u.rolname = session_user) THEN
        RAISE EXCEPTION 'permission denied to read node %''s ISOs', node USING ERRCODE = '42501';
    END IF;
    RETURN QUERY
        SELECT s.id, i.sha256, i.size_bytes, s.boot
          FROM public.servers s JOIN public.images i ON i.id = s.iso_id
         WHERE s.node_id = node AND i.state = 'ready' AND i.format = 'iso';
END
$$;
REVOKE ALL ON FUNCTION sw_engine_isos(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_isos(uuid) TO slipway_engine;
