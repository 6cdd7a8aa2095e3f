#!/usr/bin/env bash
# The production layout on one machine: 2 `paht serve` + 2 `paht worker` against one PostgreSQL.
#
#   deploy/run-local.sh [DATABASE_URL] [--check]
#
# DATABASE_URL defaults to $PAHT_DATABASE_URL, else
# postgresql+psycopg://postgres@127.0.0.1:5432/paht_local (created if missing).
# Web processes listen on 127.0.0.1:$PAHT_PORT_BASE and the next port (default 8101, 8102)
# with `pipeline = "worker"`, so only the two workers run the bot, the outbox and media.
# Logs go to var/run-local/. Ctrl+C stops all four. With --check the script starts
# everything, checks /healthz and /metrics on both web processes and that both workers
# are alive, prints the result and stops them again (exit status 0 when all was well).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${PAHT_BIN:-$ROOT/.venv/bin}
CHECK=0
URL=${PAHT_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/paht_local}
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) URL=$arg ;;
  esac
done
BASE=${PAHT_PORT_BASE:-8101}
PORTS=("$BASE" "$((BASE + 1))")
LOGS=$ROOT/var/run-local
mkdir -p "$LOGS"

export PAHT_DATABASE_URL=$URL PAHT_PIPELINE=worker
export PAHT_CONFIG=${PAHT_CONFIG:-$ROOT/paht.toml}

PIDS=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped ${#PIDS[@]} processes"
}
trap stop_all INT TERM EXIT

wait_healthy() {  # port, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "serve on :$1 not healthy after $2 s (see $LOGS)"; return 1; fi
    sleep 1
  done
}

echo "database: ${URL%%@*}@…  (pipeline = worker)"
"$BIN/python" - "$URL" <<'PY'
import sys
import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1])
if url.get_backend_name() == "postgresql":
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{url.database}"')
            print(f"created database {url.database}")
PY
"$BIN/paht" db upgrade >"$LOGS/migrate.log" 2>&1 || { cat "$LOGS/migrate.log"; exit 1; }

# The first web process trains the NLU model if none is built yet; the others then load it.
"$BIN/paht" serve --port "${PORTS[0]}" >"$LOGS/serve-1.log" 2>&1 & PIDS+=($!)
wait_healthy "${PORTS[0]}" 600
"$BIN/paht" serve --port "${PORTS[1]}" >"$LOGS/serve-2.log" 2>&1 & PIDS+=($!)
"$BIN/paht" worker >"$LOGS/worker-1.log" 2>&1 & PIDS+=($!)
"$BIN/paht" worker >"$LOGS/worker-2.log" 2>&1 & PIDS+=($!)
wait_healthy "${PORTS[1]}" 120

status=0
for port in "${PORTS[@]}"; do
  metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" | grep -c '^paht_' || true)
  echo "serve :$port  healthz ok, /metrics ${metrics} paht_ samples"
  ((metrics > 0)) || status=1
done
for n in 1 2; do
  pid=${PIDS[$((n + 1))]} log=$LOGS/worker-$n.log deadline=$((SECONDS + 120))
  until grep -q "worker started" "$log" || ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); do
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null && grep -q "worker started" "$log"; then
    echo "worker $n    running (pid $pid)"
  else
    echo "worker $n    NOT running, see $log"; status=1
  fi
done

if ((CHECK)); then
  exit "$status"
fi
echo "console: http://127.0.0.1:${PORTS[0]}/console  (Ctrl+C stops everything)"
wait
