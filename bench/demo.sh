#!/usr/bin/env bash
# faultline in front of an echo service: round trips before and after a 50 ms latency toxic
# added through the API. Everything runs on 127.0.0.1 and is stopped on exit.
#
#   bench/demo.sh BUILD_DIR      (./dev demo builds and runs it)
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/demo.sh BUILD_DIR}" && pwd)
BENCH=$BUILD/bench/faultline-bench
FAULTLINE=$BUILD/cli/faultline
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Prints the first line of FILE matching PATTERN, waiting up to 5 s for it to appear.
wait_for_line() {
  local file=$1 pattern=$2 line
  for _ in $(seq 100); do
    if line=$(grep -m1 -e "$pattern" "$file"); then
      echo "$line"
      return
    fi
    sleep 0.05
  done
  echo "demo: timed out waiting for '$pattern'; output so far:" >&2
  cat "$file" >&2
  exit 1
}

# Round trips to 127.0.0.1:PORT; sets P50 and P99 (human-readable) from faultline-bench rtt.
measure() {
  local result
  result=$("$BENCH" rtt --target "127.0.0.1:$1" "${@:2}")
  P50=$(human "$(sed -E 's/.*p50_us=([^ ]*).*/\1/' <<<"$result")")
  P99=$(human "$(sed -E 's/.*p99_us=([^ ]*).*/\1/' <<<"$result")")
}
human() { awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.2f ms", us / 1000; else printf "%.0f us", us }'; }

# GET PATH from the API over bash's /dev/tcp, so the demo needs neither curl nor python.
http_get() {
  local hostport=${URL#http://}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" "$hostport" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

ctl() { "$FAULTLINE" ctl --url "$URL" "$@"; }

step "starting an echo server and the faultline proxy"
"$BENCH" echo --port 0 >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
ECHO_PORT=$(wait_for_line "$WORK/echo.log" '^port ' | cut -d' ' -f2)
echo "echo server on 127.0.0.1:$ECHO_PORT"
# API port 0: the proxy picks a free port and prints its URL.
"$FAULTLINE" proxy --host 127.0.0.1 --port 0 >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
STARTED=$(wait_for_line "$WORK/proxy.log" 'API on http://')
echo "$STARTED"
URL=$(grep -o 'http://[0-9.]*:[0-9]*' <<<"$STARTED")

step "faultline ctl create demo: a proxy in front of the echo server"
CREATED=$(ctl create demo -l 127.0.0.1:0 -u "127.0.0.1:$ECHO_PORT")
echo "$CREATED"
PROXY_PORT=$(sed -nE 's/^created demo: 127\.0\.0\.1:([0-9]+) .*/\1/p' <<<"$CREATED")

step "64-byte round trips"
measure "$ECHO_PORT" --count 5000
DIRECT_P50=$P50 DIRECT_P99=$P99
measure "$PROXY_PORT" --count 5000
BEFORE_P50=$P50 BEFORE_P99=$P99
echo "direct: p50 $DIRECT_P50, p99 $DIRECT_P99"
echo "through faultline: p50 $BEFORE_P50, p99 $BEFORE_P99"

step "faultline ctl toxic add demo -t latency -a latency=50 -a jitter=0"
ctl toxic add demo -t latency -a latency=50 -a jitter=0
measure "$PROXY_PORT" --count 100 --conns 10
AFTER_P50=$P50 AFTER_P99=$P99
echo "through faultline with the toxic: p50 $AFTER_P50, p99 $AFTER_P99"

step "faultline ctl list"
ctl list

step "GET /metrics (the demo proxy's lines)"
http_get /metrics | grep -E '^faultline_proxy_.*proxy="demo"' | head -6

step "summary"
printf '%-28s %12s %12s\n' "64-byte round trip" p50 p99
printf '%-28s %12s %12s\n' "direct" "$DIRECT_P50" "$DIRECT_P99"
printf '%-28s %12s %12s\n' "via faultline" "$BEFORE_P50" "$BEFORE_P99"
printf '%-28s %12s %12s\n' "via faultline + 50 ms toxic" "$AFTER_P50" "$AFTER_P99"
