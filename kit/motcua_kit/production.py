"""What a service refuses to start with in production (`MOTCUA_ENV=production`).

`python -m motcua_kit.run` lists every problem at once, each naming its setting, and exits 2:

- a secret left empty (`REQUIRED_SECRETS`, for the services that have them) or set to a
  development default (`DEV_DEFAULTS`; any setting named `*_KEY`, `*_TOKEN`, `*_SECRET`,
  `*_PASSWORD` is checked);
- no identity provider: `OIDC_ISSUER` empty, not `https://`, or on this machine (localhost);
- a broker URL that is not `amqps://`, or logs in as RabbitMQ's `guest` or with a dev password;
- a database URL without `sslmode=require`, `verify-ca` or `verify-full`;
- a public base URL (the citizen's links carry their secret) that is not `https://`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

PRODUCTION = "production"

# Values the repository ships for development (config.yml fallbacks, docker-compose.yml, the
# RabbitMQ definitions); never good enough for production.
DEV_DEFAULTS = frozenset(
    {
        "motcua-dev-pin-key-change-me",  # intake.settings.DEV_PIN_KEY
        "motcua-dev-secret-change-me-in-production",  # docker-compose.yml's JWT_SECRET
        "motcua-dev",  # docker-compose.yml's RabbitMQ password
        "guest",
        "secret",
        "password",
        "changeme",
        "change-me",
    }
)
# Secrets a service must be given in production, when its config has the setting at all.
REQUIRED_SECRETS = {
    "LOOKUP_PIN_KEY": "the key of the citizens' lookup PINs and links (32 random bytes)",
    "SMS_REPORT_TOKEN": "the token the SMS gateway sends with delivery reports",
    "WEBHOOK_SECRET_KEY": "the key that encrypts webhook subscribers' signing secrets",
}
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
TLS_SSLMODES = ("require", "verify-ca", "verify-full")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104  (a name, not a bind)


def is_production(config: dict[str, Any]) -> bool:
    return str(config.get("MOTCUA_ENV") or "").strip().lower() == PRODUCTION


def looks_like_dev_default(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in DEV_DEFAULTS or "change-me" in lowered or "changeme" in lowered


def problems(config: dict[str, Any], variables: dict[str, str] | None = None) -> list[str]:
    """Every setting of `config` unfit for production, one line each (empty: fit). Each line
    starts with the setting; `variables` (setting → environment variable, when they differ,
    e.g. DATABASE_URL → INTAKE_DATABASE_URL) adds the variable an operator sets."""
    found = _secrets(config) + _issuer(config) + _broker(config) + _databases(config)
    base = str(config.get("PUBLIC_BASE_URL") or "")
    if "PUBLIC_BASE_URL" in config and urlsplit(base).scheme != "https":
        found.append(
            "PUBLIC_BASE_URL must be an https:// address: the citizens' links"
            f" carry their key; now {base or 'empty'!r}"
        )
    return [_with_variable(line, variables or {}) for line in found]


def _with_variable(line: str, variables: dict[str, str]) -> str:
    setting = line.split(" ", 1)[0]
    variable = variables.get(setting)
    if variable and variable != setting:
        return f"{setting} ({variable}){line[len(setting) :]}"
    return line


def _text(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    return "" if value is None else str(value).strip()


def _secrets(config: dict[str, Any]) -> list[str]:
    found = []
    for key, what in REQUIRED_SECRETS.items():
        if key in config and not _text(config, key):
            found.append(f"{key} is empty: set it ({what}), or {key}_FILE naming a file")
    for key in sorted(config):
        value = _text(config, key)
        if key.endswith(SECRET_SUFFIXES) and value and looks_like_dev_default(value):
            found.append(f"{key} holds a development default: set a secret of your own")
    return found


def _issuer(config: dict[str, Any]) -> list[str]:
    if "OIDC_ISSUER" not in config:
        return []
    issuer = _text(config, "OIDC_ISSUER")
    if not issuer:
        return ["OIDC_ISSUER is empty: production needs the identity provider's https:// issuer"]
    found = []
    parts = urlsplit(issuer)
    if parts.scheme != "https":
        found.append(f"OIDC_ISSUER must be an https:// address, not {issuer!r}")
    if (parts.hostname or "") in LOCAL_HOSTS or (parts.hostname or "").endswith(".localhost"):
        found.append(
            f"OIDC_ISSUER points at this machine ({issuer!r}): that is the development provider"
        )
    jwks = _text(config, "OIDC_JWKS_URL")
    if jwks and urlsplit(jwks).scheme != "https":
        found.append(f"OIDC_JWKS_URL must be an https:// address, not {jwks!r}")
    return found


def _broker(config: dict[str, Any]) -> list[str]:
    uri = _text(config, "AMQP_URI")
    if not uri:
        return ["AMQP_URI is empty"]
    parts = urlsplit(uri)
    found = []
    if parts.scheme != "amqps":
        found.append(f"AMQP_URI must use amqps:// (TLS to RabbitMQ), not {parts.scheme}://")
    if parts.username == "guest" or (parts.password or "") == "guest":
        found.append("AMQP_URI logs in as RabbitMQ's guest user: give the service its own user")
    elif parts.password and looks_like_dev_default(parts.password):
        found.append("AMQP_URI's password is a development default: set a password of your own")
    return found


def _databases(config: dict[str, Any]) -> list[str]:
    found = []
    for key in sorted(k for k in config if k.endswith("DATABASE_URL")):
        url = _text(config, key)
        try:
            mode = conninfo_to_dict(url).get("sslmode") if url else None
        except psycopg.Error:  # a malformed URL: say so instead of a traceback
            found.append(f"{key} is not a PostgreSQL connection URL")
            continue
        if (conninfo_to_dict(url).get("user") or "") == "postgres":
            found.append(
                f"{key} logs in as the superuser postgres: give the service a role of its own"
                " (python -m motcua_kit.migrate --grant-to, docs/security.md), which cannot"
                " change the audit trail"
            )
        if mode not in TLS_SSLMODES:
            found.append(
                f"{key} must ask for TLS: add sslmode=require (or verify-ca, verify-full);"
                f" now {'sslmode=' + str(mode) if mode else 'no sslmode'}"
            )
    return found
