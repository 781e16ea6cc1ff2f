#!/usr/bin/env bash
# Runs several Bursar replicas on one machine, sharing PostgreSQL (config and ledger) and Redis
# (budget counters), behind nginx as a round-robin load balancer. Ctrl-C stops them all.
#
#   scripts/replicas.sh                      # 3 replicas on ports 4001-4003, nginx on 4000
#   REPLICAS=2 PORT=5000 scripts/replicas.sh
#
# Env:
#   REPLICAS             how many (default 3)
#   PORT                 the load balancer's port (default 4000); replicas listen on PORT+1 ... PORT+N
#   BURSAR_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/test
#   BURSAR_REDIS_URL     default redis://127.0.0.1:6379
#   BURSAR_CONFIG        bursar.yaml for every replica (default ./bursar.yaml if present)
#   DATA                 where each replica keeps its spool and log (default data/replicas)
#   BURSAR_ADMIN_TOKEN   shared admin token; generated into $DATA/admin-token when unset
# Without nginx installed, the replicas still run: point clients at any of them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPLICAS=${REPLICAS:-3}
PORT=${PORT:-4000}
DATA=${DATA:-$ROOT/data/replicas}
export BURSAR_DATABASE_URL=${BURSAR_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export BURSAR_REDIS_URL=${BURSAR_REDIS_URL:-redis://127.0.0.1:6379}
log() { printf '[replicas] %s\n' "$*" >&2; }

[[ -f $ROOT/dist/bursar.mjs ]] || (cd "$ROOT" && npm run build >&2)
mkdir -p "$DATA"
if [[ -z ${BURSAR_ADMIN_TOKEN:-} ]]; then
  [[ -f $DATA/admin-token ]] || { node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))' > "$DATA/admin-token"; chmod 600 "$DATA/admin-token"; }
  BURSAR_ADMIN_TOKEN=$(cat "$DATA/admin-token")
fi
export BURSAR_ADMIN_TOKEN

PIDS=()
stop_all() {
  trap - EXIT INT TERM
  log "stopping"
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_ready() {  # port pid
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$1/readyz" > /dev/null 2>&1; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

for i in $(seq 1 "$REPLICAS"); do
  port=$((PORT + i))
  mkdir -p "$DATA/$i"
  BURSAR_PORT=$port BURSAR_DATA_DIR=$DATA/$i "$ROOT/bursar" start > "$DATA/$i/bursar.log" 2>&1 &
  PIDS+=($!)
  # The first one applies the migrations; the others start once it is ready.
  if ((i == 1)); then
    wait_ready "$port" "${PIDS[0]}" || { log "replica 1 did not start; see $DATA/1/bursar.log"; exit 1; }
  fi
done
for i in $(seq 1 "$REPLICAS"); do
  wait_ready $((PORT + i)) "${PIDS[$((i - 1))]}" || { log "replica $i did not start; see $DATA/$i/bursar.log"; exit 1; }
  log "replica $i: http://127.0.0.1:$((PORT + i))  (log: $DATA/$i/bursar.log)"
done

if command -v nginx > /dev/null; then
  mkdir -p "$DATA/nginx/logs" "$DATA/nginx/tmp"
  {
    echo "worker_processes 1; daemon off; error_log $DATA/nginx/logs/error.log; pid $DATA/nginx/nginx.pid;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  access_log off; client_body_temp_path $DATA/nginx/tmp; proxy_temp_path $DATA/nginx/tmp;"
    echo "  fastcgi_temp_path $DATA/nginx/tmp; uwsgi_temp_path $DATA/nginx/tmp; scgi_temp_path $DATA/nginx/tmp;"
    echo "  upstream bursar {"
    for i in $(seq 1 "$REPLICAS"); do echo "    server 127.0.0.1:$((PORT + i)) max_fails=0;"; done
    echo "    keepalive 64;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$PORT;"
    echo "    client_max_body_size 100m;"
    # Streams pass through as they come (no buffering); long generations may take minutes.
    echo "    location / { proxy_pass http://bursar; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; proxy_read_timeout 600s; }"
    echo "  }"
    echo "}"
  } > "$DATA/nginx/nginx.conf"
  nginx -p "$DATA/nginx/" -c "$DATA/nginx/nginx.conf" &
  PIDS+=($!)
  log "load balancer: http://127.0.0.1:$PORT (nginx, round robin over $REPLICAS replicas)"
else
  log "nginx is not installed: no load balancer; use the replicas' ports directly"
fi
log "admin token: BURSAR_TOKEN=$BURSAR_ADMIN_TOKEN   (try: BURSAR_URL=http://127.0.0.1:$PORT BURSAR_TOKEN=... bursar keys list)"
log "running; Ctrl-C stops everything"
wait -n "${PIDS[@]}" || true
log "a process exited; stopping the rest"
