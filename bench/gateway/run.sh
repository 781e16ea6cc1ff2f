#!/usr/bin/env bash
# Gateway overhead: wrk -> [gateway] -> nginx mock upstream, all on 127.0.0.1, on the method of
# ../shared/bench/peers (same nginx mock, wrk script, smoke check, pinning and summariser),
# with Bursar as a target beside the naive Node proxies and Portkey, so ratios come from one run.
#
#   bash bench/gateway/run.sh                       # full matrix (about 25 min)
#   TARGETS="direct naive-json bursar" MODES=json CONNS=32 REPS=1 bash bench/gateway/run.sh
#
# Knobs (env): TARGETS MODES CONNS REPS DURATION WARMUP WARMUP_FIRST GW_CPU LOAD_CPU OUT TTFB_N
#   BURSAR_VARIANT: extra bursar.yaml lines for the bursar target (e.g. to compare settings)
#   BENCH_DATABASE_URL, BENCH_REDIS_URL: the PostgreSQL and Redis of the scale-out targets
#
# Targets: direct, naive-json, naive, portkey; bursar (embedded, no budgets); bursar-budgets
# (embedded, six budgets on every call); bursar-routed (embedded, every call routed by its key's
# default route, with a fallback chain); bursar-translated (the same, but the route's tier is an
# Anthropic model: each OpenAI call is translated to /v1/messages and its answer back; the mock
# answers Anthropic's shapes with the same text and token counts); bursar-shared (one replica on PostgreSQL + Redis, the
# same budgets); bursar-shared3 (three replicas behind nginx, scripts/replicas.sh). The
# scale-out targets run every replica on the gateway's CPU; PostgreSQL and Redis are not pinned.
# Needs: npm run build; the peers of ../shared/bench/peers installed (run that harness once).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/gateway"
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench/peers" && pwd)}
PEERS_DIR=${PEERS_DIR:-/tmp/peers}
TARGETS=${TARGETS:-"direct naive-json bursar bursar-budgets portkey"}
MODES=${MODES:-"json sse"}
CONNS=${CONNS:-"1 32"}
REPS=${REPS:-3}
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

