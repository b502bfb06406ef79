"""Every HTTP operation of the four services, called by everyone who must be refused.

The cases are generated from the services' route tables (the `@http` declarations: roles and
scope), so a new route is in this test the moment it exists, and a route without a declared
policy fails here (and refuses to start). For each route that is not public:

- no token, an expired one, another issuer, another audience, `alg: none`, HS256 with a guessed
  secret: 401;
- each role the route does not allow (in the resource's own unit): 403;
- each role it allows, from another unit or agency than the resource's (where the route has a
  unit, agency or oversight scope): 403 or 404;

and every refusal carries an error body and nothing of the resource. GET routes are also called
once as someone allowed, so the refusals cannot all come from a route that refuses everyone.
Afterwards the dossier is unchanged: no refused write went through.

The platform runs as processes (tests/platform_stack.py), with tokens from a real issuer whose
keys the services fetch from its JWKS URL.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from intake.service import IntakeService
from motcua_kit.auth import ROLES
from motcua_kit.http import HttpEntrypoint
from motcua_kit.testing import eventually, load_fixtures
from notification.service import NotificationService
from platform_stack import Stack, local_broker
from reporting.service import ReportingService
from routing.service import RoutingService

REPO = Path(__file__).resolve().parents[1]
factories = load_fixtures(
    REPO / "services" / "intake" / "tests" / "integration" / "factories.py", "matrix_factories"
)

pytestmark = pytest.mark.integration

COMMUNE = "000.00.08.H38"  # where the dossier is received (and the first agency that holds it)
OTHER_COMMUNE = "000.00.09.H38"  # a commune of the same province with nothing to do with it
OTHER_AGENCY = "000.10.00.H38"  # an agency not on the dossier's route
SERVICES = {
    "intake": IntakeService,
    "routing": RoutingService,
    "notification": NotificationService,
    "reporting": ReportingService,
}
# Public on purpose, and only these: the catalogue, the citizen's lookup (code + PIN or link),
# the dashboard page (it holds no data), health and metrics, the SMS gateway (its own token).
PUBLIC_PREFIXES = ("/procedures", "/lookup/", "/dashboard", "/health", "/metrics", "/sms/")
REFUSAL_KEYS = {"error", "message", "message_en", "problems", "required_roles"}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    url: str
    roles: tuple[str, ...]
    scope: str | None
    public: bool

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.url}"


def route_table() -> list[Route]:
    found = []
    for service, cls in SERVICES.items():
        for _name, member in inspect.getmembers(cls):
            for entrypoint in getattr(member, "nameko_entrypoints", ()):
                if isinstance(entrypoint, HttpEntrypoint):
                    found.append(
                        Route(
                            service,
                            entrypoint.method,
                            entrypoint.url,
                            entrypoint.roles,
                            entrypoint.scope,
                            entrypoint.public,
                        )
                    )
    return sorted(found, key=str)


ROUTES = route_table()
PROTECTED = [r for r in ROUTES if not r.public]


def test_every_route_declares_who_may_call_it():
    assert len({r.service for r in ROUTES}) == 4
    for route in ROUTES:
        if route.public:
            assert route.url.startswith(PUBLIC_PREFIXES), f"{route} is public: is it meant to be?"
        else:
            assert route.roles and route.scope, f"{route} has no declared policy"
            assert set(route.roles) <= set(ROLES), route


def policy_row(route: Route) -> str:
    roles = "public" if route.public else ", ".join(route.roles)
    return f"| {route.service} | `{route.method} {route.url}` | {roles} | {route.scope or '—'} |"


def test_the_documented_table_is_the_route_table():
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    table = text.split("### Every route", 1)[1].split("\n#", 1)[0]
    documented = {line for line in table.splitlines() if line.startswith("| ")}
    documented -= {"| service | route | roles | scope |"}
    assert documented == {policy_row(r) for r in ROUTES}


# --- the platform and one dossier in the commune ----------------------------------------------


@dataclass
class World:
    stack: Stack
    code: str
    applicant: dict[str, str]
    subscriber: str
    before: dict[str, Any]  # what the dossier looked like before the refusals

    def token(self, role: str, unit: str | None, **claims: Any) -> str:
        return self.stack.issuer.token(roles=[role], unit=unit, sub=f"{role}@{unit}", **claims)

    def call(self, route: Route, authorization: str | None) -> requests.Response:
        headers = {"Authorization": authorization} if authorization else {}
        url, params, body = request_for(route, self)
        return requests.request(
            route.method,
            self.stack.url(route.service) + url,
            params=params,
            json=body,
            headers=headers,
            timeout=30,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    stack = Stack(
        tmp_path_factory.mktemp("matrix") / "stack",
        pg_url=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        **local_broker(),
    )
    with stack:
        stack.start_all("intake", ("routing", 0), "notification", "reporting")
        body = factories.submission()
        reply = requests.post(
            stack.url("intake") + "/dossiers",
            json=body,
            headers=stack.auth("reception", COMMUNE),
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        code = reply.json()["code"]
        eventually(
            lambda: (
                requests.get(
                    f"{stack.url('routing')}/dossiers/{code}/route",
                    headers=stack.auth("processing", COMMUNE),
                    timeout=10,
                ).status_code
                == 200
            ),
            "the route opened",
            timeout=30,
        )
        subscriber = requests.post(
            stack.url("notification") + "/webhooks",
            json={
                "name": "Hệ thống thử nghiệm",
                "url": "https://simulator.motcua.invalid/delivered",  # test mode, no DNS
                "event_types": ["dossier.withdrawn"],
            },
            headers=stack.auth("admin", "000.00.00.H38"),
            timeout=30,
        )
        assert subscriber.status_code == 201, subscriber.text
        world = World(stack, code, body["applicant"], subscriber.json()["id"], {})
        eventually(lambda: "transferred" in snapshot(world)["actions"], "the hand-over recorded")
        world.before = snapshot(world)
        yield world


def snapshot(world: World) -> dict[str, Any]:
    """The dossier at the desk, its actions, and its control slip."""
    stack, code = world.stack, world.code
    desk = stack.auth("reception", COMMUNE)
    intake, routing = stack.url("intake"), stack.url("routing")
    dossier = requests.get(f"{intake}/dossiers/{code}", headers=desk, timeout=10).json()
    history = requests.get(f"{intake}/dossiers/{code}/history", headers=desk, timeout=10).json()
    slip = requests.get(
        f"{routing}/dossiers/{code}/route", headers=stack.auth("processing", COMMUNE), timeout=10
    ).json()
    return {
        "status": dossier["status"],
        "actions": [a["action"] for a in history["actions"]],
        "steps": [(r["step_id"], r["status"]) for r in slip["rows"]],
    }


def request_for(route: Route, world: World) -> tuple[str, dict[str, str], Any]:
    """The route's URL with real identifiers, its query and a valid body: a refusal must then
    come from who is asking, not from what was asked."""
    code = world.code
    url = route.url
    if url.startswith("/agencies/"):
        url = url.replace("<code>", COMMUNE)
    url = (
        url.replace("<path:step_id>", f"{code}/1.1")
        .replace("<action>", "accept")
        .replace("<code>", code)
        .replace("<subscriber_id>", world.subscriber)
        .replace("<kind>", "receipt")
        .replace("<channel>", "email")
        .replace("<language>", "vi")
    )
    params = {}
    if route.url == "/dossiers" or route.url.startswith("/reports/"):
        params["unit"] = COMMUNE
    if route.url == "/notifications":
        params["dossier"] = code
    return url, params, BODIES.get((route.method, route.url.rsplit("/", 1)[-1]))


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "dossiers"): factories.submission(),
    ("POST", "supplement-request"): {
        "missing": [{"description": "Bản sao giấy chứng sinh"}],
        "reason": "Thiếu giấy tờ theo quy định",
    },
    ("POST", "supplements"): {"documents": [{"code": "giay-chung-sinh"}]},
    ("POST", "refusal"): {"reason": "Không đủ điều kiện giải quyết"},
    ("POST", "withdrawal"): {"reason": "Công dân xin rút hồ sơ"},
    ("POST", "result"): {"result_reference": "125/2026/TP-KS"},
    ("POST", "return"): {"method": "desk"},
    ("POST", "reassignment"): {"agency": "BHXH.H38"},
    ("POST", "apology"): {"reason": "Cần xác minh thêm", "new_date": "2027-01-15"},
    ("POST", "webhooks"): {
        "name": "Hệ thống khác",
        "url": "https://simulator.motcua.invalid/delivered",
        "event_types": ["dossier.withdrawn"],
    },
    ("POST", "preview"): {"facts": {}},
    ("POST", "<action>"): None,
}


# --- the cases -----------------------------------------------------------------------------------


def bad_tokens(world: World) -> dict[str, str | None]:
    issuer = world.stack.issuer
    role_unit = {"roles": ["admin"], "unit": COMMUNE}
    claims = jwt.decode(issuer.token(**role_unit), options={"verify_signature": False})
    return {
        "no token": None,
        "expired": "Bearer " + issuer.token(**role_unit, exp=int(time.time()) - 120),
        "another issuer": "Bearer " + issuer.token(**role_unit, iss="https://idp.khac.example"),
        "another audience": "Bearer " + issuer.token(**role_unit, aud="another-api"),
        "alg none": "Bearer " + jwt.encode(claims, None, algorithm="none"),
        "HS256 guessed": "Bearer "
        + jwt.encode(claims, "motcua-dev-secret-change-me-in-production", algorithm="HS256"),
    }


def outsider_unit(route: Route) -> str | None:
    """Where an allowed role is out of the resource's scope; None where no such place exists
    (the platform's own settings, or a dossier the caller is creating in their own unit)."""
    if route.scope == "agency":
        return OTHER_AGENCY
    if route.scope in ("unit", "oversight") and (route.method, route.url) != ("POST", "/dossiers"):
        return OTHER_COMMUNE
    return None


def assert_refused(reply: requests.Response, statuses: tuple[int, ...], world: World) -> None:
    assert reply.status_code in statuses, f"{reply.status_code}: {reply.text[:300]}"
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    body = reply.json()
    assert set(body) <= REFUSAL_KEYS, f"more than a refusal: {body}"
    for value in world.applicant.values():
        assert value not in reply.text, f"the applicant's {value!r} leaked"


@pytest.mark.parametrize("route", PROTECTED, ids=str)
def test_bad_tokens_are_refused_everywhere(world, route):
    for case, authorization in bad_tokens(world).items():
        reply = world.call(route, authorization)
        assert reply.status_code == 401, f"{case}: {reply.status_code} {reply.text[:200]}"
        assert_refused(reply, (401,), world)


@pytest.mark.parametrize("route", PROTECTED, ids=str)
def test_roles_not_allowed_are_refused(world, route):
    for role in ROLES:
        if role in route.roles:
            continue
        reply = world.call(route, "Bearer " + world.token(role, COMMUNE))
        assert reply.status_code == 403, f"{role}: {reply.status_code} {reply.text[:200]}"
        assert_refused(reply, (403,), world)


@pytest.mark.parametrize("route", [r for r in PROTECTED if outsider_unit(r)], ids=str)
def test_allowed_roles_from_elsewhere_are_refused(world, route):
    unit = outsider_unit(route)
    assert unit is not None
    for role in route.roles:
        if role == "admin":
            continue  # the platform's operators oversee every unit
        reply = world.call(route, "Bearer " + world.token(role, unit))
        assert reply.status_code in (403, 404), f"{role}@{unit}: {reply.text[:200]}"
        assert_refused(reply, (403, 404), world)


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.scope == "own"], ids=str)
def test_another_citizen_sees_nothing_of_the_dossier(world, route):
    stranger = world.token("citizen", None, citizen_id="001099000000")
    reply = world.call(route, "Bearer " + stranger)
    assert reply.status_code in (200, 403, 404), reply.text[:200]
    assert world.code not in reply.text
    for value in world.applicant.values():
        assert value not in reply.text, f"the applicant's {value!r} leaked"
    owner = world.token("citizen", None, citizen_id=world.applicant["citizen_id"])
    assert world.code in world.call(route, "Bearer " + owner).text


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method == "GET"], ids=str)
def test_someone_allowed_is_answered(world, route):
    roles = ("supervisor", "processing", "reception", "admin", "citizen")
    role = next(r for r in roles if r in route.roles)
    claims = {"citizen_id": world.applicant["citizen_id"]} if role == "citizen" else {}
    reply = world.call(route, "Bearer " + world.token(role, COMMUNE, **claims))
    assert reply.status_code < 400, f"{role}@{COMMUNE}: {reply.status_code} {reply.text[:300]}"


