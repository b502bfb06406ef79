-- The lateness risk reads each agency's last completions on every check and task list.
CREATE INDEX steps_completed_by_agency ON steps (agency_code, completed_at DESC)
    WHERE status = 'completed';
