#include "convert/hf_tokenizer_metadata.hpp"

#include <nlohmann/json.hpp>

#include "io/file_contents.hpp"
#include "llama3/error.hpp"
#include "tokenizer/merge_order.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3::convert {
namespace {

// tokenizer_config.json's eos_token ("<|eot_id|>" in instruct models) as an id, if it names one.
std::optional<TokenId> tokenizer_config_eos(const std::filesystem::path& path,
                                            const Tokenizer& tokenizer) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    const auto root = nlohmann::json::parse(io::read_file_contents(path));
    if (!root.is_object() || !root.contains("eos_token")) return std::nullopt;
    const auto& eos = root["eos_token"];
    std::string text;
    if (eos.is_string()) text = eos.get<std::string>();
    if (eos.is_object() && eos.contains("content") && eos["content"].is_string()) {
      text = eos["content"].get<std::string>();
    }
    return tokenizer.find(text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(ErrorCode::kBadFormat, path.string() + ": not valid JSON: " + error.what());
  }
}

}  // namespace

void write_llama3_tokenizer(io::GgufWriter& writer, const Tokenizer& tokenizer,
                            const std::vector<std::string>& merges, TokenId eos_id,
                            const std::optional<std::string>& chat_template) {
  const auto& info = llama3::detail::TokenizerAccess::impl(tokenizer).info();
  writer.set_string("tokenizer.ggml.model", "gpt2");
  writer.set_string("tokenizer.ggml.pre", "llama-bpe");
  // Our tokenizers spell normal tokens in byte-level form and specials literally, which is exactly
  // GGUF's form.
  writer.set_string_array("tokenizer.ggml.tokens", info.token_text);
  std::vector<std::int32_t> types;
  types.reserve(info.kinds.size());
  for (TokenKind kind : info.kinds) types.push_back(static_cast<std::int32_t>(kind) + 1);
  writer.set_int32_array("tokenizer.ggml.token_type", std::move(types));
  writer.set_string_array("tokenizer.ggml.merges", merges);
  if (tokenizer.bos_id() >= 0) {
    writer.set_uint32("tokenizer.ggml.bos_token_id",
                      static_cast<std::uint32_t>(tokenizer.bos_id()));
  }
  if (eos_id >= 0)
    writer.set_uint32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(eos_id));
  writer.set_bool("tokenizer.ggml.add_bos_token", true);
  if (chat_template) writer.set_string("tokenizer.chat_template", *chat_template);
}

void write_tokenizer_metadata(io::GgufWriter& writer, const model::HfCheckpoint& checkpoint) {
  const auto& tokenizer = *checkpoint.tokenizer;
  const auto tokenizer_json = checkpoint.folder / "tokenizer.json";
  const auto eos = tokenizer_config_eos(checkpoint.folder / "tokenizer_config.json", tokenizer);
  write_llama3_tokenizer(writer, tokenizer,
                         detail::tokenizer_json_merges(io::read_file_contents(tokenizer_json),
                                                       tokenizer_json.string()),
                         eos ? *eos : tokenizer.eos_id(), checkpoint.chat_template);
}

void write_tokenizer_metadata(io::GgufWriter& writer, const model::MetaCheckpoint& checkpoint) {
  const auto& tokenizer = *checkpoint.tokenizer;
  const auto& info = llama3::detail::TokenizerAccess::impl(tokenizer).info();
  std::vector<bool> mergeable(info.kinds.size());
  for (std::size_t id = 0; id < mergeable.size(); ++id) {
    mergeable[id] = info.kinds[id] == TokenKind::kNormal;
  }
  write_llama3_tokenizer(writer, tokenizer, detail::merges_from_ranks(info.token_text, mergeable),
                         tokenizer.eos_id(), std::nullopt);
}

}  // namespace llama3::convert
