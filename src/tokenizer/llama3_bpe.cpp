#include "tokenizer/llama3_bpe.hpp"

#include <cstdio>

#include "llama3/error.hpp"
#include "tokenizer/bpe_merge.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"

namespace llama3::detail {

Llama3BpeTokenizer::Llama3BpeTokenizer(VocabInfo info, const std::vector<std::string>& token_bytes)
    : TokenizerImpl(std::move(info)), ranks_(token_bytes) {}

void Llama3BpeTokenizer::encode_plain(std::string_view text, bool,
                                      std::vector<TokenId>& out) const {
  split_pieces(text, [&](std::string_view piece) { bpe_encode_piece(ranks_, piece, out); });
}

std::string Llama3BpeTokenizer::token_bytes(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= ranks_.size()) return {};
  return std::string(ranks_.bytes_of(id));
}

std::shared_ptr<const Llama3BpeTokenizer> make_llama3_bpe(Llama3VocabSpec spec) {
  const std::size_t n_vocab = spec.token_text.size();
  if (spec.kinds.size() != n_vocab) {
    throw Error(ErrorCode::kBadFormat, spec.origin + ": " + std::to_string(spec.kinds.size()) +
                                           " token types for " + std::to_string(n_vocab) +
                                           " tokens");
  }
  std::vector<std::string> token_bytes(n_vocab);
  for (std::size_t id = 0; id < n_vocab; ++id) {
    if (spec.kinds[id] != TokenKind::kNormal) continue;
    auto bytes = byte_level_decode(spec.token_text[id]);
    if (!bytes || bytes->empty()) {
      throw Error(ErrorCode::kBadFormat, spec.origin + ": token " + std::to_string(id) + " '" +
                                             spec.token_text[id] +
                                             "' is not in GPT-2 byte-level form");
    }
    token_bytes[id] = std::move(*bytes);
  }

  VocabInfo info;
  auto id_named = [&](std::string_view name) -> std::optional<TokenId> {
    for (std::size_t id = n_vocab; id-- > 0;) {  // specials sit at the end: search from there
      if (spec.token_text[id] == name) return static_cast<TokenId>(id);
    }
    return std::nullopt;
  };
  auto check_id = [&](std::optional<TokenId> id, const char* what) -> TokenId {
    if (!id) return -1;
    if (*id < 0 || static_cast<std::size_t>(*id) >= n_vocab) {
      throw Error(ErrorCode::kBadFormat, spec.origin + ": " + what + " id " + std::to_string(*id) +
                                             " is outside the vocabulary of " +
                                             std::to_string(n_vocab));
    }
    return *id;
  };
  info.bos = check_id(spec.bos ? spec.bos : id_named("<|begin_of_text|>"), "bos");
  info.eos = check_id(spec.eos ? spec.eos : id_named("<|end_of_text|>"), "eos");
  info.add_bos = spec.add_bos && info.bos >= 0;
  if (info.eos >= 0) info.end_of_generation.push_back(info.eos);
  for (const char* name : {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"}) {
    if (auto id = id_named(name)) info.end_of_generation.push_back(*id);
  }
  info.token_text = std::move(spec.token_text);
  info.kinds = std::move(spec.kinds);

  auto tokenizer = std::make_shared<Llama3BpeTokenizer>(std::move(info), token_bytes);
  for (int byte = 0; byte < 256; ++byte) {
    if (tokenizer->ranks().find_byte(static_cast<unsigned char>(byte)) == TokenRanks::kNone) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      throw Error(ErrorCode::kBadFormat, spec.origin +
                                             ": the vocabulary has no token for the single byte " +
                                             hex + ", so some text could not be encoded");
    }
  }
  return tokenizer;
}

std::vector<std::string> llama3_special_token_names() {
  std::vector<std::string> names = {"<|begin_of_text|>",
                                    "<|end_of_text|>",
                                    "<|reserved_special_token_0|>",
                                    "<|reserved_special_token_1|>",
                                    "<|finetune_right_pad_id|>",
                                    "<|reserved_special_token_2|>",
                                    "<|start_header_id|>",
                                    "<|end_header_id|>",
                                    "<|eom_id|>",
                                    "<|eot_id|>",
                                    "<|python_tag|>"};
  for (int i = 3; names.size() < 256; ++i) {
    names.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
  }
  return names;
}

}  // namespace llama3::detail
