// What every fuzz target shares: the rule for exceptions and where the test data is.
//
// An input may be rejected only with llama3::Error of a code that blames the input. Any other
// exception (std::bad_alloc from a size read out of the input, std::out_of_range from an unchecked
// index, ...) or kInternal is a bug, so it aborts, and libFuzzer records the input as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "llama3/error.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::fuzz {

template <typename Body>
void reject_only_with_clear_errors(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInternal) {
      std::fprintf(stderr, "internal error: %s\n", error.what());
      std::abort();
    }
  } catch (const std::exception& other) {
    std::fprintf(stderr, "not a llama3::Error: %s\n", other.what());
    std::abort();
  }
}

// Checks a property the target asserts about an accepted input.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file of the project's test data (LLAMA3_DATA_DIR, set by scripts/fuzz.sh). Aborts with a
// message when it is missing: a target that silently fuzzed nothing would look like a clean run.
inline std::filesystem::path data_file(const char* name) {
  const char* dir = std::getenv("LLAMA3_DATA_DIR");
  std::filesystem::path path = std::filesystem::path(dir ? dir : "data") / name;
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "fuzz target needs %s (set LLAMA3_DATA_DIR)\n", path.c_str());
    std::exit(2);
  }
  return path;
}

// The Llama 3 vocabulary (128K tokens), loaded once per process.
inline const Tokenizer& llama3_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(data_file("ggml-vocab-llama-bpe.gguf"));
  return tokenizer;
}

}  // namespace llama3::fuzz
