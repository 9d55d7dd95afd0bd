// The C ABI (llama3.h): samplers, sessions, decoding, generation and session state.
#include <cmath>
#include <string>
#include <vector>

#include "c_api_support.hpp"

using llama3::capi::guarded;

extern "C" {

// ---- sampler ----

llama3_status llama3_sampler_params_init(llama3_sampler_params* params) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(params != nullptr);
    const llama3::SamplerParams defaults;
    *params = llama3_sampler_params{};
    params->struct_size = sizeof(llama3_sampler_params);
    params->temperature = defaults.temperature;
    params->top_k = defaults.top_k;
    params->top_p = defaults.top_p;
    params->min_p = defaults.min_p;
    params->repeat_penalty = defaults.repeat_penalty;
    params->frequency_penalty = defaults.frequency_penalty;
    params->presence_penalty = defaults.presence_penalty;
    params->penalty_last_n = defaults.penalty_last_n;
    params->seed = defaults.seed;
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_create(const llama3_sampler_params* params,
                                    llama3_sampler** out_sampler) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(out_sampler != nullptr);
    llama3_sampler_params p{};
    llama3_sampler_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), __func__);
      LLAMA3_READ_FIELD(p, params, temperature);
      LLAMA3_READ_FIELD(p, params, top_k);
      LLAMA3_READ_FIELD(p, params, top_p);
      LLAMA3_READ_FIELD(p, params, min_p);
      LLAMA3_READ_FIELD(p, params, repeat_penalty);
      LLAMA3_READ_FIELD(p, params, frequency_penalty);
      LLAMA3_READ_FIELD(p, params, presence_penalty);
      LLAMA3_READ_FIELD(p, params, penalty_last_n);
      LLAMA3_READ_FIELD(p, params, seed);
      LLAMA3_READ_FIELD(p, params, logit_bias);
      LLAMA3_READ_FIELD(p, params, n_logit_bias);
    }
    LLAMA3_REQUIRE(p.logit_bias != nullptr || p.n_logit_bias == 0);
    llama3::SamplerParams sp;
    sp.temperature = p.temperature;
    sp.top_k = p.top_k;
    sp.top_p = p.top_p;
    sp.min_p = p.min_p;
    sp.repeat_penalty = p.repeat_penalty;
    sp.frequency_penalty = p.frequency_penalty;
    sp.presence_penalty = p.presence_penalty;
    sp.penalty_last_n = p.penalty_last_n;
    sp.seed = p.seed;
    for (size_t i = 0; i < p.n_logit_bias; ++i) {
      sp.logit_bias.push_back(llama3::LogitBias{p.logit_bias[i].token, p.logit_bias[i].bias});
    }
    *out_sampler = new llama3_sampler{llama3::Sampler(std::move(sp))};
    return LLAMA3_OK;
  });
}

void llama3_sampler_free(llama3_sampler* sampler) {
  delete sampler;
}

llama3_status llama3_sampler_sample(llama3_sampler* sampler, const float* logits, size_t n_logits,
                                    llama3_token* out_token) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(logits != nullptr);
    LLAMA3_REQUIRE(n_logits > 0);
    LLAMA3_REQUIRE(out_token != nullptr);
    *out_token = sampler->sampler.sample(std::span<const float>(logits, n_logits));
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_accept(llama3_sampler* sampler, llama3_token token) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(token >= 0);
    sampler->sampler.accept(token);
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_reset(llama3_sampler* sampler) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(sampler != nullptr);
    sampler->sampler.reset();
    return LLAMA3_OK;
  });
}

// ---- session ----

llama3_status llama3_session_params_init(llama3_session_params* params) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(params != nullptr);
    *params = llama3_session_params{};
    params->struct_size = sizeof(llama3_session_params);
    params->kv_cache_type = LLAMA3_KV_CACHE_F16;
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_create(const llama3_model* model, const llama3_session_params* params,
                                    llama3_session** out_session) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out_session != nullptr);
    llama3_session_params p{};
    llama3_session_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), __func__);
      LLAMA3_READ_FIELD(p, params, n_ctx);
      LLAMA3_READ_FIELD(p, params, n_threads);
      LLAMA3_READ_FIELD(p, params, kv_cache_type);
      LLAMA3_READ_FIELD(p, params, abort_callback);
      LLAMA3_READ_FIELD(p, params, abort_user_data);
    }
    LLAMA3_REQUIRE(p.n_threads >= 0);
    llama3::SessionOptions options;
    options.n_ctx = p.n_ctx;
    options.n_threads = p.n_threads;
    if (p.kv_cache_type == LLAMA3_KV_CACHE_F16) {
      options.kv_cache_type = llama3::KvCacheType::kF16;
    } else if (p.kv_cache_type == LLAMA3_KV_CACHE_F32) {
      options.kv_cache_type = llama3::KvCacheType::kF32;
    } else {
      throw llama3::Error(
          llama3::ErrorCode::kInvalidArgument,
          "llama3_session_create: unknown kv_cache_type " + std::to_string(p.kv_cache_type));
    }
    auto handle = std::make_unique<llama3_session>(llama3_session{
        llama3::Session(model->model, options), p.abort_callback, p.abort_user_data});
    if (handle->abort_callback != nullptr) {
      handle->session.set_abort_callback(
          [callback = handle->abort_callback, user_data = handle->abort_user_data] {
            return callback(user_data) != 0;
          });
    }
    *out_session = handle.release();
    return LLAMA3_OK;
  });
}

void llama3_session_free(llama3_session* session) {
  delete session;
}

