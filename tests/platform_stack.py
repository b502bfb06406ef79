"""The whole platform as processes, the way production runs it, for tests and benchmarks.

    with Stack(tmp_path, amqp_port=5672, pg_url="postgresql://postgres@127.0.0.1:5432") as stack:
        stack.start("intake")                        # returns once /health answers 200
        stack.start_all(("routing", 0), ("routing", 1), "reporting")  # in parallel
        stack.start("notification", EMAIL_TRANSPORT="smtp", SMTP_PORT=sink.port)
        stack.start_adapter()                        # the bus agency CA.H38.08 answers by itself
        requests.post(stack.url("intake") + "/dossiers", headers=stack.auth("reception"), json=...)
        stack.kill("routing", replica=1)             # SIGKILL by default; waits for the exit
        stack.restart("routing", replica=1)          # same port, same settings, healthy again

`prepare()` (or entering the `with`) sets up what `make up` would, but of its own: a fresh
RabbitMQ vhost (management API; the AMQP user may use it), four fresh databases with unique
names (`python -m motcua_kit.migrate`, which creates them), intake's catalogue
(`python -m intake.catalogue_loader`), an agencies file whose bus agencies have broker users
with a unique suffix (broker users are global: another run may be provisioning the seeded
names), and those users provisioned (`python -m routing.provision`). `close()` (or leaving the
`with`) stops every process it started, deletes the vhost and the bus users and drops the
databases.

Each service runs as `python -m motcua_kit.run --config services/<name>/config.yml
<name>.service` from the repository root, on a free port of 127.0.0.1, with its output in
`<workdir>/<name>-<replica>.log` (appended to across restarts). Its settings are config.yml's
defaults except what the stack sets (database, port, broker, secrets, files) and what the caller
passes; variables of the caller's shell that config.yml reads are not passed on, so a run does
not depend on the shell it was started from. notification writes email to `<workdir>/mail` and
SMS to `<workdir>/sms.jsonl` unless told otherwise (EMAIL_TRANSPORT=smtp, SMS_TRANSPORT=http...).

No pytest here: benchmark scripts import this module too (add `tests/` to `sys.path`). Under
eventlet's monkey patching (`nameko test`) every wait is cooperative.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
PYTHONPATH = [
    REPO / "kit",
    REPO / "services" / "intake",
    REPO / "services" / "routing",
    REPO / "services" / "notification",
    REPO / "services" / "reporting",
]
for _path in PYTHONPATH:  # motcua_kit for the tokens, routing for the agencies file
    if str(_path) not in sys.path:
        sys.path.append(str(_path))

SERVICES = ("intake", "routing", "notification", "reporting")
ADAPTER = REPO / "services" / "routing" / "adapter" / "agency_adapter.py"
SEEDED_AGENCIES = REPO / "services" / "routing" / "routing" / "data" / "agencies.json"
CALENDAR_FILE = REPO / "deploy" / "calendar.json"
BUS_AGENCY = "CA.H38.08"  # the seeded agency whose own system works on the bus
HOST = "127.0.0.1"


def _config_variables() -> frozenset[str]:
    """Every environment variable a service's config.yml reads (`${NAME:default}`)."""
    names: set[str] = set()
    for service in SERVICES:
        text = (REPO / "services" / service / "config.yml").read_text(encoding="utf-8")
        names.update(re.findall(r"\$\{(\w+):", text))
    return frozenset(names)


CONFIG_VARIABLES = _config_variables()


class StackError(RuntimeError):
    """A step of setting up or running the stack failed; the message says which and why."""


