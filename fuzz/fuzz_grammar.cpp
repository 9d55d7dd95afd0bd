// The grammar compilers (GBNF, JSON Schema, regular expressions) on arbitrary text, and the
// matcher on what they accept. Byte 0 picks the reader. A compiled grammar is then walked for a
// few tokens, choosing among the tokens its mask allows with the following input bytes: every
// token the mask allows must be accepted, or the sampler could emit output the grammar forbids.
// The vocabulary is stories260K's (512 tokens), so each step stays fast.
#include <cmath>
#include <vector>

#include "fuzz_support.hpp"
#include "llama3/grammar.hpp"

namespace {
const llama3::Tokenizer& small_tokenizer() {
  static const llama3::Tokenizer tokenizer =
      llama3::Tokenizer::load(llama3::fuzz::data_file("stories260K.gguf"));
  return tokenizer;
}
const llama3::GrammarVocabulary& small_vocabulary() {
  static const llama3::GrammarVocabulary vocabulary(small_tokenizer());
  return vocabulary;
}

void walk(const llama3::Grammar& grammar, std::string_view choices) {
  llama3::GrammarMatcher matcher(grammar);
  const std::size_t n_vocab = small_tokenizer().vocab_size();
  for (int step = 0; step < 8; ++step) {
    std::vector<float> logits(n_vocab, 0.0f);
    matcher.mask_logits(logits);
    std::vector<llama3::TokenId> allowed;
    for (std::size_t id = 0; id < n_vocab; ++id) {
      if (!std::isinf(logits[id])) allowed.push_back(static_cast<llama3::TokenId>(id));
    }
    if (allowed.empty()) return;
    const unsigned char pick = choices.empty() ? 0 : static_cast<unsigned char>(choices[0]);
    if (!choices.empty()) choices.remove_prefix(1);
    const llama3::TokenId token = allowed[pick % allowed.size()];
    llama3::fuzz::require(matcher.accept(token), "a token the mask allows is accepted");
    if (matcher.is_finished()) return;
  }
}
}  // namespace

// Loads the shared data before the first input, so its time is not charged to that input (libFuzzer
// would report it as a slow unit).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)small_vocabulary();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  if (size < 2) return 0;
  // Byte 1 says how many of the last bytes steer the walk; the text is what lies between.
  const std::size_t n_choices = std::min<std::size_t>(data[1] % 9, size - 2);
  const std::string_view text = fuzz::as_text(data + 2, size - 2 - n_choices);
  const std::string_view choices = fuzz::as_text(data + size - n_choices, n_choices);
  fuzz::reject_only_with_clear_errors([&] {
    switch (data[0] % 3) {
      case 0:
        walk(Grammar::from_gbnf(text, small_vocabulary()), choices);
        break;
      case 1:
        walk(Grammar::from_json_schema(text, small_vocabulary()), choices);
        break;
      default:
        walk(Grammar::from_regex(text, small_vocabulary()), choices);
        break;
    }
  });
  return 0;
}
