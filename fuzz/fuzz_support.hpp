// What every fuzz target shares: the rule for exceptions and where the test data is.
//
// An input may be rejected only with llama3::Error of a code that blames the input. Any other
// exception (std::bad_alloc from a size read out of the input, std::out_of_range from an unchecked
// index, ...) or kInternal is a bug, so it aborts, and libFuzzer records the input as a crash.
#pragma once

#include <cerrno>  // program_invocation_short_name (glibc)
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

// How many inputs the parsers accepted and rejected (with a clear error) in this process, for the
// rejection table (scripts/rejection-table.py). Nested checks count once, with their outermost
// call: an input is rejected when any stage rejected it. When LLAMA3_REJECTION_LOG names a file,
// "fuzz:<program> <TAB> accepted <TAB> rejected <TAB> 0" is appended to it at exit (a failure
// aborts, so it is counted from the exit status instead).
class ParseCounts {
 public:
  static ParseCounts& instance() {
    static ParseCounts counts;
    return counts;
  }
  // Returns true when this call is the outermost one.
  bool enter() { return depth_++ == 0; }
  void leave(bool outermost, bool rejected) {
    --depth_;
    rejected_inside_ = rejected_inside_ || rejected;
    if (!outermost) return;
    ++(rejected_inside_ ? rejected_ : accepted_);
    rejected_inside_ = false;
  }
  void count(bool rejected) { ++(rejected ? rejected_ : accepted_); }
  ParseCounts(const ParseCounts&) = delete;
  ParseCounts& operator=(const ParseCounts&) = delete;

 private:
  ParseCounts() = default;
  ~ParseCounts() {
    const char* path = std::getenv("LLAMA3_REJECTION_LOG");
    if (path == nullptr || *path == '\0') return;
    if (std::FILE* out = std::fopen(path, "a")) {
      std::fprintf(out, "fuzz:%s\t%ld\t%ld\t0\n", program_invocation_short_name, accepted_,
                   rejected_);
      std::fclose(out);
    }
  }
  int depth_ = 0;
  bool rejected_inside_ = false;
  long accepted_ = 0, rejected_ = 0;
};

template <typename Body>
void reject_only_with_clear_errors(Body&& body) {
  auto& counts = ParseCounts::instance();
  const bool outermost = counts.enter();
  try {
    body();
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInternal) {
      std::fprintf(stderr, "internal error: %s\n", error.what());
      std::abort();
    }
    counts.leave(outermost, true);
    return;
  } catch (const std::exception& other) {
    std::fprintf(stderr, "not a llama3::Error: %s\n", other.what());
    std::abort();
  }
  counts.leave(outermost, false);
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
