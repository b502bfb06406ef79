"""Request bodies, identifiers and small helpers for intake's integration tests.

submission()                                   # a complete birth bundle (2.000986)
submission(applicant__email="x")               # `__` walks into objects and lists
submission(documents__0__copies=0, note=DROP)  # DROP removes the key
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import eventlet

BIRTH_BUNDLE = "2.000986"  # 3 working days, same-day cut-off 15:00 (data/procedures.json)
DESK_ONLY = "9.000986"  # the birth bundle's papers without a route (tests/conftest.py adds it)
MARRIAGE_STATUS = "1.000894"  # versions 1 and 2 (v2 from 2026-01-01); returns at the desk only

DROP = object()


def unit() -> str:
    """A receiving unit code of its own, so tests never share counters or dossiers."""
    return f"T{uuid4().hex[:8].upper()}"


def applicant() -> dict[str, str]:
    digits = "".join(random.choices("0123456789", k=12))
    return {
        "name": "Nguyễn Thị Ánh Tuyết",
        "citizen_id": digits,
        "phone": "09" + digits[-8:],
        "email": f"cd{uuid4().hex[:10]}@example.vn",
        "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
    }


def submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "applicant": applicant(),
        "procedure_code": BIRTH_BUNDLE,
        "documents": [
            {"code": "to-khai-lien-thong", "copies": 1},
            {"code": "giay-chung-sinh", "copies": 1},
        ],
        "channel": "desk",
        "return_method": "desk",
        "note": "Công dân nộp trực tiếp tại bộ phận một cửa",
    }
    for path, value in overrides.items():
        *parents, last = path.split("__")
        target: Any = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        key: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[key]
        else:
            target[key] = value
    return body


def marriage_status_submission(**overrides: Any) -> dict[str, Any]:
    """Confirmation of marital status: two copies of the ID papers, returned at the desk."""
    return submission(
        procedure_code=MARRIAGE_STATUS,
        documents=[{"code": "to-khai", "copies": 1}, {"code": "giay-to-tuy-than", "copies": 2}],
        **overrides,
    )


def burst(api: Any, path: str = "/procedures", requests: int = 10) -> None:
    """Concurrent requests, so every pooled database connection has served a worker (as in any
    service that has been up for a while), not only the fresh ones of a just-started container."""

    def get(_: int) -> int:
        with type(api)(api.base) as session:
            return int(session.get(path).status_code)

    assert set(eventlet.GreenPool(requests).imap(get, range(requests))) == {200}


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {check}"
        eventlet.sleep(0.05)
    return result
