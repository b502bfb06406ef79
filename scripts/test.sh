#!/usr/bin/env bash
# Run every test against the real PostgreSQL and RabbitMQ named by PG_URL / AMQP_URI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -m motcua_kit.preflight --database-url "${PG_URL}/postgres" --amqp-uri "$AMQP_URI"; then
  echo "make test: the integration tests need both; start them as shown above." >&2
  exit 1
fi
# `nameko test` is pytest with the eventlet monkey patch applied first.
exec .venv/bin/nameko test "$@"
