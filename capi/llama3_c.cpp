// The C ABI (llama3.h) over the public C++ API: version, errors, logging, model, tokenizer, chat.
// Sessions, samplers and generation are in llama3_c_session.cpp.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "c_api_support.hpp"
#include "llama3/chat.hpp"
#include "llama3/log.hpp"
#include "llama3/version.hpp"

static_assert(LLAMA3_VERSION_MAJOR == llama3::kVersionMajor &&
                  LLAMA3_VERSION_MINOR == llama3::kVersionMinor &&
                  LLAMA3_VERSION_PATCH == llama3::kVersionPatch,
              "llama3.h and llama3/version.hpp disagree on the version");
static_assert(LLAMA3_ERR_INTERNAL == static_cast<int>(llama3::ErrorCode::kInternal) &&
                  LLAMA3_ERR_BUFFER_TOO_SMALL ==
                      static_cast<int>(llama3::ErrorCode::kBufferTooSmall),
              "llama3_status and llama3::ErrorCode must keep the same numbers");

namespace llama3::capi {
namespace {

thread_local std::string last_error;

// The log sink: the only process-wide mutable state. A mutex keeps the callback and its user data
// consistent with each other.
std::mutex log_mutex;
llama3_log_callback log_callback = nullptr;
void* log_user_data = nullptr;
std::atomic<int32_t> log_min_level{LLAMA3_LOG_INFO};
std::atomic<bool> log_enabled{false};

// The core library's own messages (llama3/log.hpp) take the same path as the C ABI's: to the
// callback when one is set, nowhere by default (the core's default is stderr).
void forward_core_message(llama3::LogLevel level, std::string_view message);
[[maybe_unused]] const bool core_log_routed = (llama3::set_log_handler(forward_core_message), true);

}  // namespace

void log(int32_t level, const std::string& message) {
  if (!log_enabled.load(std::memory_order_relaxed) || level < log_min_level.load()) return;
  llama3_log_callback callback;
  void* user_data;
  {
    std::lock_guard<std::mutex> lock(log_mutex);
    callback = log_callback;
    user_data = log_user_data;
  }
  if (callback) callback(level, message.c_str(), user_data);
}

namespace {
static_assert(static_cast<int>(llama3::LogLevel::kDebug) == LLAMA3_LOG_DEBUG &&
                  static_cast<int>(llama3::LogLevel::kError) == LLAMA3_LOG_ERROR,
              "llama3_log_level and llama3::LogLevel must keep the same numbers");
void forward_core_message(llama3::LogLevel level, std::string_view message) {
  llama3::capi::log(static_cast<int32_t>(level), std::string(message));
}
}  // namespace

llama3_status fail(llama3_status status, const std::string& message) {
  try {
    last_error = message;
    log(LLAMA3_LOG_DEBUG, std::string("error (") + llama3_status_name(status) + "): " + message);
  } catch (...) {
    // Out of memory while recording the message: the status still tells the story.
  }
  return status;
}

void check_struct_size(std::size_t size, std::size_t library_size, const char* function) {
  if (size < sizeof(std::size_t)) {
    throw Error(ErrorCode::kInvalidArgument, std::string(function) + ": struct_size is " +
                                                 std::to_string(size) +
                                                 " (call the matching *_init function first)");
  }
  if (size > library_size) {
    throw Error(ErrorCode::kUnsupported,
                std::string(function) + ": struct_size " + std::to_string(size) +
                    " is larger than this library's " + std::to_string(library_size) +
                    " (the caller was built against a newer llama3.h)");
  }
}

llama3_status copy_out(const void* bytes, std::size_t size, std::size_t element_size, void* buffer,
                       std::size_t capacity, std::size_t* out_count, bool terminate,
                       const char* function) {
  require(out_count != nullptr, function, "the out-parameter for the size is NULL");
  const std::size_t needed = size + (terminate ? 1 : 0);
  if (capacity < needed) {
    *out_count = size;
    return fail(LLAMA3_ERR_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " +
                                                 std::to_string(capacity) + ", the result needs " +
                                                 std::to_string(needed));
  }
  require(buffer != nullptr, function, "the buffer is NULL but its capacity is not 0");
  if (size > 0) std::memcpy(buffer, bytes, size * element_size);
  if (terminate) static_cast<char*>(buffer)[size] = '\0';
  *out_count = size;
  return LLAMA3_OK;
}

}  // namespace llama3::capi

using llama3::capi::guarded;
using llama3::capi::require;

