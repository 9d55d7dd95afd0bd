// The llama3::ErrorCode a call throws (kOk when it returns), for tests that check codes.
#pragma once

#include <functional>
#include <string>

#include "llama3/error.hpp"

namespace llama3::testing {

inline ErrorCode code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.code();
  }
  return ErrorCode::kOk;
}

// The message of the llama3::Error a call throws ("" when it returns).
inline std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return {};
}

}  // namespace llama3::testing
