// The C ABI (llama3.h): samplers, sessions, decoding, generation and session state.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "c_api_safety.hpp"
#include "c_api_support.hpp"

using llama3::capi::guarded;

extern "C" {

// ---- sampler ----

llama3_status llama3_sampler_params_init_sized(llama3_sampler_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    const llama3::SamplerParams defaults;
    llama3_sampler_params full{};
    full.temperature = defaults.temperature;
    full.top_k = defaults.top_k;
    full.top_p = defaults.top_p;
    full.min_p = defaults.min_p;
    full.repeat_penalty = defaults.repeat_penalty;
    full.frequency_penalty = defaults.frequency_penalty;
    full.presence_penalty = defaults.presence_penalty;
    full.penalty_last_n = defaults.penalty_last_n;
    full.seed = defaults.seed;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_sampler_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_sampler_params_init)(llama3_sampler_params* params) {
  return llama3_sampler_params_init_sized(params, offsetof(llama3_sampler_params, grammar));
}

llama3_status llama3_sampler_create(const llama3_sampler_params* params,
                                    llama3_sampler** out_sampler) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(out_sampler != nullptr);
    *out_sampler =
        new llama3_sampler{llama3::Sampler(llama3::capi::sampler_params(params, function))};
    return LLAMA3_OK;
  });
}

void llama3_sampler_free(llama3_sampler* sampler) {
  delete sampler;
}

llama3_status llama3_sampler_sample(llama3_sampler* sampler, const float* logits, size_t n_logits,
                                    llama3_token* out_token) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(logits != nullptr);
    LLAMA3_REQUIRE(n_logits > 0);
    LLAMA3_REQUIRE(out_token != nullptr);
    *out_token = sampler->sampler.sample(std::span<const float>(logits, n_logits));
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_candidates(llama3_sampler* sampler, const float* logits,
                                        size_t n_logits, llama3_token_probability* candidates,
                                        size_t capacity, size_t* out_n, size_t* out_n_total) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(logits != nullptr);
    LLAMA3_REQUIRE(n_logits > 0);
    LLAMA3_REQUIRE(candidates != nullptr || capacity == 0);
    LLAMA3_REQUIRE(out_n != nullptr);
    const auto all = sampler->sampler.candidates(std::span<const float>(logits, n_logits));
    const std::size_t n = std::min(capacity, all.size());
    for (std::size_t i = 0; i < n; ++i) candidates[i] = {all[i].id, all[i].probability};
    *out_n = n;
    if (out_n_total != nullptr) *out_n_total = all.size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_accept(llama3_sampler* sampler, llama3_token token) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(token >= 0);
    sampler->sampler.accept(token);
    return LLAMA3_OK;
  });
}

llama3_status llama3_sampler_reset(llama3_sampler* sampler) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(sampler != nullptr);
    sampler->sampler.reset();
    return LLAMA3_OK;
  });
}

// ---- session ----

llama3_status llama3_session_params_init_sized(llama3_session_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    llama3_session_params full{};
    full.kv_cache_type = LLAMA3_KV_CACHE_F16;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_session_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_session_params_init)(llama3_session_params* params) {
  return llama3_session_params_init_sized(params, sizeof(llama3_session_params));
}

llama3_status llama3_session_create(const llama3_model* model, const llama3_session_params* params,
                                    llama3_session** out_session) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out_session != nullptr);
    llama3_session_params p{};
    llama3_session_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
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
    options.kv_cache_type = llama3::capi::kv_cache_type(p.kv_cache_type, "llama3_session_create");
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
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    session->session.decode(std::span<const llama3::TokenId>(tokens, n_tokens));
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_decode_all_logits(llama3_session* session, const llama3_token* tokens,
                                               size_t n_tokens, const float** out_logits,
                                               size_t* out_n_floats) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    LLAMA3_REQUIRE(out_logits != nullptr);
    LLAMA3_REQUIRE(out_n_floats != nullptr);
    const auto logits =
        session->session.decode_all_logits(std::span<const llama3::TokenId>(tokens, n_tokens));
    *out_logits = logits.empty() ? nullptr : logits.data();
    *out_n_floats = logits.size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_logits(const llama3_session* session, const float** out_logits,
                                    size_t* out_n_logits) {
  return guarded(__func__, [&](const char* function) {
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
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = session->session.n_past();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_n_ctx(const llama3_session* session, int32_t* out) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out != nullptr);
    *out = session->session.context_size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_reset(llama3_session* session) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.reset();
    session->last_logprobs.reset();
    session->last_notes.clear();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_truncate(llama3_session* session, int32_t n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.truncate(n_tokens);
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_shift_context(llama3_session* session, int32_t n_keep,
                                           int32_t n_discard) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.shift_context(n_keep, n_discard);
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_tokens(const llama3_session* session, const llama3_token** out_tokens,
                                    size_t* out_n) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_tokens != nullptr);
    LLAMA3_REQUIRE(out_n != nullptr);
    const auto ids = session->session.tokens();
    *out_tokens = ids.empty() ? nullptr : ids.data();
    *out_n = ids.size();
    return LLAMA3_OK;
  });
}

}  // extern "C"

