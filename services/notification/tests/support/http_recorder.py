"""An HTTP server for integration tests: records every request, answers as programmed.

    python http_recorder.py --port N --log FILE

Every request (except to /_control...) is appended to FILE as one JSON line:
{"method", "path", "query" (dict, last value of a repeated key), "headers" (dict, names as sent),
"body" (text, utf-8), "at" (unix time of arrival), "status" (what it was answered)}.

Program a path with `POST /_control` and a JSON body
    {"path": "/sms", "responses": [503, 503, 200], "body": {...}, "delay": 0, "headers": {}}
statuses are used in order and the last one repeats; `body` is the JSON answered (default
{"id": "<a new uuid4>"}); `delay` is seconds to wait before answering. An unprogrammed path
answers 200. `GET /_control/health` answers 200. Prints "ready" once listening; SIGTERM or
SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CONTROL = "/_control"


@dataclass
class Program:
    responses: list[int] = field(default_factory=lambda: [200])
    body: Any = None
    delay: float = 0.0
    used: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def next_status(self) -> int:
        status = self.responses[min(self.used, len(self.responses) - 1)]
        self.used += 1
        return status


class State:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.lock = threading.Lock()
        self.programs: dict[str, Program] = {}

    def program(self, spec: dict[str, Any]) -> None:
        path = spec["path"]
        responses = [int(s) for s in spec.get("responses") or [200]]
        program = Program(
            responses,
            spec.get("body"),
            float(spec.get("delay") or 0),
            headers=dict(spec.get("headers") or {}),
        )
        with self.lock:
            self.programs[path] = program

    def answer(self, path: str) -> tuple[int, Any, float, dict[str, str]]:
        with self.lock:
            program = self.programs.get(path)
            if program is None:
                return 200, None, 0.0, {}
            return program.next_status(), program.body, program.delay, program.headers

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock, open(self.log, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a requests.Session expects
    state: State  # set on the subclass made in main()

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def _handle(self) -> None:
        arrived = time.time()
        parts = urlsplit(self.path)
        body = self._read_body()
        if parts.path == CONTROL or parts.path.startswith(CONTROL + "/"):
            self._control(parts.path, body)
            return
        status, answer, delay, extra = self.state.answer(parts.path)
        self.state.record(
            {
                "method": self.command,
                "path": parts.path,
                "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", "replace"),
                "at": arrived,
                "status": status,
            }
        )
        if delay:
            time.sleep(delay)
        self._send(status, answer if answer is not None else {"id": str(uuid.uuid4())}, extra)

    def _control(self, path: str, body: bytes) -> None:
        if self.command == "GET" and path == CONTROL + "/health":
            self._send(200, {"ok": True})
        elif self.command == "POST" and path == CONTROL:
            try:
                self.state.program(json.loads(body))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": f"{type(exc).__name__}: {exc}"})
                return
            self._send(200, {"ok": True})
        else:
            self._send(404, {"error": "unknown control request"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in (extra or {}).items():  # e.g. Location of a programmed redirect
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the JSON log is the record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    args.log.touch()

    handler = type("BoundHandler", (Handler,), {"state": State(args.log)})
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    serving.start()
    print("ready", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        serving.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
