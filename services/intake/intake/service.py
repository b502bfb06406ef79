"""intake's nameko entrypoints: parse, call the desk, reply. Nothing else belongs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from motcua_kit import audit, metrics, ops
from motcua_kit.access import UnitDirectory, Units
from motcua_kit.consumer import consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.http import client_address, http, json_response, load_json, load_query
from motcua_kit.providers import Calendar, Clock
from motcua_kit.workcal import WorkCalendar
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from intake import catalogue_view, citizen, desk, own_dossiers, receipts, routing_events
from intake.domain import dossier as life
from intake.domain.lookup import Pins
from intake.schemas import (
    CitizenReceiptQuerySchema,
    CitizenReceiptSchema,
    EvaluationSchema,
    LinkQuerySchema,
    ListQuerySchema,
    LookupSchema,
    ReasonSchema,
    ReceiptQuerySchema,
    ResultReadySchema,
    ReturnSchema,
    SubmissionSchema,
    SupplementRequestSchema,
    SupplementsSchema,
)
from intake.settings import check_config, pins_from_config

__all__ = ["IntakeService", "check_config"]  # check_config: read by python -m motcua_kit.run
OFFICERS = ("reception", "processing", "supervisor", "admin")


class IntakeService(ops.OpsEndpoints):
    name = "intake"

    # nameko replaces these class attributes with what each provider's get_dependency returns.
    db: UnitOfWork = Database()
    units: Units = UnitDirectory()
    calendar: WorkCalendar = Calendar()
    now: Callable[[], datetime] = Clock()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

    def _base_url(self) -> str:
        return str(self.config.get("PUBLIC_BASE_URL") or "http://localhost:8001").rstrip("/")

    def _client(self, request: Request) -> str:
        return client_address(request, int(self.config.get("TRUSTED_PROXY_HOPS") or 0))

    def _pins(self) -> Pins:
        return pins_from_config(self.config)

    # --- catalogue (public) --------------------------------------------------------------

    @http("GET", "/procedures", public=True)
    def list_procedures(self, request: Request) -> Response:
        return json_response(catalogue_view.listing(self.db, self.now(), request.args))

    @http("GET", "/procedures/<code>", public=True)
    def get_procedure(self, request: Request, code: str) -> Response:
        return json_response(catalogue_view.detail(self.db, code, self.now()))

    # --- reception and life after it (officers) -------------------------------------------

    @http("POST", "/dossiers", roles=("reception",), scope="unit")
    def submit(self, request: Request) -> Response:
        payload = load_json(request, SubmissionSchema())
        status, body = desk.submit(
            self.db,
            self.calendar,
            request.officer,  # type: ignore[attr-defined]
            payload,
            request.headers.get("Idempotency-Key"),
            self._base_url(),
            self.now(),
            self._pins(),
        )
        return json_response(body, status, {"Location": f"/dossiers/{body['code']}"})

    @http("GET", "/dossiers", roles=("reception", "supervisor", "admin"), scope="unit")
    def list_dossiers(self, request: Request) -> Response:
        query = load_query(request, ListQuerySchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            desk.list_for_unit(
                self.db, officer, self.units, query["unit"], query["status"], query["limit"]
            )
        )

    @http("GET", "/dossiers/<code>", roles=OFFICERS, scope="unit")
    def get_dossier(self, request: Request, code: str) -> Response:
        return json_response(desk.dossier_view(self.db, request.officer, code, self.units))  # type: ignore[attr-defined]

    @http("GET", "/dossiers/<code>/history", roles=OFFICERS, scope="unit")
    def get_history(self, request: Request, code: str) -> Response:
        return json_response(desk.history(self.db, request.officer, code, self.units))  # type: ignore[attr-defined]

    @http("GET", "/dossiers/<code>/audit", roles=OFFICERS, scope="unit")
    def get_audit_trail(self, request: Request, code: str) -> Response:
        return json_response(desk.audit_trail(self.db, request.officer, code, self.units))  # type: ignore[attr-defined]

    @http("GET", "/dossiers/<code>/receipt", roles=OFFICERS, scope="unit")
    def officer_receipt(self, request: Request, code: str) -> Response:
        query = load_query(request, ReceiptQuerySchema())
        desk.receipt_view(self.db, request.officer, code, self.units)  # type: ignore[attr-defined]
        link = self._pins().link(self._base_url(), code)
        return receipts.response(self.db, code, query["format"], query["lang"], None, link)

    @http(
        "POST",
        "/dossiers/<code>/supplement-request",
        roles=("reception", "processing"),
        scope="unit",
    )
    def request_supplement(self, request: Request, code: str) -> Response:
        body = load_json(request, SupplementRequestSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            desk.request_supplement(self.db, self.calendar, officer, code, body, self.now())
        )

    @http("POST", "/dossiers/<code>/supplements", roles=("reception",), scope="unit")
    def receive_supplements(self, request: Request, code: str) -> Response:
        body = load_json(request, SupplementsSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            desk.receive_supplements(self.db, self.calendar, officer, code, body, self.now())
        )

    @http("POST", "/dossiers/<code>/refusal", roles=("reception", "processing"), scope="unit")
    def refuse(self, request: Request, code: str) -> Response:
        body = load_json(request, ReasonSchema())
        return json_response(desk.refuse(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http("POST", "/dossiers/<code>/withdrawal", roles=("reception",), scope="unit")
    def withdraw(self, request: Request, code: str) -> Response:
        body = load_json(request, ReasonSchema())
        return json_response(desk.withdraw(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http(
        "POST", "/dossiers/<code>/result", roles=("processing", "reception", "system"), scope="unit"
    )
    def result_ready(self, request: Request, code: str) -> Response:
        body = load_json(request, ResultReadySchema())
        return json_response(desk.result_ready(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http("POST", "/dossiers/<code>/return", roles=("reception",), scope="unit")
    def return_result(self, request: Request, code: str) -> Response:
        body = load_json(request, ReturnSchema())
        return json_response(desk.return_result(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    # --- the signed-in citizen ------------------------------------------------------------

    @http("GET", "/citizen/dossiers", roles=("citizen",), scope="own")
    def own_dossiers(self, request: Request) -> Response:
        query = load_query(request, ListQuerySchema())
        citizen = request.officer  # type: ignore[attr-defined]
        return json_response(own_dossiers.of_citizen(self.db, citizen, query["limit"]))

    # --- the citizen (public, by code + PIN) -----------------------------------------------

    @http("POST", "/lookup/<code>", public=True)
    def lookup(self, request: Request, code: str) -> Response:
        """The citizen types the PIN (JSON or form body: never in the URL, which is logged)."""
        key = citizen.credential(citizen.load_body(request, LookupSchema()))
        now = self.now()
        status, body = desk.lookup(self.db, code, key, self._client(request), self._pins(), now)
        return citizen.answer(status, body, now)

    @http("GET", "/lookup/<code>", public=True)
    def lookup_by_link(self, request: Request, code: str) -> Response:
        """The link of the receipt, its QR code, the emails and SMS: `?t=<link secret>`."""
        key = citizen.credential(load_query(request, LinkQuerySchema()))
        now = self.now()
        status, body = desk.lookup(self.db, code, key, self._client(request), self._pins(), now)
        return citizen.answer(status, body, now)

    @http("GET", "/lookup/<code>/receipt", public=True)
    def citizen_receipt_by_link(self, request: Request, code: str) -> Response:
        return self._citizen_receipt(
            request, code, load_query(request, CitizenReceiptQuerySchema())
        )

    @http("POST", "/lookup/<code>/receipt", public=True)
    def citizen_receipt(self, request: Request, code: str) -> Response:
        """With the PIN: the receipt prints it."""
        return self._citizen_receipt(
            request, code, citizen.load_body(request, CitizenReceiptSchema())
        )

    def _citizen_receipt(self, request: Request, code: str, query: dict[str, Any]) -> Response:
        key, pins, now = citizen.credential(query), self._pins(), self.now()
        status, body = desk.lookup(self.db, code, key, self._client(request), pins, now)
        if status != 200:
            return citizen.answer(status, body, now)
        pin = key.value if key.kind == "pin" else None
        link = pins.link(self._base_url(), code)
        return citizen.private(
            receipts.response(self.db, code, query["format"], query["lang"], pin, link)
        )

    @http("POST", "/lookup/<code>/evaluation", public=True)
    def evaluate(self, request: Request, code: str) -> Response:
        body = citizen.load_body(request, EvaluationSchema())
        key, now = citizen.credential(body), self.now()
        client = self._client(request)
        status, reply = desk.evaluate(self.db, code, body, key, client, self._pins(), now)
        return citizen.answer(status, reply, now)

    # --- the audit trail's checkpoints (AUDIT_CHECKPOINT_SECONDS) --------------------------

    @audit.checkpoints()
    def audit_checkpoint(self) -> None:
        audit.checkpoint(self.db, self.now())

    # --- progress reported by routing -----------------------------------------------------

    @consume("routing", "step.assigned")
    def on_step_assigned(self, event: dict[str, Any]) -> None:
        routing_events.step_assigned(self.db, event, self.now())

    @consume("routing", "step.reassigned")
    def on_step_reassigned(self, event: dict[str, Any]) -> None:
        routing_events.step_assigned(self.db, event, self.now())

    @consume("routing", "step.completed")
    def on_step_completed(self, event: dict[str, Any]) -> None:
        routing_events.step_moved(self.db, event, life.STEP_DONE)

    @consume("routing", "step.returned")
    def on_step_returned(self, event: dict[str, Any]) -> None:
        routing_events.step_moved(self.db, event, life.STEP_PENDING)

    @consume("routing", "step.supplement_requested")
    def on_supplement_requested(self, event: dict[str, Any]) -> None:
        routing_events.agency_asks_supplement(self.db, self.calendar, event, self.now())

    @consume("routing", "route.refused")
    def on_route_refused(self, event: dict[str, Any]) -> None:
        routing_events.route_refused(self.db, event, self.now())

    @consume("routing", "route.completed")
    def on_route_completed(self, event: dict[str, Any]) -> None:
        routing_events.route_completed(self.db, event, self.now())

    @consume("routing", "route.apology_issued")
    def on_apology_issued(self, event: dict[str, Any]) -> None:
        routing_events.apology_issued(self.db, self.calendar, event, self.now())