// ---- generation ----

extern "C" {

llama3_status llama3_generate_params_init_sized(llama3_generate_params* params,
                                                size_t struct_size) {
  return guarded(__func__, [&] {
    llama3_generate_params full{};
    full.max_tokens = llama3::GenerateOptions{}.max_tokens;
    full.draft_max = llama3::SpeculativeOptions{}.draft_max;
    full.guard_prompt = 1;
    full.guard_answer = 1;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_generate_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_generate_params_init)(llama3_generate_params* params) {
  return llama3_generate_params_init_sized(params, offsetof(llama3_generate_params, logprobs));
}

llama3_status llama3_session_generate(llama3_session* session, const llama3_token* prompt,
                                      size_t n_prompt, llama3_sampler* sampler,
                                      const llama3_generate_params* params,
                                      llama3_generate_result* result) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(prompt != nullptr || n_prompt == 0);
    llama3::GenerateOptions options = llama3::capi::generate_options(params, function);
    llama3::capi::require(llama3::capi::request_adapters(params, function).empty(), function,
                          "params->n_adapters > 0: a session's adapters are set with "
                          "llama3_session_set_adapters");
    if (result != nullptr) {
      llama3::capi::check_struct_size(result->struct_size, sizeof(llama3_generate_result),
                                      function);
    }
    const std::span<const llama3::TokenId> prompt_ids(prompt, n_prompt);
    const auto blocking = llama3::capi::add_safety_filters(
        params, session->session.model(),
        llama3::capi::answer_context(session->session.model(), session->session.tokens(),
                                     prompt_ids),
        options, function);
    session->last_logprobs.reset();
    session->last_notes.clear();
    auto generated = session->session.generate(prompt_ids, sampler->sampler, options);
    session->last_notes = std::move(generated.notes);
    if (result != nullptr) llama3::capi::write_generate_result(generated, *blocking, result);
    if (options.logprobs) session->last_logprobs = std::move(generated.logprobs);
    return llama3::capi::blocked_status(generated, *blocking, function);
  });
}

llama3_status llama3_session_filter_notes(const llama3_session* session, char* json,
                                          size_t capacity, size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    std::string out = "[";
    for (std::size_t i = 0; i < session->last_notes.size(); ++i) {
      if (i > 0) out += ',';
      llama3::capi::append_json_string(session->last_notes[i], out);
    }
    out += ']';
    return llama3::capi::copy_out(out.data(), out.size(), 1, json, capacity, out_length,
                                  /*terminate=*/true, function);
  });
}

// ---- state ----

llama3_status llama3_session_state_size(const llama3_session* session, size_t* out_size) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_size != nullptr);
    *out_size = session->session.save_state().size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_save_state(const llama3_session* session, void* buffer,
                                        size_t capacity, size_t* out_size) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    const auto state = session->session.save_state();
    return llama3::capi::copy_out(state.data(), state.size(), 1, buffer, capacity, out_size,
                                  /*terminate=*/false, function);
  });
}

llama3_status llama3_session_load_state(llama3_session* session, const void* state, size_t size) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(state != nullptr || size == 0);
    session->session.load_state(
        std::span<const std::byte>(static_cast<const std::byte*>(state), size));
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_save_state_file(const llama3_session* session, const char* path) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(path != nullptr);
    session->session.save_state_file(path);
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_load_state_file(llama3_session* session, const char* path) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(path != nullptr);
    session->session.load_state_file(path);
    return LLAMA3_OK;
  });
}

}  // extern "C"
