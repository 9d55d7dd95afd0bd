#include "bench_lora.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <span>

#include "llama3/session.hpp"

namespace llama3::cli {
namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// One timed run: tokens/s and CPU seconds per token.
struct Sample {
  double rate = 0.0;
  double cpu_per_token = 0.0;
};

struct Side {
  std::vector<double> rates, cpu_per_token;
  void add(const Sample& s) {
    rates.push_back(s.rate);
    cpu_per_token.push_back(s.cpu_per_token);
  }
};

struct LoraBenchRow {
  std::string test;  // "pp512", "tg128"
  int n_prompt = 0, n_gen = 0;
  Side base, lora;
  std::vector<double> ratios;  // per round: rate with adapters / rate without
};

class Runner {
 public:
  Runner(const Model& model, const LoraBenchConfig& config) : model_(model), config_(config) {
    const int n_vocab = model.config().n_vocab;
    std::uniform_int_distribution<TokenId> any_token(0, n_vocab - 1);
    prompt_.resize(static_cast<std::size_t>(config.n_prompt));
    for (auto& token : prompt_) token = any_token(rng_);
    context_.resize(static_cast<std::size_t>(config.depth));
    for (auto& token : context_) token = any_token(rng_);
    first_token_ = any_token(rng_);
    options_.n_threads = config.n_threads;
    options_.n_ctx = std::max(1, config.depth + std::max(config.n_prompt, config.n_gen));
  }

  // The same tokens with and without the adapters: only the adapters differ between the two.
  Sample run(bool generate, bool with_adapters) {
    SessionOptions options = options_;
    if (with_adapters) options.adapters = config_.adapters;
    Session session(model_, options);
    constexpr std::size_t kFillBatch = 512;
    for (std::size_t begin = 0; begin < context_.size(); begin += kFillBatch) {
      const std::size_t count = std::min(kFillBatch, context_.size() - begin);
      session.decode(std::span<const TokenId>(context_.data() + begin, count));
    }
    const int n = generate ? config_.n_gen : config_.n_prompt;
    const double cpu_start = cpu_seconds();
    const auto start = Clock::now();
    if (generate) {
      TokenId token = first_token_;
      for (int i = 0; i < n; ++i) {
        session.decode(std::span<const TokenId>(&token, 1));
        token = static_cast<TokenId>((token + 7919) % model_.config().n_vocab);
      }
    } else {
      session.decode(prompt_);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return {n / seconds, (cpu_seconds() - cpu_start) / n};
  }

 private:
  const Model& model_;
  const LoraBenchConfig& config_;
  std::mt19937 rng_{1234};
  std::vector<TokenId> prompt_, context_;
  TokenId first_token_ = 0;
  SessionOptions options_;
};

nlohmann::json side_json(const Side& side) {
  return {{"tokens_per_second_median", median(side.rates)},
          {"tokens_per_second_min", *std::min_element(side.rates.begin(), side.rates.end())},
          {"tokens_per_second_max", *std::max_element(side.rates.begin(), side.rates.end())},
          {"samples_tokens_per_second", side.rates},
          {"cpu_seconds_per_token_median", median(side.cpu_per_token)},
          {"samples_cpu_seconds_per_token", side.cpu_per_token}};
}

void print_json(const LoraBenchConfig& config, const std::vector<LoraBenchRow>& rows) {
  nlohmann::json adapters = nlohmann::json::array();
  for (std::size_t i = 0; i < config.adapters.size(); ++i) {
    const auto& adapter = config.adapters[i];
    adapters.push_back({{"spec", config.lora_specs[i]},
                        {"rank", adapter.adapter.rank()},
                        {"scale", adapter.scale},
                        {"targets", adapter.adapter.targets()}});
  }
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& row : rows) {
    tests.push_back(
        {{"test", row.test},
         {"n_prompt", row.n_prompt},
         {"n_gen", row.n_gen},
         {"n_depth", config.depth},
         {"base", side_json(row.base)},
         {"lora", side_json(row.lora)},
         {"ratios", row.ratios},
         {"ratio_median", median(row.ratios)},
         {"cpu_ratio_median", median(row.lora.cpu_per_token) / median(row.base.cpu_per_token)}});
  }
  const nlohmann::json document = {{"model", config.model_label},
                                   {"adapters", adapters},
                                   {"n_threads", config.n_threads},
                                   {"repetitions", config.repetitions},
                                   {"order", "ABBA: base first in even rounds, lora first in odd"},
                                   {"tests", tests}};
  std::printf("%s\n",
              document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_markdown(const LoraBenchConfig& config, const std::vector<LoraBenchRow>& rows) {
  std::printf(
      "| model | threads | test | base t/s (median, min..max) | LoRA t/s (median, min..max) | "
      "LoRA/base t/s (median of rounds) | CPU ms/token base | CPU ms/token LoRA |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  const std::string depth = config.depth > 0 ? " @ d" + std::to_string(config.depth) : "";
  for (const auto& row : rows) {
    const auto range = [](const Side& side) {
      char text[64];
      std::snprintf(text, sizeof text, "%.2f (%.2f..%.2f)", median(side.rates),
                    *std::min_element(side.rates.begin(), side.rates.end()),
                    *std::max_element(side.rates.begin(), side.rates.end()));
      return std::string(text);
    };
    std::printf("| %s | %d | %s%s | %s | %s | %.3f | %.2f | %.2f |\n", config.model_label.c_str(),
                config.n_threads, row.test.c_str(), depth.c_str(), range(row.base).c_str(),
                range(row.lora).c_str(), median(row.ratios), 1e3 * median(row.base.cpu_per_token),
                1e3 * median(row.lora.cpu_per_token));
  }
  std::printf("LoRA:");
  for (std::size_t i = 0; i < config.adapters.size(); ++i) {
    std::printf(" %s (rank %d, scale %g)", config.lora_specs[i].c_str(),
                config.adapters[i].adapter.rank(), static_cast<double>(config.adapters[i].scale));
  }
  std::printf("; %d counted rounds after one warm-up, base and LoRA alternating (ABBA)\n",
              config.repetitions);
}

}  // namespace

int run_lora_bench(const Model& model, const LoraBenchConfig& config) {
  Runner runner(model, config);
  std::vector<LoraBenchRow> rows;
  const auto add_row = [&rows](std::string test, int n_prompt, int n_gen) {
    LoraBenchRow row;
    row.test = std::move(test);
    row.n_prompt = n_prompt;
    row.n_gen = n_gen;
    rows.push_back(std::move(row));
  };
  if (config.n_prompt > 0) add_row("pp" + std::to_string(config.n_prompt), config.n_prompt, 0);
  if (config.n_gen > 0) add_row("tg" + std::to_string(config.n_gen), 0, config.n_gen);
  for (int round = 0; round < config.repetitions + 1; ++round) {
    for (auto& row : rows) {
      const bool generate = row.n_gen > 0;
      const bool lora_first = round % 2 == 1;
      Sample base, lora;
      if (lora_first) {
        lora = runner.run(generate, true);
        base = runner.run(generate, false);
      } else {
        base = runner.run(generate, false);
        lora = runner.run(generate, true);
      }
      if (round == 0) continue;  // warm-up
      row.base.add(base);
      row.lora.add(lora);
      row.ratios.push_back(lora.rate / base.rate);
    }
  }
  if (config.json) {
    print_json(config, rows);
  } else {
    print_markdown(config, rows);
  }
  return 0;
}

}  // namespace llama3::cli
