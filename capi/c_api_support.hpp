// Shared plumbing of the C ABI implementation: the handle structs, the exception firewall that
// turns every C++ exception into a status + thread-local message, struct_size handling and logging.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "llama3.h"
#include "llama3/error.hpp"
#include "llama3/grammar.hpp"
#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"

struct llama3_model {
  llama3::Model model;
};

struct llama3_tokenizer {
  llama3::Tokenizer tokenizer;
  // Built by the first grammar compiled against this handle (a walk over the whole vocabulary),
  // then shared by the next ones. The handle is otherwise immutable, hence the lock.
  mutable std::mutex grammar_vocabulary_mutex{};
  mutable std::optional<llama3::GrammarVocabulary> grammar_vocabulary{};
};

struct llama3_grammar {
  llama3::Grammar grammar;
};

struct llama3_sampler {
  llama3::Sampler sampler;
};

struct llama3_lora {
  llama3::LoraAdapter adapter;
};

struct llama3_session {
  llama3::Session session;
  llama3_abort_callback abort_callback = nullptr;
  void* abort_user_data = nullptr;
  // The last generate's logprobs (llama3_session_logprob); unset when it did not ask for them.
  std::optional<std::vector<llama3::GeneratedTokenLogprobs>> last_logprobs{};
  // The last generate's filter notes (llama3_session_filter_notes).
  std::vector<std::string> last_notes{};
};

namespace llama3::capi {

// Records a failure for llama3_last_error_message() and the log; returns `status`.
llama3_status fail(llama3_status status, const std::string& message);
void log(int32_t level, const std::string& message);

// Runs `body` (returning llama3_status) with every exception mapped to a status. A body that takes
// a `const char* function` is given the C function's name: inside a lambda, __func__ would read
// "operator()", so the bodies name the function through that parameter instead.
template <typename Body>
llama3_status guarded(const char* function, Body&& body) noexcept {
  try {
    if constexpr (std::is_invocable_v<Body&, const char*>) {
      return body(function);
    } else {
      return body();
    }
  } catch (const Error& error) {
    return fail(static_cast<llama3_status>(error.code()),
                std::string(function) + ": " + error.what());
  } catch (const std::bad_alloc&) {
    return fail(LLAMA3_ERR_OUT_OF_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& error) {
    return fail(LLAMA3_ERR_INTERNAL, std::string(function) + ": " + error.what());
  } catch (...) {
    return fail(LLAMA3_ERR_INTERNAL, std::string(function) + ": unknown exception");
  }
}

inline void require(bool ok, const char* function, const char* what) {
  if (!ok) throw Error(ErrorCode::kInvalidArgument, std::string(what) + " (in " + function + ")");
}

// Needs `function` (the C function's name) in scope: a guarded body's parameter, or a helper's.
#define LLAMA3_REQUIRE(cond) ::llama3::capi::require((cond), function, #cond " is false")

// Checks a caller's params/result struct_size: 0 (or smaller than the struct_size field) is an
// invalid argument; larger than this library's struct means the caller was built against a newer
// header: unsupported. Fields beyond a valid struct_size keep their defaults (LLAMA3_READ_FIELD).
void check_struct_size(std::size_t size, std::size_t library_size, const char* function);

// The *_params_init functions: the caller's struct is `caller_size` bytes (sizeof as its header
// declared it). Only that much of `defaults` is copied and struct_size is set to it, so a program
// built against an older, shorter header never has bytes written past its struct.
template <typename Params>
void write_defaults(Params* params, std::size_t caller_size, Params defaults,
                    const char* function) {
  require(params != nullptr, function, "params is NULL");
  check_struct_size(caller_size, sizeof(Params), function);
  defaults.struct_size = caller_size;
  std::memcpy(static_cast<void*>(params), &defaults, caller_size);
}

// True when a struct of `struct_size` bytes fully holds the field at `offset` of `field_size`.
inline bool covers(std::size_t struct_size, std::size_t offset, std::size_t field_size) {
  return offset + field_size <= struct_size;
}

#define LLAMA3_READ_FIELD(out, in, field)                                             \
  do {                                                                                \
    if (::llama3::capi::covers((in)->struct_size,                                     \
                               offsetof(std::remove_cvref_t<decltype(*(in))>, field), \
                               sizeof((in)->field)))                                  \
      (out).field = (in)->field;                                                      \
  } while (0)

#define LLAMA3_WRITE_FIELD(out, value, field)                                          \
  do {                                                                                 \
    if (::llama3::capi::covers((out)->struct_size,                                     \
                               offsetof(std::remove_cvref_t<decltype(*(out))>, field), \
                               sizeof((out)->field)))                                  \
      (out)->field = (value);                                                          \
  } while (0)

// A LLAMA3_KV_CACHE_* value as the C++ type; anything else is INVALID_ARGUMENT naming `function`.
inline KvCacheType kv_cache_type(int32_t type, const char* function) {
  switch (type) {
    case LLAMA3_KV_CACHE_F16:
      return KvCacheType::kF16;
    case LLAMA3_KV_CACHE_F32:
      return KvCacheType::kF32;
    case LLAMA3_KV_CACHE_Q8_0:
      return KvCacheType::kQ8_0;
    case LLAMA3_KV_CACHE_BF16:
      return KvCacheType::kBf16;
    default:
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(function) + ": unknown kv_cache_type " + std::to_string(type));
  }
}

// The C structs as their C++ options (c_api_conversions.cpp). NULL params: the defaults.
SamplerParams sampler_params(const llama3_sampler_params* params, const char* function);
GenerateOptions generate_options(const llama3_generate_params* params, const char* function);
// The adapters (and scales) of an engine request's params; empty for NULL params.
std::vector<ActiveLora> request_adapters(const llama3_generate_params* params,
                                         const char* function);
// `adapters` [n] with `scales` [n] (NULL: 1 for each) as the C++ list.
std::vector<ActiveLora> active_adapters(const llama3_lora* const* adapters, const float* scales,
                                        std::size_t n, const char* function);
// Writes the fields `result->struct_size` covers (checked by the caller); `filter` is the
// LLAMA3_FILTER_* code of the safety filter that blocked, if any.
void write_generate_result(const GenerateResult& generated, int32_t filter,
                           llama3_generate_result* result);

// Copies `bytes` into a caller buffer with the buffer-too-small protocol; `terminate` adds a NUL.
llama3_status copy_out(const void* bytes, std::size_t size, std::size_t element_size, void* buffer,
                       std::size_t capacity, std::size_t* out_count, bool terminate,
                       const char* function);

// `text` as a JSON string literal (RFC 8259 escapes; other bytes, UTF-8 included, as they are),
// appended to `out`.
void append_json_string(std::string_view text, std::string& out);

}  // namespace llama3::capi