llama3_status llama3_session_decode(llama3_session* session, const llama3_token* tokens,
                                    size_t n_tokens) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    session->session.decode(std::span<const llama3::TokenId>(tokens, n_tokens));
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_logits(const llama3_session* session, const float** out_logits,
                                    size_t* out_n_logits) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_logits != nullptr);
    LLAMA3_REQUIRE(out_n_logits != nullptr);
    const auto logits = session->session.logits();
    *out_logits = logits.empty() ? nullptr : logits.data();
    *out_n_logits = logits.size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_n_past(const llama3_session* session, int32_t* out) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = session->session.n_past();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_n_ctx(const llama3_session* session, int32_t* out) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = session->session.context_size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_reset(llama3_session* session) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.reset();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_truncate(llama3_session* session, int32_t n_tokens) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.truncate(n_tokens);
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_tokens(const llama3_session* session, const llama3_token** out_tokens,
                                    size_t* out_n) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_tokens != nullptr);
    LLAMA3_REQUIRE(out_n != nullptr);
    const auto ids = session->session.tokens();
    *out_tokens = ids.empty() ? nullptr : ids.data();
    *out_n = ids.size();
    return LLAMA3_OK;
  });
}

// ---- generation ----

llama3_status llama3_generate_params_init(llama3_generate_params* params) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(params != nullptr);
    *params = llama3_generate_params{};
    params->struct_size = sizeof(llama3_generate_params);
    params->max_tokens = llama3::GenerateOptions{}.max_tokens;
    return LLAMA3_OK;
  });
}

namespace {

int32_t stop_reason_code(llama3::StopReason reason) {
  switch (reason) {
    case llama3::StopReason::kEndOfGeneration:
      return LLAMA3_STOP_END_OF_GENERATION;
    case llama3::StopReason::kMaxTokens:
      return LLAMA3_STOP_MAX_TOKENS;
    case llama3::StopReason::kStopString:
      return LLAMA3_STOP_STOP_STRING;
    case llama3::StopReason::kCallback:
      return LLAMA3_STOP_CALLBACK;
    case llama3::StopReason::kContextFull:
      return LLAMA3_STOP_CONTEXT_FULL;
    // Filters are not exposed through the C ABI yet, so these cannot occur here; a caller-side
    // stop is the nearest meaning until the C ABI grows its own codes for them.
    case llama3::StopReason::kBlocked:
    case llama3::StopReason::kFiltered:
      return LLAMA3_STOP_CALLBACK;
  }
  return LLAMA3_STOP_MAX_TOKENS;
}

}  // namespace

llama3_status llama3_session_generate(llama3_session* session, const llama3_token* prompt,
                                      size_t n_prompt, llama3_sampler* sampler,
                                      const llama3_generate_params* params,
                                      llama3_generate_result* result) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(prompt != nullptr || n_prompt == 0);
    llama3_generate_params p{};
    llama3_generate_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), __func__);
      LLAMA3_READ_FIELD(p, params, max_tokens);
      LLAMA3_READ_FIELD(p, params, stop_strings);
      LLAMA3_READ_FIELD(p, params, n_stop_strings);
      LLAMA3_READ_FIELD(p, params, on_piece);
      LLAMA3_READ_FIELD(p, params, user_data);
    }
    if (result != nullptr) {
      llama3::capi::check_struct_size(result->struct_size, sizeof(llama3_generate_result),
                                      __func__);
    }
    LLAMA3_REQUIRE(p.stop_strings != nullptr || p.n_stop_strings == 0);
    llama3::GenerateOptions options;
    options.max_tokens = p.max_tokens;
    for (size_t i = 0; i < p.n_stop_strings; ++i) {
      LLAMA3_REQUIRE(p.stop_strings[i] != nullptr);
      options.stop_strings.emplace_back(p.stop_strings[i]);
    }
    if (p.on_piece != nullptr) {
      options.on_piece = [callback = p.on_piece, user_data = p.user_data](std::string_view piece) {
        const std::string terminated(piece);
        return callback(terminated.c_str(), terminated.size(), user_data) == 0;
      };
    }
    const auto generated = session->session.generate(
        std::span<const llama3::TokenId>(prompt, n_prompt), sampler->sampler, options);
    if (result != nullptr) {
      LLAMA3_WRITE_FIELD(result, stop_reason_code(generated.stop_reason), stop_reason);
      LLAMA3_WRITE_FIELD(result, generated.n_prompt_tokens, n_prompt_tokens);
      LLAMA3_WRITE_FIELD(result, static_cast<int32_t>(generated.tokens.size()), n_generated_tokens);
      LLAMA3_WRITE_FIELD(result, generated.prompt_seconds, prompt_seconds);
      LLAMA3_WRITE_FIELD(result, generated.generate_seconds, generate_seconds);
      LLAMA3_WRITE_FIELD(result, generated.n_cached_tokens, n_cached_tokens);
    }
    return LLAMA3_OK;
  });
}

// ---- state ----

llama3_status llama3_session_state_size(const llama3_session* session, size_t* out_size) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_size != nullptr);
    *out_size = session->session.save_state().size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_save_state(const llama3_session* session, void* buffer,
                                        size_t capacity, size_t* out_size) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    const auto state = session->session.save_state();
    return llama3::capi::copy_out(state.data(), state.size(), 1, buffer, capacity, out_size,
                                  /*terminate=*/false, __func__);
  });
}

llama3_status llama3_session_load_state(llama3_session* session, const void* state, size_t size) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(state != nullptr || size == 0);
    session->session.load_state(
        std::span<const std::byte>(static_cast<const std::byte*>(state), size));
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_save_state_file(const llama3_session* session, const char* path) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(path != nullptr);
    session->session.save_state_file(path);
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_load_state_file(llama3_session* session, const char* path) {
  return guarded(__func__, [&] {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(path != nullptr);
    session->session.load_state_file(path);
    return LLAMA3_OK;
  });
}

}  // extern "C"
