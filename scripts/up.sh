#!/usr/bin/env bash
# Set up and start the platform locally: databases, migrations, catalogue, agencies, the development
# identity provider, services, URLs and the demo logins.
set -euo pipefail
cd "$(dirname "$0")/.."
# The settings and paths come from the Makefile: run through it when called directly.
[[ -n ${MAKELEVEL:-} ]] || exec make up
PY=.venv/bin/python
# eventlet announces its own deprecation on every import; operators need not read it each time.
export PYTHONWARNINGS="ignore::DeprecationWarning"
mkdir -p .run
BUS_AGENCY=CA.H38.08  # the seeded agency whose own system works on the bus (reference adapter)

# Check before doing anything: which of PostgreSQL / RabbitMQ is missing, and how to start it.
if ! $PY -m motcua_kit.preflight --database-url "$INTAKE_DATABASE_URL" \
    --database-url "$ROUTING_DATABASE_URL" --database-url "$NOTIFICATION_DATABASE_URL" \
    --database-url "$REPORTING_DATABASE_URL" --amqp-uri "$AMQP_URI"; then
  echo "make up: fix the above, then run make up again." >&2
  exit 1
fi
# The development identity provider (deploy/dev-idp) runs on Node.js 20+.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 \
    || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  echo "make up: the development identity provider needs Node.js 20 or later and npm" \
    "(found: $(node --version 2>/dev/null || echo 'no node'));" \
    "install them (Debian: apt-get install nodejs npm), then run make up again." >&2
  exit 1
fi

$PY -m motcua_kit.migrate --database-url "$INTAKE_DATABASE_URL" --service intake --dir services/intake/migrations
$PY -m motcua_kit.migrate --database-url "$ROUTING_DATABASE_URL" --service routing --dir services/routing/migrations
$PY -m motcua_kit.migrate --database-url "$NOTIFICATION_DATABASE_URL" --service notification \
  --dir services/notification/migrations
$PY -m motcua_kit.migrate --database-url "$REPORTING_DATABASE_URL" --service reporting --dir services/reporting/migrations
$PY -m intake.catalogue_loader --database-url "$INTAKE_DATABASE_URL"

running() { [[ -f .run/$1.pid ]] && kill -0 "$(cat ".run/$1.pid")" 2>/dev/null; }

start_service() {  # name module config port
  local name=$1 module=$2 config=$3 port=$4
  if running "$name"; then
    echo "$name is already running (pid $(cat ".run/$name.pid")): make down first to restart it"
    return
  fi
  nohup $PY -m motcua_kit.run --config "$config" "$module" >".run/$name.log" 2>&1 &
  echo $! >".run/$name.pid"
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return; fi
    if ! running "$name"; then
      echo "$name failed to start; its log (.run/$name.log) ends with:" >&2
      tail -n 20 ".run/$name.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$name did not answer on port $port within 30 s; see .run/$name.log" >&2
  exit 1
}

# The development identity provider: the demo people sign in there, the services verify its
# tokens (its keys in .run/idp-keys.json; delete the file and restart it to rotate them).
IDP_PORT=${IDP_PORT:-8009}
IDP_ISSUER=${IDP_ISSUER:-http://localhost:$IDP_PORT}
export IDP_PORT IDP_ISSUER OIDC_ISSUER=${OIDC_ISSUER:-$IDP_ISSUER}
if ! cmp -s deploy/dev-idp/package-lock.json deploy/dev-idp/node_modules/.motcua-lock; then
  echo "installing the development identity provider (npm ci in deploy/dev-idp)"
  (cd deploy/dev-idp && npm ci --no-audit --no-fund --loglevel=error) >.run/idp-npm.log 2>&1 || {
    echo "npm ci in deploy/dev-idp failed; .run/idp-npm.log ends with:" >&2
    tail -n 20 .run/idp-npm.log >&2
    exit 1
  }
  cp deploy/dev-idp/package-lock.json deploy/dev-idp/node_modules/.motcua-lock
fi
if running idp; then
  echo "idp is already running (pid $(cat .run/idp.pid)): make down first to restart it"
else
  IDP_KEYS_FILE=${IDP_KEYS_FILE:-$PWD/.run/idp-keys.json} nohup node deploy/dev-idp/server.js >.run/idp.log 2>&1 &
  echo $! >.run/idp.pid
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
    if ! running idp; then
      echo "the identity provider failed to start; its log (.run/idp.log) ends with:" >&2
      tail -n 20 .run/idp.log >&2
      exit 1
    fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration" >/dev/null 2>&1 || {
    echo "the identity provider did not answer on port $IDP_PORT within 30 s; see .run/idp.log" >&2
    exit 1
  }
fi

