// llama3 bench: prompt-processing and generation speed, like llama.cpp's llama-bench, plus load
// time, peak RSS and the figures as fractions of this machine's limits (docs/performance.md probes
// by default).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench_parallel.hpp"
#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "options.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kHelp =
    "usage: llama3 bench -m MODEL.gguf [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [--no-mmap]\n"
    "                    [--bw GB/s] [--int8-peak GOP/s] [--fp32-peak GFLOP/s]\n"
    "  -p / -n       prompt tokens processed in one batch / tokens generated one by one\n"
    "  -d            context depth: tokens already in the KV cache before each test is timed\n"
    "                (as llama-bench's -d; attention work and KV reads grow with it)\n"
    "  -t, -r        threads, repetitions (medians are reported, with min..max)\n"
    "  --bw          memory read bandwidth for the generation bound (default 75 GB/s, 2 threads)\n"
    "  --int8-peak   int8 dot peak for the prompt bound of quantized files (default 1773 GOP/s)\n"
    "  --fp32-peak   fp32 FMA peak for the prompt bound of F16/F32 files (default 432 GFLOP/s)\n"
    "  --parallel 1,2,4,8,16  instead: that many sequences at once through the engine, each with\n"
    "                a -p token prompt and -n generated tokens (aggregate and per-sequence t/s,\n"
    "                time to first token, peak RSS)\n"
    "  --shared-prefix N  with --parallel: also 8 requests sharing an N-token prompt prefix (TTFT\n"
    "                of request 1, which computes it, against requests 2-8, which reuse it)\n"
    "  -o md|json    output: a markdown table (default) or one JSON object per row\n";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Summary {
  double median, min, max;
};

Summary summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front(), values.back()};
}

double peak_rss_gb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0 / 1e9;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int run_bench(Args args) {
  const Options options(args, {"--no-mmap", "--help", "-h"});
  if (options.has("--help") || options.has("-h") || !options.get("-m")) {
    std::printf("%s", kHelp);
    return options.get("-m") ? 0 : 2;
  }
  const std::string path = *options.get("-m");
  const int n_prompt = options.get_int("-p", 512);
  const int n_gen = options.get_int("-n", 128);
  const int depth = std::max(0, options.get_int("-d", 0));
  const int threads = options.get_int("-t", 2);
  const int reps = std::max(1, options.get_int("-r", 3));
  const double bandwidth = options.get_float("--bw", 75.0f) * 1e9;
  const double int8_peak = options.get_float("--int8-peak", 1773.0f) * 1e9;
  const double fp32_peak = options.get_float("--fp32-peak", 432.0f) * 1e9;

  const std::string output = options.get_or("-o", "md");
  if (output != "md" && output != "json") {
    throw Error(ErrorCode::kInvalidArgument, "-o: expected md or json, got '" + output + "'");
  }

  LoadOptions load;
  load.use_mmap = !options.has("--no-mmap");
  const auto load_start = Clock::now();
  const Model model = Model::load(path, load);
  const double load_seconds = seconds_since(load_start);
  if (options.get("--parallel")) {
    ParallelBenchConfig parallel;
    parallel.model_label = path;
    parallel.n_parallel = parse_int_list(*options.get("--parallel"), "--parallel");
    parallel.n_prompt = n_prompt;
    parallel.n_gen = n_gen;
    parallel.n_threads = threads;
    parallel.shared_prefix = std::max(0, options.get_int("--shared-prefix", 0));
    parallel.json = output == "json";
    return run_parallel_bench(model, parallel);
  }

  const auto& config = model.config();
  SessionOptions session_options;
  session_options.n_threads = threads;
  session_options.n_ctx = depth + n_prompt + n_gen + 1;
  std::mt19937 rng(1234);
  std::uniform_int_distribution<TokenId> any_token(0, config.n_vocab - 1);
  std::vector<TokenId> prompt(static_cast<std::size_t>(n_prompt));
  for (auto& token : prompt) token = any_token(rng);
  std::vector<TokenId> context(static_cast<std::size_t>(depth));
  for (auto& token : context) token = any_token(rng);
  // Fills a fresh session's KV cache to `depth` before the clock starts, in prompt-sized batches.
  const auto fill_context = [&](Session& session) {
    constexpr std::size_t kFillBatch = 512;
    for (std::size_t begin = 0; begin < context.size(); begin += kFillBatch) {
      const std::size_t count = std::min(kFillBatch, context.size() - begin);
      session.decode(std::span<const TokenId>(context.data() + begin, count));
    }
  };

  std::vector<double> pp_rates, tg_rates;
  for (int rep = 0; rep < reps + 1; ++rep) {  // the first round warms caches and is not counted
    if (n_prompt > 0) {
      Session session(model, session_options);
      fill_context(session);
      const auto start = Clock::now();
      session.decode(prompt);
      if (rep > 0) pp_rates.push_back(n_prompt / seconds_since(start));
    }
    if (n_gen > 0) {
      Session session(model, session_options);
      fill_context(session);
      TokenId token = any_token(rng);
      const auto start = Clock::now();
      for (int i = 0; i < n_gen; ++i) {
        session.decode(std::span<const TokenId>(&token, 1));
        token = static_cast<TokenId>((token + 7919) % config.n_vocab);
      }
      if (rep > 0) tg_rates.push_back(n_gen / seconds_since(start));
    }
  }

  // Work per token: 2 ops per weight of every matrix product (the embedding lookup is free, but the
  // output layer reads the same matrix when tied, so all parameters count once).
  const double params = static_cast<double>(model.n_params());
  const double bytes = static_cast<double>(model.weight_bytes());
  const bool quantized = bytes < params * 1.9;  // F16/BF16 files hold ~2 bytes per weight
  const double compute_peak = quantized ? int8_peak : fp32_peak;

  std::printf(
      "| model | size GB | params B | threads | test | t/s (median) | min..max | %% of bound | "
      "load s | peak RSS GB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  // As llama-bench labels it: "tg128 @ d4096". The bounds ignore the KV reads that depth adds.
  const std::string depth_label = depth > 0 ? " @ d" + std::to_string(depth) : "";
  const auto row = [&](const char* test, int n, const std::vector<double>& rates, double bound) {
    if (rates.empty()) return;
    const Summary s = summarize(rates);
    std::printf(
        "| %s | %.2f | %.2f | %d | %s%d%s | %.1f | %.1f..%.1f | %.0f%% of %.0f | %.2f | %.2f |\n",
        path.c_str(), bytes / 1e9, params / 1e9, threads, test, n, depth_label.c_str(), s.median,
        s.min, s.max, 100.0 * s.median / bound, bound, load_seconds, peak_rss_gb());
  };
  row("pp", n_prompt, pp_rates, compute_peak / (2.0 * params));
  row("tg", n_gen, tg_rates, bandwidth / bytes);
  std::printf("bounds: pp = %s peak %.0f G/s / (2 x params); tg = %.0f GB/s / file bytes\n",
              quantized ? "int8" : "fp32", compute_peak / 1e9, bandwidth / 1e9);
  return 0;
}

}  // namespace llama3::cli