{
  echo "date: $(date -Is)"
  echo "cpu: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node --version)  nginx: $(nginx -v 2>&1 | sed 's/.*\///')  wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  echo "pinning: gateway on cpu $GW_CPU; wrk (1 thread) and nginx (1 worker) on cpu $LOAD_CPU"
  echo "matrix: targets=[$TARGETS] modes=[$MODES] conns=[$CONNS] reps=$REPS duration=${DURATION}s; warm-up ${WARMUP_FIRST}s at c=32 after each start, then ${WARMUP}s before each concurrency"
  echo "bursar: key auth, attribution (project key + x-bursar-workflow + x-bursar-tags), pricing, ledger (SQLite + spool), metrics; default logging (per-call lines off)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

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

# Six budgets that all cover the bench key's calls, with limits no run reaches.
BUDGETS_YAML='budgets:
  - { id: company, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: support, scope: { department: support }, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: support-bot, scope: { project: support-bot }, window: day, limit: { amount: "1000000", currency: USD } }
  - { id: per-user, scope: { department: support }, per: user, window: week, limit: { amount: "1000000", currency: USD } }
  - { id: mini-model, scope: { model: gpt-4o-mini }, window: month, limit: { amount: "1000000", currency: USD } }
  - { id: helpdesk, scope: { application: helpdesk }, window: month, limit: { amount: "1000000", currency: USD } }'

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

configure_target() {  # target mode -> URL HDRS CMD PORT DIR AUTH
  local t=$1 mode=$2 base
  base=http://127.0.0.1:$UPSTREAM_PORT/v1
  [[ $mode == sse ]] && base=http://127.0.0.1:$UPSTREAM_PORT/sse/v1
  HDRS=(); CMD=(); PORT=""; DIR=$PEERS_DIR; AUTH=""
  case $t in
    direct) URL=$base/chat/completions ;;
    naive-json)
      PORT=18792; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/naive
      CMD=(env NODE_ENV=production PORT=$PORT UPSTREAM_BASE=$base node proxy-json.mjs) ;;
    naive)
      PORT=18791; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/naive
      CMD=(env NODE_ENV=production PORT=$PORT UPSTREAM_BASE=$base node proxy.mjs) ;;
    portkey)
      PORT=18787; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$PEERS_DIR/portkey
      HDRS=("x-portkey-provider: openai" "x-portkey-custom-host: $base")
      CMD=(env NODE_ENV=production node node_modules/@portkey-ai/gateway/build/start-server.js --port=$PORT --headless) ;;
    bursar|bursar-budgets|bursar-routed|bursar-translated)
      PORT=$BURSAR_PORT; URL=http://127.0.0.1:$PORT/v1/chat/completions; DIR=$OUT
      rm -rf "$OUT/$t-data-$mode"
      case $t in
        bursar-budgets) bursar_config "$base" "$t-$mode" "$BUDGETS_YAML" ;;
        bursar-routed) bursar_config "$base" "$t-$mode" "$ROUTES_YAML" ;;
        bursar-translated) bursar_config "$base" "$t-$mode" "$(translated_yaml "$base")" ;;
        *) bursar_config "$base" "$t-$mode" ;;
      esac
      HDRS=("x-bursar-workflow: order-support" "x-bursar-tags: channel=web")
      CMD=(env NODE_ENV=production BURSAR_PORT=$PORT BURSAR_ADMIN_TOKEN=$ADMIN_TOKEN BENCH_UPSTREAM_KEY=sk-bench-upstream
           BURSAR_DATA_DIR=$OUT/$t-data-$mode node "$ROOT/dist/bursar.mjs" start --config "$OUT/bursar-$t-$mode.yaml") ;;
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
        CMD=(env "${env[@]}" BURSAR_PORT=$PORT BURSAR_DATA_DIR=$OUT/$t-data-$mode node "$ROOT/dist/bursar.mjs" start --config "$OUT/bursar-$t-$mode.yaml")
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

