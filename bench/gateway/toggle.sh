#!/usr/bin/env bash
# Budgets on against budgets off in ONE gateway process: each round loads Bursar with the six
# budgets of bursar-budgets defined (through the admin API) and with none, the order alternating.
# pair.sh compares two processes, and two processes of one build differ by up to 7% in
# requests/s, every round the same way (its A/A run, in docs/benchmarks.md), which is as large
# as the difference to be measured. Here both sides are one process, one heap and one place in
# memory; only the budgets differ.
#
#   bash bench/gateway/toggle.sh                 # json, 24 rounds of 4 s each way
#   MODE=sse ROUNDS=6 bash bench/gateway/toggle.sh
#   AA=1 bash bench/gateway/toggle.sh            # an A/A run: no budgets on either side
#   PERF=1 bash bench/gateway/toggle.sh          # and where the CPU per request differs, by function
#   GC_TRACE=1 bash bench/gateway/toggle.sh      # and the bytes allocated and promoted per request, each side
#
# Knobs (env): MODE CONNS ROUNDS DURATION WARMUP_FIRST GW_CPU LOAD_CPU OUT, as in run.sh;
# BUDGETS=n keeps the first n of the six. Each round's budgets are new (ids suffixed with the
# round), so every "on" side starts from empty counters, as the "off" side has none; after each
# "on" side, the run checks that its budgets counted the side's requests.
# Prints the median over rounds of on's requests/s over off's, as pair.sh does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/gateway"
MODE=${MODE:-json}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-24}
# Short sides, many rounds: this VM's speed changes every minute or so, and the two sides of a
# round then fall in the same spell more often.
DURATION=${DURATION:-4}
source "$HERE/common.sh"
ON=budgets-on; OFF=budgets-off

write_env \
  "pinning: the gateway on cpu $GW_CPU; wrk (1 thread) and nginx (1 worker) on cpu $LOAD_CPU" \
  "toggle: one bursar ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), mode=$MODE conns=$CONNS, ${BUDGETS:-6} budgets${AA:+ (A/A: never created)}; ${WARMUP_FIRST}s warm-up each way, then $ROUNDS rounds of ${DURATION}s each way, the order alternating"
start_nginx

stream=0; [[ $MODE == sse ]] && stream=1
# PERF=1: perf samples the gateway during each side of each round (node's --perf-basic-prof names
# its JIT code), and perf-diff.mjs prints where the sides' CPU per request differs, by function.
if [[ -n ${PERF:-} ]]; then
  mkdir -p "$OUT/perf"
  GW_NODE_OPTIONS="--perf-basic-prof ${GW_NODE_OPTIONS:-}"
fi
configure_target bursar "$MODE"
start_bg "bursar-$MODE" "$GW_CPU" "$DIR" "${CMD[@]}"
GW_PID=$BG_PID
wait_port "$PORT" "$GW_PID" || { log "bursar did not start; see $OUT/logs/bursar-$MODE.log"; exit 1; }
bursar_key bursar
smoke=$(node "$SHARED/check.mjs" "$URL" "$MODE" "${HDRS[@]}" "Authorization: $AUTH") || true
[[ $smoke == ok* ]] || { log "bursar failed its smoke check: $smoke"; exit 1; }

