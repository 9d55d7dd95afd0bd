#!/usr/bin/env bash
# cpp-httplib against Boost.Beast on the chat endpoint `llama3 serve` answers, with no model behind
# it (bench/http_layer/chat_reply.hpp): requests/s and latency p50/p99 from wrk, for a plain JSON
# answer and for a streamed one of -n server-sent events, at each connection count.
#
#   bench/http_layer/compare.sh [-b BUILD_DIR] [-c 1,8] [-d SECONDS] [-n EVENTS] [-a ALTERNATIONS]
#
# BUILD_DIR is a build configured with -DLLAMA3_BENCH_HTTP_LAYER=ON (needs libboost-dev), in which
# `cmake --build BUILD_DIR --target http_layer_httplib http_layer_beast` has run; wrk is Debian's.
# The two servers never run at once and take turns, the order flipping every alternation; each
# figure is the median over the alternations.
set -euo pipefail
build=build connections=1,8 seconds=10 events=128 alternations=2
while getopts "b:c:d:n:a:" opt; do
  case $opt in
    b) build=$OPTARG ;; c) connections=$OPTARG ;; d) seconds=$OPTARG ;; n) events=$OPTARG ;;
    a) alternations=$OPTARG ;; *) exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "compare.sh: wrk not found (apt-get install wrk)" >&2; exit 2; }
for name in httplib beast; do
  [ -x "$build/bin/http_layer_$name" ] ||
    { echo "compare.sh: $build/bin/http_layer_$name not built (see the header)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/http_layer.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for kind in plain stream; do
  stream=false; [ $kind = stream ] && stream=true
  cat >"$work/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"Say something."}],"max_tokens":$events,"stream":$stream}'
LUA
done

run_server() {  # NAME ALTERNATION: one wrk run per kind and connection count
  local name=$1 alternation=$2 port
  # A new port each time: the last server's connections may still hold the old one.
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$build/bin/http_layer_$name" "$port" >"$work/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  for kind in plain stream; do
    for c in ${connections//,/ }; do
      wrk -t 1 -c "$c" -d "${seconds}s" --latency -s "$work/$kind.lua" \
        "http://127.0.0.1:$port/v1/chat/completions" >"$work/$name-$kind-$c-$alternation.txt"
    done
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=
}
for alternation in $(seq "$alternations"); do
  if [ $((alternation % 2)) = 1 ]; then order="httplib beast"; else order="beast httplib"; fi
  for name in $order; do run_server "$name" "$alternation"; done
done

python3 - "$work" "$connections" "$events" <<'PY'
import glob, re, statistics, sys
work, connections, events = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
def figures(name, kind, c):
    runs = []
    for path in glob.glob(f"{work}/{name}-{kind}-{c}-*.txt"):
        text = open(path).read()
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", text)
        if errors:
            sys.exit(f"compare.sh: {path} reports errors: {errors.group(0)}")
        runs.append((float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                     ms(re.search(r"\s50%\s+(\S+)", text).group(1)),
                     ms(re.search(r"\s99%\s+(\S+)", text).group(1))))
    return [statistics.median(r[i] for r in runs) for i in range(3)]
print(f"{'answer':>16} {'conns':>5} | {'httplib req/s':>13} {'beast req/s':>11} {'ratio':>6} | "
      f"{'httplib p50/p99 ms':>18} {'beast p50/p99 ms':>16}")
for kind in ("plain", "stream"):
    label = "JSON" if kind == "plain" else f"SSE, {events} events"
    for c in connections:
        h, b = figures("httplib", kind, c), figures("beast", kind, c)
        print(f"{label:>16} {c:>5} | {h[0]:>13.0f} {b[0]:>11.0f} {h[0] / b[0]:>5.2f}x | "
              f"{h[1]:>8.3f} / {h[2]:<7.3f} {b[1]:>7.3f} / {b[2]:<7.3f}")
PY
