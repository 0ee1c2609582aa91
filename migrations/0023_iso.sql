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
