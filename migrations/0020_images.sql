-- 0020_images.sql: the image library (issue 13, panel/README.md "API notes:
-- images and ISOs").
--   images                 one row per image or ISO an operator registered:
--                          uploaded, or fetched from source_url; its file is
--                          <SLIPWAY_IMAGES_DIR>/<sha256> once it is ready
--   templates.image_id     the template's disk image (qcow2|raw for hvm and
--                          pv, tar for containers); kernel_image_id and
--                          initrd_image_id for a pv template booting its own
--                          kernel. NULL: a blank disk (an ISO install)
--   nodes.image_token_hash the keyed hash of the node's image token
--                          (SLIPWAY_NODE_TOKEN), with which its engine
--                          fetches the images its servers use
-- The engine's role (0018) is granted nothing here: images reach it by
-- sha256 in its node jobs and over HTTP with its own token.

CREATE TABLE images (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        text NOT NULL CHECK (kind IN ('container', 'pv', 'hvm')),
    format      text NOT NULL CHECK (format IN ('qcow2', 'raw', 'kernel', 'initrd', 'tar', 'iso')),
    sha256      text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes  bigint CHECK (size_bytes >= 0),
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
    error       text,
    source_url  text,
    -- a fetch by URL: the panel fetching it holds the row until
    -- lease_until; a panel that died mid-fetch leaves the lease to run
    -- out and another (or itself, restarted) claims it again, at most 3
    -- times in all (fetch_attempts), then it is failed
    lease_until    timestamptz,
    fetch_attempts int NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- which formats install on which kind: disks on hvm and pv, a pv
    -- template's own kernel and initrd, a container's rootfs tarball, ISOs
    -- on hvm
    CHECK ((format IN ('qcow2', 'raw') AND kind IN ('hvm', 'pv'))
           OR (format IN ('kernel', 'initrd') AND kind = 'pv')
           OR (format = 'tar' AND kind = 'container')
           OR (format = 'iso' AND kind = 'hvm')),
    CHECK (state <> 'ready' OR (sha256 IS NOT NULL AND size_bytes IS NOT NULL)),
    CHECK (state <> 'failed' OR error IS NOT NULL)
);
-- One file per content: a second image of the same bytes is refused
-- (failed ones hold no file).
CREATE UNIQUE INDEX images_sha256 ON images (sha256) WHERE state <> 'failed';
CREATE INDEX images_pending ON images (created_at) WHERE state = 'pending';

ALTER TABLE templates
    ADD COLUMN image_id uuid REFERENCES images (id),
    ADD COLUMN kernel_image_id uuid REFERENCES images (id),
    ADD COLUMN initrd_image_id uuid REFERENCES images (id),
    ADD CHECK ((kernel_image_id IS NULL) = (initrd_image_id IS NULL));

ALTER TABLE nodes ADD COLUMN image_token_hash text UNIQUE
    CHECK (image_token_hash ~ '^[0-9a-f]{64}$');

CREATE FUNCTION sw_image_json(i images) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', i.id, 'name', i.name, 'kind', i.kind, 'format', i.format,
                             'sha256', i.sha256, 'size_bytes', i.size_bytes, 'state', i.state,
                             'error', i.error, 'source_url', i.source_url,
                             'created_at', sw_ts(i.created_at), 'updated_at', sw_ts(i.updated_at))
$$;

CREATE OR REPLACE FUNCTION sw_template_json(t templates) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', t.id, 'name', t.name, 'kind', t.kind, 'os', t.os,
                             'state', t.state, 'created_at', sw_ts(t.created_at),
                             'image_id', t.image_id, 'kernel_image_id', t.kernel_image_id,
                             'initrd_image_id', t.initrd_image_id)
$$;
