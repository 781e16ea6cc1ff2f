#!/usr/bin/env bash
# Two Bursar targets side by side, interleaved: both gateways run at once (on the gateway's core,
# one under load at a time), and each round loads A then B, or B then A, for DURATION seconds.
# A slow minute of this VM then falls on both, instead of on whichever target ran in it, so the
# ratio of the two is steadier than run.sh's, which runs each target's reps in one block.
#
#   bash bench/gateway/pair.sh                          # bursar vs bursar-budgets, json, 8 rounds
#   A=bursar B=bursar-routed MODE=sse ROUNDS=6 bash bench/gateway/pair.sh
#   A=bursar B=bursar B_BUILD=/tmp/old-checkout bash bench/gateway/pair.sh   # two builds, one target
#   A=naive-json B=bursar MODE=sse bash bench/gateway/pair.sh   # Bursar's ratio to the naive proxy, interleaved
#   A=portkey B=bursar bash bench/gateway/pair.sh                 # Bursar's ratio to Portkey's gateway, interleaved
#
# Knobs (env): A B MODE CONNS ROUNDS DURATION WARMUP_FIRST GW_CPU LOAD_CPU OUT, as in run.sh;
# A_BUILD and B_BUILD: a checkout (built, with node_modules) whose dist/bursar.mjs that side runs,
# this one by default. A_NODE_OPTIONS and B_NODE_OPTIONS: node's flags for that side (e.g.
# B_NODE_OPTIONS=--max-semi-space-size=8). A_VARIANT and B_VARIANT: YAML added to that side's
# bursar.yaml (e.g. B_VARIANT='ledger: { flush_ms: 20 }'), in place of BURSAR_VARIANT. With two
# builds, flags or variants, A and B may name the same target; B is then shown as B@b.
# BUDGETS=n: bursar-budgets keeps the first n of its six budgets. Each side's bytes allocated and
# promoted per request, and its GC pauses, are printed too (gc_summary; GC_TRACE=0 turns them
# off): a process that promotes over 1 KB a request ran in a GC storm, which costs it 10-20%
# (docs/benchmarks.md#gateway-seventeenth: V8's allocation-site pretenuring, now off, caused
# one), so two sides compare as builds only while neither is in one.
# FIRST_BYTE=1 (with MODE=sse): each round also times the first streamed byte (ttfb.mjs, TTFB_N
# sequential streams each) straight from nginx and through each side, after that round's load,
# their requests taking turns.
# PERF=1: perf samples each side during its rounds, and perf-diff.mjs prints where B's CPU per
# request differs from A's, by function and by kind of work (with A=naive-json: what Bursar adds).
# SWAP=1 (two Bursar sides): runs the pair twice, the second time with the sides swapped (target,
# build, node options, variant), and prints B's ratio to A from each run and their geometric mean.
# Two processes of one build differ by up to ~7% by side alone (A/A runs); swapping cancels that.
# Prints, per target, the median requests/s and CPU per request, and the median over rounds of
# B's requests/s over A's (each round's pair ran within a minute of each other).
set -euo pipefail
A=${A:-bursar}
B=${B:-bursar-budgets}

if [[ -n ${SWAP:-} ]]; then
  [[ $A == bursar* && $B == bursar* ]] || { echo "SWAP=1 needs two Bursar targets" >&2; exit 1; }
  base=${OUT:-/tmp/bursar-bench/pair-$(date +%Y%m%d-%H%M%S)}
  SWAP='' OUT=$base/ab A=$A B=$B bash "$0"
  # Each side's settings, read before any is reassigned (a command's assignments see the earlier ones).
  a=("$A" "${A_BUILD:-}" "${A_NODE_OPTIONS:-}" "${A_VARIANT:-}") b=("$B" "${B_BUILD:-}" "${B_NODE_OPTIONS:-}" "${B_VARIANT:-}")
  SWAP='' OUT=$base/ba A=${b[0]} A_BUILD=${b[1]} A_NODE_OPTIONS=${b[2]} A_VARIANT=${b[3]} \
    B=${a[0]} B_BUILD=${a[1]} B_NODE_OPTIONS=${a[2]} B_VARIANT=${a[3]} bash "$0"
  ratio() { sed -n 's/.*median over rounds of the RPS ratio \([0-9.]*\).*/\1/p' "$1/results.md"; }
  node -e 'const [ab, ba] = process.argv.slice(1).map(Number);
    console.log(`\nB over A, both ways round: ${ab.toFixed(3)} with B as side B, ${(1 / ba).toFixed(3)} with B as side A; geometric mean ${Math.sqrt(ab / ba).toFixed(3)}`);' \
    "$(ratio "$base/ab")" "$(ratio "$base/ba")" | tee "$base/swap.md"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/gateway"