def local_broker() -> dict[str, Any]:
    """The Stack's broker settings for the RabbitMQ of `make test` (AMQP_URI, default the local
    guest), its management API on port 15672."""
    parts = urlsplit(os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/")
    host = parts.hostname or "127.0.0.1"
    user, password = parts.username or "guest", parts.password or "guest"
    return {
        "amqp_host": host,
        "amqp_port": parts.port or 5672,
        "amqp_user": user,
        "amqp_password": password,
        "management_url": f"http://{user}:{password}@{host}:15672",
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an http_proxy of the shell must not capture 127.0.0.1
    return session


@dataclass
class Process:
    """One process the stack started: a service replica or an agency adapter."""

    name: str  # "routing-1", "adapter-CA.H38.08"
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None  # services only
    popen: subprocess.Popen[bytes] | None = None
    overrides: dict[str, str] = field(default_factory=dict)  # the caller's settings

    @property
    def url(self) -> str:
        if self.port is None:
            raise StackError(f"{self.name} has no HTTP port")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def launch(self) -> None:
        with open(self.log, "ab") as log:
            log.write(f"--- started {time.strftime('%H:%M:%S')}: {self.name}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(  # noqa: S603  (our interpreter, our arguments)
                self.command,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is not delivered twice
            )

    def signal(self, sig: int, wait: bool = True, timeout: float = 15.0) -> int | None:
        """Send `sig`; with `wait`, wait for the exit (SIGKILL after `timeout`) and return its
        code. SIGSTOP/SIGCONT never wait."""
        if not self.alive():
            return self.popen.returncode if self.popen is not None else None
        assert self.popen is not None
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.popen.send_signal(signal.SIGCONT)  # a frozen process could not stop
        self.popen.send_signal(sig)
        if not wait or sig in (signal.SIGSTOP, signal.SIGCONT):
            return None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


class Stack:
    """intake, routing, notification and reporting as separate processes on one broker vhost
    and four databases of their own; see the module's docstring.

    `workdir`: where logs, the agencies file and the services' local files go.
    `amqp_host`/`amqp_port`/`amqp_user`/`amqp_password`: the broker the services connect to.
    `management_url`: RabbitMQ's management API (`http://user:password@host:15672`).
    `pg_url`: a PostgreSQL server URL without database; its user must create databases.
    `env`: settings for every service process (e.g. `{"OUTBOX_POLL_SECONDS": "0.2"}`);
    `service_env`: per service (`{"routing": {"STEP_REMINDER_HOURS": "24"}}`). `start(...)`'s
    keyword arguments come last and win.
    `change_agencies(data)`: edit the seeded agencies registry before it is written and
    provisioned (e.g. put another agency on the bus).
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        amqp_host: str = HOST,
        amqp_port: int = 5672,
        amqp_user: str = "guest",
        amqp_password: str = "guest",  # noqa: S107  (RabbitMQ's local default)
        management_url: str = "http://guest:guest@127.0.0.1:15672",
        pg_url: str = "postgresql://postgres@127.0.0.1:5432",
        env: Mapping[str, Any] | None = None,
        service_env: Mapping[str, Mapping[str, Any]] | None = None,
        change_agencies: Callable[[dict[str, Any]], None] | None = None,
        health_timeout: float = 30.0,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.amqp_host, self.amqp_port = amqp_host, amqp_port
        self.amqp_user, self.amqp_password = amqp_user, amqp_password
        parts = urlsplit(management_url)
        self.management_api = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.management_url = management_url
        self.management_auth = (parts.username or "guest", parts.password or "guest")
        self.pg_url = pg_url.rstrip("/")
        self.common_env = {k: str(v) for k, v in (env or {}).items()}
        self.service_env = {
            s: {k: str(v) for k, v in e.items()} for s, e in (service_env or {}).items()
        }
        self.change_agencies = change_agencies
        self.health_timeout = health_timeout

        self.tag = uuid.uuid4().hex[:8]
        self.vhost = f"motcua-stack-{self.tag}"
        self.database_urls = {s: f"{self.pg_url}/motcua_stack_{self.tag}_{s}" for s in SERVICES}
        from motcua_kit.local_issuer import LocalIssuer

        self.issuer = LocalIssuer(self.workdir / "issuer")  # started by prepare()
        self.pin_key = secrets.token_hex(16)
        self.agencies_file = self.workdir / "agencies.json"
        self.bus_users: dict[str, str] = {}  # agency code -> broker user
        self.bus_passwords: dict[str, str] = {}
        self.processes: dict[str, Process] = {}  # "routing-1" -> its process (kept when stopped)
        self._vhost_created = False
        self._databases_created: list[str] = []
        self._http = _http()

    # --- the broker and the databases -------------------------------------------------------

    @property
    def amqp_uri(self) -> str:
        """The services' broker URI, in the stack's vhost."""
        return self.amqp_uri_for(self.amqp_user, self.amqp_password)

    def amqp_uri_for(self, user: str, password: str) -> str:
        return (
            f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@"
            f"{self.amqp_host}:{self.amqp_port}/{quote(self.vhost, safe='')}"
        )

    def bus_amqp_uri(self, agency: str = BUS_AGENCY) -> str:
        """The login of a bus agency's own system (its provisioned user), in the stack's vhost."""
        return self.amqp_uri_for(self.bus_users[agency], self.bus_passwords[agency])

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def _management(self, method: str, path: str, body: Any = None) -> requests.Response:
        try:
            response = self._http.request(
                method,
                f"{self.management_api}{path}",
                json=body,
                auth=self.management_auth,
                timeout=10,
            )
        except requests.RequestException as exc:
            raise StackError(f"RabbitMQ's management API at {self.management_api}: {exc}") from exc
        return response

    def _create_vhost(self) -> None:
        v = quote(self.vhost, safe="")
        response = self._management("PUT", f"/vhosts/{v}")
        if response.status_code not in (201, 204):
            raise StackError(
                f"vhost {self.vhost} not created: {response.status_code} {response.text}"
            )
        self._vhost_created = True
        users = {self.management_auth[0], self.amqp_user}
        for user in sorted(users):
            response = self._management(
                "PUT",
                f"/permissions/{v}/{quote(user, safe='')}",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )
            if response.status_code not in (201, 204):
                raise StackError(f"no permissions for {user} on {self.vhost}: {response.text}")

    def _write_agencies(self) -> None:
        from routing.domain.agencies import BUS, registry_from_data

        data = json.loads(SEEDED_AGENCIES.read_text(encoding="utf-8"))
        if self.change_agencies is not None:
            self.change_agencies(data)
        for agency in data["agencies"]:
            if agency["mode"] == BUS and agency.get("amqp_user"):
                agency["amqp_user"] = f"{agency['amqp_user']}-{self.tag}"
                self.bus_users[agency["code"]] = agency["amqp_user"]
                self.bus_passwords[agency["code"]] = secrets.token_urlsafe(16)
        registry_from_data(data)  # a broken registry fails here, not in a service's log
        self.agencies_file.write_text(
            json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
        )

    def _tool(self, name: str, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
        """Start an operator command (`python -m ...`); its output goes to
        `<workdir>/setup-<name>.log`."""
        with open(self.workdir / f"setup-{name}.log", "wb") as log:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, *args],
                cwd=REPO,
                env=self.base_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return name, process

    def _finish(self, *tools: tuple[str, subprocess.Popen[bytes]], timeout: float = 60.0) -> None:
        """Wait for operator commands; raise naming every one that failed, with its output."""
        failed = []
        for name, process in tools:
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            if code != 0:
                output = log_tail(self.workdir / f"setup-{name}.log")
                failed.append(f"{name} exited with {code}:\n{output}")
        if failed:
            raise StackError("setting up the stack failed:\n" + "\n".join(failed))

    def prepare(self) -> Stack:
        """Vhost, databases (migrated), catalogue, agencies file, bus users; as `make up` does.
        On failure, what was created is removed again before the error propagates."""
        try:
            self.issuer.start()
            self._create_vhost()
            self._write_agencies()
            migrations = []
            for service in SERVICES:
                self._databases_created.append(service)  # migrate creates it: drop it in any case
                migrations.append(
                    self._tool(
                        f"migrate-{service}",
                        "-m",
                        "motcua_kit.migrate",
                        "--database-url",
                        self.database_urls[service],
                        "--service",
                        service,
                        "--dir",
                        str(REPO / "services" / service / "migrations"),
                    )
                )
            provision = self._tool(
                "provision",
                "-m",
                "routing.provision",
                "--management-url",
                self.management_url,
                "--vhost",
                self.vhost,
                "--agencies-file",
                str(self.agencies_file),
                *(f"--password-for={code}={pw}" for code, pw in self.bus_passwords.items()),
            )
            self._finish(*migrations, provision)
            catalogue = self._tool(
                "catalogue",
                "-m",
                "intake.catalogue_loader",
                "--database-url",
                self.database_urls["intake"],
            )
            self._finish(catalogue)
        except BaseException:
            with contextlib.suppress(StackError):  # the first error is the one to see
                self.close()
            raise
        return self

    # --- processes ----------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        """The environment of every process: the caller's, less what config.yml would read."""
        env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
        no_proxy = ",".join(x for x in (env.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(str(p) for p in PYTHONPATH),
                "PSYCOPG_WAIT_FUNC": "wait_select",
                "PYTHONWARNINGS": "ignore::DeprecationWarning",
                "NO_PROXY": no_proxy,
                "no_proxy": no_proxy,
            }
        )
        return env

    def service_settings(self, name: str, port: int) -> dict[str, str]:
        """What the stack sets for a service (before `env`, `service_env` and the caller's)."""
        upper = name.upper()
        settings = {
            "AMQP_URI": self.amqp_uri,
            f"{upper}_DATABASE_URL": self.database_urls[name],
            f"{upper}_HTTP_ADDRESS": HOST,
            f"{upper}_PORT": str(port),
            **self.issuer.config(),
            "CALENDAR_FILE": str(CALENDAR_FILE),
        }
        if name == "intake":
            settings["INTAKE_PUBLIC_URL"] = f"http://{HOST}:{port}"
            settings["LOOKUP_PIN_KEY"] = self.pin_key
        elif name == "routing":
            settings["AGENCIES_FILE"] = str(self.agencies_file)
        elif name == "notification":  # files unless told otherwise (SMTP, an SMS gateway)
            settings.update(
                EMAIL_TRANSPORT="folder",
                MAIL_FOLDER=str(self.workdir / "mail"),
                SMS_TRANSPORT="file",
                SMS_FILE=str(self.workdir / "sms.jsonl"),
            )
        return settings

    @staticmethod
    def key(name: str, replica: int = 0) -> str:
        return f"{name}-{replica}"

    def process(self, name: str, replica: int = 0) -> Process:
        try:
            return self.processes[self.key(name, replica)]
        except KeyError:
            raise StackError(f"{self.key(name, replica)} was never started") from None

    def start(self, name: str, replica: int = 0, wait: bool = True, **env: Any) -> Process:
        """Start one replica of a service and wait until its /health answers 200.

        A replica started before (then killed or stopped) comes back on the same port with the
        same settings, `env` applied on top. Raises StackError with the log's tail if the
        process exits or stays unhealthy for `health_timeout` seconds. With `wait=False` it
        returns at once: start several, then `wait_healthy()` them (services start in parallel).
        """
        if name not in SERVICES:
            raise StackError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
        key = self.key(name, replica)
        known = self.processes.get(key)
        if known is not None and known.alive():
            raise StackError(f"{key} is already running (pid {known.pid})")
        port = known.port if known is not None and known.port else free_port()
        overrides = {**(known.overrides if known else {}), **{k: str(v) for k, v in env.items()}}
        process_env = {
            **self.base_env(),
            **self.service_settings(name, port),
            **self.common_env,
            **self.service_env.get(name, {}),
            **overrides,
        }
        config = f"services/{name}/config.yml"
        process = Process(
            name=key,
            command=[sys.executable, "-m", "motcua_kit.run", "--config", config, f"{name}.service"],
            env=process_env,
            log=self.workdir / f"{key}.log",
            port=port,
            overrides=overrides,
        )
        self.processes[key] = process
        process.launch()
        if wait:
            self.wait_healthy(process)
        return process

    def start_all(self, *replicas: str | tuple[str, int], **env: Any) -> list[Process]:
        """Start several replicas at once, then wait for each to be healthy:
        `start_all("intake", ("routing", 0), ("routing", 1))`; `env` goes to all of them."""
        started = []
        for spec in replicas:
            name, replica = (spec, 0) if isinstance(spec, str) else spec
            started.append(self.start(name, replica, wait=False, **env))
        for process in started:
            self.wait_healthy(process)
        return started

    def wait_healthy(self, process: Process, timeout: float | None = None) -> None:
        """Until the process answers 200 on /health; StackError (with its log's tail) if it
        exits first or `timeout` (default `health_timeout`) passes."""
        deadline = time.monotonic() + (timeout or self.health_timeout)
        last = "no answer"
        while time.monotonic() < deadline:
            if not process.alive():
                code = process.popen.returncode if process.popen else None
                raise StackError(
                    f"{process.name} exited with {code} before it was healthy; "
                    f"{process.log} ends with:\n{log_tail(process.log)}"
                )
            try:
                reply = self._http.get(f"{process.url}/health", timeout=2)
                if reply.status_code == 200:
                    return
                last = f"{reply.status_code} {reply.text[:200]}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise StackError(
            f"{process.name} not healthy after {timeout or self.health_timeout} s ({last}); "
            f"{process.log} ends with:\n{log_tail(process.log)}"
        )

    def kill(
        self, name: str, replica: int = 0, sig: int = signal.SIGKILL, wait: bool = True
    ) -> int | None:
        """Send `sig` (SIGKILL by default: a crash) to a replica; with `wait`, return its exit
        code once it has exited. SIGTERM is nameko's graceful stop. SIGSTOP/SIGCONT freeze and
        thaw it (no wait)."""
        return self.process(name, replica).signal(sig, wait=wait)

    def stop(self, name: str, replica: int = 0, timeout: float = 15.0) -> int | None:
        """Graceful stop (SIGTERM; SIGKILL after `timeout`)."""
        return self.process(name, replica).signal(signal.SIGTERM, timeout=timeout)

    def restart(
        self, name: str, replica: int = 0, sig: int = signal.SIGTERM, **env: Any
    ) -> Process:
        """Stop a replica with `sig` (graceful by default), then start it again, healthy."""
        if name == "adapter":
            raise StackError("use stop_adapter() and start_adapter() for the adapter")
        process = self.process(name, replica)
        if process.alive():
            process.signal(sig)
        return self.start(name, replica, **env)

    def running(self) -> list[Process]:
        return [p for p in self.processes.values() if p.alive()]

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM to every process at once, then wait; SIGKILL what is still there."""
        running = self.running()
        for process in running:
            process.signal(signal.SIGTERM, wait=False)
        deadline = time.monotonic() + timeout
        for process in running:
            assert process.popen is not None
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=10)

    # --- the bus agency's own system ----------------------------------------------------------

    def start_adapter(
        self, agency: str = BUS_AGENCY, work_seconds: float = 0.2, timeout: float = 15.0
    ) -> Process:
        """The reference adapter (plain pika) logged in as the agency's own broker user: it
        accepts and completes every task of the agency. Ready once it says so in its log."""
        if agency not in self.bus_users:
            raise StackError(f"{agency} is not a bus agency of this stack's agencies file")
        key = f"adapter-{agency}"
        known = self.processes.get(key)
        if known is not None and known.alive():
            raise StackError(f"{key} is already running (pid {known.pid})")
        process = Process(
            name=key,
            command=[
                sys.executable,
                "-u",
                str(ADAPTER),
                "--amqp-uri",
                self.bus_amqp_uri(agency),
                "--agency",
                agency,
                "--work-seconds",
                str(work_seconds),
            ],
            env=self.base_env(),
            log=self.workdir / f"{key}.log",
        )
        self.processes[key] = process
        start = len(process.output())
        process.launch()
        ready = json.dumps({"ready": agency})
        deadline = time.monotonic() + timeout
        while ready not in process.output()[start:]:
            if not process.alive() or time.monotonic() > deadline:
                process.signal(signal.SIGKILL)
                raise StackError(
                    f"the adapter for {agency} did not start:\n{log_tail(process.log)}"
                )
            time.sleep(0.1)
        return process

    def stop_adapter(self, agency: str = BUS_AGENCY) -> int | None:
        return self.processes[f"adapter-{agency}"].signal(signal.SIGTERM)

    def adapter_handled(self, agency: str = BUS_AGENCY) -> list[str]:
        """The step ids the adapter has completed so far (from its log)."""
        process = self.processes.get(f"adapter-{agency}")
        if process is None:
            return []
        handled = []
        for line in process.output().splitlines():
            if line.startswith("{") and '"handled"' in line:
                handled.append(json.loads(line)["handled"])
        return handled

    # --- what clients need --------------------------------------------------------------------

    def url(self, name: str, replica: int = 0) -> str:
        """`http://127.0.0.1:<port>` of a service replica."""
        return self.process(name, replica).url

    @property
    def urls(self) -> dict[str, str]:
        """Every service replica started so far: {"intake-0": url, "routing-1": url, ...}."""
        return {k: p.url for k, p in self.processes.items() if p.port is not None}

    def token(
        self, role: str = "reception", unit: str = "000.00.08.H38", officer: str | None = None
    ) -> str:
        """An officer's bearer token, signed by the stack's issuer (its JWKS served over HTTP)."""
        officer = officer or f"{role}-{unit}"
        return self.issuer.token(roles=[role], unit=unit, sub=officer, name=f"Cán bộ {officer}")

    def auth(self, role: str = "reception", unit: str = "000.00.08.H38") -> dict[str, str]:
        """`Authorization` header for `token(role, unit)`."""
        return {"Authorization": f"Bearer {self.token(role, unit)}"}

    def sql(self, service: str, query: str, params: Any = ()) -> list[dict[str, Any]]:
        """One statement on a service's database (autocommit); the rows as dicts. For checks
        a client cannot make over HTTP (the outbox, timers)."""
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(
            self.database_urls[service], autocommit=True, row_factory=dict_row
        ) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- teardown -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process, delete the vhost and the bus users, drop the databases. Safe to
        call twice, and after a failed `prepare()`; problems are collected and raised at the end."""
        problems: list[str] = []
        try:
            self.stop_all()
        except Exception as exc:  # still remove the rest
            problems.append(f"stopping processes: {exc}")
        if self._vhost_created:
            try:
                response = self._management("DELETE", f"/vhosts/{quote(self.vhost, safe='')}")
                if response.status_code not in (204, 404):
                    problems.append(f"vhost {self.vhost}: {response.status_code}")
                self._vhost_created = False
            except StackError as exc:
                problems.append(str(exc))
        for user in self.bus_users.values():
            try:
                self._management("DELETE", f"/users/{quote(user, safe='')}")
            except StackError as exc:
                problems.append(str(exc))
        self.bus_users = {}
        if self._databases_created:
            problems.extend(self._drop_databases())
        self.issuer.stop()
        self._http.close()
        if problems:
            raise StackError("cleaning up the stack: " + "; ".join(problems))

    def _drop_databases(self) -> list[str]:
        import psycopg
        from psycopg import sql

        problems = []
        try:
            with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
                for service in self._databases_created:
                    name = self.database_urls[service].rsplit("/", 1)[1]
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
        except psycopg.Error as exc:
            problems.append(f"dropping databases: {exc}")
        self._databases_created = []
        return problems

    def __enter__(self) -> Stack:
        return self.prepare()

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # an error is on its way already: do not replace it with a cleanup problem
            self.close()
        except StackError as problem:
            sys.stderr.write(f"{problem}\n")


def iter_log_records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON records of a service's log (motcua_kit.logs.JsonFormatter), skipping other lines."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue
