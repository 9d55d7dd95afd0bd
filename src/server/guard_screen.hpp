// --guard: a Llama Guard model that screens prompts before they reach the engine and answers when
// they are done, and answers POST /v1/moderations. One Guard runs one classification at a time, so
// calls are serialised; they run on the HTTP threads, never on the engine's step thread, so a
// classification does not stall the other sequences' generation.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "llama3/model.hpp"
#include "llama3/safety.hpp"

namespace llama3::server {

class GuardScreen {
 public:
  // Loads the model; throws what Model::load and Guard's constructor throw.
  GuardScreen(const std::string& path, std::optional<GuardVersion> version, int n_threads);

  GuardVerdict classify(std::span<const ChatTurn> conversation);
  const GuardPolicy& policy() const { return guard_.policy(); }
  const std::string& model_id() const { return model_id_; }

 private:
  Model model_;  // before guard_, which refers to it
  Guard guard_;
  std::mutex mutex_;
  std::string model_id_;
};

// A verdict that keeps text from the user: unsafe, or malformed (a check that cannot answer fails
// closed).
bool blocks(const GuardVerdict& verdict);

// One entry of OpenAI's moderation "results": flagged, categories and category_scores under
// OpenAI's category names (Llama Guard's categories mapped by name; P(unsafe) is the score of
// each flagged one), plus "llama_guard" with the verdict, its S-codes and P(unsafe).
nlohmann::json moderation_result(const GuardVerdict& verdict, const GuardPolicy& policy);

}  // namespace llama3::server
