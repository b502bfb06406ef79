"""The issue's first promise: the catalogue is public and a birth-bundle dossier is received."""

from __future__ import annotations

import pytest
from factories import submission, unit

pytestmark = pytest.mark.integration


def test_catalogue_and_birth_bundle_submission(intake, make_token):
    listing = intake.get("/procedures").json()
    assert any(p["code"] == "2.000986" for p in listing["procedures"])
    desk = unit()
    reply = intake.post("/dossiers", json=submission(), token=make_token("reception", unit=desk))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["code"].startswith(f"{desk}-")
    assert len(body["lookup"]["pin"]) == 6
    assert (
        intake.get(body["receipt"]["pdf"].removeprefix("http://desk.test")).content[:4] == b"%PDF"
    )
