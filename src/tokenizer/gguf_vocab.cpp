// GGUF tokenizer metadata -> Llama3VocabSpec (keys: docs/facts.md §2 "GGUF tokenizer
// representation").
#include "tokenizer/gguf_vocab.hpp"

#include <algorithm>
#include <array>

#include "llama3/error.hpp"
#include "tokenizer/gguf_token_fields.hpp"
#include "tokenizer/llama3_bpe.hpp"
#include "tokenizer/merge_order.hpp"
#include "tokenizer/sentencepiece.hpp"

namespace llama3::detail {
namespace {

// The pre-tokenizer names llama.cpp's converter writes for Llama 3's split pattern.
constexpr std::array<std::string_view, 3> kLlama3PreNames = {"llama-bpe", "llama3", "llama-v3"};

std::shared_ptr<const TokenizerImpl> make_llama3_from_gguf(const io::GgufFile& file) {
  const std::string origin = file.name();
  Llama3VocabSpec spec;
  spec.origin = origin;
  const auto& tokens = file.get("tokenizer.ggml.tokens").strings("tokenizer.ggml.tokens");
  spec.token_text.assign(tokens.begin(), tokens.end());

  if (const auto* pre = file.find("tokenizer.ggml.pre")) {
    const std::string_view name = pre->as_string("tokenizer.ggml.pre");
    if (std::find(kLlama3PreNames.begin(), kLlama3PreNames.end(), name) == kLlama3PreNames.end()) {
      throw Error(ErrorCode::kUnsupported,
                  origin + ": tokenizer.ggml.pre = '" + std::string(name) +
                      "' is not a Llama 3 pre-tokenizer (llama-bpe, llama3, llama-v3)");
    }
  } else if (std::find(tokens.begin(), tokens.end(), "<|begin_of_text|>") == tokens.end()) {
    // Files converted before the key existed are accepted only when the vocabulary is Llama 3's.
    throw Error(ErrorCode::kUnsupported,
                origin +
                    ": no tokenizer.ggml.pre and not a Llama 3 vocabulary; only the Llama 3 "
                    "pre-tokenizer is implemented for gpt2 vocabularies");
  }

  spec.kinds = read_token_kinds(file, tokens.size());
  // With tiktoken semantics the merge ranks are the token ids: a file's merges must agree
  // (tokenizer/merge_order.hpp). llama.cpp writes them for every gpt2 vocabulary; a file without
  // them (hand-made test vocabularies) is taken at the id order.
  if (const auto* merges = file.find("tokenizer.ggml.merges")) {
    if (!merges->is_array() || merges->element_type() != io::GgufValueType::kString) {
      throw Error(ErrorCode::kBadFormat,
                  origin + ": tokenizer.ggml.merges is not an array of strings");
    }
    const auto& listed = merges->strings("tokenizer.ggml.merges");
    std::vector<bool> mergeable(spec.kinds.size());
    for (std::size_t id = 0; id < mergeable.size(); ++id) {
      mergeable[id] = spec.kinds[id] == TokenKind::kNormal;
    }
    check_merges_follow_ids(std::vector<std::string>(listed.begin(), listed.end()), spec.token_text,
                            mergeable, origin + ": tokenizer.ggml.merges");
  }
  auto id_key = [&](const char* key) -> std::optional<TokenId> {
    const TokenId id = read_token_id(file, key, -1, tokens.size());
    return id >= 0 ? std::optional<TokenId>(id) : std::nullopt;
  };
  spec.bos = id_key("tokenizer.ggml.bos_token_id");
  spec.eos = id_key("tokenizer.ggml.eos_token_id");
  if (const auto* add_bos = file.find("tokenizer.ggml.add_bos_token")) {
    spec.add_bos = add_bos->as_bool("tokenizer.ggml.add_bos_token");
  }
  return make_llama3_bpe(std::move(spec));
}

}  // namespace

std::shared_ptr<const TokenizerImpl> make_tokenizer_from_gguf(const io::GgufFile& file) {
  // A model file may carry no tokenizer at all (test models); Tokenizer::load needs one and checks.
  if (!file.find("tokenizer.ggml.model")) return nullptr;
  const std::string_view model = file.get("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  if (model == "gpt2") return make_llama3_from_gguf(file);
  if (model == "llama") return make_sentencepiece_from_gguf(file);
  throw Error(ErrorCode::kUnsupported, file.name() + ": tokenizer.ggml.model = '" +
                                           std::string(model) +
                                           "' is not supported (gpt2 or llama)");
}

}  // namespace llama3::detail
