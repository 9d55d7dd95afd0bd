// llama3 bench with speculative decoding; see bench_speculative.hpp.
#include "bench_speculative.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "llama3/sampler.hpp"

namespace llama3::cli {
namespace {

struct Run {
  double tokens_per_second = 0.0;
  std::vector<TokenId> tokens;
  SpeculativeStats stats;
};

Run generate_once(const Model& model, const SpeculativeBenchConfig& config, bool speculative) {
  SessionOptions session_options;
  session_options.n_threads = config.n_threads;
  session_options.n_ctx = static_cast<int>(config.prompt.size()) + config.n_gen + 1;
  Session session(model, session_options);
  SamplerParams greedy;
  greedy.temperature = 0.0f;
  Sampler sampler(greedy);
  GenerateOptions options;
  options.max_tokens = config.n_gen;
  if (speculative) options.speculative = config.speculative;
  const GenerateResult result = session.generate(config.prompt, sampler, options);
  Run run;
  run.tokens = result.tokens;
  run.stats = result.speculative;
  run.tokens_per_second =
      result.generate_seconds > 0 ? result.tokens.size() / result.generate_seconds : 0.0;
  return run;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int run_speculative_bench(const Model& model, const SpeculativeBenchConfig& config) {
  std::vector<double> plain_rates, speculative_rates;
  SpeculativeStats stats;  // of the counted speculative runs, summed
  int n_tokens = 0;
  bool identical = true;
  // The first round warms caches and is not counted. The order alternates so that neither side
  // always runs on a machine the other has just warmed (or heated).
  for (int round = 0; round < config.repetitions + 1; ++round) {
    const bool speculative_first = round % 2 == 1;
    const Run first = generate_once(model, config, speculative_first);
    const Run second = generate_once(model, config, !speculative_first);
    const Run& plain = speculative_first ? second : first;
    const Run& speculative = speculative_first ? first : second;
    identical = identical && plain.tokens == speculative.tokens;
    if (round == 0) continue;
    plain_rates.push_back(plain.tokens_per_second);
    speculative_rates.push_back(speculative.tokens_per_second);
    stats.drafted += speculative.stats.drafted;
    stats.accepted += speculative.stats.accepted;
    stats.target_passes += speculative.stats.target_passes;
    n_tokens = static_cast<int>(plain.tokens.size());
  }
  const double plain_median = median(plain_rates);
  const double speculative_median = median(speculative_rates);
  const double speedup = plain_median > 0 ? speculative_median / plain_median : 0.0;
  const double tokens_per_pass =
      stats.target_passes > 0
          ? static_cast<double>(n_tokens) * config.repetitions / stats.target_passes
          : 0.0;
  const std::string test = "tg" + std::to_string(config.n_gen);
  if (config.json) {
    const nlohmann::json document = {{"model", config.model_label},
                                     {"draft", config.draft_label},
                                     {"draft_max", config.speculative.draft_max},
                                     {"n_threads", config.n_threads},
                                     {"repetitions", config.repetitions},
                                     {"n_prompt", config.prompt.size()},
                                     {"tests",
                                      {{{"test", test},
                                        {"mode", "plain"},
                                        {"tokens_per_second_median", plain_median},
                                        {"samples_tokens_per_second", plain_rates}},
                                       {{"test", test},
                                        {"mode", "speculative"},
                                        {"tokens_per_second_median", speculative_median},
                                        {"samples_tokens_per_second", speculative_rates},
                                        {"speedup", speedup},
                                        {"drafted", stats.drafted},
                                        {"accepted", stats.accepted},
                                        {"acceptance_rate", stats.acceptance_rate()},
                                        {"target_passes", stats.target_passes},
                                        {"tokens_per_pass", tokens_per_pass},
                                        {"identical_to_plain", identical}}}}};
    std::printf("%s\n",
                document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf(
        "| model | draft | threads | test | mode | t/s (median) | speed-up | acceptance | tokens "
        "per pass | identical |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | - | %d | %s | plain | %.2f | 1.00 | - | 1.00 | - |\n",
                config.model_label.c_str(), config.n_threads, test.c_str(), plain_median);
    std::printf("| %s | %s | %d | %s | speculative (k=%d) | %.2f | %.2f | %.1f%% | %.2f | %s |\n",
                config.model_label.c_str(), config.draft_label.c_str(), config.n_threads,
                test.c_str(), config.speculative.draft_max, speculative_median, speedup,
                100.0 * stats.acceptance_rate(), tokens_per_pass, identical ? "yes" : "NO");
  }
  if (!identical) {
    std::fprintf(stderr, "error: speculative greedy output differs from plain decoding\n");
    return 1;
  }
  return 0;
}

}  // namespace llama3::cli
