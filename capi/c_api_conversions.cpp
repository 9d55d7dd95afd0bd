// Conversions shared by the session and engine parts of the C ABI.
#include <cstdio>
#include <string>

#include "c_api_support.hpp"

namespace llama3::capi {
namespace {

int32_t stop_reason_code(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration:
      return LLAMA3_STOP_END_OF_GENERATION;
    case StopReason::kMaxTokens:
      return LLAMA3_STOP_MAX_TOKENS;
    case StopReason::kStopString:
      return LLAMA3_STOP_STOP_STRING;
    case StopReason::kCallback:
      return LLAMA3_STOP_CALLBACK;
    case StopReason::kContextFull:
      return LLAMA3_STOP_CONTEXT_FULL;
    case StopReason::kBlocked:
      return LLAMA3_STOP_BLOCKED;
    case StopReason::kFiltered:
      return LLAMA3_STOP_FILTERED;
  }
  return LLAMA3_STOP_MAX_TOKENS;
}

}  // namespace

SamplerParams sampler_params(const llama3_sampler_params* params, const char* function) {
  llama3_sampler_params p{};
  llama3_sampler_params_init(&p);
  if (params != nullptr) {
    check_struct_size(params->struct_size, sizeof(p), function);
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
    LLAMA3_READ_FIELD(p, params, grammar);
  }
  require(p.logit_bias != nullptr || p.n_logit_bias == 0, function,
          "logit_bias is NULL with n_logit_bias > 0");
  SamplerParams sp;
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
    sp.logit_bias.push_back(LogitBias{p.logit_bias[i].token, p.logit_bias[i].bias});
  }
  if (p.grammar != nullptr) sp.grammar = p.grammar->grammar;
  return sp;
}

std::vector<ActiveLora> active_adapters(const llama3_lora* const* adapters, const float* scales,
                                        std::size_t n, const char* function) {
  require(adapters != nullptr || n == 0, function, "adapters is NULL with n_adapters > 0");
  std::vector<ActiveLora> active;
  for (std::size_t i = 0; i < n; ++i) {
    require(adapters[i] != nullptr, function, "an adapter is NULL");
    active.push_back({adapters[i]->adapter, scales != nullptr ? scales[i] : 1.0f});
  }
  return active;
}

std::vector<ActiveLora> request_adapters(const llama3_generate_params* params,
                                         const char* function) {
  if (params == nullptr) return {};
  llama3_generate_params p{};
  llama3_generate_params_init(&p);
  check_struct_size(params->struct_size, sizeof(p), function);
  LLAMA3_READ_FIELD(p, params, adapters);
  LLAMA3_READ_FIELD(p, params, adapter_scales);
  LLAMA3_READ_FIELD(p, params, n_adapters);
  return active_adapters(p.adapters, p.adapter_scales, p.n_adapters, function);
}

GenerateOptions generate_options(const llama3_generate_params* params, const char* function) {
  llama3_generate_params p{};
  llama3_generate_params_init(&p);
  if (params != nullptr) {
    check_struct_size(params->struct_size, sizeof(p), function);
    LLAMA3_READ_FIELD(p, params, max_tokens);
    LLAMA3_READ_FIELD(p, params, stop_strings);
    LLAMA3_READ_FIELD(p, params, n_stop_strings);
    LLAMA3_READ_FIELD(p, params, on_piece);
    LLAMA3_READ_FIELD(p, params, user_data);
    LLAMA3_READ_FIELD(p, params, logprobs);
    LLAMA3_READ_FIELD(p, params, top_logprobs);
    LLAMA3_READ_FIELD(p, params, draft_model);
    LLAMA3_READ_FIELD(p, params, draft_threads);
    LLAMA3_READ_FIELD(p, params, lookup_ngram);
    LLAMA3_READ_FIELD(p, params, draft_max);
    LLAMA3_READ_FIELD(p, params, context_shift);
    LLAMA3_READ_FIELD(p, params, n_keep);
  }
  require(p.stop_strings != nullptr || p.n_stop_strings == 0, function,
          "stop_strings is NULL with n_stop_strings > 0");
  GenerateOptions options;
  options.max_tokens = p.max_tokens;
  options.context_shift = p.context_shift != 0;
  options.n_keep = p.n_keep;
  options.logprobs = p.logprobs != 0;
  options.top_logprobs = p.top_logprobs;
  options.speculative.draft_model = p.draft_model != nullptr ? &p.draft_model->model : nullptr;
  options.speculative.draft_threads = p.draft_threads;
  options.speculative.lookup_ngram = p.lookup_ngram;
  options.speculative.draft_max = p.draft_max;
  for (size_t i = 0; i < p.n_stop_strings; ++i) {
    require(p.stop_strings[i] != nullptr, function, "a stop string is NULL");
    options.stop_strings.emplace_back(p.stop_strings[i]);
  }
  if (p.on_piece != nullptr) {
    options.on_piece = [callback = p.on_piece, user_data = p.user_data](std::string_view piece) {
      const std::string terminated(piece);
      return callback(terminated.c_str(), terminated.size(), user_data) == 0;
    };
  }
  return options;
}

void write_generate_result(const GenerateResult& generated, int32_t filter,
                           llama3_generate_result* result) {
  LLAMA3_WRITE_FIELD(result, stop_reason_code(generated.stop_reason), stop_reason);
  LLAMA3_WRITE_FIELD(result, generated.n_prompt_tokens, n_prompt_tokens);
  LLAMA3_WRITE_FIELD(result, static_cast<int32_t>(generated.tokens.size()), n_generated_tokens);
  LLAMA3_WRITE_FIELD(result, generated.prompt_seconds, prompt_seconds);
  LLAMA3_WRITE_FIELD(result, generated.generate_seconds, generate_seconds);
  LLAMA3_WRITE_FIELD(result, generated.n_cached_tokens, n_cached_tokens);
  LLAMA3_WRITE_FIELD(result, generated.speculative.drafted, n_drafted);
  LLAMA3_WRITE_FIELD(result, generated.speculative.accepted, n_draft_accepted);
  LLAMA3_WRITE_FIELD(result, generated.speculative.target_passes, n_target_passes);
  const bool blocked = generated.stop_reason == StopReason::kBlocked ||
                       generated.stop_reason == StopReason::kFiltered;
  LLAMA3_WRITE_FIELD(result, blocked ? filter : LLAMA3_FILTER_NONE, filter);
}

// `text` as a JSON string literal (RFC 8259 escapes; other bytes, UTF-8 included, as they are).
void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace llama3::capi
