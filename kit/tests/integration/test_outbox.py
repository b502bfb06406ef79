"""The outbox: events commit with the state, reach the broker once, and survive a broker outage."""

from __future__ import annotations

import contextlib
import socket
import time
from collections import Counter
from urllib.parse import urlparse
from uuid import uuid4

import eventlet
import pytest
from kittest_services import sample, wait_for
from motcua_kit.events import CONTENT_TYPE, parse_event
from nameko.testing.utils import find_free_port

pytestmark = pytest.mark.integration


def new_code() -> str:
    return f"T{uuid4().hex[:8]}"


def published(pg, event_ids: list[str]) -> bool:
    rows = pg.execute(
        "SELECT count(*) AS n FROM outbox_events WHERE id = ANY(%s::uuid[]) "
        "AND published_at IS NOT NULL",
        (event_ids,),
    ).fetchone()
    return rows["n"] == len(event_ids)


def test_committed_event_reaches_bound_queue(emitter, post_thing, broker, pg):
    queue = broker.bind("kittest", "thing.created")
    code = new_code()
    reply = post_thing(emitter, code, data={"note": "xin chào"})
    assert reply.status_code == 201, reply.text
    event_id = reply.json()["event_id"]

    messages = broker.wait_ids(queue, [event_id])

    # Only the id is checked among others: the shared database may hold other tests' events.
    [message] = [m for m in messages if m.properties["message_id"] == event_id]

    assert message.content_type == CONTENT_TYPE
    assert message.properties["message_id"] == event_id
    assert message.properties["delivery_mode"] == 2  # persistent
    assert message.delivery_info["routing_key"] == "thing.created"
    event = parse_event(message.body)
    assert event["id"] == event_id
    assert event["type"] == "thing.created"
    assert event["source"] == "/motcua/kittest"
    assert event["subject"] == code
    assert event["data"] == {"code": code, "note": "xin chào"}
    wait_for(lambda: published(pg, [event_id]), "the outbox row marked published")


def test_rolled_back_worker_publishes_and_writes_nothing(emitter, post_thing, broker, pg):
    queue = broker.bind("kittest")
    failed, ok = new_code(), new_code()

    reply = post_thing(emitter, failed, fail=True)
    assert reply.status_code == 409, reply.text
    # A later committed event is the barrier: the relay publishes in outbox order.
    ok_id = post_thing(emitter, ok).json()["event_id"]
    messages = broker.wait_ids(queue, [ok_id])

    assert failed not in [parse_event(m.body)["subject"] for m in messages]
    assert pg.execute("SELECT * FROM dossiers_test WHERE code = %s", (failed,)).fetchall() == []
    assert pg.execute("SELECT * FROM outbox_events WHERE subject = %s", (failed,)).fetchall() == []


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the broker; `stop` drops the listener and every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = find_free_port()
        self._threads: list[eventlet.greenthread.GreenThread] = []
        self._sockets: list[socket.socket] = []

    def start(self) -> None:
        server = eventlet.listen(("127.0.0.1", self.port))  # SO_REUSEADDR: same port again
        self._sockets.append(server)
        self._threads.append(eventlet.spawn(self._accept, server))

    def _accept(self, server: socket.socket) -> None:
        while True:
            client, _ = server.accept()
            upstream = eventlet.connect(self.target)
            self._sockets += [client, upstream]
            self._threads.append(eventlet.spawn(self._pipe, client, upstream))
            self._threads.append(eventlet.spawn(self._pipe, upstream, client))

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:  # one side gone: drop the other too
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        for thread in self._threads:
            thread.kill()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._threads, self._sockets = [], []


@pytest.fixture
def proxy():
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.start()
    yield proxy
    proxy.stop()


def through(proxy: TcpProxy, amqp_uri: str) -> str:
    uri = urlparse(amqp_uri)
    return uri._replace(netloc=f"{uri.username}:{uri.password}@127.0.0.1:{proxy.port}").geturl()


def test_broker_outage_only_delays_events(start_emitter, kit_config, proxy, post_thing, broker, pg):
    emitter = start_emitter(AMQP_URI=through(proxy, kit_config["AMQP_URI"]))
    queue = broker.bind("kittest")  # read from the broker directly, not through the proxy
    before = post_thing(emitter, new_code()).json()["event_id"]
    broker.wait_ids(queue, [before])  # the relay now holds a live connection through the proxy
    wait_for(lambda: published(pg, [before]), "the first event marked published")

    proxy.stop()
    failures = sample("motcua_outbox_publish_failures_total", service="kittest")
    codes = [new_code() for _ in range(3)]
    replies = [post_thing(emitter, code) for code in codes]
    assert [r.status_code for r in replies] == [201, 201, 201]  # the commit needs no broker
    ids = [r.json()["event_id"] for r in replies]
    wait_for(
        lambda: sample("motcua_outbox_publish_failures_total", service="kittest") > failures,
        "the relay to fail to publish",
    )
    rows = pg.execute(
        "SELECT published_at FROM outbox_events WHERE id = ANY(%s::uuid[])", (ids,)
    ).fetchall()
    assert [r["published_at"] for r in rows] == [None, None, None]
    assert broker.take(queue) == []

    proxy.start()
    restarted = time.monotonic()
    messages = broker.wait_ids(queue, ids)
    recovery = time.monotonic() - restarted
    wait_for(lambda: published(pg, ids), "the outbox rows marked published")
    messages += broker.take(queue)  # confirmed before marked: any duplicate is here by now

    seen = Counter(m.properties["message_id"] for m in messages)
    assert {i: seen[i] for i in ids} == dict.fromkeys(ids, 1), f"each event exactly once: {seen}"
    assert before not in seen
    assert recovery < 5, f"the relay took {recovery:.1f}s to publish after the broker returned"
