"""Who may call what: officers' tokens, units, and the few public endpoints."""

from __future__ import annotations

import time

import jwt
import pytest
from factories import burst, submission, unit
from motcua_kit.testing import shared_issuer

pytestmark = pytest.mark.integration


def claims(**changes) -> dict:
    now = int(time.time())
    base = {
        "iss": shared_issuer().url,
        "aud": "motcua",
        "sub": "officer-9",
        "name": "Cán bộ 9",
        "unit": "T.AUTH",
        "roles": ["reception"],
        "iat": now,
        "exp": now + 24 * 3600,  # outlives the run: the parameters are made at collection
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(**changes) -> str:
    body = claims(**changes)
    return shared_issuer().token(roles=body.pop("roles"), unit=body.pop("unit"), **body)


def without_none(**changes) -> str:
    """Signed by the issuer, with the claims set to None left out entirely."""
    body = claims(**changes)
    kid, key, alg = shared_issuer().keys[-1]
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


BAD_AUTHORIZATION = [
    pytest.param(None, "unauthenticated", id="no-token"),
    pytest.param("Bearer", "unauthenticated", id="empty-bearer"),
    pytest.param("Basic b2ZmaWNlcjpzZWNyZXQ=", "unauthenticated", id="basic-auth"),
    pytest.param("Bearer not.a.token", "invalid_token", id="garbage"),
    pytest.param("Bearer " + signed(exp=int(time.time()) - 120), "token_expired", id="expired"),
    pytest.param(
        "Bearer " + jwt.encode(claims(), "another-secret-that-is-32-bytes-long!", "HS256"),
        "algorithm_not_allowed",
        id="hs256-guessed-secret",
    ),
    pytest.param(
        "Bearer " + jwt.encode(claims(), None, "none"),
        "algorithm_not_allowed",
        id="unsigned-alg-none",
    ),
    pytest.param(
        "Bearer " + signed(iss="https://someone-else.example"), "invalid_issuer", id="other-issuer"
    ),
    pytest.param("Bearer " + signed(aud="another-api"), "invalid_audience", id="other-audience"),
    pytest.param("Bearer " + without_none(exp=None), "invalid_token", id="no-expiry"),
    pytest.param("Bearer " + without_none(unit=None), "invalid_token", id="no-unit"),
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
    token = signed(roles=["janitor"])
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


def test_a_supervisor_reads_the_dossiers_of_the_units_they_oversee(intake, make_token):
    province, commune, other_commune = "000.00.00.H38", "000.00.08.H38", "000.00.09.H38"
    reply = intake.post("/dossiers", json=submission(), token=make_token("reception", commune))
    assert reply.status_code == 201, reply.text
    code = reply.json()["code"]

    def read(unit: str) -> int:
        return intake.get(f"/dossiers/{code}", token=make_token("supervisor", unit)).status_code

    assert (read(province), read(commune), read(other_commune)) == (200, 200, 403)
    listing = intake.get(
        "/dossiers", params={"unit": commune}, token=make_token("supervisor", province)
    )
    assert code in [d["code"] for d in listing.json()["dossiers"]]
    refused = intake.get(
        "/dossiers", params={"unit": commune}, token=make_token("supervisor", other_commune)
    )
    assert refused.status_code == 403 and code not in refused.text


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
    lookup = citizen.post(f"/lookup/{code}", json={"pin": "000000"})
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


def test_a_citizen_sees_their_own_dossiers_and_nobody_elses(intake, make_token):
    body = submission()
    reply = intake.post("/dossiers", json=body, token=make_token("reception", "000.00.08.H38"))
    assert reply.status_code == 201, reply.text
    code, own_id = reply.json()["code"], body["applicant"]["citizen_id"]

    def mine(**claims) -> object:
        return intake.get("/citizen/dossiers", token=make_token("citizen", None, "c", **claims))

    own = mine(citizen_id=own_id)
    assert own.status_code == 200, own.text
    [listed] = [d for d in own.json()["dossiers"] if d["code"] == code]
    assert listed["procedure_name"]["vi"].startswith("Liên thông thủ tục hành chính")
    assert listed["status_text"] and "pin" not in str(listed).lower()
    other = mine(citizen_id="001099000000")
    assert other.status_code == 200 and code not in other.text
    unnamed = mine()
    assert unnamed.status_code == 403 and unnamed.json()["error"] == "no_citizen_id"
