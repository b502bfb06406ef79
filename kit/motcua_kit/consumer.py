"""Idempotent event consumers with bounded retries and a dead-letter queue.

    @consume("intake", "dossier.received")
    def on_received(self, event): ...   # `event` is the parsed CloudEvent (a dict)

What this adds to nameko's `event_handler`, which acks a failing handler's message and drops it:

- the body is decoded here, not by kombu, so a malformed message is dead-lettered instead of
  breaking the consumer loop;
- the handler runs once per event id: `consume` records the id in `inbox_events` in the
  handler's own transaction (the service must have a `Database` dependency named `db`);
- a handler that raises is retried after increasing delays through per-delay retry queues (TTL
  then dead-letter back to the main queue: no tight requeue loop, no head-of-line blocking);
  after the last delay, or at once for `PermanentError` / `MalformedEvent`, the message goes to
  the service's dead-letter queue `<service>.dlq` with the reason in its headers;
- the transaction is committed before the message is acked, and the retry or dead-letter copy
  is confirmed by the broker before the original is acked: nothing is lost, at worst repeated.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint
from nameko.messaging import QueueConsumer

from motcua_kit import metrics
from motcua_kit.config import setting
from motcua_kit.db import settle_transactions
from motcua_kit.errors import PermanentError
from motcua_kit.events import MalformedEvent, parse_event
from motcua_kit.outbox import command_declarations, events_exchange

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-motcua-attempt"
USER_HEADER = "x-motcua-user-id"
ROUTING_KEY_HEADER = "x-motcua-routing-key"
DEFAULT_DELAYS = (1.0, 5.0, 30.0, 120.0)
NOT_RETRIED = (PermanentError, MalformedEvent, ValidationError)


def dead_letter_queue_name(service: str) -> str:
    return f"{service}.dlq"


def retry_delays(config: dict[str, Any]) -> tuple[float, ...]:
    raw = setting(config, "CONSUMER_RETRY_DELAYS", DEFAULT_DELAYS)
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    return tuple(float(d) for d in raw)


class RawQueueConsumer(QueueConsumer):
    """nameko's queue consumer, handing over undecoded messages (see module docstring)."""

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue], on_message=partial(self.handle_raw, provider)
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def handle_raw(self, provider: EventConsumer, message: Any) -> None:
        self.container.spawn_managed_thread(
            partial(provider.handle_raw, message), identifier=f"consume[{provider.queue.name}]"
        )


