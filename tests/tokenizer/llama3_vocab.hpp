// The real Llama 3 tokenizer for tests, loaded once per test binary from build/data/tokenizer.json
// (scripts/fetch-tokenizer.sh). A test that calls this is skipped (exit 77) when the file is
// missing.
#pragma once

#include "llama3/tokenizer.hpp"
#include "support/test_data.hpp"

namespace llama3::testing {

inline const Tokenizer& llama3_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(require_data_file("tokenizer.json"));
  return tokenizer;
}

}  // namespace llama3::testing
