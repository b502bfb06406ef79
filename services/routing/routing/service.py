"""routing's nameko entrypoints: parse, call the workflow, reply. Nothing else belongs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from motcua_kit import audit, metrics, ops
from motcua_kit.access import UnitDirectory, Units
from motcua_kit.consumer import consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.errors import ApiError
from motcua_kit.http import http, json_response, load_json
from motcua_kit.outbox import command_exchange
from motcua_kit.providers import Calendar, Clock
from motcua_kit.workcal import WorkCalendar
from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from routing import workflow
from routing.domain.agencies import Registry
from routing.providers import Agencies, DeadlinePolicy, Policy
from routing.schemas import (
    ApologySchema,
    CompleteSchema,
    ReasonSchema,
    ReassignSchema,
    SupplementRequestSchema,
)

OFFICERS = ("reception", "processing", "supervisor", "admin")
STEP_ACTIONS: dict[str, tuple[str, Any]] = {
    "accept": ("accept", None),
    "complete": ("complete", CompleteSchema),
    "supplement-request": ("request_supplement", SupplementRequestSchema),
    "refusal": ("refuse", ReasonSchema),
    "return": ("return", ReasonSchema),
}


class RoutingService(ops.OpsEndpoints):
    name = "routing"

    # nameko replaces these class attributes with what each provider's get_dependency returns.
    db: UnitOfWork = Database()
    units: Units = UnitDirectory()
    calendar: WorkCalendar = Calendar()
    agencies: Registry = Agencies()
    policy: Policy = DeadlinePolicy()
    now: Callable[[], datetime] = Clock()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

    # --- events from intake -----------------------------------------------------------------

    @consume("intake", "dossier.received")
    def on_dossier_received(self, event: dict[str, Any]) -> None:
        workflow.open_route(self.db, self.agencies, self.calendar, self.policy, event, self.now())

    @consume("intake", "dossier.supplement_requested")
    def on_dossier_supplement_requested(self, event: dict[str, Any]) -> None:
        workflow.supplement_requested_at_desk(
            self.db, self.agencies, self.calendar, self.policy, event, self.now()
        )

    @consume("intake", "dossier.supplemented")
    def on_dossier_supplemented(self, event: dict[str, Any]) -> None:
        workflow.supplements_arrived(
            self.db, self.agencies, self.calendar, self.policy, event, self.now()
        )

    @consume("intake", "dossier.withdrawn")
    def on_dossier_withdrawn(self, event: dict[str, Any]) -> None:
        workflow.dossier_ended(self.db, self.agencies, event, self.now())

    @consume("intake", "dossier.refused")
    def on_dossier_refused(self, event: dict[str, Any]) -> None:
        workflow.dossier_ended(self.db, self.agencies, event, self.now())

    # --- agencies on the bus ----------------------------------------------------------------

    @consume(
        "agencies",
        "agency.reply",
        exchange=command_exchange(workflow.REPLIES_EXCHANGE),
        queue_name="routing.replies",
        delivery=True,
    )
    def on_agency_reply(self, event: dict[str, Any], delivery: dict[str, Any]) -> None:
        workflow.bus_reply(
            self.db,
            self.agencies,
            self.calendar,
            self.policy,
            event,
            delivery["user_id"],
            self.now(),
        )

    # --- agencies on the worklist (HTTP) ----------------------------------------------------

    @http(
        "GET", "/agencies/<code>/tasks", roles=("processing", "supervisor", "admin"), scope="agency"
    )
    def agency_tasks(self, request: Request, code: str) -> Response:
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            workflow.tasks_view(self.db, self.calendar, officer, self.units, code, self.now())
        )

    @http("POST", "/steps/<path:step_id>/<action>", roles=("processing",), scope="agency")
    def step_action(self, request: Request, step_id: str, action: str) -> Response:
        if action not in STEP_ACTIONS:
            raise ApiError(404, "not_found", f"Không có thao tác '{action}'")
        name, schema = STEP_ACTIONS[action]
        body = load_json(request, schema()) if schema else {}
        officer = request.officer  # type: ignore[attr-defined]
        reply = workflow.act(
            self.db,
            self.agencies,
            self.calendar,
            self.policy,
            officer.as_actor(),
            officer.agency,
            step_id,
            name,
            body,
            self.now(),
            by=audit.by_officer(officer),
        )
        return json_response(reply)

    @http("POST", "/steps/<path:step_id>/reassignment", roles=("supervisor",), scope="oversight")
    def reassign(self, request: Request, step_id: str) -> Response:
        body = load_json(request, ReassignSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            workflow.reassign(
                self.db,
                self.agencies,
                self.calendar,
                self.policy,
                officer,
                self.units,
                step_id,
                body["agency"],
                self.now(),
            )
        )

    @http("GET", "/dossiers/<code>/route", roles=OFFICERS, scope="unit")
    def control_slip(self, request: Request, code: str) -> Response:
        officer = request.officer  # type: ignore[attr-defined]
        view = workflow.route_view(
            self.db, self.agencies, self.calendar, officer, self.units, code, self.now()
        )
        return json_response(view)

    @http("GET", "/dossiers/<code>/audit", roles=OFFICERS, scope="unit")
    def audit_trail(self, request: Request, code: str) -> Response:
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(workflow.audit_view(self.db, officer, self.units, code))

    @http("POST", "/dossiers/<code>/apology", roles=("processing",), scope="agency")
    def apology(self, request: Request, code: str) -> Response:
        body = load_json(request, ApologySchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            workflow.apologise(self.db, self.calendar, officer, code, body, self.now()), 201
        )

    # --- deadlines --------------------------------------------------------------------------

    @timer(interval=1)
    def fire_due_timers(self) -> None:
        now = self.now()
        self.db.fire_due_timers(
            now,
            lambda due: workflow.fire(self.db, self.agencies, self.calendar, self.policy, due, now),
        )

    @audit.checkpoints()
    def audit_checkpoint(self) -> None:
        audit.checkpoint(self.db, self.now())

    # --- operations (health and metrics come from OpsEndpoints) ---------------------------

    def refresh_gauges(self) -> None:
        workflow.refresh_gauges(self.db, self.agencies, self.calendar, self.policy, self.now())
