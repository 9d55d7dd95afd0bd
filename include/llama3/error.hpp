// Errors of the llama3 C++ API. One code enum is shared with the C ABI (capi/llama3.h), so a code
// keeps its meaning on both sides; the message names the file, key or tensor at fault.
#pragma once

#include <stdexcept>
#include <string>

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // the caller passed something out of range or inconsistent
  kIo = 2,               // a file could not be opened, mapped or read
  kBadFormat = 3,        // a file's bytes are malformed, truncated or inconsistent
  kUnsupported = 4,      // well-formed but not something this library runs (a tensor type, an arch)
  kOutOfMemory = 5,
  kContextFull = 6,  // a decode would go past the session's context window
  kCancelled = 7,    // a progress/abort callback asked to stop
  kBlocked = 8,      // a safety filter refused the input or stopped the output
  kInternal = 9,     // a bug in this library
  // A caller-supplied buffer cannot hold the result; the C ABI reports the size needed. (The C++
  // API returns containers and never throws it.)
  kBufferTooSmall = 10,
};

// Short stable name of a code ("bad_format"), for logs and bindings.
inline const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kBadFormat:
      return "bad_format";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kOutOfMemory:
      return "out_of_memory";
    case ErrorCode::kContextFull:
      return "context_full";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kBlocked:
      return "blocked";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kBufferTooSmall:
      return "buffer_too_small";
  }
  return "unknown";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace llama3

#pragma GCC visibility pop