class EventConsumer(Entrypoint):
    queue_consumer = RawQueueConsumer()

    def __init__(
        self,
        source_service: str,
        event_type: str,
        exchange: Exchange | None = None,
        queue_name: str | None = None,
        delivery: bool = False,
        **kwargs: Any,
    ) -> None:
        """`exchange`/`queue_name` consume messages other than `<source>.events` (e.g. replies
        from agencies' systems); `delivery=True` also hands the handler the AMQP facts it may
        trust, such as the broker-validated `user_id`."""
        self.source_service = source_service
        self.event_type = event_type
        self.exchange = exchange
        self.queue_name = queue_name
        self.delivery = delivery
        kwargs.setdefault("expected_exceptions", NOT_RETRIED)
        super().__init__(**kwargs)

    @property
    def consumer_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self) -> None:
        config = self.container.config
        service = self.container.service_name
        name = (
            self.queue_name
            or f"evt-{self.source_service}-{self.event_type}--{service}.{self.method_name}"
        )
        self.queue = Queue(
            name,
            exchange=self.exchange or events_exchange(self.source_service),
            routing_key=self.event_type,
            durable=True,
        )
        self.delays = retry_delays(config)
        self.retry_queues = [self._retry_queue(name, delay) for delay in self.delays]
        self.dlq = Queue(dead_letter_queue_name(service), durable=True)
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True)
        with Connection(config["AMQP_URI"]) as conn:
            channel = conn.default_channel
            if self.exchange is not None and self.exchange.type == "direct":
                for entity in command_declarations(self.exchange.name):
                    entity(channel).declare()
            self.queue.exchange.declare(channel=channel)
            for queue in (self.queue, *self.retry_queues, self.dlq):
                queue(channel).declare()
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)

    @staticmethod
    def _retry_queue(target: str, delay: float) -> Queue:
        ms = int(delay * 1000)
        # Named by delay: changing the schedule declares new queues instead of a 406 conflict.
        return Queue(
            f"{target}.retry.{ms}ms",
            durable=True,
            queue_arguments={
                "x-message-ttl": ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": target,
            },
        )

    def handle_raw(self, message: Any) -> None:
        """Never let one message take the container down (it would come back and do it again)."""
        try:
            self._handle_raw(message)
        except Exception as exc:
            log.exception("could not handle a message on %s", self.queue.name)
            try:
                self._dead_letter(message, "rejected", f"{type(exc).__name__}: {exc}", attempt=1)
            except Exception:  # broker gone: the unacked message comes back by itself
                log.exception("could not dead-letter a message on %s", self.queue.name)

    def _handle_raw(self, message: Any) -> None:
        try:
            event = parse_event(message.body)
        except MalformedEvent as exc:
            try:
                self._dead_letter(message, "malformed", str(exc), attempt=1)
            except Exception:  # broker gone: the unacked message comes back by itself
                log.exception("could not dead-letter a malformed message on %s", self.queue.name)
            return
        attempt = attempt_of(message)
        context = {"event_id": event["id"], "subject": event.get("subject")}
        args: tuple[Any, ...] = (event,)
        if self.delivery:
            args = (
                event,
                {
                    "user_id": validated_user_id(message),
                    "routing_key": original_routing_key(message),
                },
            )
        try:
            self.container.spawn_worker(
                self,
                args,
                {},
                context_data=context,
                handle_result=partial(self.handle_result, message, attempt),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(
        self, message: Any, attempt: int, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        result, exc_info = settle_transactions(worker_ctx, result, exc_info)
        try:
            if exc_info is None:
                outcome = "duplicate" if result is DUPLICATE else "handled"
                self.queue_consumer.ack_message(message)
            else:
                outcome = self._after_failure(message, attempt, exc_info[1])
        except Exception:  # broker gone: the unacked message comes back by itself
            log.exception("could not settle message on %s", self.queue.name)
            return result, exc_info
        metrics.EVENTS_CONSUMED.labels(
            self.container.service_name, self.consumer_name, outcome
        ).inc()
        return result, exc_info

    def _after_failure(self, message: Any, attempt: int, exc: BaseException) -> str:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, NOT_RETRIED):
            self._dead_letter(message, "rejected", error, attempt)
            return "dead_lettered"
        if attempt > len(self.delays):
            self._dead_letter(message, "exhausted", error, attempt)
            return "dead_lettered"
        self._republish(message, self.retry_queues[attempt - 1].name, {ATTEMPT_HEADER: attempt + 1})
        self.queue_consumer.ack_message(message)
        log.warning(
            "event handler failed (attempt %s), retrying in %ss: %s",
            attempt,
            self.delays[attempt - 1],
            error,
            extra={"consumer": self.consumer_name},
        )
        return "retried"

    def _dead_letter(self, message: Any, reason: str, error: str, attempt: int) -> None:
        self._republish(
            message,
            self.dlq.name,
            {
                "x-motcua-reason": reason,
                "x-motcua-error": error[:1000],
                "x-motcua-queue": self.queue.name,
                "x-motcua-consumer": self.consumer_name,
                ATTEMPT_HEADER: attempt,
                "x-motcua-dead-lettered-at": datetime.now(UTC).isoformat(),
            },
        )
        self.queue_consumer.ack_message(message)
        metrics.DEAD_LETTERED.labels(self.container.service_name, reason).inc()
        log.error(
            "message dead-lettered (%s): %s",
            reason,
            error,
            extra={"consumer": self.consumer_name, "queue": self.dlq.name},
        )

    def _republish(self, message: Any, queue_name: str, headers: dict[str, Any]) -> None:
        """Copy the message, byte for byte, to a queue through the default exchange (confirmed)."""
        props = message.properties or {}
        # Our copy is published by this service, not by the original sender: carry the facts the
        # broker validated in headers (any such header from a sender is overwritten here).
        carried = {
            USER_HEADER: validated_user_id(message),
            ROUTING_KEY_HEADER: original_routing_key(message),
        }
        self.publisher.publish(
            message.body,
            exchange="",
            routing_key=queue_name,
            headers={**(message.headers or {}), **carried, **headers},
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            message_id=props.get("message_id"),
            type=props.get("type"),
        )


def attempt_of(message: Any) -> int:
    """Which attempt this is: only our own copies (retries, re-drives) are believed."""
    if not _came_back(message):
        return 1
    try:
        return max(1, int((message.headers or {}).get(ATTEMPT_HEADER, 1)))
    except (TypeError, ValueError):
        return 1


def _came_back(message: Any) -> bool:
    """Through a retry queue or a re-drive: republished by us to the default exchange."""
    return (message.delivery_info or {}).get("exchange") == ""


def validated_user_id(message: Any) -> str | None:
    """The sender's RabbitMQ user as the broker checked it (senders may not publish to the
    default exchange, so a copy that came back through it is ours)."""
    if _came_back(message):
        value = (message.headers or {}).get(USER_HEADER)
    else:
        value = (message.properties or {}).get("user_id")
    return str(value) if value else None


def original_routing_key(message: Any) -> str | None:
    if _came_back(message):
        value = (message.headers or {}).get(ROUTING_KEY_HEADER)
        return str(value) if value else None
    key = (message.delivery_info or {}).get("routing_key")
    return str(key) if key else None


DUPLICATE = object()
"""What a `consume` handler returns for an event it had already handled."""


def consume(
    source_service: str, event_type: str, inbox: bool = True, **kwargs: Any
) -> Callable[..., Any]:
    """Decorate a service method as an idempotent consumer of `<source_service>` events.

    `inbox=False` for a handler whose own table is keyed by the event id (reporting's archive):
    it returns DUPLICATE itself, and a second record of the event would only cost a statement.
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        if not inbox:
            return EventConsumer.decorator(source_service, event_type, **kwargs)(fn)

        @functools.wraps(fn)
        def once(self: Any, event: dict[str, Any], *delivery: Any) -> Any:
            consumer = f"{self.name}.{fn.__name__}"
            if not self.db.claim_event(consumer, event["id"]):
                log.info("duplicate event skipped", extra={"event_id": event["id"]})
                return DUPLICATE
            return fn(self, event, *delivery)

        return EventConsumer.decorator(source_service, event_type, **kwargs)(once)

    return decorator
