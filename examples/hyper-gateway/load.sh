#!/usr/bin/env bash
# Load benchmark and instruction-count gate for hyper-gateway (issue #12).
#
#   examples/hyper-gateway/load.sh            # gate + reload check + wrk figures
#   examples/hyper-gateway/load.sh gate       # only the callgrind gate
#   examples/hyper-gateway/load.sh reload     # only the reload check (CI runs gate and reload)
#
# gate:   the gateway runs under `valgrind --tool=callgrind` with a single-threaded runtime and
#         exits after a fixed number of requests, sent one after another on one keep-alive
#         connection by curl. Instructions per request = (Ir(2N) - Ir(N)) / N, which cancels
#         startup (loading 10,000 routes). File watching is off (--watch-ms 0): its polls run
#         on the clock, so under valgrind their count follows the run's wall time, not the
#         requests. The gateway allocates with mimalloc: with glibc's allocator the work per
#         request depended on the heap layout startup left, and the same binary read from
#         43,406 to 43,953 instructions per request from one run to the next; mimalloc's
#         purging of freed memory runs on the clock (as file watching would), so it is off
#         (MIMALLOC_PURGE_DELAY=-1). Routing with
#         10,000 routes loaded must cost at most MAX_RATIO (1.05) times the plain proxy
#         (--bypass, same binary, same manifests). CI runs it.
# reload: wrk runs while the manifests are rewritten every 300 ms; every response must be 200.
# wrk:    requests/s and p99 with 10 routes, 10,000 routes and the plain proxy, medians of 3
#         alternating runs of DURATION seconds (for information).
set -euo pipefail

MODE=${1:-all}
N=${N:-1000}
MAX_RATIO=${MAX_RATIO:-1.05}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${KEEP_WORK:-$(mktemp -d)}
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -p hyper-gateway --bins --manifest-path "$ROOT/Cargo.toml" >&2
BIN=$CARGO_TARGET_DIR/release

# Manifests with ROUTES HTTPRoutes: 100 hostnames x ROUTES/100 path prefixes, one backend.
# JSON, one object per line: the fastest form to load, which keeps the gate's startup short.
manifests() {
  awk -v routes="$1" 'BEGIN {
    g = "\"apiVersion\":\"gateway.networking.k8s.io/v1\""
    print "{" g ",\"kind\":\"GatewayClass\",\"metadata\":{\"name\":\"gateway-core\"},\"spec\":{\"controllerName\":\"gateway.example.dev/gateway-core\"}}"
    print "{" g ",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"bench\",\"namespace\":\"bench\"},\"spec\":{\"gatewayClassName\":\"gateway-core\",\"listeners\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\"}]}}"
    print "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"app\",\"namespace\":\"bench\"},\"spec\":{\"ports\":[{\"port\":8080}]}}"
    hosts = routes < 100 ? routes : 100
    for (i = 0; i < routes; i++) {
      h = i % hosts; p = int(i / hosts)
      printf "{%s,\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"r%d\",\"namespace\":\"bench\"},", g, i
      printf "\"spec\":{\"parentRefs\":[{\"name\":\"bench\"}],\"hostnames\":[\"h%d.example.com\"],", h
      printf "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/api/v%d\"}}],\"backendRefs\":[{\"name\":\"app\",\"port\":8080}]}]}}\n", p
    }
  }'
}

# Starts a process with output in $WORK/$name.out and waits for its "listening" line; sets
# ADDR (the address it printed) and PID.
start() {
  local name=$1; shift
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 1200); do
    if grep -q '^listening' "$WORK/$name.out" 2>/dev/null; then
      ADDR=$(awk '/^listening/ {print $NF; exit}' "$WORK/$name.out"); return
    fi
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1
}

start backend "$BIN/hello-backend"; BACKEND=$ADDR
echo "bench/app $BACKEND" > "$WORK/endpoints"
echo "listen 80 127.0.0.1:0" >> "$WORK/endpoints"
manifests 10 > "$WORK/r10.json"
manifests 10000 > "$WORK/r10000.json"
# Matched by route r5050 of the 10,000 (h50, /api/v50) and by r0 of the 10 (h0, /api/v0).
HOST10=h0.example.com; PATH10=/api/v0/items
HOST10K=h50.example.com; PATH10K=/api/v50/items

