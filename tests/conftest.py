"""Fixtures for the cross-service tests: a running intake (the same fixtures as intake's own tests),
the AsyncAPI event contract as validators, and a consumer that is nothing but pika, in its own
process."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import eventlet
import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from motcua_kit.testing import load_fixtures
from referencing import Registry
from referencing.jsonschema import DRAFT7

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "docs" / "events" / "asyncapi.yaml"
CONSUMER = Path(__file__).resolve().parent / "pika_consumer.py"


_intake = load_fixtures(REPO / "services" / "intake" / "tests" / "conftest.py", "intake_fixtures")
_servers = load_fixtures(
    REPO / "services" / "notification" / "tests" / "support" / "servers.py", "platform_servers"
)
intake_database = _intake.intake_database
intake_config = _intake.intake_config
intake = _intake.intake


# --- the outside world of the whole-platform tests (each module has its own `workdir`) -------


@pytest.fixture(scope="module")
def smtp(workdir: Path) -> Iterator[Any]:
    """A real SMTP server (its own process) keeping every message."""
    sink = _servers.SmtpSink(workdir / "smtp")
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def sms_gateway(workdir: Path) -> Iterator[Any]:
    """The SMS gateway: an HTTP server recording every call to `/sms` (answers 200)."""
    recorder = _servers.HttpRecorder(workdir / "http")
    yield recorder
    recorder.stop()


# --- the contract --------------------------------------------------------------------------

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    return not isinstance(value, str) or (
        "T" in value and datetime.fromisoformat(value).tzinfo is not None
    )


@pytest.fixture(scope="session")
def event_contract() -> Callable[[dict[str, Any]], list[str]]:
    """`problems(event)`: what is wrong with an event against its message in asyncapi.yaml."""
    doc = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:contract", DRAFT7.create_resource(doc))

    def problems(event: dict[str, Any]) -> list[str]:
        channel = doc["channels"].get(event.get("type"))
        if channel is None:
            return [f"no channel for event type {event.get('type')!r}"]
        ref = channel["subscribe"]["message"]["$ref"]
        validator = Draft7Validator(
            {"$ref": f"urn:contract{ref}/payload"}, registry=registry, format_checker=FORMATS
        )
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(event)
        ]

    return problems


# --- a plain pika consumer, in a separate process --------------------------------------------


def pika_url(amqp_uri: str) -> str:
    """nameko's `pyamqp://user:pw@host:port/vhost` as a pika URL (vhost percent-encoded)."""
    parts = urlparse(amqp_uri)
    return f"amqp://{parts.netloc}/{quote(parts.path.lstrip('/'), safe='')}"


class PikaConsumer:
    def __init__(self, amqp_uri: str, binding_key: str, count: int, timeout: float) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(CONSUMER),
                pika_url(amqp_uri),
                "--exchange=intake.events",
                f"--binding-key={binding_key}",
                f"--queue=contract-{uuid.uuid4().hex[:8]}",
                f"--count={count}",
                f"--timeout={timeout}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[str] = []
        first = self._line()
        assert first == "ready", f"the pika consumer did not start: {self._rest()}"

    def _line(self) -> str:
        # The pipe is green (eventlet's subprocess): reading lets the intake container run.
        with eventlet.Timeout(self.timeout + 5):
            line = self.process.stdout.readline().decode("utf-8")  # type: ignore[union-attr]
        self.output.append(line)
        return line.strip()

    def _rest(self) -> str:
        self.stop()
        return "".join(self.output)

    def messages(self) -> list[dict[str, Any]]:
        """Every message the process printed, once it has its count (or gave up)."""
        received = []
        while line := self._line():
            if line.startswith("{"):
                received.append(json.loads(line))
        code = self.process.wait(timeout=5)
        assert code == 0, f"the pika consumer failed ({code}): {''.join(self.output)}"
        return received

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def pika_consumer(rabbit_config: dict[str, Any]) -> Iterator[Callable[..., PikaConsumer]]:
    """`pika_consumer(binding_key="dossier.#", count=1)`: a started consumer in the test's vhost."""
    started: list[PikaConsumer] = []

    def start(binding_key: str = "dossier.#", count: int = 1, timeout: float = 10) -> PikaConsumer:
        consumer = PikaConsumer(rabbit_config["AMQP_URI"], binding_key, count, timeout)
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        consumer.stop()
