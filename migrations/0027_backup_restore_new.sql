-- 0027_backup_restore_new.sql: a backup restored as a new server (issue 14,
-- panel/README.md "API notes: backups", engines/README.md "Backup jobs").
--   servers.restored_from  the backup a server's create restored (NULL: an
--                          ordinary install); in sw_server_json as
--                          restored_from. The create job names the same
--                          backup in jobs.params.backup_id, which is what
--                          the provisioner loads and seals to the node.
--   restore.completed      also when such a create succeeds ({job,
--                          backup_id}, as for a restore onto the same server)
-- The engine's role is granted nothing here: the job carries the backup.

ALTER TABLE servers ADD COLUMN restored_from uuid REFERENCES backups (id) ON DELETE SET NULL;

-- 0012's shape with restored_from added (a field, nothing renamed).
CREATE OR REPLACE FUNCTION sw_server_json(s servers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_object(ARRAY[
        'id', s.id::text, 'state', s.state, 'hostname', s.hostname,
        'plan_id', s.plan_id::text, 'template_id', s.template_id::text,
        'location_id', coalesce(s.location_id, sw_node_location(s.node_id))::text,
        'owner_id', s.owner_id::text,
        'ipv4', host(s.ipv4), 'ipv6', host(s.ipv6), 'error', s.error,
        'created_at', sw_ts(s.created_at),
        'updated_at', sw_ts(s.updated_at),
        'restored_from', s.restored_from::text])
$$;

CREATE TRIGGER jobs_restore_new_completed AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.type = 'create' AND NEW.params ? 'backup_id'
                       AND NEW.state = 'succeeded' AND OLD.state <> 'succeeded')
    EXECUTE FUNCTION sw_restore_completed();
