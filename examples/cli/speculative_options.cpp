// Speculative decoding's command-line options; see speculative_options.hpp.
#include "speculative_options.hpp"

#include <cstdio>

#include "common_options.hpp"

namespace llama3::cli {

void SpeculativeCliOptions::declare(CLI::App& app) {
  auto* draft_option =
      app.add_option("--draft,--model-draft", draft_path,
                     "speculative decoding with this draft model (same vocabulary, smaller): it "
                     "proposes tokens the model checks in one batch")
          ->type_name("PATH");
  app.add_option("--lookup", lookup_ngram,
                 "speculative decoding by prompt lookup: match the last N tokens "
                 "(then fewer) earlier in the context and propose what followed")
      ->check(integer_in(1, SpeculativeOptions::kMaxLookupNgram))
      ->excludes(draft_option);
  app.add_option("--draft-max", draft_max,
                 "with --draft or --lookup: tokens proposed per step "
                 "(default 8)")
      ->check(integer_in(1, SpeculativeOptions::kMaxDraft));
}

void SpeculativeCliOptions::load() {
  if (draft_path.empty()) return;
  ModelOptions model_options;
  model_options.path = draft_path;
  draft = model_options.load();
}

SpeculativeOptions SpeculativeCliOptions::options(int n_threads) const {
  SpeculativeOptions out;
  out.draft_model = draft ? &*draft : nullptr;
  out.draft_threads = n_threads;
  out.lookup_ngram = lookup_ngram;
  out.draft_max = draft_max;
  return out;
}

std::string SpeculativeCliOptions::label() const {
  return draft_path.empty() ? "lookup " + std::to_string(lookup_ngram) : draft_path;
}

nlohmann::json speculative_json(const SpeculativeStats& stats) {
  return {{"drafted", stats.drafted},
          {"accepted", stats.accepted},
          {"acceptance_rate", stats.acceptance_rate()},
          {"target_passes", stats.target_passes}};
}

void report_speculative(const SpeculativeStats& stats) {
  std::fprintf(stderr, "speculative: %d drafted, %d accepted (%.1f%%), %d model passes\n",
               stats.drafted, stats.accepted, 100.0 * stats.acceptance_rate(), stats.target_passes);
}

}  // namespace llama3::cli
