"""Start a service: check its database and broker first, then hand over to `nameko run`.

    python -m motcua_kit.run --config services/intake/config.yml intake.service

A missing PostgreSQL or RabbitMQ is reported in one plain paragraph (which, where, how to
start it) instead of a traceback from deep inside a driver. Settings named by `<NAME>_FILE` are
read from their files first (motcua_kit.config); with `MOTCUA_ENV=production`, every setting unfit
for production is named too (motcua_kit.production). Any problem: exit 2, the service not started.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from motcua_kit import preflight, production
from motcua_kit.config import referenced_variables, secrets_from_files, setting_variables


def load_config(path: str) -> dict[str, Any]:
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()  # the `${VAR:default}` syntax of nameko's config files
    with open(path, encoding="utf-8") as handle:
        config: dict[str, Any] = yaml.safe_load(handle)
    return config


def service_checks(module_name: str, config: dict[str, Any]) -> list[str]:
    """A service module may define `check_config(config) -> list[str]`: settings it would refuse
    at start, said in plain words here instead of a traceback from inside a container."""
    import importlib

    module = importlib.import_module(module_name)
    check = getattr(module, "check_config", None)
    return list(check(config)) if check else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("service", help="module path of the nameko service, e.g. intake.service")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as handle:
        text = handle.read()
    problems = secrets_from_files(referenced_variables(text), os.environ)  # nameko inherits them
    config = load_config(args.config)
    if production.is_production(config):
        unfit = production.problems(config, setting_variables(text))
        problems.extend(f"MOTCUA_ENV=production: {p}" for p in unfit)
    for key, value in config.items():
        if key.endswith("DATABASE_URL") and value:
            problem = preflight.check_postgres(value)
            if problem:
                problems.append(problem)
    problem = preflight.check_rabbitmq(config["AMQP_URI"])
    if problem:
        problems.append(problem)
    problems.extend(service_checks(args.service, config))
    if problems:
        sys.stderr.write(f"{args.service} cannot start:\n" + "\n".join(problems) + "\n")
        return 2
    command = [sys.executable, "-m", "nameko", "run", "--config", args.config, args.service]
    os.execv(sys.executable, command)  # noqa: S606  (replaces this process with the service)
    return 0  # pragma: no cover


if __name__ == "__main__":
    raise SystemExit(main())
