#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in build-fuzz/, writes their seed
# corpora with the project's own writers, and runs each target.
#   scripts/fuzz.sh [SECONDS]        fuzz every target for SECONDS (default 60) each
#   scripts/fuzz.sh --replay         run every target once over its seeds, its saved corpus and
#                                    fuzz/regressions/<target>/ (the crashes found before), no fuzzing
#   FUZZ_TARGETS="gguf chat" ...     only those targets; FUZZ_JOBS=N runs N targets at a time
# Prints a table (target, executions, coverage, corpus, crashes) and writes it as JSON to
# build-fuzz/fuzz/summary.json. Exits 1 when any target found a crash; the input is kept in
# build-fuzz/fuzz/crashes/ and should become a file in fuzz/regressions/<target>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMA3_FUZZ_BUILD_DIR:-$root/build-fuzz}
mode=fuzz seconds=60
case "${1:-}" in
  --replay) mode=replay ;;
  '') ;;
  *[!0-9]*) echo "usage: fuzz.sh [SECONDS | --replay]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang)" >&2
  exit 2
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  # -O1 with line tables: reports keep file:line, and the build stays a few minutes on 2 cores.
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DLLAMA3_FUZZ=ON \
    -DLLAMA3_BUILD_TESTS=OFF -DLLAMA3_BUILD_PYTHON=OFF "${launcher[@]}" >/dev/null
fi
echo "fuzz.sh: building the targets in $build ..." >&2
cmake --build "$build" -j "$(nproc)" --target fuzz_targets >/dev/null
data=$build/data
bash "$root/scripts/fetch-data.sh" "$data" >/dev/null
export LLAMA3_DATA_DIR=$data
# The targets and seeds need these; without them nothing can be fuzzed, which is reported as a
# skip (77), as the tests that need data do.
for name in stories260K.gguf ggml-vocab-llama-bpe.gguf tinystories_sample_cs336.txt; do
  if [ ! -f "$data/$name" ]; then
    echo "fuzz.sh: skipped: test data $name is missing (scripts/fetch-data.sh)" >&2
    exit 77
  fi
done

out=$build/fuzz
# A tiny random model with the Llama 3.1 vocabulary, for the server's request reader.
export LLAMA3_FUZZ_CHAT_MODEL=$out/chat-model.gguf
[ -f "$LLAMA3_FUZZ_CHAT_MODEL" ] ||
  "$build/bin/make_test_model" --out "$LLAMA3_FUZZ_CHAT_MODEL" --shape tiny --vocab llama3.1 \
    >/dev/null 2>"$build/make_test_model.log" ||
  { cat "$build/make_test_model.log" >&2; exit 1; }
rm -rf "$out/seeds"
"$out/fuzz_make_seeds" "$out/seeds"
mkdir -p "$out/corpus" "$out/crashes" "$out/logs"

targets=${FUZZ_TARGETS:-$(ls "$out" | sed -n 's/^fuzz_\(.*\)$/\1/p' | grep -v make_seeds)}
dict_of() {
  case $1 in
    gguf) echo "$root/fuzz/gguf.dict" ;;
    pytorch_checkpoint) echo "$root/fuzz/pickle.dict" ;;
    hf_config | vocab_files | grammar | server_request) echo "$root/fuzz/json.dict" ;;
  esac
}

run_target() {
  local name=$1 dict
  dict=$(dict_of "$name")
  local args=(-rss_limit_mb=3072 -timeout=20 -print_final_stats=1
              -artifact_prefix="$out/crashes/$name-")
  [ -n "$dict" ] && args+=(-dict="$dict")
  mkdir -p "$out/corpus/$name"
  local inputs=("$out/corpus/$name" "$out/seeds/$name")
  [ -d "$root/fuzz/regressions/$name" ] && inputs+=("$root/fuzz/regressions/$name")
  if [ "$mode" = replay ]; then
    args+=(-runs=0)
  else
    args+=(-max_total_time="$seconds")
  fi
  "$out/fuzz_$name" "${args[@]}" "${inputs[@]}" >"$out/logs/$name.log" 2>&1
}

jobs=${FUZZ_JOBS:-1}
failed=()
pids=() names=()
for name in $targets; do
  run_target "$name" & pids+=($!) names+=("$name")
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}") names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done

# Table and JSON from each log's final statistics.
python3 - "$out" "$mode" $targets <<'PY'
import json, re, sys, pathlib
out, mode, names = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
rows = []
for name in names:
    log = (out / "logs" / f"{name}.log").read_text(errors="replace")
    def last(pattern, default=0):
        found = re.findall(pattern, log)
        return int(found[-1]) if found else default
    # (libFuzzer also leaves "slow-unit" inputs there: slow, not failures.)
    crashes = sorted(p.name for p in (out / "crashes").glob(f"{name}-*")
                     if not p.name.startswith(f"{name}-slow-unit-"))
    rows.append({"target": name, "executions": last(r"stat::number_of_executed_units:\s*(\d+)"),
                 "seconds": last(r"Done \d+ runs in (\d+) second"),
                 "coverage": last(r"cov: (\d+)"), "features": last(r"ft: (\d+)"),
                 "corpus": len(list((out / "corpus" / name).iterdir())),
                 "crashes": len(crashes), "crash_files": crashes,
                 "peak_rss_mb": last(r"stat::peak_rss_mb:\s*(\d+)")})
(out / "summary.json").write_text(json.dumps({"mode": mode, "targets": rows}, indent=2) + "\n")
print(f"{'target':22} {'execs':>10} {'cov':>7} {'ft':>7} {'corpus':>7} {'crashes':>8} {'rss MB':>7}")
for r in rows:
    print(f"{r['target']:22} {r['executions']:>10} {r['coverage']:>7} {r['features']:>7} "
          f"{r['corpus']:>7} {r['crashes']:>8} {r['peak_rss_mb']:>7}")
PY
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crash or error in: ${failed[*]} (logs in $out/logs, inputs in $out/crashes)" >&2
  exit 1
fi
