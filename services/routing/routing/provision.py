"""Operator command: set up RabbitMQ for the agencies on the bus.

For each bus agency of the registry: a user (its own credentials), a durable task queue
`agency.<code>.tasks` bound to `routing.tasks` with the agency code, and permissions limited to
reading that queue and writing replies to `routing.replies`. Uses the management API.

    python -m routing.provision --management-url http://guest:guest@127.0.0.1:15672 --vhost / \
        [--password-for CA.H38.08=secret ...]   # otherwise passwords are generated and printed
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from motcua_kit.outbox import unrouted_name

from routing.domain.agencies import BUS, Registry, registry_from_data
from routing.providers import DEFAULT_FILE

TASKS, REPLIES = "routing.tasks", "routing.replies"


class Management:
    def __init__(self, url: str, vhost: str) -> None:
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.auth = (parts.username or "guest", parts.password or "guest")
        self.vhost = quote(vhost, safe="")

    def put(self, path: str, body: dict[str, Any]) -> None:
        response = requests.put(f"{self.base}{path}", json=body, auth=self.auth, timeout=10)
        response.raise_for_status()

    def post(self, path: str, body: dict[str, Any]) -> None:
        response = requests.post(f"{self.base}{path}", json=body, auth=self.auth, timeout=10)
        response.raise_for_status()


def provision(
    management: Management, registry: Registry, passwords: dict[str, str]
) -> dict[str, str]:
    """Returns the password set for each bus agency's user."""
    v = management.vhost
    for exchange in (TASKS, REPLIES):  # declared exactly as the kit's command_exchange does
        unrouted = unrouted_name(exchange)
        management.put(f"/exchanges/{v}/{unrouted}", {"type": "fanout", "durable": True})
        management.put(f"/queues/{v}/{unrouted}", {"durable": True})
        management.post(f"/bindings/{v}/e/{unrouted}/q/{unrouted}", {"routing_key": ""})
        management.put(
            f"/exchanges/{v}/{exchange}",
            {"type": "direct", "durable": True, "arguments": {"alternate-exchange": unrouted}},
        )
    given: dict[str, str] = {}
    for agency in registry.agencies.values():
        if agency.mode != BUS or not agency.amqp_user:
            continue
        queue = f"agency.{agency.code}.tasks"
        management.put(f"/queues/{v}/{quote(queue, safe='')}", {"durable": True})
        management.post(
            f"/bindings/{v}/e/{TASKS}/q/{quote(queue, safe='')}", {"routing_key": agency.code}
        )
        password = passwords.get(agency.code) or secrets.token_urlsafe(18)
        management.put(
            f"/users/{quote(agency.amqp_user, safe='')}", {"password": password, "tags": ""}
        )
        management.put(
            f"/permissions/{v}/{quote(agency.amqp_user, safe='')}",
            {
                "configure": "^$",
                "write": f"^{re.escape(REPLIES)}$",
                "read": f"^{re.escape(queue)}$",
            },
        )
        given[agency.code] = password
    return given


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--agencies-file", default=str(DEFAULT_FILE))
    parser.add_argument("--password-for", action="append", default=[], metavar="CODE=PASSWORD")
    args = parser.parse_args(argv)
    registry = registry_from_data(json.loads(Path(args.agencies_file).read_text(encoding="utf-8")))
    passwords = dict(item.split("=", 1) for item in args.password_for)
    try:
        given = provision(Management(args.management_url, args.vhost), registry, passwords)
    except requests.RequestException as exc:
        sys.stderr.write(
            f"RabbitMQ's management API did not answer at {args.management_url} ({exc}).\n"
            "  enable it with: rabbitmq-plugins enable rabbitmq_management\n"
        )
        return 2
    for code, password in given.items():
        print(f"{code}\t{registry.agency(code).amqp_user}\t{password}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
