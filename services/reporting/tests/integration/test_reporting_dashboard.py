"""The dashboard page, in a real (headless) browser: it draws the four charts and the headline
numbers from GET /reports/dashboard, asks for nothing but the reporting service itself, and says
so plainly when the token is refused or the period is empty."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml
from motcua_kit.testing import eventually

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium")
# CI installs chromium and sets MOTCUA_REQUIRE_CHROMIUM=1: there a missing browser is a failure.
if CHROMIUM is None and os.environ.get("MOTCUA_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("MOTCUA_REQUIRE_CHROMIUM=1 but no `chromium` binary is installed")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` binary (Debian: apt-get install chromium)"
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ASYNCAPI = Path(__file__).resolve().parents[4] / "docs" / "events" / "asyncapi.yaml"
UNIT = COMMUNE = "000.00.08.H38"
POLICE = "CA.H38.08"
CHARTS = ("chart-weekly", "chart-agency", "chart-overdue", "chart-satisfaction")
# The page's palette (dashboard.html, COLOR): one fill per chart, three for satisfaction.
PALETTE = {
    "chart-weekly": (0x1F, 0x77, 0xB4),
    "chart-agency": (0x2C, 0xA0, 0x2C),
    "chart-overdue": (0xD6, 0x27, 0x28),
    "very_satisfied": (0x6A, 0x3D, 0x9A),
    "satisfied": (0xB2, 0x94, 0xD6),
    "dissatisfied": (0xFF, 0x7F, 0x0E),
}
VOID = {"input", "meta", "link", "br", "img", "hr"}
MIN_PIXELS = 1000  # a drawn bar or slice; a legend swatch (14x14) stays well below


# --- the browser -------------------------------------------------------------------------------


def chromium(url: str, work: Path, *output: str) -> tuple[str, set[str]]:
    """Run headless chromium on `url`; returns its stdout and the URLs the page asked for.

    Chromium's own background requests (updates, accounts) are told apart from the page's by
    their network isolation key, and resolve nowhere (the host rules), so nothing leaves the box.
    """
    netlog = work / "net.json"
    command = [
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,1600",
        "--virtual-time-budget=8000",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # The browser's own autofill lookups carry the page's isolation key; they are not the page's.
        "--disable-features=AutofillServerCommunication",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        f"--user-data-dir={work / 'profile'}",
        f"--log-net-log={netlog}",
        *output,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, page_requests(json.loads(netlog.read_text("utf-8")))


def page_requests(netlog: dict[str, Any]) -> set[str]:
    """URLs requested on behalf of a page served from 127.0.0.1 (any host they went to)."""
    start = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return {
        e["params"]["url"]
        for e in netlog["events"]
        if e["type"] == start
        and "127.0.0.1" in e.get("params", {}).get("network_isolation_key", "")
    }


class Dom(HTMLParser):
    """What the test reads in the page: elements by id (attributes, text) and the marks in each
    chart (`class` of every element inside `<svg id="chart-…">`)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, Any]] = {}
        self.marks: dict[str, list[str]] = {}
        self._chart: str | None = None
        self._open: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "svg" and found.get("id", "").startswith("chart-"):
            self._chart = found["id"]
            self.marks[self._chart] = []
        elif self._chart and "class" in found:
            self.marks[self._chart].append(found["class"])
        if "id" in found and tag not in VOID:
            element = {"tag": tag, "attrs": found, "text": ""}
            self.by_id[found["id"]] = element
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        if self._open and self._open[-1]["tag"] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def text(self, element_id: str) -> str:
        return " ".join(self.by_id[element_id]["text"].split())


def fetches_nothing_else(html: str) -> list[str]:
    """Absolute or protocol-relative addresses in a page; a self-contained page has none."""
    return re.findall(
        r"""(?i)\b(?:https?|wss?|ftp)://\S*|(?:src|href|action)\s*=\s*["']?//\S*|url\(\s*["']?//\S*"""
        r"|@import",
        html,
    )


def pixels(screenshot: Path, colour: tuple[int, int, int], tolerance: int = 3) -> int:
    from PIL import Image

    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
        counts = cast(
            "list[tuple[int, tuple[int, int, int]]]", rgb.getcolors(rgb.width * rgb.height)
        )
        return sum(
            n
            for n, (r, g, b) in counts
            if max(abs(r - colour[0]), abs(g - colour[1]), abs(b - colour[2])) <= tolerance
        )


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}".replace(".", ",") + "%"


