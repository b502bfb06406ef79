"""A RabbitMQ node and a PostgreSQL cluster of a test's own, for tests that break them.

    node = RabbitNode(tmp_path / "rabbitmq")   # ports of its own; the machine's 5672 untouched
    node.start()                                # returns once the broker and management API answer
    node.restart()                              # a real node restart: stop, then start again
    node.destroy()                              # stop it, stop its epmd, remove its files

    cluster = PgCluster()                       # initdb in /tmp/motcua-faults-pg-*, a free port
    cluster.start()
    cluster.crash_restart(down_seconds=2)       # `pg_ctl stop -m immediate`: crash recovery
    cluster.destroy()

RabbitMQ: the Debian layout's own scripts (`/usr/lib/rabbitmq/bin`, not the `/usr/sbin`
wrappers that switch to the `rabbitmq` user and its home) with a node name, AMQP, distribution,
management and epmd ports of its own, its Mnesia, logs, pid file, cookie (HOME) and config under
the work directory; `RABBITMQ_CONF_ENV_FILE` points at an empty file so /etc/rabbitmq's env file
(node name, listeners) is not read. A node restart keeps durable queues and persistent messages
(same node name, same Mnesia directory).

PostgreSQL: `initdb` refuses to run as root, so as root every PostgreSQL command runs as the
`postgres` OS user (`runuser`) in a directory it owns; `--auth=trust` on 127.0.0.1 and a Unix
socket in that directory only.

No pytest here; under eventlet's monkey patching (`nameko test`) every wait is cooperative.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

HOST = "127.0.0.1"


class InfraError(RuntimeError):
    """The private broker or database did not do what it was asked; the message says why."""


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _run(
    command: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 120.0
) -> int:
    """Run a command to completion, its output appended to `log`; returns its exit code."""
    with open(log, "ab") as out:
        out.write(f"--- {time.strftime('%H:%M:%S')} $ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(  # noqa: S603  (fixed tools, our arguments)
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd="/",
        )
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise InfraError(f"{command[0]} did not finish within {timeout} s") from None


# --- RabbitMQ -----------------------------------------------------------------------------------


def rabbitmq_scripts() -> Path | None:
    """The directory of the real `rabbitmq-server`/`rabbitmqctl` scripts (not Debian's wrappers)."""
    candidates = [os.environ.get("MOTCUA_RABBITMQ_BIN"), "/usr/lib/rabbitmq/bin"]
    found = shutil.which("rabbitmq-server")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for candidate in candidates:
        if not candidate:
            continue
        server = Path(candidate) / "rabbitmq-server"
        if server.is_file() and "rabbitmq-env" in server.read_text(errors="replace"):
            return Path(candidate)
    return None


def epmd_binary() -> str | None:
    return shutil.which("epmd") or next(
        iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None
    )


class RabbitNode:
    """One RabbitMQ node of its own (see the module's docstring). `amqp_port`, `management_url`
    (with guest's credentials: guest may log in from 127.0.0.1) and `node` are what clients need."""

    def __init__(self, workdir: str | Path, user: str = "guest", password: str = "guest") -> None:  # noqa: S107
        scripts = rabbitmq_scripts()
        if scripts is None:
            raise InfraError("rabbitmq-server is not installed (Debian package rabbitmq-server)")
        self.scripts = scripts
        self.dir = Path(workdir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.node = f"motcua-faults-{uuid.uuid4().hex[:8]}@localhost"
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.management_port = free_port()
        self.epmd_port = free_port()
        self.user, self.password = user, password
        self.pid_file = self.dir / "node.pid"
        self.log = self.dir / "server.log"  # the server's console output, all starts appended
        self.ctl_log = self.dir / "rabbitmqctl.log"
        self.process: subprocess.Popen[bytes] | None = None
        (self.dir / "home").mkdir(exist_ok=True)
        (self.dir / "rabbitmq-env.conf").write_text(
            "# this node's settings come from its environment\n"
        )
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "rabbitmq.conf").write_text(
            f"management.tcp.ip = {HOST}\n"
            f"management.tcp.port = {self.management_port}\n"
            # queue depths in the management API at most a second old (default 5 s)
            "collect_statistics_interval = 1000\n"
        )
        self.restarts = 0

    @property
    def management_url(self) -> str:
        return f"http://{self.user}:{self.password}@{HOST}:{self.management_port}"

    @property
    def management_api(self) -> str:
        return f"http://{HOST}:{self.management_port}/api"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_")) and k not in ("NODENAME", "HOME")
        }
        env.update(
            HOME=str(self.dir / "home"),  # the Erlang cookie of this node and its CLI
            RABBITMQ_CONF_ENV_FILE=str(self.dir / "rabbitmq-env.conf"),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS=HOST,
            RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.dir / "log"),
            RABBITMQ_PID_FILE=str(self.pid_file),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.dir / "advanced.config"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            ERL_EPMD_PORT=str(self.epmd_port),  # an epmd of its own, stopped at the end
            ERL_EPMD_ADDRESS=HOST,
        )
        return env

    def ctl(self, *args: str, timeout: float = 90.0) -> int:
        return _run(
            [str(self.scripts / "rabbitmqctl"), "-n", self.node, *args],
            self.ctl_log,
            self.env(),
            timeout,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        """Start the node and wait for the broker, its plugins and the management API."""
        if self.alive():
            raise InfraError(f"{self.node} is already running")
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        with open(self.log, "ab") as out:
            out.write(f"--- started {time.strftime('%H:%M:%S')}\n".encode())
            out.flush()
            self.process = subprocess.Popen(  # noqa: S603
                [str(self.scripts / "rabbitmq-server")],
                env=self.env(),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # `wait <pid file>`: until the pid file appears and the applications run
        code = self.ctl(
            "wait", str(self.pid_file), "--timeout", str(int(timeout)), timeout=timeout + 10
        )
        if code != 0:
            self.kill()
            raise InfraError(
                f"RabbitMQ node {self.node} did not start (rabbitmqctl wait: {code}):\n"
                f"{tail(self.log)}\n{tail(self.ctl_log, 10)}"
            )
        deadline = time.monotonic() + 30
        while not self._management_answers():
            if time.monotonic() > deadline:
                raise InfraError(f"{self.node}: management API on {self.management_port} silent")
            time.sleep(0.2)

    def _management_answers(self) -> bool:
        try:
            reply = self.http().get(f"{self.management_api}/overview", timeout=3)
        except requests.RequestException:
            return False
        return reply.status_code == 200

    def beam_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 60.0) -> None:
        """A graceful stop of the whole node (`rabbitmqctl stop <pid file>` waits for the exit);
        SIGKILL to this node's own VM if that fails."""
        if not self.alive():
            return
        code = self.ctl("stop", str(self.pid_file), timeout=timeout)
        assert self.process is not None
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        if code != 0 and self.alive():
            self.kill()

    def kill(self) -> None:
        """SIGKILL this node's Erlang VM (the pid its pid file names) and its start script."""
        pid = self.beam_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)

    def restart(self) -> None:
        """Stop the node, then start it again with the same name, ports and data."""
        self.stop()
        self.start()
        self.restarts += 1

    def destroy(self) -> None:
        """Stop the node and its epmd; remove its files (kept: the logs, if `keep_logs`)."""
        try:
            self.stop()
        finally:
            epmd = epmd_binary()
            if epmd:
                with contextlib.suppress(InfraError):
                    _run(
                        [epmd, "-port", str(self.epmd_port), "-kill"], self.ctl_log, self.env(), 15
                    )
            shutil.rmtree(self.dir / "mnesia", ignore_errors=True)

    # --- what the test reads ------------------------------------------------------------------

    def http(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.auth = (self.user, self.password)
        return session

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of the vhost: name, messages, messages_ready, messages_unacknowledged."""
        with self.http() as http:
            reply = http.get(
                f"{self.management_api}/queues/{quote(vhost, safe='')}",
                params={"columns": "name,messages,messages_ready,messages_unacknowledged"},
                timeout=10,
            )
        reply.raise_for_status()
        return list(reply.json())

    def peek(self, vhost: str, queue: str, count: int = 20) -> list[dict[str, Any]]:
        """Up to `count` messages of a queue, put back where they were (nothing is consumed)."""
        with self.http() as http:
            reply = http.post(
                f"{self.management_api}/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}/get",
                json={"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"},
                timeout=10,
            )
        reply.raise_for_status()
        return list(reply.json())


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb (or MOTCUA_PG_BINDIR)."""
    configured = os.environ.get("MOTCUA_PG_BINDIR")
    if configured and (Path(configured) / "initdb").exists():
        return Path(configured)
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
    )
    if versions:
        return versions[-1]
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgCluster:
    """A PostgreSQL cluster of its own on a free port of 127.0.0.1 (see the module's docstring).
    `url` is the server URL without a database (user postgres, trust)."""

    def __init__(self, max_connections: int = 200) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise InfraError("PostgreSQL's initdb is not installed (Debian package postgresql)")
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # Under /tmp, not pytest's 0700 directory: the postgres user must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="motcua-faults-pg-"))
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.tool_log = self.dir / "tools.log"
        self.port = free_port()
        self.max_connections = max_connections
        self.restarts = 0
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}"

    def _tool(self, name: str, *args: str, timeout: float = 120.0) -> int:
        command = [str(self.bindir / name), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        # initdb's and pg_ctl's own messages; the server's log is `self.log` (pg_ctl -l)
        return _run(command, self.tool_log, None, timeout)

    def init(self) -> None:
        code = self._tool(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        )
        if code != 0:
            raise InfraError(f"initdb failed ({code}):\n{tail(self.tool_log)}")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# motcua fault test: a cluster of its own\n"
                f"port = {self.port}\n"
                f"listen_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{self.dir}'\n"
                f"max_connections = {self.max_connections}\n"
            )
        self._initialised = True

    def start(self, timeout: float = 60.0) -> None:
        if not self._initialised:
            self.init()
        code = self._tool(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        )
        if code != 0:
            raise InfraError(f"PostgreSQL did not start ({code}):\n{tail(self.log)}")

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> int:
        return self._tool(
            "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)), "stop"
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def crash_restart(self, down_seconds: float = 0.0) -> None:
        """`-m immediate` (every server process quits without a checkpoint: a crash), then start:
        the server replays its WAL before it accepts connections again."""
        code = self.stop("immediate")
        if code != 0:
            raise InfraError(f"pg_ctl stop -m immediate: {code}\n{tail(self.tool_log)}")
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def destroy(self, keep_log: Path | None = None) -> None:
        """Stop the server; copy its log to `keep_log` if given; remove the cluster."""
        try:
            if self.running() and self.stop("fast", timeout=30) != 0:
                self.stop("immediate", timeout=30)
        finally:
            if keep_log is not None and self.log.exists():
                with contextlib.suppress(OSError):
                    shutil.copyfile(self.log, keep_log)
            shutil.rmtree(self.dir, ignore_errors=True)
