#!/usr/bin/env bash
# Set up and start the platform locally: database, migrations, catalogue, services, then URLs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p .run

# Check before doing anything: which of PostgreSQL / RabbitMQ is missing, and how to start it.
if ! $PY -m motcua_kit.preflight --database-url "$INTAKE_DATABASE_URL" --amqp-uri "$AMQP_URI"; then
  echo "make up: fix the above, then run make up again." >&2
  exit 1
fi

$PY -m motcua_kit.migrate --database-url "$INTAKE_DATABASE_URL" --service intake --dir services/intake/migrations
$PY -m intake.catalogue_loader --database-url "$INTAKE_DATABASE_URL"

start() {  # name module config port
  local name=$1 module=$2 config=$3 port=$4 pidfile=.run/$1.pid
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$name is already running (pid $(cat "$pidfile")): make down first to restart it"
    return
  fi
  nohup $PY -m motcua_kit.run --config "$config" "$module" >".run/$name.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name failed to start; its log (.run/$name.log) ends with:" >&2
      tail -n 20 ".run/$name.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$name did not answer on port $port within 30 s; see .run/$name.log" >&2
  exit 1
}

start intake intake.service services/intake/config.yml "$INTAKE_PORT"

token=$($PY -m motcua_kit.auth --role reception --unit 000.00.08.H38)
cat <<MSG

motcua is running.
  intake        http://localhost:$INTAKE_PORT   (catalogue: /procedures, health: /health, metrics: /metrics)

A demo reception officer's token (unit 000.00.08.H38, valid 12 h):
  $token

Try:
  curl localhost:$INTAKE_PORT/procedures
  TOKEN=\$(make -s token ROLE=reception) ; see README.md for a birth-bundle submission
Stop with: make down     Logs: make logs
MSG
