#!/usr/bin/env bash
# Starts the monolith with `npm start` and no DATABASE_URL (so on the embedded PostgreSQL), checks it
# serves and is ready, then stops it with SIGTERM and checks it drained and stopped PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
data_dir=$(mktemp -d /var/tmp/monolith-first-smoke.XXXXXX 2>/dev/null || mktemp -d)
chmod 755 "$data_dir"
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
pg_port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
log="$data_dir/app.log"
cleanup() { kill -9 "$pid" 2>/dev/null || true; pkill -f "$data_dir/postgres" 2>/dev/null || true; rm -rf "$data_dir"; }
trap cleanup EXIT

PORT=$port DATA_DIR="$data_dir" EMBEDDED_PG_PORT=$pg_port setsid npm start >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "npm start exited early:"; cat "$log"; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/health/ready"; echo
curl -fsS -o /dev/null "http://127.0.0.1:$port/docs-json"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/inventory/items/NOPE")
[ "$status" = 404 ] || { echo "expected 404 for an unknown sku, got $status"; cat "$log"; exit 1; }

# SIGTERM to the whole group (npm and node), as a terminal's Ctrl-C or a supervisor would.
# npm itself exits at once on SIGTERM: wait for the whole group (node and PostgreSQL too), not just npm.
kill -TERM -- "-$pid"
for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 -- "-$pid" 2>/dev/null; then echo "did not stop within 30 s after SIGTERM"; cat "$log"; exit 1; fi
grep -q 'Stopped cleanly' "$log" || { echo "no clean shutdown in the log:"; cat "$log"; exit 1; }
if pgrep -f "$data_dir/postgres" >/dev/null; then echo "the embedded PostgreSQL is still running"; exit 1; fi
echo "smoke test passed: served, ready, drained on SIGTERM, embedded PostgreSQL stopped"
