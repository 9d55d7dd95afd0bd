#!/usr/bin/env bash
# Per-token mask times of our grammar engine beside llama.cpp's GBNF grammar sampler on the seven
# JSON Schemas of tests/grammar/benchmark_schemas.hpp, the real Llama 3 vocabulary and the same walk
# protocol: grammar_bench first, then bench/llamacpp_grammar_peer/grammar_peer.c.
#
#   bench/compare_grammar_llamacpp.sh [--steps N] [--warmup-walks N]
#
# Nothing of llama.cpp is compiled or committed. Into PEER_DIR the script packs two npm packages,
# node-llama-cpp@3.22.1 (whose llama/gitRelease.bundle is llama.cpp's source: the headers) and
# @node-llama-cpp/linux-x64@3.22.1 (llama.cpp's prebuilt x86-64 libraries), and compiles against
# them our two small programs: llamacpp_schema_to_gbnf, which turns each schema into llama.cpp's own
# GBNF with json_schema_to_grammar() of its common library (what llama-server does with a request's
# "json_schema"; this source has no examples/json_schema_to_grammar.py), and llamacpp_grammar_peer,
# which times llama_sampler_init_grammar and llama_sampler_apply on those grammars. llama.cpp reads
# the vocabulary from a GGUF: a tiny random-weight model with the Llama 3 vocabulary, made with
# make_test_model (only the vocabulary is loaded).
#
# Env: PEER_DIR (default /tmp/llama3-llamacpp-peer), VOCAB (our tokenizer, default
# build/data/tokenizer.json), LLAMA3_DATA_DIR (where make_test_model finds the vocabulary GGUF,
# default the folder of VOCAB), GRAMMAR_BENCH (default build/bin/grammar_bench), MAKE_TEST_MODEL
# (default build/bin/make_test_model), PEER_GGUF (default PEER_DIR/llama3-vocab-tiny.gguf, made if
# missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peer_dir=${PEER_DIR:-/tmp/llama3-llamacpp-peer}
vocab=${VOCAB:-$root/build/data/tokenizer.json}
ours=${GRAMMAR_BENCH:-$root/build/bin/grammar_bench}
make_test_model=${MAKE_TEST_MODEL:-$root/build/bin/make_test_model}
peer_gguf=${PEER_GGUF:-$peer_dir/llama3-vocab-tiny.gguf}
steps=1000 warmup=200
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --warmup-walks) warmup=$2; shift 2 ;;
    *) echo "usage: $0 [--steps N] [--warmup-walks N]" >&2; exit 2 ;;
  esac
done
[ -x "$ours" ] || { echo "no $ours: build the grammar_bench target first" >&2; exit 2; }
mkdir -p "$peer_dir"
peer_dir=$(cd "$peer_dir" && pwd)

# The prebuilt libraries and the source they were built from, unpacked once.
cd "$peer_dir"
[ -f node-llama-cpp-3.22.1.tgz ] || npm pack -q node-llama-cpp@3.22.1 >/dev/null
[ -f node-llama-cpp-linux-x64-3.22.1.tgz ] || npm pack -q @node-llama-cpp/linux-x64@3.22.1 >/dev/null
if [ ! -d src ]; then
  mkdir -p nlc libs
  tar xzf node-llama-cpp-3.22.1.tgz -C nlc
  tar xzf node-llama-cpp-linux-x64-3.22.1.tgz -C libs
  git clone -q nlc/package/llama/gitRelease.bundle src
fi
cp libs/package/bins/linux-x64/*.so .  # ggml loads its CPU backend from the executable's folder
rpath=-Wl,-rpath,$peer_dir
cc -std=c11 -O2 -Isrc/include -Isrc/ggml/include "$root/bench/llamacpp_grammar_peer/grammar_peer.c" \
  -o llamacpp_grammar_peer -L. -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
  -lm "$rpath"
c++ -std=c++17 -O1 -I"$root/tests" -Isrc/common "$root/bench/llamacpp_grammar_peer/schema_to_gbnf.cpp" \
  -o llamacpp_schema_to_gbnf -L. -l:libllama-common.so "$rpath"

# llama.cpp's grammar for each schema, made now from the schemas of this checkout.
rm -rf gbnf && mkdir gbnf
mapfile -t grammars < <(./llamacpp_schema_to_gbnf gbnf)  # in the header's order
if [ ! -f "$peer_gguf" ]; then
  LLAMA3_DATA_DIR=${LLAMA3_DATA_DIR:-$(dirname "$vocab")} "$make_test_model" --out "$peer_gguf" \
    --shape tiny --layers 1 --type q8_0 --vocab llama3 --seed 11
fi

echo "== llama3 (grammar_bench; mask = mask_logits() over the logits row)"
"$ours" --vocab "$vocab" --steps "$steps" --warmup-walks "$warmup"
echo "== llama.cpp $(git -C src rev-parse --short HEAD) (grammar sampler; apply = -INFINITY into" \
  "the rejected candidates of a $(basename "$peer_gguf") llama_token_data_array)"
./llamacpp_grammar_peer --vocab "$peer_gguf" --steps "$steps" --warmup-walks "$warmup" \
  "${grammars[@]}"
