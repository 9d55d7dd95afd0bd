// The C ABI (llama3.h) of structured output: grammars, tool-call parsing and generated tokens'
// logprobs.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "c_api_support.hpp"
#include "llama3/chat.hpp"

using llama3::capi::guarded;

namespace {

// The handle's shared vocabulary, built on first use.
const llama3::GrammarVocabulary& vocabulary_of(const llama3_tokenizer& tokenizer) {
  std::lock_guard<std::mutex> lock(tokenizer.grammar_vocabulary_mutex);
  if (!tokenizer.grammar_vocabulary) tokenizer.grammar_vocabulary.emplace(tokenizer.tokenizer);
  return *tokenizer.grammar_vocabulary;
}

template <typename Compile>
llama3_status compile(const char* function, const llama3_tokenizer* tokenizer, const char* text,
                      llama3_grammar** out_grammar, Compile&& compile_text) {
  return guarded(function, [&] {
    llama3::capi::require(tokenizer != nullptr, function, "tokenizer is NULL");
    llama3::capi::require(text != nullptr, function, "the grammar text is NULL");
    llama3::capi::require(out_grammar != nullptr, function, "out_grammar is NULL");
    *out_grammar = new llama3_grammar{compile_text(text, vocabulary_of(*tokenizer))};
    return LLAMA3_OK;
  });
}

}  // namespace

extern "C" {

llama3_status llama3_grammar_from_gbnf(const llama3_tokenizer* tokenizer, const char* gbnf,
                                       llama3_grammar** out_grammar) {
  return compile(__func__, tokenizer, gbnf, out_grammar, [](const char* text, const auto& vocab) {
    return llama3::Grammar::from_gbnf(text, vocab);
  });
}

llama3_status llama3_grammar_from_json_schema(const llama3_tokenizer* tokenizer, const char* schema,
                                              llama3_grammar** out_grammar) {
  return compile(__func__, tokenizer, schema, out_grammar, [](const char* text, const auto& vocab) {
    return llama3::Grammar::from_json_schema(text, vocab);
  });
}

llama3_status llama3_grammar_from_regex(const llama3_tokenizer* tokenizer, const char* pattern,
                                        llama3_grammar** out_grammar) {
  return compile(
      __func__, tokenizer, pattern, out_grammar,
      [](const char* text, const auto& vocab) { return llama3::Grammar::from_regex(text, vocab); });
}

void llama3_grammar_free(llama3_grammar* grammar) {
  delete grammar;
}

llama3_status llama3_parse_tool_calls(const char* answer, size_t answer_length, char* json,
                                      size_t capacity, size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(answer != nullptr || answer_length == 0);
    const llama3::ParsedReply parsed =
        llama3::parse_tool_calls(std::string_view(answer ? answer : "", answer_length));
    std::string out = "{\"content\":";
    llama3::capi::append_json_string(parsed.content, out);
    out += ",\"tool_calls\":[";
    for (size_t i = 0; i < parsed.tool_calls.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"name\":";
      llama3::capi::append_json_string(parsed.tool_calls[i].name, out);
      // arguments is a compact JSON object already (parse_tool_calls checked it).
      out += ",\"arguments\":" + parsed.tool_calls[i].arguments + "}";
    }
    out += "]}";
    return llama3::capi::copy_out(out.data(), out.size(), 1, json, capacity, out_length,
                                  /*terminate=*/true, function);
  });
}

llama3_status llama3_session_logprob(const llama3_session* session, size_t index,
                                     llama3_token_logprob* out_token, llama3_token_logprob* top,
                                     size_t top_capacity, size_t* out_n_top) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    LLAMA3_REQUIRE(out_token != nullptr);
    LLAMA3_REQUIRE(top != nullptr || top_capacity == 0);
    if (!session->last_logprobs) {
      throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                          "llama3_session_logprob: the last generate did not ask for logprobs");
    }
    const auto& entries = *session->last_logprobs;
    if (index >= entries.size()) {
      throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                          "llama3_session_logprob: index " + std::to_string(index) +
                              " but the last generate made " + std::to_string(entries.size()) +
                              " tokens");
    }
    const llama3::GeneratedTokenLogprobs& entry = entries[index];
    *out_token = llama3_token_logprob{entry.token, entry.logprob};
    const size_t n = std::min(top_capacity, entry.top.size());
    for (size_t i = 0; i < n; ++i) top[i] = {entry.top[i].token, entry.top[i].logprob};
    if (out_n_top != nullptr) *out_n_top = n;
    return LLAMA3_OK;
  });
}

}  // extern "C"