def test_nothing_refused_changed_the_dossier(world):
    """Runs after the refusals: every refused write above left the dossier as it was."""
    assert snapshot(world) == world.before
    admin = world.stack.auth("admin", "000.00.00.H38")
    kept = requests.get(
        f"{world.stack.url('notification')}/webhooks/{world.subscriber}", headers=admin, timeout=10
    )
    assert kept.status_code == 200, kept.text


def test_a_supervisor_reads_only_the_figures_of_the_units_they_oversee(world):
    """The probe that found the hole: a supervisor of an unrelated unit asked for another
    unit's statistics (and the XLSX said "Tất cả đơn vị")."""
    reporting = world.stack.url("reporting")

    def statistics(supervisor_of: str, **params: str) -> requests.Response:
        return requests.get(
            f"{reporting}/reports/statistics",
            params=params,
            headers=world.stack.auth("supervisor", supervisor_of),
            timeout=10,
        )

    asked = statistics(OTHER_COMMUNE, unit=COMMUNE)
    assert asked.status_code == 403, asked.text
    assert_refused(asked, (403,), world)
    eventually(
        lambda: statistics("000.00.00.H38").json()["totals"]["received"] >= 1,
        "the dossier counted for the province",
        timeout=30,
    )
    assert statistics(COMMUNE).json()["totals"]["received"] >= 1
    assert statistics(OTHER_COMMUNE).json()["totals"]["received"] == 0
    xlsx = requests.get(
        f"{reporting}/reports/statistics.xlsx",
        headers=world.stack.auth("supervisor", OTHER_COMMUNE),
        timeout=10,
    )
    assert xlsx.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    cells = [
        str(c.value) for row in load_workbook(BytesIO(xlsx.content)).active.iter_rows() for c in row
    ]
    assert not any("Tất cả đơn vị" in c for c in cells)
    assert any("phường Thành Sen" in c for c in cells), cells[:10]
