"""reporting's nameko entrypoints: parse, call the workflow, reply. Nothing else belongs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from motcua_kit import audit, metrics, ops
from motcua_kit.access import UnitDirectory, Units
from motcua_kit.config import setting
from motcua_kit.consumer import DUPLICATE, consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.http import http, json_response, load_query
from motcua_kit.providers import Calendar, Clock
from motcua_kit.workcal import WorkCalendar
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from reporting import workflow
from reporting.adapters import exports
from reporting.adapters import repository as repo
from reporting.schemas import ReportQuery

READERS = ("supervisor", "admin")
DASHBOARD = Path(__file__).parent / "static" / "dashboard.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settled(applied: bool) -> Any:
    return None if applied else DUPLICATE


class ReportingService(ops.OpsEndpoints):
    name = "reporting"

    db: UnitOfWork = Database()
    units: Units = UnitDirectory()
    calendar: WorkCalendar = Calendar()
    now: Callable[[], datetime] = Clock()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

    # --- every event of the platform, archived and applied ---------------------------------
    # The archive (`events`, keyed by the event id) is reporting's inbox: a redelivered event is
    # found there, so the kit's inbox would only record every event a second time.

    @consume("intake", "#", inbox=False, queue_name="reporting.intake-events")
    def on_intake_event(self, event: dict[str, Any]) -> Any:
        return _settled(workflow.consume_event(self.db, self.calendar, "intake", event))

    @consume("routing", "#", inbox=False, queue_name="reporting.routing-events")
    def on_routing_event(self, event: dict[str, Any]) -> Any:
        return _settled(workflow.consume_event(self.db, self.calendar, "routing", event))

    @consume("notification", "#", inbox=False, queue_name="reporting.notification-events")
    def on_notification_event(self, event: dict[str, Any]) -> Any:
        return _settled(workflow.consume_event(self.db, self.calendar, "notification", event))

    # --- reports (supervisors) ---------------------------------------------------------------

    def _query(self, request: Request) -> tuple[workflow.Period, dict[str, Any]]:
        query = load_query(request, ReportQuery())
        period = workflow.Period.asked(query.pop("first"), query.pop("last"), self.now())
        return period, workflow.scoped(query, request.officer, self.units)  # type: ignore[attr-defined]

    @http("GET", "/reports/statistics", roles=READERS, scope="oversight")
    def statistics(self, request: Request) -> Response:
        period, filters = self._query(request)
        return json_response(workflow.statistics_report(self.db, period, filters, self.now()))

    @http("GET", "/reports/statistics.csv", roles=READERS, scope="oversight")
    def statistics_csv(self, request: Request) -> Response:
        period, filters = self._query(request)
        report = workflow.statistics_report(self.db, period, filters, self.now())
        workflow.disclosed(self.db, request.officer, "statistics.csv", filters, period)  # type: ignore[attr-defined]
        body = exports.to_csv(report, repo.field_names(self.db))
        return _download(
            body, "text/csv; charset=utf-8", f"thong-ke-{period.first}-{period.last}.csv"
        )

    @http("GET", "/reports/statistics.xlsx", roles=READERS, scope="oversight")
    def statistics_xlsx(self, request: Request) -> Response:
        period, filters = self._query(request)
        report = workflow.statistics_report(self.db, period, filters, self.now())
        unit = workflow.scope_title(filters, request.officer, self.units)  # type: ignore[attr-defined]
        workflow.disclosed(self.db, request.officer, "statistics.xlsx", filters, period)  # type: ignore[attr-defined]
        body = exports.to_xlsx(report, repo.field_names(self.db), unit)
        return _download(body, XLSX, f"thong-ke-{period.first}-{period.last}.xlsx")

    @http("GET", "/reports/late", roles=READERS, scope="oversight")
    def late(self, request: Request) -> Response:
        _, filters = self._query(request)
        risk = float(setting(self.config, "REPORT_RISK_THRESHOLD", 0.7))
        workflow.disclosed(self.db, request.officer, "late", filters)  # type: ignore[attr-defined]
        return json_response(
            workflow.late_report(self.db, self.calendar, filters, self.now(), risk)
        )

    @http("GET", "/reports/satisfaction", roles=READERS, scope="oversight")
    def satisfaction(self, request: Request) -> Response:
        period, filters = self._query(request)
        return json_response(workflow.satisfaction_report(self.db, period, filters))

    @http("GET", "/reports/indices", roles=READERS, scope="oversight")
    def indices(self, request: Request) -> Response:
        period, filters = self._query(request)
        return json_response(workflow.indices_report(self.db, period, filters, self.now()))

    @http("GET", "/reports/dashboard", roles=READERS, scope="oversight")
    def dashboard_data(self, request: Request) -> Response:
        period, filters = self._query(request)
        return json_response(workflow.dashboard(self.db, period, filters, self.now()))

    # The page itself holds no data: it asks for a supervisor's token and reads the JSON above.
    @http("GET", "/dashboard", public=True)
    def dashboard_page(self, request: Request) -> Response:
        return Response(DASHBOARD.read_bytes(), content_type="text/html; charset=utf-8")

    # --- operations (health and metrics come from OpsEndpoints) -----------------------------

    @audit.checkpoints()
    def audit_checkpoint(self) -> None:
        audit.checkpoint(self.db, self.now())

    def refresh_gauges(self) -> None:
        workflow.refresh_gauges(self.db, self.now())


def _download(body: bytes, content_type: str, filename: str) -> Response:
    return Response(
        body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
