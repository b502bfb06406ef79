"""Intake's business counters (the kit's metrics cover latency, outbox and dead letters)."""

from prometheus_client import Counter

RECEIVED = Counter(
    "motcua_intake_dossiers_received_total", "Dossiers received.", ["procedure", "channel"]
)
INCOMPLETE_AT_DESK = Counter(
    "motcua_intake_incomplete_submissions_total",
    "Submissions turned back with a request to supplement (Form 02).",
    ["procedure"],
)
TRANSITIONS = Counter(
    "motcua_intake_dossier_transitions_total", "Dossier life-cycle actions.", ["action"]
)
EVALUATIONS = Counter(
    "motcua_intake_evaluations_total", "Citizens' evaluations, by overall level.", ["overall"]
)
LOOKUPS = Counter(
    "motcua_intake_lookups_total",
    "Citizens' lookups, by key presented (pin, link) and outcome (opened, not_found, locked).",
    ["credential", "outcome"],
)
