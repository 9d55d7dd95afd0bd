// The Llama Guard runner: prompt -> prefill -> P(unsafe) from the first token's logits -> greedy
// verdict text -> parse -> threshold rule (documented on llama3::Guard).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"
#include "llama3/sampler.hpp"

namespace llama3 {

namespace detail {

class GuardImpl {
 public:
  GuardImpl(const Model& model, const GuardOptions& options, GuardVersion version)
      : model_(model),
        session_(model, SessionOptions{.n_ctx = options.n_ctx, .n_threads = options.n_threads}),
        threshold_(options.threshold),
        max_new_tokens_(options.max_new_tokens) {
    policy_ = GuardPolicy::defaults(version);
    if (!options.categories.empty()) policy_.categories = options.categories;
    policy_.excluded = options.excluded_categories;
    // Validates the policy now rather than at the first classification.
    build_guard_prompt(policy_, std::vector<ChatTurn>{{"user", "x"}});
    const auto unsafe = model.tokenizer().encode("unsafe");
    if (unsafe.empty())
      throw Error(ErrorCode::kInvalidArgument, "guard: \"unsafe\" encodes to nothing");
    unsafe_token_ = unsafe.front();
  }

  std::vector<TokenId> prompt_tokens(std::span<const ChatTurn> conversation) const {
    return encode_guard_prompt(model_.tokenizer(), policy_.version,
                               build_guard_prompt(policy_, conversation));
  }

  GuardVerdict classify(std::span<const ChatTurn> conversation) {
    const std::vector<TokenId> prompt = prompt_tokens(conversation);
    session_.reset();
    const float unsafe_probability = probability_of(session_.decode(prompt), unsafe_token_);

    SamplerParams greedy;
    greedy.temperature = 0.0f;
    Sampler sampler(greedy);
    GenerateOptions options;
    options.max_tokens = max_new_tokens_;
    // Continues from the logits already computed: the prompt is in the context.
    const GenerateResult generated = session_.generate({}, sampler, options);

    GuardVerdict verdict = parse_guard_output(generated.text, policy_);
    verdict.unsafe_probability = unsafe_probability;
    apply_threshold(verdict);
    return verdict;
  }

  const GuardPolicy& policy() const { return policy_; }
  float threshold() const { return threshold_; }
  TokenId unsafe_token() const { return unsafe_token_; }

 private:
  // softmax(logits)[token] over the full vocabulary, in double so a peaked row does not round to
  // 0/1 early.
  static float probability_of(std::span<const float> logits, TokenId token) {
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (const float logit : logits) sum += std::exp(static_cast<double>(logit - max_logit));
    const double chosen =
        std::exp(static_cast<double>(logits[static_cast<std::size_t>(token)] - max_logit));
    return static_cast<float>(chosen / sum);
  }

  void apply_threshold(GuardVerdict& verdict) const {
    using Kind = GuardVerdict::Kind;
    if (verdict.kind == Kind::kMalformed) return;  // never guessed
    const Kind decided = verdict.unsafe_probability >= threshold_ ? Kind::kUnsafe : Kind::kSafe;
    if (decided == verdict.kind) return;
    verdict.threshold_overrode_text = true;
    verdict.kind = decided;
    verdict.categories.clear();  // the text named none (said safe) or they no longer apply
  }

