# Sourced by the binding test runners: exits 77 (ctest: skipped) when a test data file named by the
# environment is missing. The Rust tests would `return` and the Go tests `t.Skip` in that case, and
# both report success, so ctest would say "Passed" for tests that never ran.
for variable in LLAMA3_TEST_MODEL LLAMA3_REFERENCE_TEXT LLAMA3_TINY_MODEL LLAMA3_VOCAB; do
  path=${!variable-}
  if [ -n "$path" ] && [ ! -f "$path" ]; then
    echo "skipped: $variable ($path) is missing" >&2
    exit 77
  fi
done