extern "C" {

// ---- version, errors, logging ----

uint32_t llama3_version(void) {
  return static_cast<uint32_t>(llama3::kVersionMajor * 10000 + llama3::kVersionMinor * 100 +
                               llama3::kVersionPatch);
}

const char* llama3_version_string(void) {
  return llama3::kVersionString;
}

const char* llama3_status_name(llama3_status status) {
  const int code = static_cast<int>(status);
  if (code < 0 || code > static_cast<int>(llama3::ErrorCode::kBufferTooSmall)) return "unknown";
  return llama3::error_code_name(static_cast<llama3::ErrorCode>(code));
}

const char* llama3_last_error_message(void) {
  return llama3::capi::last_error.c_str();
}

llama3_status llama3_set_log_callback(llama3_log_callback callback, int32_t min_level,
                                      void* user_data) {
  return guarded(__func__, [&] {
    using namespace llama3::capi;
    std::lock_guard<std::mutex> lock(log_mutex);
    log_callback = callback;
    log_user_data = user_data;
    log_min_level = min_level;
    log_enabled = callback != nullptr;
    return LLAMA3_OK;
  });
}

// ---- model ----

llama3_status llama3_model_params_init_sized(llama3_model_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    llama3_model_params full{};
    full.use_mmap = 1;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_model_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_model_params_init)(llama3_model_params* params) {
  return llama3_model_params_init_sized(params, sizeof(llama3_model_params));
}

llama3_status llama3_model_load(const char* path, const llama3_model_params* params,
                                llama3_model** out_model) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(path != nullptr);
    LLAMA3_REQUIRE(out_model != nullptr);
    llama3_model_params p{};
    llama3_model_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
      LLAMA3_READ_FIELD(p, params, use_mmap);
      LLAMA3_READ_FIELD(p, params, progress);
      LLAMA3_READ_FIELD(p, params, progress_user_data);
    }
    llama3::LoadOptions options;
    options.use_mmap = p.use_mmap != 0;
    if (p.progress != nullptr) {
      options.progress = [callback = p.progress, user_data = p.progress_user_data](float fraction) {
        return callback(fraction, user_data) == 0;
      };
    }
    auto handle = std::make_unique<llama3_model>(llama3_model{llama3::Model::load(path, options)});
    llama3::capi::log(LLAMA3_LOG_INFO,
                      std::string("loaded ") + path + ": " + handle->model.config().name + ", " +
                          std::to_string(handle->model.n_params()) + " parameters");
    *out_model = handle.release();
    return LLAMA3_OK;
  });
}

void llama3_model_free(llama3_model* model) {
  delete model;
}

llama3_status llama3_model_n_vocab(const llama3_model* model, int32_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = model->model.config().n_vocab;
    return LLAMA3_OK;
  });
}

llama3_status llama3_model_context_length(const llama3_model* model, int32_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = model->model.config().context_length;
    return LLAMA3_OK;
  });
}

llama3_status llama3_model_n_params(const llama3_model* model, uint64_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = model->model.n_params();
    return LLAMA3_OK;
  });
}

llama3_status llama3_model_metadata(const llama3_model* model, const char* key, char* buffer,
                                    size_t capacity, size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(key != nullptr);
    const std::string value = model->model.metadata_string(key);
    return llama3::capi::copy_out(value.data(), value.size(), 1, buffer, capacity, out_length,
                                  /*terminate=*/true, function);
  });
}

llama3_status llama3_model_tokenizer(const llama3_model* model, llama3_tokenizer** out_tokenizer) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out_tokenizer != nullptr);
    *out_tokenizer = new llama3_tokenizer{model->model.tokenizer()};
    return LLAMA3_OK;
  });
}

// ---- tokenizer ----

llama3_status llama3_tokenizer_load(const char* path, llama3_tokenizer** out_tokenizer) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(path != nullptr);
    LLAMA3_REQUIRE(out_tokenizer != nullptr);
    *out_tokenizer = new llama3_tokenizer{llama3::Tokenizer::load(path)};
    return LLAMA3_OK;
  });
}

void llama3_tokenizer_free(llama3_tokenizer* tokenizer) {
  delete tokenizer;
}

llama3_status llama3_tokenizer_vocab_size(const llama3_tokenizer* tokenizer, size_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = tokenizer->tokenizer.vocab_size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_tokenizer_bos(const llama3_tokenizer* tokenizer, llama3_token* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = tokenizer->tokenizer.bos_id();
    return LLAMA3_OK;
  });
}

llama3_status llama3_tokenizer_eos(const llama3_tokenizer* tokenizer, llama3_token* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = tokenizer->tokenizer.eos_id();
    return LLAMA3_OK;
  });
}

