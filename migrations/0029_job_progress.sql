-- 0029_job_progress.sql: a running job's progress in bytes (issue 14: backup
-- and restore jobs show bytes done of total while they run).
--   jobs.progress_bytes_done, progress_bytes_total
--                         what the engine last reported for the job's current
--                         dispatch (provisioner/progress.c checks and records
--                         it); NULL both until a report; kept after the job ends
--   jobs.progress_run     "<nonce>.<run>": the dispatch and the run of it (a
--                         dispatch delivered again after an engine restart is
--                         a new run) that report belongs to; a new one starts
--                         again from its own first report, within one the
--                         numbers only grow
--   jobs.progress         stays 0..100: the reported percentage while the job
--                         runs (floor of done * 100 / total), 100 when it ends
--   sw_job_json           adds "progress_bytes": {done, total}, or null

ALTER TABLE jobs
    ADD COLUMN progress_bytes_done  bigint CHECK (progress_bytes_done >= 0),
    ADD COLUMN progress_bytes_total bigint CHECK (progress_bytes_total > 0),
    ADD COLUMN progress_run         text CHECK (progress_run ~ '^[0-9a-f]{32}\.[0-9a-f]{16}$'),
    ADD CONSTRAINT jobs_progress_bytes_check CHECK (
        (progress_bytes_done IS NULL) = (progress_bytes_total IS NULL)
        AND (progress_bytes_done IS NULL OR progress_bytes_done <= progress_bytes_total));

CREATE OR REPLACE FUNCTION sw_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', j.id, 'type', j.type, 'state', j.state,
                             'server_id', j.server_id, 'attempts', j.attempts,
                             'error', CASE WHEN j.error IS NULL THEN NULL ELSE
                                 json_build_object('code', j.error_code, 'message', j.error) END,
                             'progress', j.progress, 'note', j.note,
                             'created_at', sw_ts(j.created_at),
                             'started_at', sw_ts(j.started_at),
                             'finished_at', sw_ts(j.finished_at),
                             'progress_bytes', CASE WHEN j.progress_bytes_total IS NULL THEN NULL
                                 ELSE json_build_object('done', j.progress_bytes_done,
                                                        'total', j.progress_bytes_total) END)
$$;
