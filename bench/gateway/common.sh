# Shared by run.sh (the matrix of targets) and pair.sh (two Bursar targets, interleaved): defaults,
# process helpers, the nginx mock, each target's config and command, and one wrk run. Sourced
# after ROOT and HERE are set; knobs come from the environment (see run.sh).
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench/peers" && pwd)}
PEERS_DIR=${PEERS_DIR:-/tmp/peers}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-5}
WARMUP_FIRST=${WARMUP_FIRST:-15}
GW_CPU=${GW_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TTFB_N=${TTFB_N:-2000}
BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
OUT=${OUT:-/tmp/bursar-bench/gateway-$(date +%Y%m%d-%H%M%S)}
UPSTREAM_PORT=18080
BURSAR_PORT=18795
ADMIN_TOKEN=bench-admin-token-0123456789abcdef0123456789

mkdir -p "$OUT/logs" "$OUT/nginx/logs" "$OUT/nginx/tmp"
RESULTS=$OUT/results.jsonl; META=$OUT/meta.jsonl; TTFB=$OUT/ttfb.jsonl
: > "$RESULTS"; : > "$META"; : > "$TTFB"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ -f $PEERS_DIR/naive/proxy-json.mjs ]] || { log "peers missing: run bash $SHARED/run.sh once (it installs them into $PEERS_DIR)"; exit 1; }
[[ -f $ROOT/dist/bursar.mjs ]] || { log "run npm run build first"; exit 1; }

STARTED_PIDS=()
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${STARTED_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  STARTED_PIDS=("${keep[@]}")
}
cleanup() { local p; for p in "${STARTED_PIDS[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_bg() {
  local name=$1 cpu=$2 dir=$3; shift 3
  ( cd "$dir" && exec taskset -c "$cpu" "$@" ) > "$OUT/logs/$name.log" 2>&1 &
  BG_PID=$!
  STARTED_PIDS+=("$BG_PID")
}
wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
proc_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }


# Writes the run's setting to $OUT/env.txt (and stderr): the machine and tools, then the lines given.
write_env() {
  {
    echo "date: $(date -Is)"
    echo "cpu: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
    echo "node: $(node --version)  nginx: $(nginx -v 2>&1 | sed 's/.*\///')  wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    printf '%s\n' "$@"
  } > "$OUT/env.txt"
  cat "$OUT/env.txt" >&2
}

# Starts the nginx mock upstream on LOAD_CPU (after checking that the ports are free).
start_nginx() {
  for port in $UPSTREAM_PORT $BURSAR_PORT $((BURSAR_PORT + 1)) $((BURSAR_PORT + 2)) $((BURSAR_PORT + 3)) 18792 18787; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is already in use: stop what holds it first"; exit 1; fi
  done
  # The shared mock, plus Anthropic messages answers (same text and token counts) for bursar-translated.
  awk -v extra="$HERE/anthropic-mock.conf" '/^        location \/ \{/ { while ((getline l < extra) > 0) print l } { print }' "$SHARED/nginx.conf" > "$OUT/nginx/nginx.conf"
  grep -q '/anthropic/v1/messages' "$OUT/nginx/nginx.conf" || { log "could not add the Anthropic mock to nginx.conf"; exit 1; }
  start_bg nginx "$LOAD_CPU" "$OUT/nginx" nginx -p "$OUT/nginx/" -c "$OUT/nginx/nginx.conf"
  NGINX_PID=$BG_PID
  wait_port $UPSTREAM_PORT "$NGINX_PID" || { log "nginx did not start"; exit 1; }
  ACCESS_LOG=$OUT/nginx/logs/access.log
  nginx_lines() { sleep 1.5; wc -l < "$ACCESS_LOG"; }
}

# Six budgets that all cover the bench key's calls, with limits no run reaches (BUDGETS=n keeps the first n).
BUDGETS_YAML='budgets:
  - { id: company, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: support, scope: { department: support }, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: support-bot, scope: { project: support-bot }, window: day, limit: { amount: "1000000", currency: USD } }
  - { id: per-user, scope: { department: support }, per: user, window: week, limit: { amount: "1000000", currency: USD } }
  - { id: mini-model, scope: { model: gpt-4o-mini }, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: helpdesk, scope: { application: helpdesk }, window: month, limit: { amount: "1000000", currency: USD } }'
BUDGETS_YAML=$(head -n $((${BUDGETS:-6} + 1)) <<< "$BUDGETS_YAML")
# GC_TRACE=1: Bursar targets log each garbage collection (--trace-gc-nvp) for gc_summary. Bursar
# runs through its launcher, which takes node's flags only in NODE_OPTIONS, where V8's tracing
# flags are not allowed: a preload sets it instead.
GC_PRELOAD=""; [[ -n ${GC_TRACE:-} ]] && GC_PRELOAD="--require $HERE/trace-gc.cjs"

# One route that every call of the bursar-routed target goes by (its key's default route).
ROUTES_YAML='routes:
  - { id: bench, tiers: { premium: gpt-4o, standard: gpt-4o-mini }, default_tier: standard, fallbacks: [gpt-4.1-mini], max_output_tokens: 4096 }'
