"""A missing PostgreSQL or RabbitMQ is explained in plain words, never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from motcua_kit.preflight import check_postgres, check_rabbitmq
from nameko.testing.utils import find_free_port

REPO = Path(__file__).resolve().parents[2]


def test_unreachable_postgres_names_where_and_how_to_start():
    port = find_free_port()  # nothing listens there
    problem = check_postgres(f"postgresql://postgres@127.0.0.1:{port}/motcua_intake")
    assert problem is not None
    assert f"PostgreSQL is not reachable at 127.0.0.1:{port}/motcua_intake" in problem
    assert "pg_ctlcluster" in problem


def test_unreachable_rabbitmq_names_where_and_how_to_start():
    port = find_free_port()
    problem = check_rabbitmq(f"amqp://guest:guest@127.0.0.1:{port}/")
    assert problem is not None
    assert f"RabbitMQ is not reachable at 127.0.0.1:{port}" in problem
    assert "rabbitmq-server -detached" in problem


def test_reachable_services_pass():
    assert check_postgres("postgresql://postgres@127.0.0.1:5432/postgres") is None
    assert check_rabbitmq("amqp://guest:guest@127.0.0.1:5672/") is None


def test_service_launcher_refuses_to_start_without_a_traceback():
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'kit'}:{REPO / 'services' / 'intake'}",
        "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{find_free_port()}/",
        "INTAKE_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{find_free_port()}/motcua_intake",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "motcua_kit.run",
            "--config",
            "services/intake/config.yml",
            "intake.service",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "intake.service cannot start" in done.stderr
    assert "PostgreSQL is not reachable" in done.stderr
    assert "RabbitMQ is not reachable" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
