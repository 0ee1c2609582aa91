-- 0009_job_note: what an engine says about a job beyond success or failure
-- ("memory applied live; vcpus apply at next boot"), shown as the job's
-- "note". NULL: nothing to say.

ALTER TABLE jobs ADD COLUMN note text CHECK (note IS NULL OR length(note) <= 160);

CREATE OR REPLACE FUNCTION sw_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', j.id, 'type', j.type, 'state', j.state,
                             'server_id', j.server_id, 'attempts', j.attempts,
                             'error', CASE WHEN j.error IS NULL THEN NULL ELSE
                                 json_build_object('code', j.error_code, 'message', j.error) END,
                             'progress', j.progress, 'note', j.note,
                             'created_at', sw_ts(j.created_at),
                             'started_at', sw_ts(j.started_at),
                             'finished_at', sw_ts(j.finished_at))
$$;
