"""Start the SMTP sink and the HTTP recorder as separate processes, and read what they got.

The tests run under eventlet monkey-patching, so the servers live in their own processes and
every wait here is a `time.sleep` loop (cooperative once patched). Import by path, e.g.

    spec = importlib.util.spec_from_file_location("servers", SUPPORT / "servers.py")
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
POLL = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Server:
    """A script under HERE run with this interpreter; stdout and stderr go to files in tmpdir."""

    def __init__(self, name: str, tmpdir: str | Path, args: list[str], timeout: float) -> None:
        self.tmpdir = Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.out = self.tmpdir / f"{name}.out"
        self.err = self.tmpdir / f"{name}.err"
        # Files, not pipes: nobody reads a pipe after "ready", and a full pipe would block the server.
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / f"{name}.py"), "--port", str(self.port), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        self._wait_ready(name, timeout)

    def _wait_ready(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready" in self.out.read_text(encoding="utf-8", errors="replace").split():
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {self.process.returncode}: {self.err.read_text()[-2000:]}"
                )
            time.sleep(POLL)
        self.stop()
        raise RuntimeError(f"{name} not ready after {timeout}s: {self.err.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            deadline = time.monotonic() + 5
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(POLL)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SmtpSink(_Server):
    """`host`/`port` to send to; `messages()` in the order received."""

    def __init__(
        self, tmpdir: str | Path, fail_first: int = 0, timeout: float = 10, drop_after: int = 0
    ) -> None:
        self.host = HOST
        self.maildir = Path(tmpdir) / "smtp_sink"
        args = ["--maildir", str(self.maildir)]
        if fail_first:
            args += ["--fail-first", str(fail_first)]
        if drop_after:
            args += ["--drop-after", str(drop_after)]
        super().__init__("smtp_sink", tmpdir, args, timeout)

    def messages(self) -> list[EmailMessage]:
        files = sorted(
            (p for p in self.maildir.glob("*.eml") if p.stem.isdigit()), key=lambda p: int(p.stem)
        )
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(p.read_bytes()) for p in files]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """At least `count` messages, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            if len(messages) >= count or time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        assert len(messages) >= count, f"{len(messages)} message(s) after {timeout}s, not {count}"
        return messages


class HttpRecorder(_Server):
    """`url` to call; `program()` the answers of a path; `calls()` in the order received."""

    def __init__(self, tmpdir: str | Path, timeout: float = 10) -> None:
        self.log = Path(tmpdir) / "http_recorder.jsonl"
        super().__init__("http_recorder", tmpdir, ["--log", str(self.log)], timeout)
        self.url = f"http://{HOST}:{self.port}"

    def program(
        self,
        path: str,
        responses: list[int],
        body: dict[str, Any] | list[Any] | None = None,
        delay: float = 0,
        headers: dict[str, str] | None = None,
    ) -> None:
        spec = {
            "path": path,
            "responses": responses,
            "body": body,
            "delay": delay,
            "headers": headers or {},
        }
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
            self.url + "/_control",
            data=json.dumps(spec).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        # No proxy: an http_proxy in the environment must not capture 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            assert response.status == 200, response.read()

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        text = self.log.read_text(encoding="utf-8")
        # a line still being written has no newline yet: leave it for the next look
        lines = text.split("\n")[:-1]
        calls = [json.loads(line) for line in lines if line]
        return [c for c in calls if path is None or c["path"] == path]

    def wait_for(
        self, count: int, path: str | None = None, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """At least `count` calls (to `path`, if given), waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls(path)
            if len(calls) >= count or time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        where = f" to {path}" if path else ""
        assert len(calls) >= count, f"{len(calls)} call(s){where} after {timeout}s, not {count}"
        return calls
