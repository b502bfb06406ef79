"""Structured JSON logs: one object per line, with the dossier code and event id where known.

Pass context through `extra`: `log.info("received", extra={"dossier_code": code})`.
Enabled by the services' config.yml (`LOGGING` → `motcua_kit.logs.JsonFormatter`).

No log line carries a citizen's identifiers or keys. The sources never log them (docs/security.md,
"What is logged and what never is"); as a safety net, `redact` masks what looks like one anyway —
12-digit personal ID numbers, Vietnamese phone numbers, email addresses, `pin` values and link
secrets (`?t=`) — in every line `JsonFormatter` writes, and `RedactingFilter` does the same to the
records reaching any handler it is attached to (config.yml attaches it to the console).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Each pattern with what replaces it; applied in this order (a 12-digit ID before a phone number).
# The look-arounds keep parts of longer tokens (UUIDs, dossier codes, decimals) untouched.
_REDACTIONS = (
    (re.compile(r"""(?i)((?:\b|_)pin["']?\s*[=:]\s*["']?)\d+"""), r"\1[pin]"),
    (re.compile(r"""([?&]t=|"t"\s*:\s*")[A-Za-z0-9_-]+"""), r"\1[link-secret]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w.+-])\d{12}(?![\w-]|\.\d)"), "[citizen-id]"),
    (re.compile(r"(?<![\w.+-])(?:\+84|84|0)\d{9,10}(?![\w-]|\.\d)"), "[phone]"),
)


def redact(text: str) -> str:
    """`text` with personal identifiers and lookup keys masked."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks identifiers in a record's message, its `extra` strings and its exception, in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            # Logs are for operators: the traceback stays here, never in an HTTP answer.
            entry["exception"] = record.exc_text
        return redact(json.dumps(entry, ensure_ascii=False, default=str))
