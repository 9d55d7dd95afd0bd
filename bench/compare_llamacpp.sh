#!/usr/bin/env bash
# Runs llama.cpp (the peer: a small `peer_bench` program over llama.h, linked against the v0.5.0
# prebuilt CPU libraries of the npm package @node-llama-cpp/linux-x64@3.22.1, built outside the repo)
# and `llama3 bench` alternately on the same files with the same threads, then prints a side-by-side
# table of medians. Nothing of llama.cpp is committed. `peer_bench MODEL THREADS N_PROMPT N_GEN REPS
# LOAD_MODE` prints "pp<N> avg X best Y t/s | tg<N> avg X best Y t/s" (LOAD_MODE 1 mmap, 0 into RAM).
#
#   bench/compare_llamacpp.sh [-t THREADS] [-p 512] [-n 128] [-r 3] MODEL.gguf...
# Env: PEER_DIR (default /tmp/llama.cpp-peer) holding peer_bench, PEER_SETUP (a script that builds
# peer_bench into PEER_DIR when it is missing), LLAMA3_BIN (default build/bin/llama3).
# The files need a tokenizer (the peer refuses files without one): make them with
#   build/bin/make_test_model --out F --shape 1b --type q4_0 --vocab build/data/ggml-vocab-llama-bpe.gguf
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=2 n_prompt=512 n_gen=128 reps=3
while getopts "t:p:n:r:" opt; do
  case $opt in
    t) threads=$OPTARG ;; p) n_prompt=$OPTARG ;; n) n_gen=$OPTARG ;; r) reps=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-t T] [-p P] [-n N] [-r R] MODEL.gguf..." >&2; exit 2; }
peer_dir=${PEER_DIR:-/tmp/llama.cpp-peer}
ours=${LLAMA3_BIN:-$root/build/bin/llama3}
if [ ! -x "$peer_dir/peer_bench" ]; then
  [ -n "${PEER_SETUP:-}" ] || {
    echo "no $peer_dir/peer_bench: set PEER_DIR to a built peer or PEER_SETUP to its setup script" >&2
    exit 2
  }
  bash "$PEER_SETUP" "$peer_dir" >&2
fi

# The machine's read bandwidth right now (other users' load moves it a lot): one line per run.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
# (The build's read_bandwidth program, beside the llama3 tool: it uses the library's probe.)
read_bandwidth=$(dirname "$ours")/read_bandwidth
if [ -x "$read_bandwidth" ]; then
  echo "read bandwidth now: $("$read_bandwidth" "$threads")"
else
  echo "read bandwidth now: not measured (no $read_bandwidth: build the read_bandwidth target)"
fi

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

printf "| file | threads | peer pp%s (mmap / RAM) | ours pp%s | pp ratio | peer tg%s (mmap / RAM) | ours tg%s | tg ratio | ours load s | ours peak RSS GB |\n" \
  "$n_prompt" "$n_prompt" "$n_gen" "$n_gen"
echo "|---|---|---|---|---|---|---|---|---|---|"
# ours / the peer's better load mode, to two decimals ("n/a" when a figure is missing).
ratio() { awk -v o="$1" -v a="$2" -v b="$3" 'BEGIN { m = (a + 0 > b + 0) ? a : b;
  if (o + 0 > 0 && m + 0 > 0) printf "%.2fx", o / m; else printf "n/a" }'; }
for model in "$@"; do
  : >"$probe_dir/peer_pp_mmap"; : >"$probe_dir/peer_tg_mmap"; : >"$probe_dir/peer_pp_ram"
  : >"$probe_dir/peer_tg_ram"; : >"$probe_dir/ours"
  for ((i = 0; i < reps; i++)); do
    for mode in 1 0; do  # 1: mmap, 0: read into RAM
      out=$("$peer_dir/peer_bench" "$model" "$threads" "$n_prompt" "$n_gen" 1 "$mode" 2>/dev/null)
      name=$([ $mode = 1 ] && echo mmap || echo ram)
      # peer_bench prints "... pp512 avg X best Y t/s | tg128 avg X best Y t/s"
      echo "$out" | grep -o "pp[0-9]* avg [0-9.]*" | awk '{ print $3 }' >>"$probe_dir/peer_pp_$name"
      echo "$out" | grep -o "tg[0-9]* avg [0-9.]*" | awk '{ print $3 }' >>"$probe_dir/peer_tg_$name"
    done
    "$ours" bench -m "$model" -t "$threads" -p "$n_prompt" -n "$n_gen" -r 1 | grep '^| /' >>"$probe_dir/ours"
  done
  ours_pp=$(awk -F'|' '$6 ~ /pp/ { print $7 + 0 }' "$probe_dir/ours" | median)
  ours_tg=$(awk -F'|' '$6 ~ /tg/ { print $7 + 0 }' "$probe_dir/ours" | median)
  load=$(awk -F'|' '{ print $10 + 0 }' "$probe_dir/ours" | median)
  rss=$(awk -F'|' '{ print $11 + 0 }' "$probe_dir/ours" | median)
  pp_mmap=$(median <"$probe_dir/peer_pp_mmap") pp_ram=$(median <"$probe_dir/peer_pp_ram")
  tg_mmap=$(median <"$probe_dir/peer_tg_mmap") tg_ram=$(median <"$probe_dir/peer_tg_ram")
  printf "| %s | %s | %s / %s | %s | %s | %s / %s | %s | %s | %s | %s |\n" "$(basename "$model")" \
    "$threads" "$pp_mmap" "$pp_ram" "$ours_pp" "$(ratio "$ours_pp" "$pp_mmap" "$pp_ram")" \
    "$tg_mmap" "$tg_ram" "$ours_tg" "$(ratio "$ours_tg" "$tg_mmap" "$tg_ram")" "$load" "$rss"
done