  Model model_;
  Session session_;
  GuardPolicy policy_;
  float threshold_;
  int max_new_tokens_;
  TokenId unsafe_token_ = -1;
};

}  // namespace detail

namespace {

// Lowercased, with ' ', '_' and '.' turned into '-', so "Llama Guard 3 1B" and "llama_guard_3_1b"
// read like "llama-guard-3-1b".
std::string normalized_name(std::string_view name) {
  std::string text;
  for (const char c : name) {
    text += (c == ' ' || c == '_' || c == '.')
                ? '-'
                : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

bool contains_size(const std::string& name, std::string_view size) {
  for (auto at = name.find(size); at != std::string::npos; at = name.find(size, at + 1)) {
    const bool starts = at == 0 || name[at - 1] == '-';
    const bool ends = at + size.size() == name.size() || name[at + size.size()] == '-';
    if (starts && ends) return true;
  }
  return false;
}

GuardVersion resolve_version(const Model& model, const GuardOptions& options) {
  if (options.version) return *options.version;
  const std::string name = model.config().name;
  if (auto version = guard_version_from_name(name)) return *version;
  const std::string basename = model.metadata_string("general.basename");
  const std::string size = model.metadata_string("general.size_label");
  if (auto version = guard_version_from_name(basename + "-" + size)) return *version;
  throw Error(ErrorCode::kInvalidArgument,
              "guard: cannot tell the Llama Guard version from the model name '" + name +
                  "' (general.basename '" + basename +
                  "'); set GuardOptions::version (llama3 guard --version 2|3|3-1b)");
}

void check_options(const Model& model, const GuardOptions& options) {
  if (!model.has_tokenizer()) {
    throw Error(ErrorCode::kInvalidArgument, "guard: the model file has no tokenizer");
  }
  if (!(options.threshold >= 0.0f && options.threshold <= 1.0f)) {
    throw Error(ErrorCode::kInvalidArgument, "guard: threshold must be in [0, 1]");
  }
  if (options.max_new_tokens < 1) {
    throw Error(ErrorCode::kInvalidArgument, "guard: max_new_tokens must be >= 1");
  }
}

}  // namespace

const char* guard_version_name(GuardVersion version) noexcept {
  switch (version) {
    case GuardVersion::kGuard2:
      return "Llama Guard 2";
    case GuardVersion::kGuard3:
      return "Llama Guard 3";
    case GuardVersion::kGuard3_1B:
      return "Llama Guard 3 1B";
  }
  return "unknown";
}

const char* guard_verdict_kind_name(GuardVerdict::Kind kind) noexcept {
  switch (kind) {
    case GuardVerdict::Kind::kSafe:
      return "safe";
    case GuardVerdict::Kind::kUnsafe:
      return "unsafe";
    case GuardVerdict::Kind::kMalformed:
      return "malformed";
  }
  return "unknown";
}

std::optional<GuardVersion> guard_version_from_name(std::string_view name) {
  const std::string text = normalized_name(name);
  const bool guard2 =
      text.find("guard-2") != std::string::npos || text.find("guard2") != std::string::npos;
  const bool guard3 =
      text.find("guard-3") != std::string::npos || text.find("guard3") != std::string::npos;
  if (guard2 == guard3) return std::nullopt;  // neither, or a name claiming both
  if (guard2) return GuardVersion::kGuard2;
  return contains_size(text, "1b") ? GuardVersion::kGuard3_1B : GuardVersion::kGuard3;
}

std::vector<TokenId> encode_guard_prompt(const Tokenizer& tokenizer, GuardVersion version,
                                         std::string_view prompt_text) {
  EncodeOptions options;
  if (version == GuardVersion::kGuard2) {
    options.add_bos = true;  // the [INST] text carries no <|begin_of_text|> of its own
  } else {
    options.parse_special = true;  // header tokens and <|begin_of_text|> are in the text
  }
  return tokenizer.encode(prompt_text, options);
}

Guard::Guard(const Model& model, GuardOptions options) {
  check_options(model, options);
  impl_ = std::make_unique<detail::GuardImpl>(model, options, resolve_version(model, options));
}

Guard::~Guard() = default;
Guard::Guard(Guard&&) noexcept = default;
Guard& Guard::operator=(Guard&&) noexcept = default;

GuardVerdict Guard::classify(std::span<const ChatTurn> conversation) {
  return impl_->classify(conversation);
}

GuardVerdict Guard::classify_prompt(std::span<const ChatTurn> conversation) {
  if (conversation.empty() || conversation.back().role != "user") {
    throw Error(ErrorCode::kInvalidArgument,
                "guard: prompt classification needs a conversation ending with a user turn");
  }
  return impl_->classify(conversation);
}

GuardVerdict Guard::classify_response(std::span<const ChatTurn> conversation) {
  if (conversation.empty() || conversation.back().role != "assistant") {
    throw Error(
        ErrorCode::kInvalidArgument,
        "guard: response classification needs a conversation ending with an assistant turn");
  }
  return impl_->classify(conversation);
}

std::vector<TokenId> Guard::prompt_tokens(std::span<const ChatTurn> conversation) const {
  return impl_->prompt_tokens(conversation);
}

const GuardPolicy& Guard::policy() const {
  return impl_->policy();
}
GuardVersion Guard::version() const {
  return impl_->policy().version;
}
float Guard::threshold() const {
  return impl_->threshold();
}
TokenId Guard::unsafe_token() const {
  return impl_->unsafe_token();
}

}  // namespace llama3
