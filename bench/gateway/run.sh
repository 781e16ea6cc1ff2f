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
#   GW_NODE_OPTIONS: node flags for the embedded Bursar targets (e.g. --max-semi-space-size=8)
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
TARGETS=${TARGETS:-"direct naive-json bursar bursar-budgets portkey"}
MODES=${MODES:-"json sse"}
CONNS=${CONNS:-"1 32"}
REPS=${REPS:-3}
source "$HERE/common.sh"

write_env \
  "pinning: gateway on cpu $GW_CPU; wrk (1 thread) and nginx (1 worker) on cpu $LOAD_CPU" \
  "matrix: targets=[$TARGETS] modes=[$MODES] conns=[$CONNS] reps=$REPS duration=${DURATION}s; warm-up ${WARMUP_FIRST}s at c=32 after each start, then ${WARMUP}s before each concurrency" \
  "bursar: key auth, attribution (project key + x-bursar-workflow + x-bursar-tags), pricing, ledger (SQLite + spool), metrics; default logging (per-call lines off)"


start_nginx

# Time to first byte of the current target, streaming only: just after start (cold) and after the load runs (warm).
ttfb() {  # cold|warm
  [[ $mode == sse ]] || return 0
  log "$t $mode: time to first byte ($1), $TTFB_N sequential streams"
  local tt
  tt=$(taskset -c "$LOAD_CPU" node "$HERE/ttfb.mjs" "$TTFB_N" "$t" "$URL" "${AUTH:-Bearer sk-bench}")
  echo "{\"when\":\"$1\",${tt#\{}" >> "$TTFB"
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
    ttfb cold
    log "$t $mode: start-up warm-up ${WARMUP_FIRST}s at 32 connections"
    run_wrk "$t|$mode|32|-1" $stream 32 "$WARMUP_FIRST" "$gwpid" > /dev/null
    for c in $CONNS; do
      log "$t $mode c=$c: warm-up ${WARMUP}s, then ${REPS} x ${DURATION}s"
      run_wrk "$t|$mode|$c|0" $stream "$c" "$WARMUP" "$gwpid" > /dev/null
      for rep in $(seq 1 "$REPS"); do
        run_wrk "$t|$mode|$c|$rep" $stream "$c" "$DURATION" "$gwpid" | cut -c1-220 >&2
      done
    done
    ttfb warm
    hwm=0; [[ -n $gwpid ]] && hwm=$(proc_kb "$gwpid" VmHWM)
    [[ -n $gwpid ]] && stop_pid "$gwpid"
    lines1=$(nginx_lines)
    ledger=null
    if [[ $t == bursar-shared* ]]; then
      ledger=$(psql "$BENCH_DATABASE_URL" -tAc "select count(*) from $SHARED_SCHEMA.ledger_lines where status = 'ok'")
    elif [[ $t == bursar* ]]; then
      ledger=$(ledger_ok_lines "$OUT/$t-data-$mode/bursar.db")
    fi
    printf '{"target":"%s","mode":"%s","smoke":"%s","rss_start_kb":%s,"hwm_kb":%s,"nginx_lines":%s,"ledger_ok_lines":%s}\n' \
      "$t" "$mode" "${smoke//\"/\'}" "${rss_start:-0}" "${hwm:-0}" "$((lines1 - lines0))" "$ledger" >> "$META"
  done
done

stop_pid "$NGINX_PID" QUIT
{
  node "$SHARED/summarize.mjs" "$OUT"
  echo
  echo "### Time to first byte, streaming (sequential, $TTFB_N requests; cold: just after start, warm: after the load runs)"
  echo
  echo "| target | when | p50 ms | p90 ms | p99 ms | added p50 ms vs direct |"
  echo "|---|---|---:|---:|---:|---:|"
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
    for (const r of rows) {
      const d = rows.find((x) => x.target === "direct" && x.when === r.when);
      console.log(`| ${r.target} | ${r.when} | ${r.p50_ms.toFixed(3)} | ${r.p90_ms.toFixed(3)} | ${r.p99_ms.toFixed(3)} | ${d && r !== d ? "+" + (r.p50_ms - d.p50_ms).toFixed(3) : "-"} |`);
    }' "$TTFB"
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
