// Structured output: constrain generation to a grammar, a JSON Schema or a regular expression.
//
//   llama3::GrammarVocabulary vocabulary(model.tokenizer());      // once per model
//   llama3::Grammar grammar = llama3::Grammar::from_json_schema(schema_text, vocabulary);
//   llama3::SamplerParams params;
//   params.grammar = grammar;               // every sampled token keeps the output valid
//   llama3::Sampler sampler(params);
//
// A Grammar is compiled against one vocabulary, is immutable, cheap to copy (copies share it) and
// safe to use from many threads; the token masks it computes are cached inside it and shared by all
// its users. A GrammarMatcher follows one sequence (give each sequence its own); a Sampler whose
// params carry a grammar holds one. See docs/structured-output.md for what is supported.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class CompiledGrammar;
class GrammarMatcherState;
class TokenBytes;
}  // namespace detail
#pragma GCC visibility push(default)

// A vocabulary prepared for grammars: every token's bytes in a byte trie, and the
// end-of-generation ids. Building it walks the whole vocabulary, so build it once per tokenizer and
// compile every grammar against it. Immutable; copies share it.
class GrammarVocabulary {
 public:
  explicit GrammarVocabulary(const Tokenizer& tokenizer);

 private:
  friend class Grammar;
  std::shared_ptr<const detail::TokenBytes> tokens_;
};

class Grammar {
 public:
  // GBNF, llama.cpp's grammar notation; `root` names the start rule. Throws
  // Error(kInvalidArgument) with the line and column of a syntax error, or naming the rule at
  // fault (undefined, left-recursive, never finishing).
  static Grammar from_gbnf(std::string_view gbnf, const GrammarVocabulary& vocabulary,
                           std::string_view root = "root");
  // A JSON Schema (as JSON text); "{}" allows any JSON value. A keyword this library does not
  // enforce is an error naming it, never silently ignored.
  static Grammar from_json_schema(std::string_view schema, const GrammarVocabulary& vocabulary);
  // A regular expression the whole output must match (the subset in docs/structured-output.md).
  static Grammar from_regex(std::string_view pattern, const GrammarVocabulary& vocabulary);
  // The same, preparing a GrammarVocabulary for this grammar alone (slower: prefer one shared
  // GrammarVocabulary when compiling several grammars).
  static Grammar from_gbnf(std::string_view gbnf, const Tokenizer& tokenizer,
                           std::string_view root = "root");
  static Grammar from_json_schema(std::string_view schema, const Tokenizer& tokenizer);
  static Grammar from_regex(std::string_view pattern, const Tokenizer& tokenizer);

  // The GBNF a schema or a regular expression compiles to, for inspection and reuse.
  static std::string json_schema_to_gbnf(std::string_view schema);
  static std::string regex_to_gbnf(std::string_view pattern);

  explicit Grammar(std::shared_ptr<const detail::CompiledGrammar> compiled);

 private:
  friend class GrammarMatcher;
  std::shared_ptr<const detail::CompiledGrammar> compiled_;
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(const Grammar& grammar);
  ~GrammarMatcher();
  GrammarMatcher(const GrammarMatcher& other);
  GrammarMatcher& operator=(const GrammarMatcher& other);
  GrammarMatcher(GrammarMatcher&&) noexcept;
  GrammarMatcher& operator=(GrammarMatcher&&) noexcept;

  // Sets the logit of every token the grammar forbids next to -infinity (entries past the
  // vocabulary too). End-of-generation tokens are allowed only where the output is complete;
  // other control tokens never are.
  void mask_logits(std::span<float> logits);
  // The same decision as a bitset, for callers that apply the mask themselves (a batch of rows,
  // another sampler): bit id % 64 of bitmask[id / 64] is set when token `id` is allowed next, clear
  // otherwise. `bitmask` needs (tokenizer.vocab_size() + 63) / 64 words; words past those are
  // cleared. Throws Error(kInvalidArgument) when it is shorter.
  void fill_allowed_tokens(std::span<std::uint64_t> bitmask);
  // Advances past `token`. Returns false, leaving the state unchanged, when the grammar forbids it.
  bool accept(TokenId token);
  // The output so far is complete (an end-of-generation token is allowed).
  bool is_accepting() const;
  // An end-of-generation token has been accepted.
  bool is_finished() const;
  // Back to the start of the grammar.
  void reset();

 private:
  std::unique_ptr<detail::GrammarMatcherState> state_;
};

}  // namespace llama3

#pragma GCC visibility pop
