"""Email over SMTP (host, port, TLS, auth from the config), or into a folder for demos."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from notification.domain import outcome
from notification.domain.outcome import Outcome

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class Envelope:
    """One message to send; `message_id` is the delivery's id, the same on every attempt, so a
    mail system that sees it twice (after a crash mid-send) can tell it is one message."""

    message_id: str
    to: str
    subject: str
    body: str


def build(envelope: Envelope, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = envelope.to
    message["Subject"] = envelope.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{envelope.message_id}@motcua>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders must not reply
    message.set_content(envelope.body, charset="utf-8")
    return message


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    tls: str = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def send(self, envelope: Envelope) -> Outcome:
        message = build(envelope, self.sender)
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            return _by_code(code, reason)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError) as exc:
            # Our side is misconfigured, not the citizen's address: keep trying, the operator sees it.
            return outcome.temporary(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            return outcome.temporary(f"{type(exc).__name__}: {exc}")
        return outcome.sent(f"accepted by {self.host}:{self.port}")

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


def _by_code(code: int, reason: bytes | str) -> Outcome:
    detail = f"SMTP {code}: {_text(reason)}"
    return outcome.permanent(detail) if 500 <= code < 600 else outcome.temporary(detail)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class FolderSender:
    """Development and demos: each message becomes `<folder>/<delivery id>.eml`."""

    folder: Path
    sender: str

    def send(self, envelope: Envelope) -> Outcome:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{envelope.message_id}.eml"
        path.write_bytes(bytes(build(envelope, self.sender)))
        return outcome.sent(f"written to {path}")