# The same route, its standard tier an Anthropic model (bursar-translated).
translated_yaml() {  # base-url
  cat <<EOF
  - { id: anthropic, dialect: anthropic, base_url: "${1%/v1}/anthropic/v1", api_key: { env: BENCH_UPSTREAM_KEY } }
routes:
  - { id: bench, tiers: { premium: gpt-4o, standard: anthropic/claude-haiku-4-5 }, default_tier: standard, fallbacks: [gpt-4.1-mini], max_output_tokens: 4096 }
EOF
}

bursar_config() {  # base-url name [extra yaml] -> writes $OUT/bursar-$name.yaml
  cat > "$OUT/bursar-$2.yaml" <<EOF
organisation: { name: Bench }
departments:
  - { id: support, cost_centre: SUPP, teams: [{ id: tier1 }], projects: [{ id: support-bot, code: SUPP-AI-001, team: tier1 }] }
users: [{ id: bob, department: support, team: tier1 }]
providers:
  - { id: openai, dialect: openai, base_url: "$1", api_key: { env: BENCH_UPSTREAM_KEY } }
${3:-}
${BURSAR_VARIANT:-}
EOF
}

# A Bursar target's files are named after it plus $TAG (pair.sh sets one to run a target twice),
# and it runs the build in $BUILD (default: this checkout).
configure_target() {  # target mode -> URL HDRS CMD PORT DIR AUTH
  local t=$1 mode=$2 base n=$1${TAG:-} build=${BUILD:-$ROOT}
  base=http://127.0.0.1:$UPSTREAM_PORT/v1
  [[ $mode == sse ]] && base=http://127.0.0.1:$UPSTREAM_PORT/sse/v1
  HDRS=(); CMD=(); PORT=""; DIR=$PEERS_DIR; AUTH=""
  case $t in
    direct) URL=$base/chat/completions ;;
    naive-json)
      PORT=18792; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/naive
      CMD=(env NODE_ENV=production NODE_OPTIONS="${GW_NODE_OPTIONS:-}" PORT=$PORT UPSTREAM_BASE=$base node proxy-json.mjs) ;;
    naive)
      PORT=18791; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/naive
      CMD=(env NODE_ENV=production PORT=$PORT UPSTREAM_BASE=$base node proxy.mjs) ;;
    portkey)
      PORT=18787; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/portkey
      HDRS=("x-portkey-provider: openai" "x-portkey-custom-host: $base")
      CMD=(env NODE_ENV=production node node_modules/@portkey-ai/gateway/build/start-server.js --port=$PORT --headless) ;;
    bursar|bursar-budgets|bursar-routed|bursar-translated)
      PORT=$BURSAR_PORT; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$OUT
      rm -rf "$OUT/$n-data-$mode"
      case $t in
        bursar-budgets) bursar_config "$base" "$n-$mode" "$BUDGETS_YAML" ;;
        bursar-routed) bursar_config "$base" "$n-$mode" "$ROUTES_YAML" ;;
        bursar-translated) bursar_config "$base" "$n-$mode" "$(translated_yaml "$base")" ;;
        *) bursar_config "$base" "$n-$mode" ;;
      esac
      HDRS=("x-bursar-workflow: order-support" "x-bursar-tags: channel=web")
      CMD=(env NODE_ENV=production NODE_OPTIONS="$GC_PRELOAD ${GW_NODE_OPTIONS:-}" BURSAR_PORT=$PORT BURSAR_ADMIN_TOKEN=$ADMIN_TOKEN BENCH_UPSTREAM_KEY=sk-bench-upstream
           BURSAR_DATA_DIR=$OUT/$n-data-$mode "$build/bursar" start --config "$OUT/bursar-$n-$mode.yaml") ;;
    bursar-shared|bursar-shared3)
      PORT=$BURSAR_PORT; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$OUT
      SHARED_SCHEMA=bench_gw_${t//-/_}_$mode
      local prefix=bench-gw-$t-$mode
      psql "$BENCH_DATABASE_URL" -qc "drop schema if exists $SHARED_SCHEMA cascade" 2> /dev/null
      redis-cli -u "$BENCH_REDIS_URL" --scan --pattern "{$prefix}:*" | xargs -r redis-cli -u "$BENCH_REDIS_URL" del > /dev/null
      rm -rf "$OUT/$t-data-$mode"
      bursar_config "$base" "$t-$mode" "$BUDGETS_YAML"
      HDRS=("x-bursar-workflow: order-support" "x-bursar-tags: channel=web")
      local env=(NODE_ENV=production BURSAR_DATABASE_URL=$BENCH_DATABASE_URL BURSAR_DATABASE_SCHEMA=$SHARED_SCHEMA BURSAR_REDIS_URL=$BENCH_REDIS_URL
                 BURSAR_REDIS_PREFIX=$prefix BURSAR_ADMIN_TOKEN=$ADMIN_TOKEN BENCH_UPSTREAM_KEY=sk-bench-upstream)
      if [[ $t == bursar-shared ]]; then
        CMD=(env "${env[@]}" BURSAR_PORT=$PORT BURSAR_DATA_DIR=$OUT/$t-data-$mode "$ROOT/bursar" start --config "$OUT/bursar-$t-$mode.yaml")
      else
        CMD=(env "${env[@]}" REPLICAS=3 PORT=$PORT DATA=$OUT/$t-data-$mode BURSAR_CONFIG=$OUT/bursar-$t-$mode.yaml bash "$ROOT/scripts/replicas.sh")
      fi ;;
    *) log "unknown target $t"; return 1 ;;
  esac
}

