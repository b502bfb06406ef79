#!/usr/bin/env bash
# Stop exactly what scripts/up.sh started (the pid files in .run/).
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
stopped=0
for pidfile in .run/*.pid; do
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "stopped $name (pid $pid)"
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
[[ $stopped -gt 0 ]] || echo "nothing was running"
