// llama3::Grammar and llama3::GrammarMatcher over the grammar layer.
#include <algorithm>
#include <chrono>
#include <string>

#include "grammar/byte_matcher.hpp"
#include "grammar/compiled_grammar.hpp"
#include "grammar/gbnf_parser.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/regex_to_gbnf.hpp"
#include "kernels/vector_ops.hpp"
#include "llama3/error.hpp"
#include "llama3/grammar.hpp"

namespace llama3 {
namespace detail {
namespace {

// Compiling a grammar precomputes the token masks of the stacks reachable from its start for at
// most this long (nearest first); the rest are computed when first met. Issue #13 asks for compile
// times within 100 ms.
constexpr auto kPrecomputeBudget = std::chrono::milliseconds(60);

std::shared_ptr<const grammar::VocabTrie> build_trie(const Tokenizer& vocabulary) {
  std::vector<std::pair<std::int32_t, std::string>> tokens;
  const auto n = vocabulary.vocab_size();
  tokens.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = static_cast<TokenId>(i);
    const TokenKind kind = vocabulary.kind(id);
    // Control, unknown and unused entries never appear in constrained text.
    if (kind == TokenKind::kNormal || kind == TokenKind::kUserDefined || kind == TokenKind::kByte) {
      tokens.emplace_back(id, vocabulary.piece(id));
    }
  }
  return std::make_shared<const grammar::VocabTrie>(std::move(tokens), n);
}

}  // namespace

TokenBytes::TokenBytes(const Tokenizer& tokenizer)
    : trie_(build_trie(tokenizer)), end_of_generation_ids_(tokenizer.end_of_generation_ids()) {}

CompiledGrammar::CompiledGrammar(grammar::GrammarIr ir, std::shared_ptr<const TokenBytes> tokens)
    : ir_(std::make_shared<const grammar::GrammarIr>(std::move(ir))),
      tokens_(std::move(tokens)),
      masks_(ir_, tokens_->trie()) {
  masks_.precompute(kPrecomputeBudget);
}

bool CompiledGrammar::is_end_of_generation(TokenId id) const {
  const auto& ids = end_of_generation_ids();
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

class GrammarMatcherState {
 public:
  explicit GrammarMatcherState(std::shared_ptr<const CompiledGrammar> compiled)
      : compiled_(std::move(compiled)), matcher_(compiled_->ir()) {}

  // Fills allowed_ with one bit per token id.
  void compute_mask() {
    const auto& vocab = compiled_->vocab();
    allowed_.assign((vocab.n_vocab() + 63) / 64, 0);
    if (finished_) return;
    entries_.clear();
    for (grammar::StackId stack : matcher_.positions()) {
      if (stack == grammar::kAccepted) continue;
      entries_.push_back(compiled_->masks().entry_for(matcher_.pool(), stack));
      const grammar::MaskEntry& entry = *entries_.back();
      for (std::size_t i = 0; i < entry.words.size(); ++i) {
        allowed_[entry.word_index[i]] |= entry.words[i];
      }
    }
    std::size_t e = 0;
    for (grammar::StackId stack : matcher_.positions()) {
      if (stack == grammar::kAccepted) continue;
      for (std::int32_t id : entries_[e++]->uncertain) {
        if (is_allowed(id)) continue;
        if (matcher_.stack_accepts(stack, vocab.bytes_of(id))) set_allowed(id);
      }
    }
    if (matcher_.is_accepting()) {
      for (TokenId id : compiled_->end_of_generation_ids()) {
        if (static_cast<std::size_t>(id) < vocab.n_vocab()) set_allowed(id);
      }
    }
  }

  void mask_logits(std::span<float> logits) {
    compute_mask();
    // A word of the bitset at a time, with whole-vector stores (kernels::mask_row): the row is
    // 512 KiB for 128K tokens, so writing it one logit at a time would cost more than the mask.
    kernels::mask_row(logits.data(), logits.size(), allowed_.data(), allowed_.size());
  }

  void fill_allowed_tokens(std::span<std::uint64_t> bitmask) {
    const std::size_t n_words = (compiled_->vocab().n_vocab() + 63) / 64;
    if (bitmask.size() < n_words) {
      throw Error(ErrorCode::kInvalidArgument,
                  "GrammarMatcher::fill_allowed_tokens: the bitmask has " +
                      std::to_string(bitmask.size()) + " words, the vocabulary needs " +
                      std::to_string(n_words));
    }
    compute_mask();
    std::copy(allowed_.begin(), allowed_.end(), bitmask.begin());
    std::fill(bitmask.begin() + static_cast<std::ptrdiff_t>(allowed_.size()), bitmask.end(), 0);
  }

  bool accept(TokenId token) {
    if (finished_ || token < 0 || static_cast<std::size_t>(token) >= compiled_->vocab().n_vocab()) {
      return false;
    }
    if (compiled_->is_end_of_generation(token)) {
      if (!matcher_.is_accepting()) return false;
      finished_ = true;
      return true;
    }
    const std::string_view bytes = compiled_->vocab().bytes_of(token);
    return !bytes.empty() && matcher_.feed(bytes);
  }

  bool is_accepting() const { return !finished_ && matcher_.is_accepting(); }
  bool is_finished() const { return finished_; }
  void reset() {
    matcher_.reset();
    finished_ = false;
  }

 private:
  bool is_allowed(std::int32_t id) const {
    const auto word = static_cast<std::size_t>(id) >> 6;
    return word < allowed_.size() && ((allowed_[word] >> (id & 63)) & 1U);
  }
  void set_allowed(std::int32_t id) {
    allowed_[static_cast<std::size_t>(id) >> 6] |= std::uint64_t{1} << (id & 63);
  }

  std::shared_ptr<const CompiledGrammar> compiled_;
  grammar::ByteMatcher matcher_;
  bool finished_ = false;
  std::vector<std::uint64_t> allowed_;  // [ceil(n_vocab / 64)]
  std::vector<std::shared_ptr<const grammar::MaskEntry>> entries_;
};

}  // namespace detail

Grammar::Grammar(std::shared_ptr<const detail::CompiledGrammar> compiled)
    : compiled_(std::move(compiled)) {
  if (!compiled_) throw Error(ErrorCode::kInvalidArgument, "Grammar: null compiled grammar");
}

GrammarVocabulary::GrammarVocabulary(const Tokenizer& tokenizer)
    : tokens_(std::make_shared<const detail::TokenBytes>(tokenizer)) {}

Grammar Grammar::from_gbnf(std::string_view gbnf, const GrammarVocabulary& vocabulary,
                           std::string_view root) {
  return Grammar(std::make_shared<const detail::CompiledGrammar>(grammar::parse_gbnf(gbnf, root),
                                                                 vocabulary.tokens_));
}

Grammar Grammar::from_json_schema(std::string_view schema, const GrammarVocabulary& vocabulary) {
  return from_gbnf(json_schema_to_gbnf(schema), vocabulary);
}

Grammar Grammar::from_regex(std::string_view pattern, const GrammarVocabulary& vocabulary) {
  return from_gbnf(regex_to_gbnf(pattern), vocabulary);
}

Grammar Grammar::from_gbnf(std::string_view gbnf, const Tokenizer& tokenizer,
                           std::string_view root) {
  return from_gbnf(gbnf, GrammarVocabulary(tokenizer), root);
}

Grammar Grammar::from_json_schema(std::string_view schema, const Tokenizer& tokenizer) {
  return from_gbnf(json_schema_to_gbnf(schema), GrammarVocabulary(tokenizer));
}

Grammar Grammar::from_regex(std::string_view pattern, const Tokenizer& tokenizer) {
  return from_gbnf(regex_to_gbnf(pattern), GrammarVocabulary(tokenizer));
}

std::string Grammar::json_schema_to_gbnf(std::string_view schema) {
  return grammar::json_schema_to_gbnf(schema);
}

std::string Grammar::regex_to_gbnf(std::string_view pattern) {
  return grammar::regex_to_gbnf(pattern);
}

GrammarMatcher::GrammarMatcher(const Grammar& grammar)
    : state_(std::make_unique<detail::GrammarMatcherState>(grammar.compiled_)) {}
GrammarMatcher::~GrammarMatcher() = default;
GrammarMatcher::GrammarMatcher(const GrammarMatcher& other)
    : state_(std::make_unique<detail::GrammarMatcherState>(*other.state_)) {}
GrammarMatcher& GrammarMatcher::operator=(const GrammarMatcher& other) {
  if (this != &other) state_ = std::make_unique<detail::GrammarMatcherState>(*other.state_);
  return *this;
}
GrammarMatcher::GrammarMatcher(GrammarMatcher&&) noexcept = default;
GrammarMatcher& GrammarMatcher::operator=(GrammarMatcher&&) noexcept = default;

void GrammarMatcher::mask_logits(std::span<float> logits) {
  state_->mask_logits(logits);
}
void GrammarMatcher::fill_allowed_tokens(std::span<std::uint64_t> bitmask) {
  state_->fill_allowed_tokens(bitmask);
}
bool GrammarMatcher::accept(TokenId token) {
  return state_->accept(token);
}
bool GrammarMatcher::is_accepting() const {
  return state_->is_accepting();
}
bool GrammarMatcher::is_finished() const {
  return state_->is_finished();
}
void GrammarMatcher::reset() {
  state_->reset();
}

}  // namespace llama3
