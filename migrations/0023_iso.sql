-- 0023_iso.sql: ISO installs for hvm servers (issue 13, panel/README.md
-- "API notes: ISO installs").
--   servers.iso_id   the library ISO (images, format iso) mounted on the
--                    server's cdrom, NULL for none; set by the panel in the
--                    transaction that queues mount_iso, cleared by eject_iso
--   servers.boot     'disk' (the root volume first) or 'cdrom' (the ISO
--                    first, then the disk); 'cdrom' only with an ISO
--   jobs.type        gains mount_iso, eject_iso and set_boot
-- An ISO mounted on a server is in use: the images foreign key keeps it
-- from being deleted. The engine's role is granted nothing: the ISO reaches
-- the node in its jobs (iso_sha256, iso_bytes, boot) and over HTTP with its
-- own token, which may fetch the ISO mounted on one of its servers.

ALTER TABLE servers
    ADD COLUMN iso_id uuid REFERENCES images (id),
    ADD COLUMN boot text NOT NULL DEFAULT 'disk' CHECK (boot IN ('disk', 'cdrom')),
    ADD CHECK (boot = 'disk' OR iso_id IS NOT NULL);

CREATE INDEX servers_iso ON servers (iso_id) WHERE iso_id IS NOT NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall', 'resize', 'suspend',
                    'unsuspend', 'terminate', 'reset_password', 'mount_iso', 'eject_iso',
                    'set_boot'));