MODE=${MODE:-json}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-8}
# On unless GC_TRACE=0 (common.sh reads it when sourced).
if [[ ${GC_TRACE:-1} == 0 ]]; then GC_TRACE=''; else GC_TRACE=1; fi
source "$HERE/common.sh"
[[ ($A == bursar* || $A == naive-json || $A == portkey) && $B == bursar* && $A != bursar-shared* && $B != bursar-shared* ]] || { log "A must be naive-json, portkey or an embedded Bursar target, B an embedded Bursar target"; exit 1; }
A_BUILD=${A_BUILD:-$ROOT}
B_BUILD=${B_BUILD:-$ROOT}
for b in "$A_BUILD" "$B_BUILD"; do [[ -f $b/dist/bursar.mjs ]] || { log "$b/dist/bursar.mjs is missing: build that checkout first"; exit 1; }; done
# Each side has a label naming its results (its target, and @b when both run the same one) and a
# tag naming its files (-b then).
LA=$A; LB=$B; TAG_B=""
if [[ $A == "$B" ]]; then
  [[ $A_BUILD != "$B_BUILD" || ${A_NODE_OPTIONS:-} != "${B_NODE_OPTIONS:-}" || ${A_VARIANT:-} != "${B_VARIANT:-}" ]] || { log "A and B must differ in target, build, node options or variant (both run at once, each with its own data)"; exit 1; }
  LB=$B@b; TAG_B=-b
fi

if [[ -n ${PERF:-} ]]; then
  mkdir -p "$OUT/perf"
  A_NODE_OPTIONS="--perf-basic-prof ${A_NODE_OPTIONS:-}"; B_NODE_OPTIONS="--perf-basic-prof ${B_NODE_OPTIONS:-}"
fi

write_env \
  "pinning: both gateways on cpu $GW_CPU; wrk (1 thread) and nginx (1 worker) on cpu $LOAD_CPU" \
  "pair: A=$A ($A_BUILD, $(git -C "$A_BUILD" rev-parse --short HEAD 2>/dev/null || echo '?')${A_NODE_OPTIONS:+, $A_NODE_OPTIONS}${A_VARIANT:+, $A_VARIANT}) B=$B ($B_BUILD, $(git -C "$B_BUILD" rev-parse --short HEAD 2>/dev/null || echo '?')${B_NODE_OPTIONS:+, $B_NODE_OPTIONS}${B_VARIANT:+, $B_VARIANT}) mode=$MODE conns=$CONNS; ${WARMUP_FIRST}s warm-up each, then $ROUNDS rounds of ${DURATION}s each, the order alternating"
start_nginx

