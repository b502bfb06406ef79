"""Who may call what: officers' tokens, units, and the few public endpoints."""

from __future__ import annotations

import time

import jwt
import pytest
from factories import burst, submission, unit
from motcua_kit.auth import issue_token
from motcua_kit.testing import TEST_SECRET

pytestmark = pytest.mark.integration


def claims(**changes) -> dict:
    now = int(time.time())
    base = {
        "iss": "motcua",
        "sub": "officer-9",
        "name": "Cán bộ 9",
        "unit": "T.AUTH",
        "roles": ["reception"],
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


BAD_AUTHORIZATION = [
    pytest.param(None, "unauthenticated", id="no-token"),
    pytest.param("Bearer", "unauthenticated", id="empty-bearer"),
    pytest.param("Basic b2ZmaWNlcjpzZWNyZXQ=", "unauthenticated", id="basic-auth"),
    pytest.param("Bearer not.a.token", "invalid_token", id="garbage"),
    pytest.param(
        "Bearer "
        + issue_token(
            TEST_SECRET, officer_id="o", name="O", unit="U", roles=["reception"], ttl_seconds=-120
        ),
        "token_expired",
        id="expired",
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(), "another-secret-that-is-32-bytes-long!", "HS256"),
        "invalid_token",
        id="other-secret",
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(), None, "none"), "invalid_token", id="unsigned-alg-none"
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(iss="someone-else"), TEST_SECRET, "HS256"),
        "invalid_token",
        id="other-issuer",
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(exp=None), TEST_SECRET, "HS256"),
        "invalid_token",
        id="no-expiry",
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(unit=None), TEST_SECRET, "HS256"),
        "invalid_token",
        id="no-unit",
    ),
]


@pytest.mark.parametrize(("authorization", "error"), BAD_AUTHORIZATION)
def test_officer_endpoints_refuse_a_missing_or_bad_token(intake, intake_sql, authorization, error):
    headers = {"Authorization": authorization} if authorization else {}
    body = submission()
    reply = intake.post("/dossiers", json=body, headers=headers)

    assert reply.status_code == 401, reply.text
    assert reply.json()["error"] == error
    citizen_id = body["applicant"]["citizen_id"]
    assert not intake_sql(
        "SELECT 1 FROM dossiers WHERE applicant->>'citizen_id' = %s", (citizen_id,)
    )


@pytest.mark.parametrize("role", ["supervisor", "processing", "admin"])
def test_only_reception_receives_dossiers(intake, make_token, role):
    reply = intake.post("/dossiers", json=submission(), token=make_token(role, unit=unit()))
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"] == "forbidden"


def test_a_token_without_a_known_role_is_forbidden(intake):
    token = jwt.encode(claims(roles=["janitor"]), TEST_SECRET, "HS256")
    reply = intake.post("/dossiers", json=submission(), token=token)
    assert reply.status_code == 403, reply.text


@pytest.fixture
def dossier_of_unit_a(intake, make_token):
    unit_a = unit()
    reply = intake.post("/dossiers", json=submission(), token=make_token("reception", unit=unit_a))
    assert reply.status_code == 201, reply.text
    return unit_a, reply.json()["code"]


@pytest.mark.parametrize(
    "path", ["/dossiers/{code}", "/dossiers/{code}/history", "/dossiers/{code}/receipt"]
)
def test_reception_of_another_unit_cannot_read_the_dossier(
    intake, make_token, dossier_of_unit_a, path
):
    unit_a, code = dossier_of_unit_a
    url = path.format(code=code)

    own = intake.get(url, token=make_token("reception", unit=unit_a))
    other = intake.get(url, token=make_token("reception", unit=unit()))

    assert own.status_code == 200, own.text
    assert other.status_code == 403, other.text
    assert other.json()["error"] == "other_unit"
    assert "applicant" not in other.text


def test_reception_of_another_unit_cannot_act_on_the_dossier(intake, make_token, dossier_of_unit_a):
    unit_a, code = dossier_of_unit_a
    other = make_token("reception", unit=unit())
    reply = intake.post(f"/dossiers/{code}/withdrawal", json={"reason": "Rút hồ sơ"}, token=other)
    assert reply.status_code == 403, reply.text
    own = intake.get(f"/dossiers/{code}", token=make_token("reception", unit=unit_a)).json()
    assert own["status"] == "received"


def test_listing_shows_only_the_officers_own_unit(intake, make_token, dossier_of_unit_a):
    unit_a, code = dossier_of_unit_a
    own = intake.get("/dossiers", token=make_token("reception", unit=unit_a)).json()
    other = intake.get("/dossiers", token=make_token("reception", unit=unit())).json()
    assert [d["code"] for d in own["dossiers"]] == [code]
    assert other["dossiers"] == []


def test_public_endpoints_need_no_token(intake, citizen, dossier_of_unit_a):
    _, code = dossier_of_unit_a
    listing = intake.get("/procedures")
    assert listing.status_code == 200, listing.text
    assert listing.json()["count"] >= 1
    assert intake.get("/procedures/2.000986").status_code == 200
    health = intake.get("/health")
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    lookup = citizen.get(f"/lookup/{code}", params={"pin": "000000"})
    assert lookup.status_code in (200, 404), lookup.text  # answered, not 401


def test_metrics_serve_prometheus_text(make_intake):
    api = make_intake(DB_POOL_SIZE=1)  # /metrics reads the backlog on the workers' connection
    burst(api, "/procedures")
    reply = api.get("/metrics")

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE motcua_entrypoint_duration_seconds histogram" in reply.text
    assert 'entrypoint="list_procedures"' in reply.text
    assert 'motcua_outbox_backlog{service="intake"}' in reply.text