# Instructions collected by callgrind for `requests` requests; mode: route or bypass.
instructions() {
  local mode=$1 requests=$2 extra=()
  [ "$mode" = bypass ] && extra=(--bypass "$BACKEND")
  local out=$WORK/cg-$mode-$requests
  rm -f "$WORK/gw-cg.out"
  start gw-cg env MIMALLOC_PURGE_DELAY=-1 valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$BIN/hyper-gateway" --gateway bench/bench --endpoints "$WORK/endpoints" --threads 1 \
    --watch-ms 0 --exit-after "$requests" "${extra[@]}" "$WORK/r10000.json"
  curl -sf -o /dev/null -H "Host: $HOST10K" "http://$ADDR$PATH10K?i=[1000-$((999 + requests))]"
  wait "$PID"
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

gate() {
  local per=()
  for mode in route bypass; do
    local a b
    a=$(instructions "$mode" "$N"); b=$(instructions "$mode" $((2 * N)))
    per+=($(( (b - a) / N )))
    echo "callgrind $mode: Ir($N)=$a Ir($((2 * N)))=$b -> $(( (b - a) / N )) instructions/request"
  done
  local ratio
  ratio=$(awk -v r="${per[0]}" -v b="${per[1]}" 'BEGIN {printf "%.4f", r / b}')
  echo "routing with 10,000 routes / plain proxy = $ratio (max $MAX_RATIO)"
  awk -v x="$ratio" -v m="$MAX_RATIO" 'BEGIN {exit !(x <= m)}' || { echo "GATE FAILED"; exit 1; }
}

run_wrk() { # label, gateway args...; prints "rps p99"
  local label=$1; shift
  start "gw-$label" "$BIN/hyper-gateway" --gateway bench/bench --endpoints "$WORK/endpoints" "$@"
  local gw=$ADDR
  local host=$HOST10 path=$PATH10
  [ "$label" != r10 ] && host=$HOST10K && path=$PATH10K
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Host: $host" "http://$gw$path" > "$WORK/wrk.txt"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
  echo "$rps $p99"
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

to_ms() { awk '{v = $1; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v}'; }

need_wrk() {
  command -v wrk > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null; }
}

reload_check() {
  need_wrk
  cp "$WORK/r10.json" "$WORK/live.json"
  start gw-reload "$BIN/hyper-gateway" --gateway bench/bench --endpoints "$WORK/endpoints" "$WORK/live.json"
  local gw=$ADDR
  wrk -t2 -c"$CONNECTIONS" -d6s -H "Host: $HOST10" "http://$gw$PATH10" > "$WORK/wrk-reload.txt" &
  local wrk_pid=$!
  for i in $(seq 1 15); do
    sleep 0.3
    # Alternate between 10 and 11 routes; both route the request to the backend.
    manifests $((10 + i % 2)) > "$WORK/live.json.new" && mv "$WORK/live.json.new" "$WORK/live.json"
  done
  wait $wrk_pid
  local reloads errors non200
  reloads=$(grep -c '^reloaded' "$WORK/gw-reload.err" || true)
  non200=$(awk '$3 ~ /^[0-9]+$/ && $3 != 200' "$WORK/gw-reload.err" | wc -l)
  errors=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-reload.txt" || true)
  echo "reload under load: $(awk '/requests in/ {print $1}' "$WORK/wrk-reload.txt") requests, $reloads reloads, $non200 non-200 ${errors:+, wrk: $errors}"
  kill "$PID" 2>/dev/null || true
  [ "$reloads" -ge 5 ] && [ "$non200" -eq 0 ] && [ -z "$errors" ] || { echo "RELOAD CHECK FAILED"; exit 1; }
}

figures() {
  need_wrk
  declare -A rps p99
  for run in 1 2 3; do
    for label in r10 r10000 bypass; do
      case $label in
        r10) r=$(run_wrk r10 "$WORK/r10.json") ;;
        r10000) r=$(run_wrk r10000 "$WORK/r10000.json") ;;
        bypass) r=$(run_wrk bypass --bypass "$BACKEND" "$WORK/r10000.json") ;;
      esac
      rps[$label]+="${r% *} "; p99[$label]+="$(echo "${r#* }" | to_ms) "
    done
  done
  for label in r10 r10000 bypass; do
    echo "wrk $label: $(echo "${rps[$label]}" | tr ' ' '\n' | grep . | median) requests/s, p99 $(echo "${p99[$label]}" | tr ' ' '\n' | grep . | median) ms (runs: ${rps[$label]})"
  done
}

case $MODE in
  gate) gate ;;
  reload) reload_check ;;
  wrk) figures ;;
  all) gate; reload_check; figures ;;
  *) echo "usage: $0 [all|gate|reload|wrk]" >&2; exit 2 ;;
esac
