#include "bench_parallel.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "llama3/engine.hpp"
#include "llama3/error.hpp"

namespace llama3::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

long peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024L;  // KiB on Linux
}

std::vector<TokenId> random_tokens(std::mt19937& rng, int n, int n_vocab) {
  std::uniform_int_distribution<TokenId> any_token(0, n_vocab - 1);
  std::vector<TokenId> tokens(static_cast<std::size_t>(n));
  for (auto& token : tokens) token = any_token(rng);
  return tokens;
}

// Greedy, with every end-of-generation token banned so each request makes exactly n_gen tokens.
SamplerParams fixed_length_sampling(const Model& model) {
  SamplerParams params;
  params.temperature = 0.0f;
  if (model.has_tokenizer()) {
    const auto& tokenizer = model.tokenizer();
    for (TokenId id = 0; id < model.config().n_vocab; ++id) {
      if (tokenizer.is_end_of_generation(id)) params.logit_bias.push_back({id, -INFINITY});
    }
  }
  return params;
}

struct Row {
  int n_parallel;
  double prompt_rate;      // all prompt tokens / time until the last first token
  double generation_rate;  // tokens sampled after every sequence had its first / that time
  double ttft_mean_ms, ttft_max_ms;
  long rss;
  bool speculative = false;  // false: plain decoding
  std::uint64_t drafted = 0, accepted = 0;
};

Row run_row(const Model& model, const ParallelBenchConfig& config, int n_parallel, bool speculative,
            std::mt19937& rng) {
  EngineOptions options;
  options.n_threads = config.n_threads;
  options.n_ctx = config.n_prompt + config.n_gen + 1;
  options.kv_tokens = n_parallel * (options.n_ctx + 32);
  options.max_step_tokens = 512;
  options.prefix_cache = false;  // random prompts share nothing
  Engine engine(model, options);
  std::mutex mutex;
  std::vector<Clock::time_point> sampled;  // one entry per token sampled
  const SamplerParams sampling = fixed_length_sampling(model);
  const auto start = Clock::now();
  std::vector<Engine::RequestId> ids;
  for (int i = 0; i < n_parallel; ++i) {
    EngineRequest request;
    request.prompt = random_tokens(rng, config.n_prompt, model.config().n_vocab);
    request.sampling = sampling;
    request.generate.max_tokens = config.n_gen;
    if (speculative) request.generate.speculative = config.speculative;
    request.on_logits = [&](std::span<const float>) {
      std::lock_guard<std::mutex> lock(mutex);
      sampled.push_back(Clock::now());
    };
    ids.push_back(engine.submit(std::move(request)));
  }
  double ttft_sum = 0.0, ttft_max = 0.0, last_first_token = 0.0;
  for (const auto id : ids) {
    const EngineResult result = engine.wait(id);
    if (result.state != RequestState::kFinished) {
      throw Error(ErrorCode::kInternal, std::string("bench: a request ended ") +
                                            request_state_name(result.state) + ": " + result.error);
    }
    ttft_sum += result.first_token_seconds;
    ttft_max = std::max(ttft_max, result.first_token_seconds);
    last_first_token = std::max(last_first_token, result.first_token_seconds);
  }
  const auto generation_start = start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(last_first_token));
  std::size_t generated = 0;
  Clock::time_point end = generation_start;
  for (const auto& t : sampled) {
    if (t > generation_start) ++generated, end = std::max(end, t);
  }
  const double generation_seconds = seconds_between(generation_start, end);
  Row row;
  row.n_parallel = n_parallel;
  row.prompt_rate = n_parallel * config.n_prompt / last_first_token;
  row.generation_rate = generation_seconds > 0 ? generated / generation_seconds : 0.0;
  row.ttft_mean_ms = 1000.0 * ttft_sum / n_parallel;
  row.ttft_max_ms = 1000.0 * ttft_max;
  row.rss = peak_rss_bytes();
  row.speculative = speculative;
  const EngineStats stats = engine.stats();
  row.drafted = stats.n_drafted;
  row.accepted = stats.n_draft_accepted;
  return row;
}

