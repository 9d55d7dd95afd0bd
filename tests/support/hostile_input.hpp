// Counts the hostile inputs the tests give each parser and what became of them, for the
// per-input-class rejection table in docs/testing.md (scripts/rejection-table.py).
//
// A test wraps the call that parses one hostile input:
//   const auto file = testing::hostile_input("safetensors", [&] { return parse(bytes); });
// The call's result and exceptions pass through unchanged, so the test's own assertions stay as
// they are; the tally records the input as accepted (the call returned), rejected with a clean
// error (a llama3::Error other than kInternal, or the exception type the caller names) or failed
// otherwise (any other exception, or kInternal). A crash ends the process, so the script counts
// crashed runs from the exit status.
//
// When LLAMA3_REJECTION_LOG names a file, the counts are appended to it at exit, one line per
// input class: "class <TAB> accepted <TAB> rejected <TAB> failed".
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "llama3/error.hpp"

namespace llama3::testing {

class HostileInputTally {
 public:
  struct Counts {
    long accepted = 0;
    long rejected = 0;  // with a clean llama3::Error
    long failed = 0;    // another exception, or kInternal
  };

  static HostileInputTally& instance() {
    static HostileInputTally tally;
    return tally;
  }

  void record_accepted(std::string_view input_class) { update(input_class, &Counts::accepted); }
  void record_rejected(std::string_view input_class) { update(input_class, &Counts::rejected); }
  void record_failed(std::string_view input_class) { update(input_class, &Counts::failed); }

  Counts counts(std::string_view input_class) {
    std::lock_guard lock(mutex_);
    const auto found = counts_.find(std::string(input_class));
    return found == counts_.end() ? Counts{} : found->second;
  }

  HostileInputTally(const HostileInputTally&) = delete;
  HostileInputTally& operator=(const HostileInputTally&) = delete;

 private:
  HostileInputTally() = default;
  // Appends the counts in one write, so test processes that ctest runs at once do not interleave.
  ~HostileInputTally() {
    const char* path = std::getenv("LLAMA3_REJECTION_LOG");
    if (path == nullptr || *path == '\0' || counts_.empty()) return;
    std::string lines;
    for (const auto& [input_class, c] : counts_) {
      lines += input_class + '\t' + std::to_string(c.accepted) + '\t' + std::to_string(c.rejected) +
               '\t' + std::to_string(c.failed) + '\n';
    }
    if (std::FILE* out = std::fopen(path, "a")) {
      std::setvbuf(out, nullptr, _IOFBF, lines.size() + 1);
      std::fwrite(lines.data(), 1, lines.size(), out);
      std::fclose(out);
    }
  }

  void update(std::string_view input_class, long Counts::*field) {
    std::lock_guard lock(mutex_);
    ++(counts_[std::string(input_class)].*field);
  }

  std::mutex mutex_;
  std::map<std::string, Counts> counts_;
};

// Runs parse() on one hostile input of `input_class`, records the outcome, and returns its result
// or rethrows its exception. CleanError is the exception type that rejects cleanly: llama3::Error
// (except kInternal) for the library's parsers, the server's ApiError for its request reader.
template <typename CleanError = Error, typename Parse>
decltype(auto) hostile_input(std::string_view input_class, Parse&& parse) {
  auto& tally = HostileInputTally::instance();
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Parse&>>) {
      parse();
      tally.record_accepted(input_class);
    } else {
      decltype(auto) result = parse();
      tally.record_accepted(input_class);
      return result;
    }
  } catch (const CleanError& error) {
    (void)error;  // read only when CleanError is llama3::Error
    if constexpr (std::is_same_v<CleanError, Error>) {
      if (error.code() == ErrorCode::kInternal) {
        tally.record_failed(input_class);
        throw;
      }
    }
    tally.record_rejected(input_class);
    throw;
  } catch (...) {
    tally.record_failed(input_class);
    throw;
  }
}

}  // namespace llama3::testing