declare -A URL_OF AUTH_OF HDRS_OF PID_OF DATA_OF
stream=0; [[ $MODE == sse ]] && stream=1
port=$BURSAR_PORT
BASE_VARIANT=${BURSAR_VARIANT:-}
for side in a b; do
  if [[ $side == a ]]; then t=$A l=$LA BUILD=$A_BUILD TAG="" GW_NODE_OPTIONS=${A_NODE_OPTIONS:-} BURSAR_VARIANT=${A_VARIANT:-$BASE_VARIANT}
  else t=$B l=$LB BUILD=$B_BUILD TAG=$TAG_B GW_NODE_OPTIONS=${B_NODE_OPTIONS:-} BURSAR_VARIANT=${B_VARIANT:-$BASE_VARIANT}; fi
  BURSAR_PORT=$port
  configure_target "$t" "$MODE"
  start_bg "$l-$MODE" "$GW_CPU" "$DIR" "${CMD[@]}"
  PID_OF[$l]=$BG_PID; DATA_OF[$l]=$OUT/$t$TAG-data-$MODE
  wait_port "$PORT" "$BG_PID" || { log "$l did not start; see $OUT/logs/$l-$MODE.log"; exit 1; }
  [[ $t == bursar* ]] && bursar_key "$t"
  smoke=$(node "$SHARED/check.mjs" "$URL" "$MODE" "${HDRS[@]}" ${AUTH:+"Authorization: $AUTH"}) || true
  [[ $smoke == ok* ]] || { log "$l failed its smoke check: $smoke"; exit 1; }
  URL_OF[$l]=$URL; AUTH_OF[$l]=$AUTH; HDRS_OF[$l]=$(IFS=$'\x1f'; echo "${HDRS[*]}")
  port=$((port + 1))
done
use() { URL=${URL_OF[$1]}; AUTH=${AUTH_OF[$1]}; IFS=$'\x1f' read -r -a HDRS <<< "${HDRS_OF[$1]}"; }

for t in $LA $LB; do
  use "$t"
  log "$t: warm-up ${WARMUP_FIRST}s at $CONNS connections"
  run_wrk "$t|$MODE|$CONNS|-1" $stream "$CONNS" "$WARMUP_FIRST" "${PID_OF[$t]}" > /dev/null
done
for r in $(seq 1 "$ROUNDS"); do
  order="$LA $LB"; ((r % 2 == 0)) && order="$LB $LA"
  for t in $order; do
    use "$t"
    perf_start "${PID_OF[$t]}" "$OUT/perf/$t-$r.data"
    run_wrk "$t|$MODE|$CONNS|$r" $stream "$CONNS" "$DURATION" "${PID_OF[$t]}" | cut -c1-160 >&2
    perf_stop
  done
  if [[ -n ${FIRST_BYTE:-} && $MODE == sse ]]; then
    args=(direct "http://127.0.0.1:$UPSTREAM_PORT/sse/v1/chat/completions" "Bearer sk-bench")
    for t in $order; do use "$t"; args+=("$t" "$URL" "$AUTH"); done
    taskset -c "$LOAD_CPU" node "$HERE/ttfb.mjs" "$TTFB_N" "${args[@]}" | while read -r tt; do echo "{\"round\":$r,${tt#\{}"; done | tee -a "$TTFB" >&2
  fi
done

for t in $LA $LB; do
  hwm=$(proc_kb "${PID_OF[$t]}" VmHWM)
  stop_pid "${PID_OF[$t]}"
  lines=null; [[ $t == bursar* ]] && lines=$(ledger_ok_lines "${DATA_OF[$t]}/bursar.db")
  printf '{"target":"%s","mode":"%s","hwm_kb":%s,"ledger_ok_lines":%s}\n' "$t" "$MODE" "${hwm:-0}" "$lines" >> "$META"
done
stop_pid "$NGINX_PID" QUIT

node "$HERE/summary.mjs" "$OUT" "$LA" "$LB" | tee "$OUT/results.md"
[[ -z ${PERF:-} ]] || node "$HERE/perf-diff.mjs" "$OUT" "$LA" "$LB" | tee -a "$OUT/results.md"
if [[ -n ${GC_TRACE:-} ]]; then
  # Every request each side served (warm-up and smoke checks too: the log covers its whole life).
  served() { node -e 'const [f, t] = process.argv.slice(1); console.log(require("fs").readFileSync(f, "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.label.startsWith(t + "|")).reduce((n, r) => n + r.requests, 0))' "$OUT/results.jsonl" "$1"; }
  { echo; gc_header; for t in $LA $LB; do [[ $t != bursar* ]] || gc_summary "$t" "$OUT/logs/$t-$MODE.log" "$(served "$t")"; done
    echo; echo "(A side over 1 KB promoted per request ran in a GC storm: docs/benchmarks.md#gateway-seventeenth.)"; } | tee -a "$OUT/results.md"
fi
log "raw results: $OUT"
