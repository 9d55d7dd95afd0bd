// The safety fields of llama3_generate_params as the C++ layer's generate-time filters
// (safety.hpp), each wrapped so the C result can say which one blocked.
#include <string>
#include <utility>
#include <vector>

#include "c_api_safety.hpp"

namespace llama3::capi {
namespace {

const char* filter_name(int32_t filter) {
  switch (filter) {
    case LLAMA3_FILTER_BLOCKED_PHRASES:
      return "blocked_phrases";
    case LLAMA3_FILTER_GUARD:
      return "guard";
    case LLAMA3_FILTER_CODE_SCANNER:
      return "code_scanner";
    default:
      return "a filter";
  }
}

InputFilter tagged(InputFilter filter, int32_t code, const BlockingFilter& blocking) {
  return [filter = std::move(filter), code, blocking](std::string_view prompt_text) {
    InputVerdict verdict = filter(prompt_text);
    if (verdict.block) blocking->store(code);
    return verdict;
  };
}

OutputFilter tagged(OutputFilter filter, int32_t code, const BlockingFilter& blocking) {
  return [filter = std::move(filter), code, blocking](const OutputEvent& event) {
    OutputVerdict verdict = filter(event);
    if (verdict.action == OutputVerdict::Action::kStop) blocking->store(code);
    return verdict;
  };
}

// The Guard filters, each call under the handle's lock; the filter owns a share of the runner.
InputFilter locked_input(const std::shared_ptr<LockedGuard>& locked) {
  return [locked, filter = guard_input_filter(locked->guard)](std::string_view prompt_text) {
    std::lock_guard<std::mutex> lock(locked->mutex);
    return filter(prompt_text);
  };
}

OutputFilter locked_output(const std::shared_ptr<LockedGuard>& locked,
                           std::vector<ChatTurn> prompt) {
  return [locked, filter = guard_output_filter(locked->guard, std::move(prompt))](
             const OutputEvent& event) {
    if (!event.is_final) return OutputVerdict::pass();  // it judges the finished answer only
    std::lock_guard<std::mutex> lock(locked->mutex);
    return filter(event);
  };
}

std::vector<std::string> phrases(const char* const* list, std::size_t n, const char* function) {
  require(list != nullptr || n == 0, function,
          "blocked_phrases is NULL with n_blocked_phrases > 0");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (list[i] == nullptr || list[i][0] == '\0') {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(function) + ": blocked_phrases[" + std::to_string(i) + "] is " +
                      (list[i] == nullptr ? "NULL" : "empty (it would match any text)"));
    }
    out.emplace_back(list[i]);
  }
  return out;
}

}  // namespace

std::vector<TokenId> answer_context(const Model& model, std::span<const TokenId> held,
                                    std::span<const TokenId> prompt) {
  const bool whole =
      model.has_tokenizer() && !prompt.empty() && prompt.front() == model.tokenizer().bos_id();
  std::vector<TokenId> context;
  if (!whole) context.assign(held.begin(), held.end());
  context.insert(context.end(), prompt.begin(), prompt.end());
  return context;
}

BlockingFilter add_safety_filters(const llama3_generate_params* params, const Model& model,
                                  std::span<const TokenId> context, GenerateOptions& options,
                                  const char* function) {
  auto blocking = std::make_shared<std::atomic<int32_t>>(LLAMA3_FILTER_NONE);
  if (params == nullptr) return blocking;
  llama3_generate_params p{};
  llama3_generate_params_init(&p);
  check_struct_size(params->struct_size, sizeof(p), function);
  LLAMA3_READ_FIELD(p, params, guard);
  LLAMA3_READ_FIELD(p, params, guard_prompt);
  LLAMA3_READ_FIELD(p, params, guard_answer);
  LLAMA3_READ_FIELD(p, params, code_scanner);
  LLAMA3_READ_FIELD(p, params, blocked_phrases);
  LLAMA3_READ_FIELD(p, params, n_blocked_phrases);

  const std::vector<std::string> blocked =
      phrases(p.blocked_phrases, p.n_blocked_phrases, function);
  if (p.guard != nullptr) {
    require(p.guard_prompt != 0 || p.guard_answer != 0, function,
            "params->guard is set with guard_prompt and guard_answer both 0");
  }
  // Cheapest first: a blocked phrase refuses a prompt before the Guard model runs on it.
  if (!blocked.empty()) {
    options.input_filters.push_back(
        tagged(blocked_phrases_input_filter(blocked), LLAMA3_FILTER_BLOCKED_PHRASES, blocking));
    options.output_filters.push_back(
        tagged(blocked_phrases_output_filter(blocked), LLAMA3_FILTER_BLOCKED_PHRASES, blocking));
  }
  if (p.guard != nullptr && p.guard_prompt != 0) {
    options.input_filters.push_back(
        tagged(locked_input(p.guard->locked), LLAMA3_FILTER_GUARD, blocking));
  }
  if (p.code_scanner != nullptr) {
    options.output_filters.push_back(tagged(code_scanner_output_filter(p.code_scanner->scanner),
                                            LLAMA3_FILTER_CODE_SCANNER, blocking));
  }
  if (p.guard != nullptr && p.guard_answer != 0) {
    // Without a tokenizer there is no text to judge; generate() refuses filters then.
    std::vector<ChatTurn> prompt;
    if (model.has_tokenizer() && !context.empty()) {
      prompt = guard_turns_from_prompt_text(model.tokenizer().decode(context, true));
    }
    options.output_filters.push_back(
        tagged(locked_output(p.guard->locked, std::move(prompt)), LLAMA3_FILTER_GUARD, blocking));
  }
  return blocking;
}

llama3_status blocked_status(const GenerateResult& generated, int32_t filter,
                             const char* function) {
  const bool refused = generated.stop_reason == StopReason::kBlocked;
  if (!refused && generated.stop_reason != StopReason::kFiltered) return LLAMA3_OK;
  return fail(LLAMA3_ERR_BLOCKED,
              std::string(function) + ": " +
                  (refused ? "the prompt was refused by " : "the answer was stopped by ") +
                  filter_name(filter) + " (" + generated.filter_reason + ")");
}

}  // namespace llama3::capi
