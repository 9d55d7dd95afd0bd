#!/usr/bin/env bash
# Runs `llama3 serve` and llama.cpp's llama-server side by side under the same streaming load
# (bench/serve_load.py) and prints their figures and ratios at each concurrency level.
#
#   bench/compare_serve.sh [-m MODEL.gguf] [-t THREADS] [-P PARALLEL] [-c 1,4,8] [-r ROUNDS]
#                          [-n MAX_TOKENS] [-a ALTERNATIONS] [-d LLAMACPP_DIR] [-o OUT_DIR]
#
# Same model file, same threads, the same number of parallel slots (-P, default 8) and the same
# per-slot context for both. The servers never run at once: each alternation starts one, loads it,
# stops it, then the other, and the order flips every alternation so that neither always runs on a
# warmer (or more crowded) machine. Each figure below is the median over the alternations.
# The peer is built from node-llama-cpp@3.22.1's llama.cpp bundle by bench/build_llamacpp_bench.sh -s
# (into LLAMACPP_DIR, default /tmp/llama.cpp-src); our binary is build/bin/llama3 (or $LLAMA3).
# Tokens are counted from each stream's usage (serve_load.py --count usage) for both servers.
# The JSON of every run is kept in OUT_DIR (default a new temporary folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=/work/models/1b-q4_0.gguf threads=2 parallel=8 clients=1,4,8 rounds=4 max_tokens=128
alternations=2 peer_dir=/tmp/llama.cpp-src out=
while getopts "m:t:P:c:r:n:a:d:o:" opt; do
  case $opt in
    m) model=$OPTARG ;; t) threads=$OPTARG ;; P) parallel=$OPTARG ;; c) clients=$OPTARG ;;
    r) rounds=$OPTARG ;; n) max_tokens=$OPTARG ;; a) alternations=$OPTARG ;; d) peer_dir=$OPTARG ;;
    o) out=$OPTARG ;; *) exit 2 ;;
  esac
done
[ -f "$model" ] || { echo "compare_serve: model $model not found (-m)" >&2; exit 2; }
ours=${LLAMA3:-$root/build/bin/llama3}
[ -x "$ours" ] || { echo "compare_serve: $ours not built (cmake --build build --target llama3_cli)" >&2; exit 2; }
peer=$peer_dir/build/bin/llama-server
[ -x "$peer" ] || bash "$root/bench/build_llamacpp_bench.sh" -s -d "$peer_dir" >&2
out=${out:-$(mktemp -d /tmp/compare_serve.XXXXXX)}
mkdir -p "$out"
# Room per slot for serve_load's prompt (about 100 tokens with the chat header) and the answer.
slot_ctx=$(( (max_tokens + 256 + 255) / 256 * 256 ))
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
trap stop_server EXIT

run_one() {  # NAME ALTERNATION: starts that server, loads it, stops it
  local name=$1 alternation=$2 log=$out/$1-$2.log
  case $name in
    llama3) "$ours" serve -m "$model" --host 127.0.0.1 --port "$port" --threads "$threads" \
              --parallel "$parallel" --ctx-size "$slot_ctx" >"$log" 2>&1 & ;;
    # llama-server's -c is the whole KV cache, shared by its -np slots. Its built-in Llama 3 chat
    # template gives the same prompt tokens as ours when the file carries no template of its own.
    # --no-jinja matters: with Jinja on, this llama-server reads "llama3" as the literal text of a
    # Jinja template, so every prompt becomes the bare text "llama3" and its timings are void.
    llama-server) "$peer" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" -tb "$threads" \
              -np "$parallel" -c $((slot_ctx * parallel)) --no-jinja --chat-template llama3 \
              >"$log" 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 600); do
    curl -sf "$base/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "compare_serve: $name exited; see $log" >&2; exit 1; }
    sleep 0.2
  done
  echo "== $name, alternation $alternation" >&2
  python3 "$root/bench/serve_load.py" "$base" -c "$clients" -r "$rounds" -n "$max_tokens" \
    --count usage --label "$name" -o json >"$out/$name-$alternation.json"
  stop_server
}

for alternation in $(seq "$alternations"); do
  if [ $((alternation % 2)) = 1 ]; then order=(llama3 llama-server); else order=(llama-server llama3); fi
  for name in "${order[@]}"; do run_one "$name" "$alternation"; done
done

python3 - "$out" "$model" "$threads" "$parallel" <<'PY'
import glob, json, os, statistics, sys
out, model, threads, parallel = sys.argv[1:]
def levels(name):
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, name + "-*.json")))]
    by_clients = {}
    for run in runs:
        for level in run["levels"]:
            by_clients.setdefault(level["clients"], []).append(level)
    return {c: {k: statistics.median(l[k] for l in ls) for k in
                ("requests_per_s", "generated_tokens_per_s", "ttft_p50_ms", "ttft_p99_ms")}
            | {"prompt_tokens_mean": ls[0].get("prompt_tokens_mean")}
            for c, ls in by_clients.items()}, len(runs)
ours, n = levels("llama3")
peer, _ = levels("llama-server")
# Equal prompts, token for token, or the comparison says nothing: a template that renders
# differently (or not at all) changes prefill work, TTFT and the generated text.
mismatch = [(c, ours[c]["prompt_tokens_mean"], peer[c]["prompt_tokens_mean"])
            for c in sorted(ours) if c in peer
            and ours[c]["prompt_tokens_mean"] != peer[c]["prompt_tokens_mean"]]
for c, a, b in mismatch:
    print(f"compare_serve: at {c} clients the servers saw different prompts: mean prompt tokens "
          f"llama3 {a} vs llama-server {b}; the figures below are not comparable", file=sys.stderr)
print(f"model {os.path.basename(model)}, {threads} threads, --parallel {parallel}, "
      f"median of {n} alternations; JSON in {out}")
print(f"{'clients':>7} | {'llama3 tok/s':>12} {'peer tok/s':>10} {'ratio':>6} | "
      f"{'llama3 req/s':>12} {'peer req/s':>10} | {'llama3 TTFT p50/p99 ms':>22} "
      f"{'peer TTFT p50/p99 ms':>20}")
for c in sorted(ours):
    a, b = ours[c], peer.get(c)
    if b is None:
        continue
    print(f"{c:>7} | {a['generated_tokens_per_s']:>12.1f} {b['generated_tokens_per_s']:>10.1f} "
          f"{a['generated_tokens_per_s'] / b['generated_tokens_per_s']:>5.2f}x | "
          f"{a['requests_per_s']:>12.2f} {b['requests_per_s']:>10.2f} | "
          f"{a['ttft_p50_ms']:>10.0f} / {a['ttft_p99_ms']:<9.0f} "
          f"{b['ttft_p50_ms']:>9.0f} / {b['ttft_p99_ms']:<8.0f}")
sys.exit(1 if mismatch else 0)
PY
