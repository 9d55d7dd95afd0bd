#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench and llama-batched-bench from the source that the npm package node-llama-cpp@3.22.1
# ships as a git bundle (llama/gitRelease.bundle), outside this repository, then (optionally) runs it
# on the given files, so the peer's figures can be reproduced with its own benchmark tool rather than
# through the prebuilt libraries of bench/compare_llamacpp.sh's peer. Nothing of llama.cpp is committed.
#
#   bench/build_llamacpp_bench.sh [-d DIR] [-t THREADS] [-p 512] [-n 128] [-r 3] [-D 0,4096]
#                                 [-P 1,2,4,8,16] [-s] [MODEL.gguf...]
# DIR (default /tmp/llama.cpp-src) receives the checkout and the build; a second call reuses them.
# -s: also build llama.cpp's OpenAI-compatible llama-server (DIR/build/bin/llama-server), the peer
#     of bench/compare_serve.sh. Its web UI is left out (no npm build, no download of prebuilt
#     assets), so the build needs no network beyond the npm package.
# -D: context depths (llama-bench's -d), to set beside `llama3 bench -d DEPTH`.
# -P: run llama-batched-bench instead, with that many parallel sequences (its -npl), each with a
#     -p token prompt and -n generated tokens: beside `llama3 bench --parallel 1,2,4,8,16`.
# Needs npm (the registry), git, cmake and a C++ compiler. Builds with every core (slow on 2 cores:
# about 10 minutes for the llama-bench target).
set -euo pipefail
dir=/tmp/llama.cpp-src threads=2 n_prompt=512 n_gen=128 reps=3 depths=0 parallel= server=OFF
package=node-llama-cpp@3.22.1
while getopts "d:t:p:n:r:D:P:s" opt; do
  case $opt in
    d) dir=$OPTARG ;; t) threads=$OPTARG ;; p) n_prompt=$OPTARG ;; n) n_gen=$OPTARG ;;
    r) reps=$OPTARG ;; D) depths=$OPTARG ;; P) parallel=$OPTARG ;; s) server=ON ;; *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))

bench=$dir/build/bin/llama-bench
batched_bench=$dir/build/bin/llama-batched-bench
llama_server=$dir/build/bin/llama-server
targets=(llama-bench llama-batched-bench)
[ "$server" = OFF ] || targets+=(llama-server)
missing=0
for target in "${targets[@]}"; do [ -x "$dir/build/bin/$target" ] || missing=1; done
if [ "$missing" = 1 ]; then
  mkdir -p "$dir"
  if [ ! -d "$dir/llama.cpp/.git" ]; then
    echo "fetching $package's git bundle ..." >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack -q "$package" >/dev/null && tar xzf ./*.tgz package/llama/gitRelease.bundle)
    git clone -q "$work/package/llama/gitRelease.bundle" "$dir/llama.cpp"
  fi
  echo "building ${targets[*]} in $dir/build ..." >&2
  cmake -S "$dir/llama.cpp" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER="$server" \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF >/dev/null
  cmake --build "$dir/build" --target "${targets[@]}" -j "$(nproc)" >/dev/null
fi
version=$(git -C "$dir/llama.cpp" describe --tags --always 2>/dev/null || echo unknown)
echo "llama-bench: $bench ($version)"
[ "$server" = OFF ] || echo "llama-server: $llama_server ($version)"
[ $# -gt 0 ] || exit 0
if [ -n "$parallel" ]; then
  # Room for every sequence's prompt and generation at the largest count; one batch takes all
  # prompts (as the engine's 512-token step budget), generation then runs all sequences per step.
  largest=$(tr ',' '\n' <<<"$parallel" | sort -n | tail -1)
  for model in "$@"; do
    "$batched_bench" -m "$model" -t "$threads" -c $((largest * (n_prompt + n_gen) + 64)) \
      -b 2048 -ub 512 -npp "$n_prompt" -ntg "$n_gen" -npl "$parallel"
  done
  exit 0
fi
# Mapped and read into RAM, as the peer table reports both (this llama.cpp spells it --load-mode).
models=()
for model in "$@"; do models+=(-m "$model"); done
"$bench" "${models[@]}" -t "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" -d "$depths" \
  -lm mmap,none
