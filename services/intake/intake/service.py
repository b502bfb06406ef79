"""intake's nameko entrypoints: parse, call the desk, reply. Nothing else belongs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from motcua_kit import metrics, ops
from motcua_kit.consumer import consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.http import client_address, http, json_response, load_json, load_query
from motcua_kit.providers import Calendar, Clock
from motcua_kit.workcal import WorkCalendar
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from intake import catalogue_view, desk, receipts, routing_events
from intake.schemas import (
    EvaluationSchema,
    ListQuerySchema,
    PinQuerySchema,
    ReasonSchema,
    ReceiptQuerySchema,
    ResultReadySchema,
    ReturnSchema,
    SubmissionSchema,
    SupplementRequestSchema,
    SupplementsSchema,
)

DEV_PIN_KEY = "motcua-dev-pin-key-change-me"  # noqa: S105  (development default only)
OFFICERS = ("reception", "processing", "supervisor", "admin")


class IntakeService(ops.OpsEndpoints):
    name = "intake"

    # nameko replaces these class attributes with what each provider's get_dependency returns.
    db: UnitOfWork = Database()
    calendar: WorkCalendar = Calendar()
    now: Callable[[], datetime] = Clock()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

    def _base_url(self) -> str:
        return str(self.config.get("PUBLIC_BASE_URL") or "http://localhost:8001").rstrip("/")

    def _client(self, request: Request) -> str:
        return client_address(request, int(self.config.get("TRUSTED_PROXY_HOPS") or 0))

    def _pins(self) -> desk.Pins:
        key = str(self.config.get("LOOKUP_PIN_KEY") or DEV_PIN_KEY)
        return desk.Pins(key.encode(), int(self.config.get("LOOKUP_MAX_FAILURES") or 10))

    # --- catalogue (public) --------------------------------------------------------------

    @http("GET", "/procedures", public=True)
    def list_procedures(self, request: Request) -> Response:
        return json_response(catalogue_view.listing(self.db, self.now(), request.args))

    @http("GET", "/procedures/<code>", public=True)
    def get_procedure(self, request: Request, code: str) -> Response:
        return json_response(catalogue_view.detail(self.db, code, self.now()))

    # --- reception and life after it (officers) -------------------------------------------

    @http("POST", "/dossiers", roles=("reception",))
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

    @http("GET", "/dossiers", roles=("reception", "supervisor", "admin"))
    def list_dossiers(self, request: Request) -> Response:
        query = load_query(request, ListQuerySchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(desk.list_for_unit(self.db, officer, query["status"], query["limit"]))

    @http("GET", "/dossiers/<code>", roles=OFFICERS)
    def get_dossier(self, request: Request, code: str) -> Response:
        return json_response(desk.dossier_view(self.db, request.officer, code))  # type: ignore[attr-defined]

    @http("GET", "/dossiers/<code>/history", roles=OFFICERS)
    def get_history(self, request: Request, code: str) -> Response:
        return json_response(desk.history(self.db, request.officer, code))  # type: ignore[attr-defined]

    @http("GET", "/dossiers/<code>/receipt", roles=OFFICERS)
    def officer_receipt(self, request: Request, code: str) -> Response:
        query = load_query(request, ReceiptQuerySchema())
        desk.dossier_view(self.db, request.officer, code)  # type: ignore[attr-defined]
        return receipts.response(
            self.db, code, query["format"], query["lang"], None, self._base_url()
        )

    @http("POST", "/dossiers/<code>/supplement-request", roles=("reception", "processing"))
    def request_supplement(self, request: Request, code: str) -> Response:
        body = load_json(request, SupplementRequestSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            desk.request_supplement(self.db, self.calendar, officer, code, body, self.now())
        )

    @http("POST", "/dossiers/<code>/supplements", roles=("reception",))
    def receive_supplements(self, request: Request, code: str) -> Response:
        body = load_json(request, SupplementsSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(
            desk.receive_supplements(self.db, self.calendar, officer, code, body, self.now())
        )

    @http("POST", "/dossiers/<code>/refusal", roles=("reception", "processing"))
    def refuse(self, request: Request, code: str) -> Response:
        body = load_json(request, ReasonSchema())
        return json_response(desk.refuse(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http("POST", "/dossiers/<code>/withdrawal", roles=("reception",))
    def withdraw(self, request: Request, code: str) -> Response:
        body = load_json(request, ReasonSchema())
        return json_response(desk.withdraw(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http("POST", "/dossiers/<code>/result", roles=("processing", "reception", "system"))
    def result_ready(self, request: Request, code: str) -> Response:
        body = load_json(request, ResultReadySchema())
        return json_response(desk.result_ready(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    @http("POST", "/dossiers/<code>/return", roles=("reception",))
    def return_result(self, request: Request, code: str) -> Response:
        body = load_json(request, ReturnSchema())
        return json_response(desk.return_result(self.db, request.officer, code, body, self.now()))  # type: ignore[attr-defined]

    # --- the citizen (public, by code + PIN) -----------------------------------------------

    @http("GET", "/lookup/<code>", public=True)
    def lookup(self, request: Request, code: str) -> Response:
        query = load_query(request, PinQuerySchema())
        client = self._client(request)
        status, body = desk.lookup(self.db, code, query["pin"], client, self._pins())
        return json_response(body, status)

    @http("GET", "/lookup/<code>/receipt", public=True)
    def citizen_receipt(self, request: Request, code: str) -> Response:
        query = load_query(request, ReceiptQuerySchema())
        pin = query["pin"] or ""
        status, body = desk.lookup(self.db, code, pin, self._client(request), self._pins())
        if status != 200:
            return json_response(body, status)
        return receipts.response(
            self.db, code, query["format"], query["lang"], pin, self._base_url()
        )

    @http("POST", "/lookup/<code>/evaluation", public=True)
    def evaluate(self, request: Request, code: str) -> Response:
        body = load_json(request, EvaluationSchema())
        client = self._client(request)
        status, reply = desk.evaluate(self.db, code, body, client, self._pins(), self.now())
        return json_response(reply, status)

    # --- progress reported by routing -----------------------------------------------------

    @consume("routing", "step.assigned")
    def on_step_assigned(self, event: dict[str, Any]) -> None:
        routing_events.step_assigned(self.db, event, self.now())

    @consume("routing", "step.reassigned")
    def on_step_reassigned(self, event: dict[str, Any]) -> None:
        routing_events.step_assigned(self.db, event, self.now())

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