bursar_key() {  # target -> AUTH
  local secret route=''
  [[ ${1:-} == bursar-routed || ${1:-} == bursar-translated ]] && route=',"default_route":"bench"'
  secret=$(curl -sf "http://127.0.0.1:$BURSAR_PORT/admin/v1/keys" -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"label":"bench","project":"support-bot","application":"helpdesk","environment":"production","user":"bob"'"$route"'}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).secret))')
  AUTH="Bearer $secret"
}

cpu_snap() { awk '/^cpu[0-9]+ /{idle=$5+$6; t=0; for(i=2;i<=NF;i++) t+=$i; printf "%s %s %s ", $1, idle, t}' /proc/stat; }
busy_pct() {
  awk -v b="$1" -v a="$2" -v c="$3" 'BEGIN{nb=split(b,B," "); split(a,A," ");
    for(i=1;i<=nb;i+=3) if(B[i]==c){di=A[i+1]-B[i+1]; dt=A[i+2]-B[i+2]; pct=0; if (dt>0) pct=100*(1-di/dt); printf "%.0f", pct}}'
}
run_wrk() {  # label stream conns seconds gwpid
  local label=$1 stream=$2 c=$3 d=$4 gwpid=$5 h hargs=() before after line
  for h in "${HDRS[@]}"; do hargs+=(-H "$h"); done
  before=$(cpu_snap)
  line=$(SHARED_BENCH=$SHARED BENCH_AUTH=$AUTH BENCH_LABEL=$label BENCH_STREAM=$stream taskset -c "$LOAD_CPU" \
    wrk -t1 "-c$c" "-d${d}s" --timeout 10s -s "$HERE/chat.lua" "${hargs[@]}" "$URL" | sed -n 's/^BENCH_JSON //p')
  after=$(cpu_snap)
  [[ -n $line ]] || { log "wrk produced no result for $label"; return 0; }
  local hwm=0
  [[ -n $gwpid ]] && hwm=$(proc_kb "$gwpid" VmHWM)
  echo "${line%\}},\"gw_cpu_busy\":$(busy_pct "$before" "$after" "cpu$GW_CPU"),\"load_cpu_busy\":$(busy_pct "$before" "$after" "cpu$LOAD_CPU"),\"gw_hwm_kb\":${hwm:-0}}" >> "$RESULTS"
  tail -1 "$RESULTS"
}

# PERF=1: perf samples a gateway process (999 a second, into a file) while one wrk run loads it;
# node's --perf-basic-prof names its JIT code. perf_start before the run, perf_stop after it.
PERF_PID=""
perf_start() {  # pid file
  [[ -n ${PERF:-} ]] || return 0
  perf record -q -e cpu-clock -F 999 -p "$1" -o "$2" > /dev/null 2>&1 &
  PERF_PID=$!
}
perf_stop() {
  [[ -n $PERF_PID ]] || return 0
  kill -INT "$PERF_PID"; wait "$PERF_PID" || true
  PERF_PID=""
}

# Ledger lines with status ok in an embedded Bursar's database.
ledger_ok_lines() {
  node -e '
    const D = require(process.argv[1] + "/node_modules/better-sqlite3");
    const db = new D(process.argv[2], { readonly: true });
    console.log(db.prepare("select count(*) n from ledger_lines where status = ?").get("ok").n);' "$ROOT" "$1"
}

# From a gateway's --trace-gc-nvp log and the requests it served: the bytes it allocated and
# promoted per request, and its collectors' pauses per request. Unlike requests/s, the bytes do
# not depend on how fast this VM runs in a given minute, so two builds compare on them exactly.
gc_summary() {  # label log requests -> one markdown row
  awk -v label="$1" -v r="$3" '
    / gc=/ { kind = ""; for (i = 1; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == "gc") kind = kv[2]; else if (kv[1] == "pause") p = kv[2]; else if (kv[1] == "allocated") a = kv[2]; else if (kv[1] == "promoted") pr = kv[2] }
      n[kind]++; pause[kind] += p; alloc += a; if (kind == "s") prom += pr }
    END { if (r == 0) exit; printf "| %s | %.1f | %.2f | %.1f | %.1f | %d | %.1f |\n", label, alloc / r / 1024, prom / r / 1024, n["s"] * 1000 / r, pause["s"] * 1000 / r, n["mc"] + n["ms"], (pause["mc"] + pause["ms"]) * 1000 / r }' "$2"
}
gc_header() {
  echo "| target | KB allocated / request | KB promoted / request | scavenges / 1,000 requests | scavenge pause µs / request | mark-compacts | mark-compact pause µs / request |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
}