# --- events ------------------------------------------------------------------------------------


def example(message: str) -> dict[str, Any]:
    doc = yaml.safe_load(ASYNCAPI.read_text("utf-8"))
    return copy.deepcopy(doc["components"]["messages"][message]["examples"][0]["payload"]["data"])


def at(days_ago: int, hour: int = 9) -> datetime:
    return (datetime.now(VN) - timedelta(days=days_ago)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def fresh_code(received: datetime) -> str:
    return f"{UNIT}-{received:%y%m%d}-{uuid.uuid4().int % 10000:04d}"


def received(days_ago: int, due_days_ago: int) -> dict[str, Any]:
    data = example("dossierReceived")
    received_at = at(days_ago)
    data.update(
        code=fresh_code(received_at),
        received_at=received_at.isoformat(),
        due_at=at(due_days_ago).isoformat(),
    )
    return data


def step(message: str, code: str, index: str, agency: str, **changes: Any) -> dict[str, Any]:
    data = example(message)
    data.update(code=code, step_id=f"{code}/{index}", agency=agency, **changes)
    return data


@pytest.fixture
def dashboard_events(publisher: Any, reporting_sql: Callable[..., Any]) -> dict[str, Any]:
    """Four dossiers of the last two weeks: three finished (early, late, on time) and rated
    (very satisfied, dissatisfied, satisfied), one open past its appointment; steps completed
    by the commune (early, on time) and the police (late, on time); the police holding one
    step past its due time, the commune one within it."""
    a, b, c, d = received(15, 10), received(13, 8), received(6, 1), received(5, 1)
    for dossier in (a, b, c, d):
        publisher.event("intake", "dossier.received", dossier)
    eventually(lambda: len(reporting_sql("SELECT code FROM dossiers")) == 4, "4 dossiers")

    assigned = {"assigned_at": at(4).isoformat()}
    steps = [
        (a, "1.1", COMMUNE, "early"),
        (b, "1.1", COMMUNE, "on_time"),
        (b, "2.1", POLICE, "late"),
        (c, "1.1", POLICE, "on_time"),
    ]
    for dossier, index, agency, _ in steps:
        publisher.event(
            "routing",
            "step.assigned",
            step(
                "stepAssigned", dossier["code"], index, agency, **assigned, due_at=at(3).isoformat()
            ),
        )
    publisher.event(
        "routing",
        "step.assigned",
        step("stepAssigned", d["code"], "1.1", POLICE, **assigned, due_at=at(2).isoformat()),
    )
    publisher.event(
        "routing",
        "step.assigned",
        step("stepAssigned", d["code"], "1.2", COMMUNE, **assigned, due_at=at(-2).isoformat()),
    )
    eventually(lambda: len(reporting_sql("SELECT step_id FROM steps")) == 6, "6 steps")
    for dossier, index, agency, timeliness in steps:
        publisher.event(
            "routing",
            "step.completed",
            step(
                "stepCompleted", dossier["code"], index, agency, **assigned, timeliness=timeliness
            ),
        )

    finished = [
        (a, 12, "early", "very_satisfied"),
        (b, 4, "late", "dissatisfied"),
        (c, 2, "on_time", "satisfied"),
    ]
    for dossier, days_ago, timeliness, overall in finished:
        ready = example("dossierResultReady")
        ready.update(code=dossier["code"], at=at(days_ago).isoformat(), timeliness=timeliness)
        publisher.event("intake", "dossier.result_ready", ready)
        rated = example("dossierEvaluated")
        rated.update(
            code=dossier["code"], at=at(days_ago - 1, 15).isoformat(), ratings={"overall": overall}
        )
        publisher.event("intake", "dossier.evaluated", rated)
    eventually(lambda: len(reporting_sql("SELECT id FROM events")) == 20, "20 events applied")
    return {"from": at(30).date().isoformat(), "to": datetime.now(VN).date().isoformat()}


# --- the tests ---------------------------------------------------------------------------------


@needs_chromium
def test_the_dashboard_draws_the_reports_numbers_from_the_service_alone(
    reporting: Any,
    dashboard_events: dict[str, str],
    make_token: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Four charts with marks, headline numbers equal to the JSON's, every chart's colour on
    screen, and no request to any host but the reporting service."""
    token = make_token("supervisor")
    period = f"from={dashboard_events['from']}&to={dashboard_events['to']}"
    reply = reporting.get(f"/reports/dashboard?{period}", token=token)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    totals = data["totals"]
    assert (totals["received"], totals["completed"], totals["in_progress_overdue"]) == (4, 3, 1)
    assert totals["on_time_rate"] == 0.6667
    assert [(r["agency"], r["completed"], r["on_time_rate"]) for r in data["by_agency"]] == [
        (COMMUNE, 2, 1.0),
        (POLICE, 2, 0.5),
    ]
    assert data["open_by_agency"] == [
        {"agency": COMMUNE, "open": 1, "overdue": 0},
        {"agency": POLICE, "open": 1, "overdue": 1},
    ]
    satisfaction = data["satisfaction"]
    assert [satisfaction[k] for k in ("very_satisfied", "satisfied", "dissatisfied")] == [1, 1, 1]
    assert sum(w["completed"] for w in data["weekly"]) == 3

    page = reporting.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert fetches_nothing_else(page.text) == []

    url = f"{reporting.base}/dashboard#token={token}&{period}"
    html, asked = chromium(url, tmp_path / "dom", "--dump-dom")
    shot = tmp_path / "d.png"
    _, asked_too = chromium(url, tmp_path / "shot", f"--screenshot={shot}")

    where = {(u.scheme, u.netloc) for u in map(urlsplit, asked | asked_too)}
    assert where == {("http", urlsplit(reporting.base).netloc)}, where
    assert {urlsplit(u).path for u in asked} >= {"/dashboard", "/reports/dashboard"}
    assert fetches_nothing_else(html) == []
    dom = Dom(html)
    assert dom.text("message") == "", dom.text("message")
    assert set(dom.marks) == set(CHARTS)
    for chart, wanted in zip(CHARTS, ("bar", "bar", "bar", "slice"), strict=True):
        assert dom.marks[chart].count(wanted) >= 1, (chart, dom.marks[chart])
    assert dom.marks["chart-agency"].count("bar") == 2
    assert dom.marks["chart-satisfaction"].count("slice") == 3
    shown = {
        "kpi-received": (totals["received"], "4"),
        "kpi-completed": (totals["completed"], "3"),
        "kpi-on-time-rate": (totals["on_time_rate"], percent(totals["on_time_rate"])),
        "kpi-overdue": (totals["in_progress_overdue"], "1"),
        "kpi-satisfied-rate": (satisfaction["satisfied_rate"], "66,7%"),
    }
    for element, (value, text) in shown.items():
        assert json.loads(dom.by_id[element]["attrs"]["data-value"]) == value, element
        assert dom.text(element) == text, element

    counted = {name: pixels(shot, colour) for name, colour in PALETTE.items()}
    assert all(n > MIN_PIXELS for n in counted.values()), counted


@needs_chromium
def test_the_dashboard_says_when_the_token_is_refused_or_the_period_is_empty(
    reporting: Any, make_token: Callable[..., str], tmp_path: Path
) -> None:
    """A bad token or an officer without the role: a Vietnamese message and the sign-in form,
    no charts. A period without dossiers: a message saying so."""
    cases = [
        ("not-a-token", "", "phiên đăng nhập đã hết hạn"),
        (make_token("reception"), "", "không có quyền xem báo cáo"),
        (make_token("supervisor"), "&from=2020-01-01&to=2020-01-31", "Không có số liệu"),
    ]
    for n, (token, period, said) in enumerate(cases):
        url = f"{reporting.base}/dashboard#token={token}{period}"
        html, _ = chromium(url, tmp_path / str(n), "--dump-dom")
        dom = Dom(html)
        assert said in dom.text("message"), dom.text("message")
        refused = n < 2
        assert ("hidden" in dom.by_id["login"]["attrs"]) is not refused
        assert ("hidden" in dom.by_id["filters"]["attrs"]) is refused
        assert ("hidden" in dom.by_id["board"]["attrs"]) is refused
        assert not any("bar" in m or "slice" in m for m in dom.marks.get("chart-agency", []))
