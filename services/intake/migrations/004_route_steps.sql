-- The steps routing has reported for each dossier (step.assigned/reassigned/completed/returned),
-- keyed by step id: {step_id, agency, task, due_at, attempt, status}. The desk reads the open ones
-- to refuse a result while the route is still open, naming them, and to know which agency holds
-- a step now. Dossiers in flight start from the one step intake knew of (current_step).
ALTER TABLE dossiers ADD COLUMN IF NOT EXISTS route_steps jsonb NOT NULL DEFAULT '{}'::jsonb;

UPDATE dossiers
   SET route_steps = jsonb_build_object(
           current_step->>'step_id',
           current_step || '{"attempt": 0, "status": "assigned"}'::jsonb)
 WHERE current_step ? 'step_id' AND route_steps = '{}'::jsonb;
