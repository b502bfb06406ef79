"""notification's nameko entrypoints: parse, call the workflow, reply. Nothing else belongs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from motcua_kit import audit, metrics, ops
from motcua_kit.access import UnitDirectory, Units
from motcua_kit.consumer import consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.http import http, json_response, load_json, load_query
from motcua_kit.providers import Clock
from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from notification import workflow
from notification.domain.directory import Directory
from notification.providers import (
    Channels,
    ChannelSet,
    DeliveryPolicy,
    MessageTemplates,
    Recipients,
    channels_from_config,
)
from notification.schemas import (
    DeliveryLogQuery,
    PreviewSchema,
    SmsReportSchema,
    SubscriberSchema,
)
from notification.settings import Settings, settings_from_config
from notification.templates import Templates

OFFICERS = ("reception", "processing", "supervisor", "admin")
TEMPLATE_READERS = ("supervisor", "admin")


def check_config(config: dict[str, Any]) -> list[str]:
    """What `python -m motcua_kit.run` reports before starting: every setting the providers would
    refuse (channels, policy, recipients file, templates), in one list."""
    problems = []
    for check in (
        channels_from_config,
        settings_from_config,
        MessageTemplates.load,
        Recipients.load,
    ):
        try:
            check(config)
        except (ValueError, OSError) as exc:
            problems.append(f"notification: {exc}")
    return problems


class NotificationService(ops.OpsEndpoints):
    name = "notification"

    db: UnitOfWork = Database()
    units: Units = UnitDirectory()
    channels: ChannelSet = Channels()
    templates: Templates = MessageTemplates()
    directory: Directory = Recipients()
    settings: Settings = DeliveryPolicy()
    now: Callable[[], datetime] = Clock()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

    # --- events: one queue per source, every type (webhook subscribers choose among them) ----

    @consume("intake", "#", queue_name="notification.intake-events")
    def on_intake_event(self, event: dict[str, Any]) -> None:
        workflow.handle_event(
            self.db, self.templates, self.directory, self.settings, event, self.now()
        )

    @consume("routing", "#", queue_name="notification.routing-events")
    def on_routing_event(self, event: dict[str, Any]) -> None:
        workflow.handle_event(
            self.db, self.templates, self.directory, self.settings, event, self.now()
        )

    # --- sending ------------------------------------------------------------------------------

    @timer(interval=0.5)
    def send_due(self) -> None:
        workflow.dispatch_backlog(self.db, self.channels, self.templates, self.settings, self.now)

    # --- officers: the delivery log ----------------------------------------------------------

    @http("GET", "/notifications", roles=OFFICERS, scope="unit")
    def notifications(self, request: Request) -> Response:
        query = load_query(request, DeliveryLogQuery())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(workflow.delivery_log(self.db, officer, self.units, query["dossier"]))

    # --- templates -----------------------------------------------------------------------------

    @http("GET", "/templates", roles=TEMPLATE_READERS, scope="platform")
    def template_list(self, request: Request) -> Response:
        return json_response(workflow.template_list(self.templates))

    @http(
        "GET",
        "/templates/<kind>/<channel>/<language>/preview",
        roles=TEMPLATE_READERS,
        scope="platform",
    )
    def sample_preview(self, request: Request, kind: str, channel: str, language: str) -> Response:
        return json_response(workflow.preview(self.templates, kind, channel, language, {}))

    @http(
        "POST",
        "/templates/<kind>/<channel>/<language>/preview",
        roles=TEMPLATE_READERS,
        scope="platform",
    )
    def preview(self, request: Request, kind: str, channel: str, language: str) -> Response:
        body = load_json(request, PreviewSchema())
        return json_response(
            workflow.preview(self.templates, kind, channel, language, body["facts"])
        )

    # --- webhook subscribers (operators) -----------------------------------------------------

    @http("POST", "/webhooks", roles=("admin",), scope="platform")
    def subscribe(self, request: Request) -> Response:
        body = load_json(request, SubscriberSchema())
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(workflow.subscribe(self.db, self.channels.webhook, officer, body), 201)

    @http("GET", "/webhooks", roles=("admin",), scope="platform")
    def subscriber_list(self, request: Request) -> Response:
        return json_response(workflow.subscriber_list(self.db))

    @http("GET", "/webhooks/<subscriber_id>", roles=("admin",), scope="platform")
    def subscriber(self, request: Request, subscriber_id: str) -> Response:
        return json_response(workflow.show_subscriber(self.db, subscriber_id))

    @http("DELETE", "/webhooks/<subscriber_id>", roles=("admin",), scope="platform")
    def unsubscribe(self, request: Request, subscriber_id: str) -> Response:
        return json_response(workflow.delete_subscriber(self.db, subscriber_id, self.now()))

    @http("POST", "/webhooks/<subscriber_id>/redrive", roles=("admin",), scope="platform")
    def redrive(self, request: Request, subscriber_id: str) -> Response:
        officer = request.officer  # type: ignore[attr-defined]
        return json_response(workflow.redrive(self.db, officer, subscriber_id, self.now()))

    # --- the SMS gateway's delivery reports (authenticated by a shared token) ----------------

    @http("POST", "/sms/delivery-reports", public=True)
    def sms_report(self, request: Request) -> Response:
        workflow.check_gateway_token(
            self.config.get("SMS_REPORT_TOKEN"), request.headers.get("X-Motcua-Token")
        )
        body = load_json(request, SmsReportSchema())
        return json_response(workflow.sms_report(self.db, body, self.now()))

    # --- operations (health and metrics come from OpsEndpoints) -----------------------------

    @timer(interval=3600, eager=True)
    def seal_secrets(self) -> None:
        """Rows from before migration 002: their secret encrypted at start, then hourly."""
        workflow.seal_clear_secrets(self.db, self.channels.webhook)

    @audit.checkpoints()
    def audit_checkpoint(self) -> None:
        audit.checkpoint(self.db, self.now())

    def refresh_gauges(self) -> None:
        workflow.refresh_gauges(self.db, self.now())
