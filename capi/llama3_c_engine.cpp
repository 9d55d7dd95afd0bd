// The C ABI (llama3.h): the engine — submit, poll, wait and cancel generations from any thread.
#include <mutex>
#include <string>
#include <unordered_map>

#include "c_api_engine.hpp"
#include "c_api_safety.hpp"
#include "c_api_support.hpp"
#include "llama3/engine.hpp"

using llama3::capi::guarded;

namespace {

int32_t state_code(llama3::RequestState state) {
  switch (state) {
    case llama3::RequestState::kQueued:
      return LLAMA3_REQUEST_QUEUED;
    case llama3::RequestState::kRunning:
      return LLAMA3_REQUEST_RUNNING;
    case llama3::RequestState::kFinished:
      return LLAMA3_REQUEST_FINISHED;
    case llama3::RequestState::kCancelled:
      return LLAMA3_REQUEST_CANCELLED;
    case llama3::RequestState::kRefused:
      return LLAMA3_REQUEST_REFUSED;
    case llama3::RequestState::kFailed:
      return LLAMA3_REQUEST_FAILED;
  }
  return LLAMA3_REQUEST_FAILED;
}

}  // namespace

namespace llama3::capi {

EngineOptions engine_options(const llama3_engine_params* params, const char* function) {
  llama3_engine_params p{};
  llama3_engine_params_init(&p);
  if (params != nullptr) {
    check_struct_size(params->struct_size, sizeof(p), function);
    LLAMA3_READ_FIELD(p, params, n_threads);
    LLAMA3_READ_FIELD(p, params, n_ctx);
    LLAMA3_READ_FIELD(p, params, kv_tokens);
    LLAMA3_READ_FIELD(p, params, max_step_tokens);
    LLAMA3_READ_FIELD(p, params, kv_cache_type);
    LLAMA3_READ_FIELD(p, params, when_pool_full);
    LLAMA3_READ_FIELD(p, params, prefix_cache);
  }
  LLAMA3_REQUIRE(p.when_pool_full == LLAMA3_POOL_FULL_WAIT ||
                 p.when_pool_full == LLAMA3_POOL_FULL_REFUSE);
  EngineOptions options;
  options.n_threads = p.n_threads;
  options.n_ctx = p.n_ctx;
  options.kv_tokens = p.kv_tokens;
  options.max_step_tokens = p.max_step_tokens;
  options.kv_cache_type = kv_cache_type(p.kv_cache_type, function);
  options.when_pool_full =
      p.when_pool_full == LLAMA3_POOL_FULL_REFUSE ? WhenPoolFull::kRefuse : WhenPoolFull::kWait;
  options.prefix_cache = p.prefix_cache != 0;
  return options;
}

}  // namespace llama3::capi

extern "C" {

llama3_status llama3_engine_params_init_sized(llama3_engine_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    const llama3::EngineOptions defaults;
    llama3_engine_params full{};
    full.n_threads = defaults.n_threads;
    full.n_ctx = defaults.n_ctx;
    full.kv_tokens = defaults.kv_tokens;
    full.max_step_tokens = defaults.max_step_tokens;
    full.kv_cache_type = LLAMA3_KV_CACHE_F16;
    full.when_pool_full = LLAMA3_POOL_FULL_WAIT;
    full.prefix_cache = defaults.prefix_cache ? 1 : 0;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_engine_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_engine_params_init)(llama3_engine_params* params) {
  return llama3_engine_params_init_sized(params, sizeof(llama3_engine_params));
}

llama3_status llama3_engine_create(const llama3_model* model, const llama3_engine_params* params,
                                   llama3_engine** out_engine) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out_engine != nullptr);
    const llama3::EngineOptions options = llama3::capi::engine_options(params, function);
    *out_engine =
        new llama3_engine(std::make_unique<llama3::Engine>(model->model, options), model->model);
    return LLAMA3_OK;
  });
}

void llama3_engine_free(llama3_engine* engine) {
  delete engine;
}

llama3_status llama3_engine_submit(llama3_engine* engine, const llama3_token* prompt,
                                   size_t n_prompt, const llama3_sampler_params* sampling,
                                   const llama3_generate_params* params,
                                   llama3_request_id* out_id) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(engine != nullptr);
    LLAMA3_REQUIRE(out_id != nullptr);
    LLAMA3_REQUIRE(prompt != nullptr || n_prompt == 0);
    llama3::EngineRequest request;
    request.prompt.assign(prompt, prompt + n_prompt);
    request.sampling = llama3::capi::sampler_params(sampling, function);
    request.generate = llama3::capi::generate_options(params, function);
    llama3::capi::require(!request.generate.context_shift, function,
                          "params->context_shift: an engine request's context does not shift");
    request.generate.logprobs = false;  // documented as session-only: nothing could read them
    request.adapters = llama3::capi::request_adapters(params, function);
    auto blocking = llama3::capi::add_safety_filters(params, engine->model, request.prompt,
                                                     request.generate, function);
    const llama3_request_id id = engine->engine->submit(std::move(request));
    {
      // (No caller knows the id before this returns, so no wait can look before the entry.)
      std::lock_guard<std::mutex> lock(engine->mutex);
      engine->blocking[id] = std::move(blocking);
    }
    *out_id = id;
    return LLAMA3_OK;
  });
}

llama3_status llama3_engine_cancel(llama3_engine* engine, llama3_request_id id) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(engine != nullptr);
    engine->engine->state(id);  // throws for an unknown id
    engine->engine->cancel(id);
    return LLAMA3_OK;
  });
}

llama3_status llama3_engine_poll(llama3_engine* engine, llama3_request_id id, char* buffer,
                                 size_t capacity, size_t* out_length, int32_t* out_state) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(engine != nullptr);
    std::lock_guard<std::mutex> lock(engine->mutex);
    std::string& unread = engine->unread[id];
    llama3::RequestState state;
    try {
      state = engine->engine->poll(id, unread);
    } catch (...) {
      engine->unread.erase(id);
      throw;
    }
    if (out_state != nullptr) *out_state = state_code(state);
    const llama3_status status = llama3::capi::copy_out(unread.data(), unread.size(), 1, buffer,
                                                        capacity, out_length, true, function);
    if (status == LLAMA3_OK) unread.clear();
    return status;
  });
}

llama3_status llama3_engine_wait(llama3_engine* engine, llama3_request_id id,
                                 llama3_generate_result* result, int32_t* out_state) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(engine != nullptr);
    if (result != nullptr) {
      llama3::capi::check_struct_size(result->struct_size, sizeof(llama3_generate_result),
                                      function);
    }
    const llama3::EngineResult ended = engine->engine->wait(id);
    int32_t filter = LLAMA3_FILTER_NONE;
    {
      std::lock_guard<std::mutex> lock(engine->mutex);
      engine->unread.erase(id);
      if (const auto found = engine->blocking.find(id); found != engine->blocking.end()) {
        filter = *found->second;
        engine->blocking.erase(found);
      }
    }
    if (result != nullptr) llama3::capi::write_generate_result(ended.generation, filter, result);
    if (out_state != nullptr) *out_state = state_code(ended.state);
    if (ended.state != llama3::RequestState::kFinished) return LLAMA3_OK;
    return llama3::capi::blocked_status(ended.generation, filter, function);
  });
}

}  // extern "C"