for t in $TARGETS; do
  for mode in $MODES; do
    configure_target "$t" "$mode"
    stream=0; [[ $mode == sse ]] && stream=1
    gwpid=""
    if ((${#CMD[@]})); then
      start_bg "$t-$mode" "$GW_CPU" "$DIR" "${CMD[@]}"
      gwpid=$BG_PID
      if ! wait_port "$PORT" "$gwpid"; then
        log "$t ($mode) did not start; see $OUT/logs/$t-$mode.log"
        printf '{"target":"%s","mode":"%s","smoke":"FAIL did not start"}\n' "$t" "$mode" >> "$META"
        stop_pid "$gwpid"; continue
      fi
    fi
    [[ $t == bursar* ]] && bursar_key "$t"
    chk=("${HDRS[@]}"); [[ -n $AUTH ]] && chk+=("Authorization: $AUTH")
    smoke=""
    for _ in 1 2 3; do
      if smoke=$(node "$SHARED/check.mjs" "$URL" "$mode" "${chk[@]}"); then break; fi
      sleep 1
    done
    echo "$t $mode: $smoke" | tee -a "$OUT/logs/checks.log" >&2
    if [[ $smoke != ok* ]]; then
      printf '{"target":"%s","mode":"%s","smoke":"%s"}\n' "$t" "$mode" "${smoke//\"/\'}" >> "$META"
      [[ -n $gwpid ]] && stop_pid "$gwpid"
      continue
    fi
    rss_start=0; [[ -n $gwpid ]] && rss_start=$(proc_kb "$gwpid" VmRSS)
    lines0=$(nginx_lines)
    if [[ $mode == sse ]]; then
      log "$t $mode: time to first byte, $TTFB_N sequential streams"
      tt=$(taskset -c "$LOAD_CPU" node "$HERE/ttfb.mjs" "$URL" "$TTFB_N" "${AUTH:-Bearer sk-bench}")
      echo "{\"target\":\"$t\",${tt#\{}" >> "$TTFB"
    fi
    log "$t $mode: start-up warm-up ${WARMUP_FIRST}s at 32 connections"
    run_wrk "$t|$mode|32|-1" $stream 32 "$WARMUP_FIRST" "$gwpid" > /dev/null
    for c in $CONNS; do
      log "$t $mode c=$c: warm-up ${WARMUP}s, then ${REPS} x ${DURATION}s"
      run_wrk "$t|$mode|$c|0" $stream "$c" "$WARMUP" "$gwpid" > /dev/null
      for rep in $(seq 1 "$REPS"); do
        run_wrk "$t|$mode|$c|$rep" $stream "$c" "$DURATION" "$gwpid" | cut -c1-220 >&2
      done
    done
    hwm=0; [[ -n $gwpid ]] && hwm=$(proc_kb "$gwpid" VmHWM)
    [[ -n $gwpid ]] && stop_pid "$gwpid"
    lines1=$(nginx_lines)
    ledger=null
    if [[ $t == bursar-shared* ]]; then
      ledger=$(psql "$BENCH_DATABASE_URL" -tAc "select count(*) from $SHARED_SCHEMA.ledger_lines where status = 'ok'")
    elif [[ $t == bursar* ]]; then
      ledger=$(node -e '
        const D = require(process.argv[1] + "/node_modules/better-sqlite3");
        const db = new D(process.argv[2], { readonly: true });
        console.log(db.prepare("select count(*) n from ledger_lines where status = ?").get("ok").n);' "$ROOT" "$OUT/$t-data-$mode/bursar.db")
    fi
    printf '{"target":"%s","mode":"%s","smoke":"%s","rss_start_kb":%s,"hwm_kb":%s,"nginx_lines":%s,"ledger_ok_lines":%s}\n' \
      "$t" "$mode" "${smoke//\"/\'}" "${rss_start:-0}" "${hwm:-0}" "$((lines1 - lines0))" "$ledger" >> "$META"
  done
done

stop_pid "$NGINX_PID" QUIT
{
  node "$SHARED/summarize.mjs" "$OUT"
  echo
  echo "### Time to first byte, streaming (sequential, $TTFB_N requests)"
  echo
  echo "| target | p50 ms | p90 ms | p99 ms | added p50 ms vs direct |"
  echo "|---|---:|---:|---:|---:|"
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
    const d = rows.find((r) => r.target === "direct");
    for (const r of rows) console.log(`| ${r.target} | ${r.p50_ms.toFixed(3)} | ${r.p90_ms.toFixed(3)} | ${r.p99_ms.toFixed(3)} | ${d && r !== d ? "+" + (r.p50_ms - d.p50_ms).toFixed(3) : "-"} |`);' "$TTFB"
  echo
  echo "### Ledger check (bursar): lines with status ok after the run, vs requests wrk completed"
  echo
  node -e '
    const fs = require("fs"); const dir = process.argv[1];
    const meta = fs.readFileSync(dir + "/meta.jsonl", "utf8").trim().split("\n").map(JSON.parse).filter((m) => m.target.startsWith("bursar") && m.ledger_ok_lines != null);
    const runs = fs.readFileSync(dir + "/results.jsonl", "utf8").trim().split("\n").map(JSON.parse);
    for (const m of meta) {
      const sent = runs.filter((r) => r.label.startsWith(m.target + "|" + m.mode + "|")).reduce((n, r) => n + r.requests, 0);
      console.log(`- ${m.target} ${m.mode}: ${m.ledger_ok_lines} ledger lines, ${sent} requests completed by wrk (plus smoke, TTFB and in-flight requests)`);
    }' "$OUT"
} | tee "$OUT/results.md"
log "raw results: $OUT"
