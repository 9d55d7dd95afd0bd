#include "server/guard_screen.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <string_view>

namespace llama3::server {
namespace {

// The version given, else the one the model's metadata names (Guard's own rule), else the one its
// file name names (a renamed or metadata-poor file may still say what it is there).
GuardOptions guard_options(const Model& model, const std::string& path,
                           std::optional<GuardVersion> version, int n_threads) {
  GuardOptions options;
  options.version = version;
  if (!options.version && !guard_version_from_name(model.config().name)) {
    options.version = guard_version_from_name(std::filesystem::path(path).filename().string());
  }
  options.n_threads = n_threads;
  return options;
}

// OpenAI's moderation categories (the omni-moderation list).
constexpr std::array kOpenAiCategories = {"harassment",
                                          "harassment/threatening",
                                          "hate",
                                          "hate/threatening",
                                          "illicit",
                                          "illicit/violent",
                                          "self-harm",
                                          "self-harm/intent",
                                          "self-harm/instructions",
                                          "sexual",
                                          "sexual/minors",
                                          "violence",
                                          "violence/graphic"};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The OpenAI categories a Llama Guard category (by its name, the same in Guard 2 and 3) falls
// under; none for the ones OpenAI has no name for (specialized advice, privacy, intellectual
// property, elections, code interpreter abuse).
std::vector<std::string_view> openai_categories(std::string_view guard_name) {
  const std::string name = lower(guard_name);
  const auto has = [&](const char* word) { return name.find(word) != std::string::npos; };
  if (has("non-violent")) return {"illicit"};
  if (has("violent")) return {"violence", "illicit/violent"};
  if (has("child")) return {"sexual/minors"};
  if (has("sex") && has("crime")) return {"sexual", "illicit"};
  if (has("sexual")) return {"sexual"};
  if (has("hate")) return {"hate"};
  if (has("suicide") || has("self-harm")) return {"self-harm"};
  if (has("defamation")) return {"harassment"};
  if (has("weapons")) return {"illicit/violent"};
  return {};
}

}  // namespace

GuardScreen::GuardScreen(const std::string& path, std::optional<GuardVersion> version,
                         int n_threads)
    : model_(Model::load(path)),
      guard_(model_, guard_options(model_, path, version, n_threads)),
      model_id_(std::filesystem::path(path).stem().string()) {}

GuardVerdict GuardScreen::classify(std::span<const ChatTurn> conversation) {
  std::lock_guard<std::mutex> lock(mutex_);
  return guard_.classify(conversation);
}

bool blocks(const GuardVerdict& verdict) {
  return verdict.kind != GuardVerdict::Kind::kSafe;
}

nlohmann::json moderation_result(const GuardVerdict& verdict, const GuardPolicy& policy) {
  nlohmann::json categories = nlohmann::json::object(), scores = nlohmann::json::object();
  for (const char* name : kOpenAiCategories) {
    categories[name] = false;
    scores[name] = 0.0;
  }
  const double score = verdict.unsafe_probability >= 0 ? verdict.unsafe_probability : 1.0;
  for (const std::string& code : verdict.categories) {
    for (const GuardCategory& category : policy.categories) {
      if (category.code != code) continue;
      for (std::string_view name : openai_categories(category.name)) {
        categories[std::string(name)] = true;
        scores[std::string(name)] = score;
      }
    }
  }
  return {{"flagged", blocks(verdict)},
          {"categories", categories},
          {"category_scores", scores},
          {"llama_guard",
           {{"verdict", guard_verdict_kind_name(verdict.kind)},
            {"categories", verdict.categories},
            {"unsafe_probability", verdict.unsafe_probability}}}};
}

}  // namespace llama3::server
