"""notification's DependencyProviders: channels, templates, the directory and the policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from motcua_kit import production
from motcua_kit.config import setting
from nameko.extensions import DependencyProvider

from notification.adapters.egress import Guard, parse_networks
from notification.adapters.email import TLS_MODES, Envelope, FolderSender, SmtpSender
from notification.adapters.secrets import SecretBox
from notification.adapters.sms import DEFAULT_PAYLOAD, FileGateway, HttpGateway, TextMessage
from notification.adapters.webhook import WebhookPoster
from notification.domain.directory import Directory, directory_from_data
from notification.domain.outcome import Outcome
from notification.settings import Settings, settings_from_config
from notification.templates import Templates

DEFAULT_RECIPIENTS = Path(__file__).parent / "data" / "recipients.json"


class EmailSender(Protocol):
    def send(self, envelope: Envelope) -> Outcome: ...

    def close(self) -> None: ...


class SmsSender(Protocol):
    def send(self, message: TextMessage) -> Outcome: ...


@dataclass(frozen=True)
class ChannelSet:
    email: EmailSender
    sms: SmsSender
    webhook: WebhookPoster


def channels_from_config(config: dict[str, Any]) -> ChannelSet:
    """EMAIL_TRANSPORT smtp|folder, SMS_TRANSPORT http|file (docs/configuration.md)."""
    sender = setting(config, "MAIL_FROM", "Bộ phận Một cửa <motcua@localhost>")
    email: EmailSender
    transport = setting(config, "EMAIL_TRANSPORT", "smtp")
    if transport == "smtp":
        tls = setting(config, "SMTP_TLS", "none")
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}")
        email = SmtpSender(
            host=setting(config, "SMTP_HOST", "127.0.0.1"),
            port=int(setting(config, "SMTP_PORT", 25)),
            sender=sender,
            tls=tls,
            user=setting(config, "SMTP_USER"),
            password=setting(config, "SMTP_PASSWORD"),
            timeout=float(setting(config, "SMTP_TIMEOUT", 30)),
            reuse_seconds=float(setting(config, "SMTP_REUSE_SECONDS", 5)),
            messages_per_session=int(setting(config, "SMTP_MESSAGES_PER_SESSION", 100)),
        )
    elif transport == "folder":
        email = FolderSender(Path(setting(config, "MAIL_FOLDER", ".run/mail")), sender)
    else:
        raise ValueError(f"EMAIL_TRANSPORT must be smtp or folder, got {transport!r}")
    sms: SmsSender
    transport = setting(config, "SMS_TRANSPORT", "http")
    if transport == "http":
        url = setting(config, "SMS_GATEWAY_URL")
        if not url:
            raise ValueError("SMS_TRANSPORT=http needs SMS_GATEWAY_URL (or SMS_TRANSPORT=file)")
        raw_payload = setting(config, "SMS_GATEWAY_PAYLOAD", DEFAULT_PAYLOAD)
        try:
            payload = json.loads(raw_payload) if isinstance(raw_payload, str) else raw_payload
        except ValueError as exc:
            raise ValueError(f"SMS_GATEWAY_PAYLOAD is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise ValueError("SMS_GATEWAY_PAYLOAD must be a JSON object")
        sms = HttpGateway(
            url=url,
            payload=payload,
            sender=setting(config, "SMS_SENDER", "MOTCUA"),
            form=setting(config, "SMS_GATEWAY_FORMAT", "json") == "form",
            user=setting(config, "SMS_GATEWAY_USER"),
            password=setting(config, "SMS_GATEWAY_PASSWORD"),
            token=setting(config, "SMS_GATEWAY_TOKEN"),
            id_field=setting(config, "SMS_GATEWAY_ID_FIELD", "id"),
            timeout=float(setting(config, "SMS_GATEWAY_TIMEOUT", 15)),
        )
    elif transport == "file":
        sms = FileGateway(Path(setting(config, "SMS_FILE", ".run/sms.jsonl")))
    else:
        raise ValueError(f"SMS_TRANSPORT must be http or file, got {transport!r}")
    allowed = parse_networks(setting(config, "WEBHOOK_ALLOWED_NETWORKS", ""))
    if allowed and production.is_production(config):
        raise ValueError(
            "WEBHOOK_ALLOWED_NETWORKS is for development and tests only: in production it would"
            " let webhooks reach internal addresses; leave it empty"
        )
    webhook = WebhookPoster(
        timeout=float(setting(config, "WEBHOOK_TIMEOUT", 10)),
        guard=Guard(allowed),
        secrets=SecretBox.from_setting(setting(config, "WEBHOOK_SECRET_KEY", "")),
    )
    return ChannelSet(email, sms, webhook)


class Channels(DependencyProvider):
    def setup(self) -> None:
        self.channels = channels_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> ChannelSet:
        return self.channels

    def stop(self) -> None:
        self.channels.email.close()  # say goodbye to the SMTP server on kept-open sessions


class MessageTemplates(DependencyProvider):
    """The default templates, overridden file by file from `TEMPLATES_DIR`; all checked at start."""

    @staticmethod
    def load(config: dict[str, Any]) -> Templates:
        override = setting(config, "TEMPLATES_DIR")
        return Templates(Path(override) if override else None)

    def setup(self) -> None:
        self.templates = self.load(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Templates:
        return self.templates


class Recipients(DependencyProvider):
    """`RECIPIENTS_FILE` (default: the seeded file): officers and supervisors per agency."""

    @staticmethod
    def load(config: dict[str, Any]) -> Directory:
        path = Path(setting(config, "RECIPIENTS_FILE") or DEFAULT_RECIPIENTS)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"RECIPIENTS_FILE {path} is not JSON: {exc}") from None
        return directory_from_data(data)

    def setup(self) -> None:
        self.directory = self.load(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Directory:
        return self.directory


class DeliveryPolicy(DependencyProvider):
    def setup(self) -> None:
        self.settings = settings_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.settings
