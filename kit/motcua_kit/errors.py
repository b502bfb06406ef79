"""Error types shared by entrypoints: each carries an HTTP status and machine-readable problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    """One thing wrong with a request: where, a machine code, and a message for people (Vietnamese)."""

    field: str
    code: str
    message: str
    message_en: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.message_en:
            out["message_en"] = self.message_en
        return out


@dataclass
class ApiError(Exception):
    """An expected failure answered with `status` and a JSON body; never a traceback."""

    status: int
    code: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            body["problems"] = [p.to_dict() for p in self.problems]
        body.update(self.extra)
        return body


def not_found(what: str = "Không tìm thấy") -> ApiError:
    return ApiError(404, "not_found", what)


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


class PermanentError(Exception):
    """Raised by an event handler for a message that can never succeed: dead-lettered at once."""
