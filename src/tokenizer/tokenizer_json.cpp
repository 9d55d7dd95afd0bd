// Hugging Face tokenizer.json -> Llama3VocabSpec.
#include <nlohmann/json.hpp>

#include "llama3/error.hpp"
#include "tokenizer/merge_order.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3::detail {

const std::string_view kLlama3SplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, origin + ": " + what);
}

// Every Split pre-tokenizer pattern in the (possibly nested Sequence) pre_tokenizer must be Llama
// 3's: another pattern would split text differently from what this tokenizer implements.
void check_split_patterns(const nlohmann::json& node, const std::string& origin) {
  if (node.is_array()) {
    for (const auto& child : node) check_split_patterns(child, origin);
    return;
  }
  if (!node.is_object()) return;
  if (node.value("type", "") == "Split" && node.contains("pattern") &&
      node["pattern"].is_object()) {
    const auto& pattern = node["pattern"];
    const std::string regex = pattern.contains("Regex") && pattern["Regex"].is_string()
                                  ? pattern["Regex"].get<std::string>()
                                  : std::string();
    if (regex != kLlama3SplitPattern) {
      throw Error(ErrorCode::kUnsupported,
                  origin + ": pre_tokenizer split pattern '" + regex +
                      "' is not Llama 3's; only the Llama 3 pre-tokenizer is implemented");
    }
  }
  for (const auto& [key, child] : node.items()) check_split_patterns(child, origin);
}

nlohmann::json parse_json(std::string_view json, const std::string& origin) {
  try {
    return nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& error) {
    bad(origin, std::string("not valid JSON: ") + error.what());
  }
}

std::vector<std::string> merges_of(const nlohmann::json& model, const std::string& origin) {
  if (!model.contains("merges")) {
    bad(origin,
        "model.merges is missing, so the merge order cannot be checked against the token ids");
  }
  if (!model["merges"].is_array()) bad(origin, "model.merges is not an array");
  std::vector<std::string> merges;
  merges.reserve(model["merges"].size());
  for (const auto& merge : model["merges"]) {
    if (merge.is_string() && merge.get_ref<const std::string&>().find(' ') != std::string::npos) {
      merges.push_back(merge.get<std::string>());
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
    } else {
      bad(origin, "model.merges entry " + merge.dump() + " is neither \"a b\" nor [a, b]");
    }
  }
  return merges;
}

}  // namespace

std::shared_ptr<const Llama3BpeTokenizer> parse_tokenizer_json(std::string_view json,
                                                               const std::string& origin) {
  return make_llama3_bpe(tokenizer_json_spec(json, origin));
}

std::vector<std::string> tokenizer_json_merges(std::string_view json, const std::string& origin) {
  const auto root = parse_json(json, origin);
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    bad(origin, "no \"model\" object");
  }
  return merges_of(root["model"], origin);
}

Llama3VocabSpec tokenizer_json_spec(std::string_view json, const std::string& origin) {
  const auto root = parse_json(json, origin);
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    bad(origin, "no \"model\" object");
  }
  const auto& model = root["model"];
  if (model.value("type", "BPE") != "BPE") {
    throw Error(ErrorCode::kUnsupported,
                origin + ": model.type is '" + model.value("type", "") + "', not BPE");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object())
    bad(origin, "model.vocab is not an object");
  const auto merges = merges_of(model, origin);
  if (root.contains("pre_tokenizer")) check_split_patterns(root["pre_tokenizer"], origin);

  Llama3VocabSpec spec;
  spec.origin = origin;
  std::vector<bool> seen;
  auto place = [&](std::int64_t id, const std::string& text, TokenKind kind, const char* field) {
    if (id < 0 || id >= (1 << 24))
      bad(origin, std::string(field) + ": id " + std::to_string(id) + " out of range");
    const auto index = static_cast<std::size_t>(id);
    if (index >= spec.token_text.size()) {
      spec.token_text.resize(index + 1);
      spec.kinds.resize(index + 1, TokenKind::kUnused);
      seen.resize(index + 1, false);
    }
    if (seen[index] && spec.token_text[index] != text) {
      bad(origin, std::string(field) + ": id " + std::to_string(id) + " given to both '" +
                      spec.token_text[index] + "' and '" + text + "'");
    }
    seen[index] = true;
    spec.token_text[index] = text;
    spec.kinds[index] = kind;
  };
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) bad(origin, "model.vocab['" + text + "'] is not an integer id");
    place(id.get<std::int64_t>(), text, TokenKind::kNormal, "model.vocab");
  }
  if (root.contains("added_tokens")) {
    if (!root["added_tokens"].is_array()) bad(origin, "added_tokens is not an array");
    for (const auto& added : root["added_tokens"]) {
      if (!added.is_object() || !added.contains("id") || !added["id"].is_number_integer() ||
          !added.contains("content") || !added["content"].is_string()) {
        bad(origin,
            "added_tokens entry " + added.dump() + " lacks an integer id or a content string");
      }
      const bool special = added.value("special", true);
      place(added["id"].get<std::int64_t>(), added["content"].get<std::string>(),
            special ? TokenKind::kControl : TokenKind::kUserDefined, "added_tokens");
    }
  }
  for (std::size_t id = 0; id < seen.size(); ++id) {
    if (!seen[id])
      bad(origin, "no token has id " + std::to_string(id) + " (ids must be contiguous)");
  }
  std::vector<bool> mergeable(spec.kinds.size());
  for (std::size_t id = 0; id < mergeable.size(); ++id) {
    mergeable[id] = spec.kinds[id] == TokenKind::kNormal;
  }
  check_merges_follow_ids(merges, spec.token_text, mergeable, origin);
  return spec;
}

}  // namespace llama3::detail
