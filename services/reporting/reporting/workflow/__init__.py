"""reporting's use cases."""

from reporting.workflow.archive import consume_event, rebuild
from reporting.workflow.disclosures import disclosed
from reporting.workflow.reports import (
    Period,
    dashboard,
    indices_report,
    late_report,
    refresh_gauges,
    satisfaction_report,
    scope_title,
    scoped,
    statistics_report,
)

__all__ = [
    "Period",
    "consume_event",
    "dashboard",
    "disclosed",
    "indices_report",
    "late_report",
    "rebuild",
    "refresh_gauges",
    "satisfaction_report",
    "scope_title",
    "scoped",
    "statistics_report",
]
