// The C ABI (llama3.h): the safety layer — the insecure-code scanner and the Llama Guard runner,
// with results as JSON text (the format llama3_parse_tool_calls uses too).
#include <string>
#include <string_view>
#include <vector>

#include "c_api_safety.hpp"

namespace {

using llama3::capi::append_json_string;
using llama3::capi::guarded;

std::string scan_json(const llama3::CodeScanResult& result) {
  std::string out = "{\"treatment\":";
  append_json_string(llama3::treatment_name(result.treatment), out);
  out += ",\"findings\":[";
  for (std::size_t i = 0; i < result.findings.size(); ++i) {
    const llama3::CodeFinding& f = result.findings[i];
    if (i > 0) out += ',';
    out += "{\"rule_id\":";
    append_json_string(f.rule_id, out);
    out += ",\"cwe_id\":";
    append_json_string(f.cwe_id, out);
    out += ",\"severity\":";
    append_json_string(llama3::severity_name(f.severity), out);
    out += ",\"language\":";
    append_json_string(f.language, out);
    out += ",\"line\":" + std::to_string(f.line) + ",\"column\":" + std::to_string(f.column);
    out += ",\"description\":";
    append_json_string(f.description, out);
    out += ",\"matched_text\":";
    append_json_string(f.matched_text, out);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string verdict_json(const llama3::GuardVerdict& verdict) {
  std::string out = "{\"verdict\":";
  append_json_string(llama3::guard_verdict_kind_name(verdict.kind), out);
  out += ",\"categories\":[";
  for (std::size_t i = 0; i < verdict.categories.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(verdict.categories[i], out);
  }
  out += "],\"unsafe_probability\":" + std::to_string(verdict.unsafe_probability);
  out += ",\"threshold_overrode_text\":";
  out += verdict.threshold_overrode_text ? "true" : "false";
  out += ",\"raw\":";
  append_json_string(verdict.raw, out);
  out += '}';
  return out;
}

}  // namespace

extern "C" {

llama3_status llama3_code_scanner_create(const char* rules_json,
                                         llama3_code_scanner** out_scanner) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(out_scanner != nullptr);
    *out_scanner = new llama3_code_scanner{
        rules_json == nullptr ? llama3::CodeScanner::with_builtin_rules()
                              : llama3::CodeScanner::from_rules_json(rules_json, "rules_json")};
    return LLAMA3_OK;
  });
}

void llama3_code_scanner_free(llama3_code_scanner* scanner) {
  delete scanner;
}

llama3_status llama3_code_scan(const llama3_code_scanner* scanner, const char* code, size_t length,
                               const char* language, int32_t markdown, char* json, size_t capacity,
                               size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(scanner != nullptr);
    LLAMA3_REQUIRE(code != nullptr || length == 0);
    const std::string_view text(code == nullptr ? "" : code, length);
    const llama3::CodeScanResult result =
        markdown != 0 ? scanner->scanner.scan_markdown(text)
                      : scanner->scanner.scan(text, language == nullptr ? "" : language);
    const std::string out = scan_json(result);
    return llama3::capi::copy_out(out.data(), out.size(), 1, json, capacity, out_length, true,
                                  function);
  });
}

llama3_status llama3_guard_params_init_sized(llama3_guard_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    const llama3::GuardOptions options;
    llama3_guard_params defaults{};
    defaults.version = LLAMA3_GUARD_AUTO;
    defaults.threshold = options.threshold;
    defaults.max_new_tokens = options.max_new_tokens;
    defaults.n_threads = options.n_threads;
    defaults.n_ctx = options.n_ctx;
    llama3::capi::write_defaults(params, struct_size, defaults, "llama3_guard_params_init");
    return LLAMA3_OK;
  });
}

llama3_status(llama3_guard_params_init)(llama3_guard_params* params) {
  return llama3_guard_params_init_sized(params, sizeof(llama3_guard_params));
}

llama3_status llama3_guard_create(const llama3_model* model, const llama3_guard_params* params,
                                  llama3_guard** out_guard) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(out_guard != nullptr);
    llama3_guard_params p{};
    llama3_guard_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
      LLAMA3_READ_FIELD(p, params, version);
      LLAMA3_READ_FIELD(p, params, threshold);
      LLAMA3_READ_FIELD(p, params, max_new_tokens);
      LLAMA3_READ_FIELD(p, params, n_threads);
      LLAMA3_READ_FIELD(p, params, n_ctx);
    }
    llama3::GuardOptions options;
    switch (p.version) {
      case LLAMA3_GUARD_AUTO:
        break;
      case LLAMA3_GUARD_2:
        options.version = llama3::GuardVersion::kGuard2;
        break;
      case LLAMA3_GUARD_3:
        options.version = llama3::GuardVersion::kGuard3;
        break;
      case LLAMA3_GUARD_3_1B:
        options.version = llama3::GuardVersion::kGuard3_1B;
        break;
      default:
        throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                            "llama3_guard_create: unknown version " + std::to_string(p.version));
    }
    options.threshold = p.threshold;
    options.max_new_tokens = p.max_new_tokens;
    options.n_threads = p.n_threads;
    options.n_ctx = p.n_ctx;
    *out_guard =
        new llama3_guard{std::make_shared<LockedGuard>(llama3::Guard(model->model, options))};
    return LLAMA3_OK;
  });
}

void llama3_guard_free(llama3_guard* guard) {
  delete guard;
}

llama3_status llama3_guard_classify(llama3_guard* guard, const llama3_chat_message* turns,
                                    size_t n_turns, char* json, size_t capacity,
                                    size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(guard != nullptr);
    LLAMA3_REQUIRE(turns != nullptr || n_turns == 0);
    std::vector<llama3::ChatTurn> conversation;
    conversation.reserve(n_turns);
    for (size_t i = 0; i < n_turns; ++i) {
      conversation.push_back({turns[i].role == nullptr ? "" : turns[i].role,
                              turns[i].content == nullptr ? "" : turns[i].content});
    }
    std::unique_lock<std::mutex> lock(guard->locked->mutex);
    const llama3::GuardVerdict verdict = guard->locked->guard.classify(conversation);
    lock.unlock();
    const std::string out = verdict_json(verdict);
    return llama3::capi::copy_out(out.data(), out.size(), 1, json, capacity, out_length, true,
                                  function);
  });
}

}  // extern "C"