# bursar-budgets' budgets (common.sh's BUDGETS_YAML) as admin API bodies: ids and bodies, worked
# out once (a node process per budget and round would compete with the gateway's core).
IDS=(); BODIES=()
while IFS=$'\t' read -r id body; do IDS+=("$id"); BODIES+=("$body"); done < <(node -e '
  const yaml = require(process.argv[1] + "/node_modules/yaml");
  for (const b of yaml.parse(process.argv[2]).budgets) console.log(b.id + "\t" + JSON.stringify(b));' "$ROOT" "$BUDGETS_YAML")
admin() {  # method path [json]
  curl -sf -X "$1" "http://127.0.0.1:$PORT/admin/v1$2" -H "authorization: Bearer $ADMIN_TOKEN" ${3:+-H 'content-type: application/json' -d "$3"}
}
# The pause before each side, after its budgets are defined or removed (the gateway's budget
# index applies a change made on its own node at once): the same for both sides.
PAUSE=${PAUSE:-0.5}
CREATED=()
budgets_on() {  # suffix
  local i id
  if [[ -z ${AA:-} ]]; then
    for i in "${!IDS[@]}"; do
      id=${IDS[$i]}-$1
      admin POST /budgets "${BODIES[$i]/\"id\":\"${IDS[$i]}\"/\"id\":\"$id\"}" > /dev/null || { log "could not create budget $id"; exit 1; }
      CREATED+=("$id")
    done
  fi
  sleep "$PAUSE"
}
budgets_off() {
  local id counted=()
  for id in "${CREATED[@]}"; do
    # The budgets must have counted the side's calls, or the side measured nothing.
    [[ $(admin GET "/budgets/$id") =~ \"requests\":\{\"used\":([0-9]+) ]] && counted+=("$id=${BASH_REMATCH[1]}")
    admin DELETE "/budgets/$id" > /dev/null || { log "could not remove budget $id"; exit 1; }
  done
  if [[ -z ${AA:-} ]]; then log "requests counted: ${counted[*]}"; fi
  CREATED=()
}
side() {  # label round suffix seconds
  if [[ $1 == "$ON" ]]; then budgets_on "$3"; else sleep "$PAUSE"; fi
  (($2 > 0)) && perf_start "$GW_PID" "$OUT/perf/$1-$2.data"
  local log="$OUT/logs/bursar-$MODE.log" from=0
  [[ -n ${GC_TRACE:-} ]] && from=$(wc -l < "$log")
  run_wrk "$1|$MODE|$CONNS|$2" $stream "$CONNS" "$4" "$GW_PID" | cut -c1-160 >&2
  perf_stop
  # GC_TRACE=1: the collections logged during the side, kept per side (rounds only, not the warm-up).
  if [[ -n ${GC_TRACE:-} && $2 -gt 0 ]]; then tail -n "+$((from + 1))" "$log" >> "$OUT/gc-$1.log"; fi
  if [[ $1 == "$ON" ]]; then budgets_off; fi
}

log "warm-up ${WARMUP_FIRST}s each way at $CONNS connections"
side "$OFF" -1 w "$WARMUP_FIRST" > /dev/null
side "$ON" -1 w "$WARMUP_FIRST" > /dev/null
for r in $(seq 1 "$ROUNDS"); do
  order="$OFF $ON"; ((r % 2 == 0)) && order="$ON $OFF"
  for s in $order; do side "$s" "$r" "r$r" "$DURATION"; done
done

hwm=$(proc_kb "$GW_PID" VmHWM)
stop_pid "$GW_PID"
lines=$(ledger_ok_lines "$OUT/bursar-data-$MODE/bursar.db")
for s in $OFF $ON; do printf '{"target":"%s","mode":"%s","hwm_kb":%s,"ledger_ok_lines":%s}\n' "$s" "$MODE" "${hwm:-0}" "$lines" >> "$META"; done
stop_pid "$NGINX_PID" QUIT
node "$HERE/summary.mjs" "$OUT" "$OFF" "$ON" | tee "$OUT/results.md"
[[ -z ${PERF:-} ]] || node "$HERE/perf-diff.mjs" "$OUT" "$OFF" "$ON" "$GW_PID" | tee -a "$OUT/results.md"
if [[ -n ${GC_TRACE:-} ]]; then
  { echo; gc_header
    for s in $OFF $ON; do
      n=$(node -e 'let n = 0; for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) { const r = JSON.parse(l), [t, , , round] = r.label.split("|"); if (t === process.argv[2] && Number(round) > 0) n += r.requests; } console.log(n)' "$RESULTS" "$s")
      gc_summary "$s" "$OUT/gc-$s.log" "$n"
    done; } | tee -a "$OUT/results.md"
fi
log "raw results: $OUT (peak RSS and ledger lines are the one process's, over both sides)"