void shared_prefix_scenario(const Model& model, const ParallelBenchConfig& config,
                            std::mt19937& rng) {
  EngineOptions options;
  options.n_threads = config.n_threads;
  options.n_ctx = config.shared_prefix + 64 + config.n_gen;
  options.kv_tokens = (config.n_shared_requests + 1) * options.n_ctx;
  Engine engine(model, options);
  const auto prefix = random_tokens(rng, config.shared_prefix, model.config().n_vocab);
  const SamplerParams sampling = fixed_length_sampling(model);
  const auto request_with_suffix = [&] {
    EngineRequest request;
    request.prompt = prefix;
    const auto suffix = random_tokens(rng, 16, model.config().n_vocab);
    request.prompt.insert(request.prompt.end(), suffix.begin(), suffix.end());
    request.sampling = sampling;
    request.generate.max_tokens = 1;
    return request;
  };
  // Request 1 pays for the prefix; 2..N arrive after it and find it cached.
  const EngineResult first = engine.wait(engine.submit(request_with_suffix()));
  std::vector<Engine::RequestId> ids;
  for (int i = 1; i < config.n_shared_requests; ++i)
    ids.push_back(engine.submit(request_with_suffix()));
  double later_max = 0.0, later_sum = 0.0;
  int reused = 0;
  for (const auto id : ids) {
    const EngineResult result = engine.wait(id);
    later_max = std::max(later_max, result.first_token_seconds);
    later_sum += result.first_token_seconds;
    reused = result.n_reused_prompt_tokens;
  }
  const double later_mean = later_sum / static_cast<double>(ids.size());
  if (config.json) {
    std::printf(
        "{\"test\": \"shared_prefix%d\", \"n_parallel\": %d, \"ttft_first_ms\": %.1f, "
        "\"ttft_ms\": %.1f, \"ttft_later_max_ms\": %.1f, \"reused_tokens\": %d, "
        "\"rss_bytes\": %ld}\n",
        config.shared_prefix, config.n_shared_requests, 1000.0 * first.first_token_seconds,
        1000.0 * later_mean, 1000.0 * later_max, reused, peak_rss_bytes());
    return;
  }
  std::printf(
      "shared prefix of %d tokens, %d requests: TTFT request 1 %.1f ms; requests 2-%d mean %.1f "
      "ms, "
      "max %.1f ms (%.1f%% of request 1); %d prompt tokens reused each\n",
      config.shared_prefix, config.n_shared_requests, 1000.0 * first.first_token_seconds,
      config.n_shared_requests, 1000.0 * later_mean, 1000.0 * later_max,
      100.0 * later_max / first.first_token_seconds, reused);
}

void print_row(const ParallelBenchConfig& config, const Row& row) {
  const int n = row.n_parallel;
  if (config.json) {
    std::printf(
        "{\"test\": \"pp%d+tg%d\", \"n_parallel\": %d, \"t_s\": %.2f, \"t_s_per_sequence\": "
        "%.2f, \"pp_t_s\": %.2f, \"ttft_ms\": %.1f, \"ttft_max_ms\": %.1f, \"rss_bytes\": %ld, "
        "\"threads\": %d",
        config.n_prompt, config.n_gen, n, row.generation_rate, row.generation_rate / n,
        row.prompt_rate, row.ttft_mean_ms, row.ttft_max_ms, row.rss, config.n_threads);
    if (row.speculative) {
      std::printf(", \"draft\": %s, \"draft_max\": %d, \"drafted\": %llu, \"accepted\": %llu",
                  nlohmann::json(config.draft_label).dump().c_str(), config.speculative.draft_max,
                  static_cast<unsigned long long>(row.drafted),
                  static_cast<unsigned long long>(row.accepted));
    }
    std::printf("}\n");
  } else {
    std::printf("| %s | %d | pp%d+tg%d | %d | %.1f | %.1f | %.1f | %.0f | %.0f | %.2f |",
                config.model_label.c_str(), config.n_threads, config.n_prompt, config.n_gen, n,
                row.generation_rate, row.generation_rate / n, row.prompt_rate, row.ttft_mean_ms,
                row.ttft_max_ms, static_cast<double>(row.rss) / 1e9);
    if (config.speculative.enabled()) {
      if (row.speculative) {
        std::printf(" %s | %llu / %llu |", config.draft_label.c_str(),
                    static_cast<unsigned long long>(row.accepted),
                    static_cast<unsigned long long>(row.drafted));
      } else {
        std::printf(" - | - |");
      }
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

}  // namespace

std::vector<int> parse_int_list(const std::string& text, const char* option) {
  std::vector<int> values;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t comma = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, comma - begin);
    std::size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 1) {
      throw Error(ErrorCode::kInvalidArgument, std::string(option) +
                                                   ": expected a list of positive integers such "
                                                   "as 1,2,4, got '" +
                                                   text + "'");
    }
    values.push_back(value);
    begin = comma + 1;
  }
  return values;
}

int run_parallel_bench(const Model& model, const ParallelBenchConfig& config) {
  std::mt19937 rng(1234);
  if (!config.json) {
    std::printf(
        "| model | threads | test | n_parallel | gen t/s (all) | gen t/s (per seq) | prompt t/s | "
        "TTFT mean ms | TTFT max ms | peak RSS GB |%s\n",
        config.speculative.enabled() ? " drafter | drafts kept / drafted |" : "");
    std::printf("|---|---|---|---|---|---|---|---|---|---|%s\n",
                config.speculative.enabled() ? "---|---|" : "");
  }
  for (const int n : config.n_parallel) {
    // Speculating, both rows see the same prompts: the generator restarts from one state.
    const std::mt19937 row_rng = rng;
    std::mt19937 plain_rng = row_rng;
    print_row(config, run_row(model, config, n, false, plain_rng));
    if (config.speculative.enabled()) {
      std::mt19937 speculative_rng = row_rng;
      print_row(config, run_row(model, config, n, true, speculative_rng));
    }
    rng = plain_rng;
  }
  if (config.shared_prefix > 0) shared_prefix_scenario(model, config, rng);
  return 0;
}

}  // namespace llama3::cli
