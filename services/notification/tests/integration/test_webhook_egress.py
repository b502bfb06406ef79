"""Webhooks cannot be turned inward (issue 18): internal addresses, names resolving to them and
credentials in the URL are refused at subscription; a subscriber that became internal is refused
at delivery; redirects are not followed; the subscriber's answer is never echoed; secrets are
stored encrypted and still sign. Real HTTP servers, real resolution (`localhost`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from motcua_kit.testing import eventually
from notification.adapters.secrets import SecretBox
from notification.domain.signing import verify
from notification_helpers import received_data

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(make_token: Callable[..., str]) -> str:
    return make_token("admin", unit="000.00.00.G00")


@pytest.fixture
def made(notification_sql: Callable[..., Any]) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    if ids:
        notification_sql(
            "UPDATE webhook_subscribers SET state = 'deleted' WHERE id::text = ANY(%s)", (ids,)
        )


def subscribe(api: Any, admin: str, made: list[str], url: str, **extra: Any) -> dict[str, Any]:
    body = {"name": f"Hệ thống {uuid.uuid4().hex[:6]}", "url": url, "event_types": ["*"]}
    reply = api.post("/webhooks", json={**body, **extra}, token=admin)
    assert reply.status_code == 201, reply.text
    made.append(reply.json()["id"])
    return reply.json()


def rows(sql: Callable[..., Any], sid: str) -> list[dict[str, Any]]:
    return sql("SELECT * FROM deliveries WHERE channel = 'webhook' AND recipient = %s", (sid,))


def finished(sql: Callable[..., Any], sid: str) -> list[dict[str, Any]]:
    found = rows(sql, sid)
    done = found and all(r["state"] in ("delivered", "failed_permanent") for r in found)
    return found if done else []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8003/hook", "address_loopback"),
        ("http://[::1]:8003/hook", "address_loopback"),
        ("http://localhost:8003/hook", "address_loopback"),  # a name, really resolved
        ("http://169.254.169.254/latest/meta-data/", "address_link_local"),
        ("http://[fe80::1]/hook", "address_link_local"),
        ("http://10.0.0.5/hook", "address_private"),
        ("http://172.16.3.4/hook", "address_private"),
        ("http://192.168.1.1/hook", "address_private"),
        ("http://[fc00::1]/hook", "address_private"),
        ("http://0.0.0.0/hook", "address_unspecified"),
        ("http://224.0.0.1/hook", "address_multicast"),
        ("http://240.0.0.1/hook", "address_reserved"),
        ("https://user:pass@93.184.216.34/hook", "credentials"),
        ("https://khong-ton-tai.motcua.invalid/hook", "unresolvable"),
    ],
)
def test_an_inward_subscription_is_refused(make_notification, admin, notification_sql, url, code):
    api = make_notification(WEBHOOK_ALLOWED_NETWORKS="")
    before = notification_sql("SELECT count(*) AS n FROM webhook_subscribers")[0]["n"]
    reply = api.post("/webhooks", json={"name": "x", "url": url, "event_types": ["*"]}, token=admin)
    assert reply.status_code == 422, reply.text
    [problem] = reply.json()["problems"]
    assert (problem["field"], problem["code"]) == ("url", code)
    assert problem["message"] and reply.json()["error"] == "url_refused"
    assert notification_sql("SELECT count(*) AS n FROM webhook_subscribers")[0]["n"] == before


def test_a_subscriber_that_became_internal_is_refused_at_delivery(
    make_notification, admin, made, gateway, publisher, notification_sql
):
    first = make_notification()  # the allowlist (127.0.0.0/8) lets the subscription in...
    sid = subscribe(first, admin, made, gateway.url + "/hook-inward")["id"]
    first.container.stop()
    make_notification(WEBHOOK_ALLOWED_NETWORKS="")  # ...and is gone when the event comes
    publisher.event("intake", "dossier.received", received_data())
    [row] = eventually(lambda: finished(notification_sql, sid), "the delivery refused")
    assert row["state"] == "failed_permanent" and "refused: address_loopback" in row["last_error"]
    time.sleep(1.0)
    assert gateway.calls("/hook-inward") == []


def test_a_redirect_is_not_followed_and_the_answer_is_not_echoed(
    notification, admin, made, gateway, publisher, notification_sql
):
    gateway.program("/hook-moved", [302], headers={"Location": gateway.url + "/hook-inside"})
    gateway.program("/hook-noisy", [500], body={"leak": "NOI-DUNG-CUA-BEN-NHAN"})
    moved = subscribe(notification, admin, made, gateway.url + "/hook-moved")["id"]
    noisy = subscribe(notification, admin, made, gateway.url + "/hook-noisy")["id"]
    publisher.event("intake", "dossier.received", received_data())

    [row] = eventually(lambda: finished(notification_sql, moved), "the redirect answered")
    assert row["state"] == "failed_permanent" and row["last_error"].startswith("HTTP 302")
    gateway.wait_for(1, "/hook-moved")
    time.sleep(1.0)
    assert gateway.calls("/hook-inside") == []

    gateway.wait_for(2, "/hook-noisy")
    shown = eventually(
        lambda: (
            (s := notification.get(f"/webhooks/{noisy}", token=admin).json())["last_error"] and s
        ),
        "the failure recorded",
    )
    assert shown["last_error"].startswith("HTTP 500")
    texts = [shown["last_error"], *(r["last_error"] or "" for r in rows(notification_sql, noisy))]
    assert all("NOI-DUNG" not in t and "leak" not in t for t in texts)


def test_the_secret_is_stored_encrypted_and_still_signs(
    notification, admin, made, gateway, publisher, notification_sql
):
    secret = "bi-mat-" + "k" * 40
    created = subscribe(notification, admin, made, gateway.url + "/hook-sealed", secret=secret)
    [stored] = notification_sql("SELECT * FROM webhook_subscribers WHERE id = %s", (created["id"],))
    assert "secret" not in stored and stored["secret_clear"] is None
    assert secret not in json.dumps(stored, default=str)
    assert SecretBox.from_setting("test-webhook-secret-key").open(stored["secret_encrypted"]) == (
        secret
    )
    listed = notification.get("/webhooks", token=admin).json()["subscribers"]
    assert secret not in json.dumps(listed) and all("secret" not in s for s in listed)

    publisher.event("intake", "dossier.received", received_data())
    [call] = gateway.wait_for(1, "/hook-sealed")
    signature = next(v for k, v in call["headers"].items() if k.lower() == "x-motcua-signature")
    assert verify(secret, signature, call["body"].encode("utf-8"), time.time()) is True
    host = next(v for k, v in call["headers"].items() if k.lower() == "host")
    assert host == gateway.url.removeprefix("http://")


def test_a_secret_from_before_the_migration_is_encrypted_at_start(
    make_notification, made, notification_sql
):
    sid = str(uuid.uuid4())
    made.append(sid)
    notification_sql(
        "INSERT INTO webhook_subscribers (id, name, url, event_types, secret_clear)"
        " VALUES (%s, 'cũ', 'https://simulator.motcua.invalid/delivered', '{*}', %s)",
        (sid, "s" * 40),
    )
    make_notification()
    [row] = eventually(
        lambda: notification_sql(
            "SELECT * FROM webhook_subscribers WHERE id = %s AND secret_clear IS NULL", (sid,)
        ),
        "the clear secret encrypted",
    )
    assert SecretBox.from_setting("test-webhook-secret-key").open(row["secret_encrypted"]) == (
        "s" * 40
    )