start_service intake intake.service services/intake/config.yml "$INTAKE_PORT"
start_service routing routing.service services/routing/config.yml "$ROUTING_PORT"
# Locally, email and SMS go to files (an operator points them at SMTP and an SMS gateway instead).
export EMAIL_TRANSPORT=${EMAIL_TRANSPORT:-folder} MAIL_FOLDER=${MAIL_FOLDER:-.run/mail}
export SMS_TRANSPORT=${SMS_TRANSPORT:-file} SMS_FILE=${SMS_FILE:-.run/sms.jsonl}
start_service notification notification.service services/notification/config.yml "$NOTIFICATION_PORT"
start_service reporting reporting.service services/reporting/config.yml "$REPORTING_PORT"

# The bus agency: its RabbitMQ user and queue, then the reference adapter playing its system.
adapter=agency-$BUS_AGENCY
if running "$adapter"; then
  echo "$adapter is already running (pid $(cat ".run/$adapter.pid"))"
else
  password_file=.run/$adapter.password
  [[ -f $password_file ]] || $PY -c 'import secrets; print(secrets.token_urlsafe(18))' >"$password_file"
  vhost=$($PY -c 'import sys; from urllib.parse import urlsplit, unquote; print(unquote(urlsplit(sys.argv[1]).path[1:]) or "/")' "$AMQP_URI")
  if $PY -m routing.provision --vhost "$vhost" --password-for "$BUS_AGENCY=$(cat "$password_file")" >/dev/null; then
    user=$($PY -c 'import json; d=json.load(open("services/routing/routing/data/agencies.json")); print(next(a["amqp_user"] for a in d["agencies"] if a["code"]=="'"$BUS_AGENCY"'"))')
    agency_uri=$($PY -c 'import sys; from urllib.parse import urlsplit; p=urlsplit(sys.argv[1]); print(f"{p.scheme}://{sys.argv[2]}:{sys.argv[3]}@{p.hostname}:{p.port or 5672}{p.path}")' "$AMQP_URI" "$user" "$(cat "$password_file")")
    nohup $PY services/routing/adapter/agency_adapter.py --amqp-uri "$agency_uri" --agency "$BUS_AGENCY" \
      >".run/$adapter.log" 2>&1 &
    echo $! >".run/$adapter.pid"
  else
    echo "note: the bus agency $BUS_AGENCY is not provisioned (see above); its tasks wait in RabbitMQ" >&2
  fi
fi

token() { $PY -m motcua_kit.devtoken "$@"; }
logins=$($PY -c '
import json, sys
people = json.load(open("deploy/dev-idp/people.json", encoding="utf-8"))["people"]
rows = [("username", "name", "role", "unit", "password")] + [
    (p["username"], p["name"], ",".join(p["roles"]), p.get("unit", "-"), p["password"]) for p in people
]
widths = [max(len(r[i]) for r in rows) for i in range(4)]
for r in rows:
    print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4])
')
cat <<MSG

motcua is running.
  identity      $IDP_ISSUER   (development sign-in; discovery: /.well-known/openid-configuration, log: .run/idp.log)
  intake        http://localhost:$INTAKE_PORT   (catalogue: /procedures, health: /health, metrics: /metrics)
  routing       http://localhost:$ROUTING_PORT   (control slip: /dossiers/<code>/route, tasks: /agencies/<code>/tasks)
  notification  http://localhost:$NOTIFICATION_PORT   (delivery log: /notifications?dossier=<code>, templates: /templates)
                email -> $( [[ $EMAIL_TRANSPORT == folder ]] && echo "$MAIL_FOLDER/*.eml" || echo "SMTP ${SMTP_HOST:-127.0.0.1}" ), SMS -> $( [[ $SMS_TRANSPORT == file ]] && echo "$SMS_FILE" || echo "${SMS_GATEWAY_URL:-}" )
  reporting     http://localhost:$REPORTING_PORT   (dashboard: /dashboard, statistics: /reports/statistics[.csv|.xlsx])
  bus agency    $BUS_AGENCY answered by the reference adapter (log: .run/$adapter.log)

Demo logins at $IDP_ISSUER (development only):
$logins
  systems (client credentials): he-thong-cong-an / he-thong-cong-an-dev-secret (role system, unit CA.H38.08)

Demo tokens, signed in through the provider (valid 12 h; more: make -s token ROLE=.. UNIT=.. or USER=..):
  reception, desk 000.00.08.H38:         $(token --role reception --unit 000.00.08.H38)
  processing, commune 000.00.08.H38:     $(token --role processing --unit 000.00.08.H38)
  processing, Social Insurance BHXH.H38: $(token --role processing --unit BHXH.H38)
  supervisor, 000.00.08.H38:             $(token --role supervisor --unit 000.00.08.H38)
  admin (webhooks), 000.00.00.H38:       $(token --role admin --unit 000.00.00.H38)
  citizen, Nguyễn Thị Ánh:               $(token --user nguyenthianh)

Try:
  curl localhost:$INTAKE_PORT/procedures
  README.md walks a birth-bundle dossier from the desk through the three agencies.
Stop with: make down     Logs: make logs
MSG
