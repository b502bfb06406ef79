"""Helpers for notification's integration tests (a name of its own: every service has tests)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from motcua_kit.testing import load_fixtures

REPO = Path(__file__).resolve().parents[4]
factories = load_fixtures(
    REPO / "services" / "intake" / "tests" / "integration" / "factories.py", "intake_factories"
)


def received_data(**overrides: Any) -> dict[str, Any]:
    """A `dossier.received` payload of a dossier of its own (from the AsyncAPI example)."""
    import yaml

    doc = yaml.safe_load((REPO / "docs" / "events" / "asyncapi.yaml").read_text(encoding="utf-8"))
    data = json.loads(
        json.dumps(
            doc["components"]["messages"]["dossierReceived"]["examples"][0]["payload"]["data"]
        )
    )
    code = f"T{uuid.uuid4().hex[:8].upper()}-250702-0001"
    data["code"] = code
    data["lookup"]["url"] = f"https://motcua.example/lookup/{code}"
    data["lookup"]["link"] = f"https://motcua.example/lookup/{code}?t=mJ0x4Qd2VbT7hLs9KcE1wA"
    data["applicant"]["email"] = f"cd{uuid.uuid4().hex[:8]}@example.vn"
    for key, value in overrides.items():
        data[key] = value
    return data
