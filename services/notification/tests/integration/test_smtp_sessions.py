"""The SMTP sender keeps a few sessions open instead of connecting once per message, and a
session the server has dropped is replaced without losing or doubling the message.

Against the real SMTP test server (its own process); `X-Sink-Peer` names the connection each
message came over."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import eventlet
import pytest
from motcua_kit.testing import load_fixtures
from notification.adapters.email import Envelope, SmtpSender
from notification.domain import outcome

servers = load_fixtures(
    Path(__file__).resolve().parents[1] / "support" / "servers.py", "notification_servers"
)


def envelope(n: int) -> Envelope:
    return Envelope(f"session-test-{n}", f"cong.dan{n}@example.vn", f"Biên nhận {n}", "Kính gửi")


def sender(sink: Any, **options: Any) -> SmtpSender:
    return SmtpSender(sink.host, sink.port, "Bộ phận Một cửa <motcua@localhost>", **options)


def peers(sink: Any, count: int) -> Counter[str]:
    return Counter(str(m["X-Sink-Peer"]) for m in sink.wait_for(count))


@pytest.fixture
def dropping_smtp(tmp_path: Path) -> Any:
    sink = servers.SmtpSink(tmp_path / "smtp", drop_after=2)
    yield sink
    sink.stop()


def test_messages_in_a_row_share_one_session(smtp: Any) -> None:
    smtp_sender = sender(smtp)
    results = [smtp_sender.send(envelope(n)) for n in range(5)]
    smtp_sender.close()

    assert [r.status for r in results] == [outcome.SENT] * 5
    assert list(peers(smtp, 5).values()) == [5]
    ids = [str(m["Message-ID"]) for m in smtp.messages()]
    assert ids == [f"<session-test-{n}@motcua>" for n in range(5)]


def test_concurrent_sends_use_a_session_each_and_reuse_them(smtp: Any) -> None:
    smtp_sender = sender(smtp)
    pool = eventlet.GreenPool(4)
    results = list(pool.imap(smtp_sender.send, [envelope(n) for n in range(20)]))
    smtp_sender.close()

    assert {r.status for r in results} == {outcome.SENT}
    used = peers(smtp, 20)
    assert 1 < len(used) <= 4  # concurrent, yet far fewer connections than messages
    assert sum(used.values()) == 20


def test_a_session_idle_too_long_is_not_reused(smtp: Any) -> None:
    smtp_sender = sender(smtp, reuse_seconds=0.2)
    smtp_sender.send(envelope(1))
    time.sleep(0.4)
    smtp_sender.send(envelope(2))
    smtp_sender.close()

    assert len(peers(smtp, 2)) == 2


def test_a_session_carries_at_most_its_share_of_messages(smtp: Any) -> None:
    smtp_sender = sender(smtp, messages_per_session=2)
    for n in range(5):
        smtp_sender.send(envelope(n))
    smtp_sender.close()

    assert sorted(peers(smtp, 5).values()) == [1, 2, 2]


def test_a_session_the_server_dropped_is_replaced_and_nothing_is_sent_twice(
    dropping_smtp: Any,
) -> None:
    smtp_sender = sender(dropping_smtp)
    results = []
    for n in range(6):
        results.append(smtp_sender.send(envelope(n)))
        time.sleep(0.15)  # the server hangs up 50 ms after a connection's second message
    smtp_sender.close()

    assert [r.status for r in results] == [outcome.SENT] * 6
    messages = dropping_smtp.wait_for(6)
    time.sleep(0.3)
    assert len(dropping_smtp.messages()) == 6
    assert Counter(str(m["Message-ID"]) for m in messages) == Counter(
        f"<session-test-{n}@motcua>" for n in range(6)
    )
    assert sorted(Counter(str(m["X-Sink-Peer"]) for m in messages).values()) == [2, 2, 2]


def test_a_refused_recipient_leaves_the_session_usable(smtp: Any) -> None:
    smtp_sender = sender(smtp)
    first = smtp_sender.send(envelope(1))
    refused = smtp_sender.send(Envelope("session-test-x", "reject@example.vn", "x", "x"))
    last = smtp_sender.send(envelope(2))
    smtp_sender.close()

    assert (first.status, refused.status, last.status) == (
        outcome.SENT,
        outcome.PERMANENT,
        outcome.SENT,
    )
    assert list(peers(smtp, 2).values()) == [2]