llama3_status llama3_tokenizer_is_end_of_generation(const llama3_tokenizer* tokenizer,
                                                    llama3_token token, int32_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = tokenizer->tokenizer.is_end_of_generation(token) ? 1 : 0;
    return LLAMA3_OK;
  });
}

llama3_status llama3_tokenize(const llama3_tokenizer* tokenizer, const char* text,
                              size_t text_length, uint32_t flags, llama3_token* tokens,
                              size_t capacity, size_t* out_n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(text != nullptr || text_length == 0);
    llama3::EncodeOptions options;
    options.add_bos = (flags & LLAMA3_TOKENIZE_ADD_BOS) != 0;
    options.add_eos = (flags & LLAMA3_TOKENIZE_ADD_EOS) != 0;
    options.parse_special = (flags & LLAMA3_TOKENIZE_PARSE_SPECIAL) != 0;
    const auto ids = tokenizer->tokenizer.encode(
        std::string_view(text_length ? text : "", text_length), options);
    return llama3::capi::copy_out(ids.data(), ids.size(), sizeof(llama3_token), tokens, capacity,
                                  out_n_tokens, /*terminate=*/false, function);
  });
}

namespace {

void check_ids(const llama3::Tokenizer& tokenizer, const llama3_token* tokens, size_t n_tokens,
               const char* function) {
  for (size_t i = 0; i < n_tokens; ++i) {
    if (tokens[i] < 0 || static_cast<size_t>(tokens[i]) >= tokenizer.vocab_size()) {
      throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                          std::string(function) + ": token id " + std::to_string(tokens[i]) +
                              " at index " + std::to_string(i) + " is outside the vocabulary of " +
                              std::to_string(tokenizer.vocab_size()));
    }
  }
}

}  // namespace

llama3_status llama3_detokenize(const llama3_tokenizer* tokenizer, const llama3_token* tokens,
                                size_t n_tokens, uint32_t flags, char* text, size_t capacity,
                                size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    check_ids(tokenizer->tokenizer, tokens, n_tokens, function);
    const std::string decoded =
        tokenizer->tokenizer.decode(std::span<const llama3::TokenId>(tokens, n_tokens),
                                    (flags & LLAMA3_DETOKENIZE_RENDER_SPECIAL) != 0);
    return llama3::capi::copy_out(decoded.data(), decoded.size(), 1, text, capacity, out_length,
                                  /*terminate=*/true, function);
  });
}

llama3_status llama3_token_piece(const llama3_tokenizer* tokenizer, llama3_token token,
                                 uint32_t flags, char* text, size_t capacity, size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    check_ids(tokenizer->tokenizer, &token, 1, function);
    const std::string piece =
        tokenizer->tokenizer.piece(token, (flags & LLAMA3_DETOKENIZE_RENDER_SPECIAL) != 0);
    return llama3::capi::copy_out(piece.data(), piece.size(), 1, text, capacity, out_length,
                                  /*terminate=*/true, function);
  });
}

// ---- chat format ----

llama3_status llama3_chat_params_init_sized(llama3_chat_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    llama3_chat_params full{};
    full.style = LLAMA3_CHAT_STYLE_AUTO;
    full.add_generation_prompt = 1;
    full.tools_in_user_message = 1;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_chat_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_chat_params_init)(llama3_chat_params* params) {
  return llama3_chat_params_init_sized(params, offsetof(llama3_chat_params, tools));
}

namespace {

llama3::Role parse_role(const char* role, size_t index) {
  const std::string_view name = role ? role : "";
  for (auto candidate : {llama3::Role::kSystem, llama3::Role::kUser, llama3::Role::kAssistant,
                         llama3::Role::kIpython}) {
    if (llama3::role_name(candidate) == name) return candidate;
  }
  throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                      "message " + std::to_string(index) + " has role '" + std::string(name) +
                          "' (expected system, user, assistant or ipython)");
}

std::vector<std::string> c_strings(const char* const* strings, size_t n, const char* field,
                                   const char* function) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    if (strings[i] == nullptr) {
      throw llama3::Error(
          llama3::ErrorCode::kInvalidArgument,
          std::string(function) + ": " + field + "[" + std::to_string(i) + "] is NULL");
    }
    out.emplace_back(strings[i]);
  }
  return out;
}

