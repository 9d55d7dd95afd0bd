// --draft MODEL, --draft-max K and --lookup N: speculative decoding for the commands that generate
// (docs/speculative.md), and its acceptance figures for their output.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "command_line.hpp"
#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

struct SpeculativeCliOptions {
  std::string draft_path;
  int draft_max = 8;
  int lookup_ngram = 0;
  std::optional<Model> draft;  // loaded by load()

  void declare(CLI::App& app);
  bool enabled() const { return !draft_path.empty() || lookup_ngram > 0; }
  // Loads the draft model when --draft is given.
  void load();
  // The options for GenerateOptions::speculative; the draft session gets `n_threads`.
  SpeculativeOptions options(int n_threads) const;
  // What drafts, for tables: the draft model's path or "lookup N".
  std::string label() const;
};

// {"drafted", "accepted", "acceptance_rate", "target_passes"}.
nlohmann::json speculative_json(const SpeculativeStats& stats);

// One line on stderr: drafted, accepted, rate, passes.
void report_speculative(const SpeculativeStats& stats);

}  // namespace llama3::cli
