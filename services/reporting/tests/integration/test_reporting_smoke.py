"""reporting starts, consumes a received dossier and counts it."""

from __future__ import annotations

import pytest
from motcua_kit.testing import eventually

pytestmark = pytest.mark.integration


def test_a_received_dossier_is_counted(reporting, publisher, reporting_sql, make_token):
    from pathlib import Path

    import yaml

    doc = yaml.safe_load(
        (Path(__file__).resolve().parents[4] / "docs/events/asyncapi.yaml").read_text("utf-8")
    )
    data = doc["components"]["messages"]["dossierReceived"]["examples"][0]["payload"]["data"]
    publisher.event("intake", "dossier.received", data)
    eventually(lambda: reporting_sql("SELECT 1 FROM dossiers"), "the dossier")
    reply = reporting.get(
        "/reports/statistics?from=2025-07-01&to=2025-07-31", token=make_token("supervisor")
    )
    assert reply.status_code == 200, reply.text
    totals = reply.json()["totals"]
    assert totals["received"] == 1 and totals["in_progress"] == 1
    [row] = reply.json()["by_field"]
    assert row["field"] == "ho-tich"