// A chat params struct (NULL: defaults) as ChatOptions; `p` receives the fields read.
llama3::ChatOptions chat_options(const llama3_chat_params* params, llama3_chat_params& p,
                                 const char* function) {
  p = llama3_chat_params{};
  llama3_chat_params_init(&p);
  if (params != nullptr) {
    llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
    LLAMA3_READ_FIELD(p, params, style);
    LLAMA3_READ_FIELD(p, params, add_generation_prompt);
    LLAMA3_READ_FIELD(p, params, chat_template);
    LLAMA3_READ_FIELD(p, params, today_date);
    LLAMA3_READ_FIELD(p, params, tools);
    LLAMA3_READ_FIELD(p, params, n_tools);
    LLAMA3_READ_FIELD(p, params, tools_in_user_message);
    LLAMA3_READ_FIELD(p, params, ipython_environment);
    LLAMA3_READ_FIELD(p, params, builtin_tools);
    LLAMA3_READ_FIELD(p, params, n_builtin_tools);
    LLAMA3_READ_FIELD(p, params, message_is_tool_call);
  }
  if (p.tools == nullptr && p.n_tools != 0) {
    throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                        std::string(function) + ": tools is NULL with n_tools > 0");
  }
  if (p.builtin_tools == nullptr && p.n_builtin_tools != 0) {
    throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                        std::string(function) + ": builtin_tools is NULL with n_builtin_tools > 0");
  }
  llama3::ChatOptions options;
  if (p.style == LLAMA3_CHAT_STYLE_LLAMA30) {
    options.style = llama3::ChatStyle::kLlama30;
  } else if (p.style == LLAMA3_CHAT_STYLE_LLAMA31) {
    options.style = llama3::ChatStyle::kLlama31;
  } else if (p.style != LLAMA3_CHAT_STYLE_AUTO) {
    throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                        std::string(function) + ": unknown chat style " + std::to_string(p.style));
  }
  if (p.chat_template != nullptr) options.chat_template = p.chat_template;
  if (p.today_date != nullptr) options.today_date = p.today_date;
  options.tools = c_strings(p.tools, p.n_tools, "tools", function);
  options.tools_in_user_message = p.tools_in_user_message != 0;
  options.ipython_environment = p.ipython_environment != 0;
  options.builtin_tools = c_strings(p.builtin_tools, p.n_builtin_tools, "builtin_tools", function);
  return options;
}

}  // namespace

llama3_status llama3_chat_encode(const llama3_tokenizer* tokenizer,
                                 const llama3_chat_message* messages, size_t n_messages,
                                 const llama3_chat_params* params, llama3_token* tokens,
                                 size_t capacity, size_t* out_n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(messages != nullptr || n_messages == 0);
    llama3_chat_params p{};
    const llama3::ChatOptions options = chat_options(params, p, function);
    llama3::Dialog dialog;
    dialog.reserve(n_messages);
    for (size_t i = 0; i < n_messages; ++i) {
      dialog.push_back(llama3::Message{
          parse_role(messages[i].role, i), messages[i].content ? messages[i].content : "",
          p.message_is_tool_call != nullptr && p.message_is_tool_call[i] != 0});
    }
    const llama3::ChatFormat format(tokenizer->tokenizer, options);
    const auto ids = format.encode_dialog_prompt(dialog, p.add_generation_prompt != 0);
    return llama3::capi::copy_out(ids.data(), ids.size(), sizeof(llama3_token), tokens, capacity,
                                  out_n_tokens, /*terminate=*/false, function);
  });
}

llama3_status llama3_chat_encode_message(const llama3_tokenizer* tokenizer,
                                         const llama3_chat_message* message, int32_t is_tool_call,
                                         const llama3_chat_params* params, llama3_token* tokens,
                                         size_t capacity, size_t* out_n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    LLAMA3_REQUIRE(message != nullptr);
    llama3_chat_params p{};
    const llama3::ChatFormat format(tokenizer->tokenizer, chat_options(params, p, function));
    const llama3::Message turn{parse_role(message->role, 0),
                               message->content ? message->content : "", is_tool_call != 0};
    const auto ids = format.encode_message(turn);
    return llama3::capi::copy_out(ids.data(), ids.size(), sizeof(llama3_token), tokens, capacity,
                                  out_n_tokens, /*terminate=*/false, function);
  });
}

llama3_status llama3_chat_encode_header(const llama3_tokenizer* tokenizer, const char* role,
                                        const llama3_chat_params* params, llama3_token* tokens,
                                        size_t capacity, size_t* out_n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(tokenizer != nullptr);
    llama3_chat_params p{};
    const llama3::ChatFormat format(tokenizer->tokenizer, chat_options(params, p, function));
    const auto ids = format.encode_header(parse_role(role, 0));
    return llama3::capi::copy_out(ids.data(), ids.size(), sizeof(llama3_token), tokens, capacity,
                                  out_n_tokens, /*terminate=*/false, function);
  });
}

}  // extern "C"
