// llama3 bench: prompt-processing and generation speed, like llama.cpp's llama-bench, plus load
// time, peak RSS and the figures as fractions of this machine's limits, measured in the same run
// (read bandwidth, in-cache matmul rate) unless given. Output as a Markdown table, JSON or CSV
// (-o).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "bench_lora.hpp"
#include "bench_parallel.hpp"
#include "bench_speculative.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "kernels/machine_probe.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "speculative_options.hpp"

namespace llama3::cli {
namespace {

// The longest context of the Llama 3 family (3.1 and later); -p, -n and -d stay within it, checked
// before loading, so that a typo (-p 100000000) is an error, not an hour of work. After loading,
// the model's own trained context is the limit.
constexpr int kMaxBenchTokens = 131072;

struct BenchOptions {
  ModelOptions model;
  LoraOptions lora;
  int n_prompt = 512;
  int n_gen = 128;
  int depth = 0;
  int n_threads = 2;
  KvCacheTypeOptions cache_type;
  int repetitions = 3;
  // Unset: measured at the start of the run (kernels/machine_probe.hpp).
  std::optional<double> bandwidth_gb;
  std::optional<double> int8_peak_gops;
  std::optional<double> fp32_peak_gflops;
  OutputFormat format = OutputFormat::kMarkdown;
  std::string parallel;   // "1,2,4,8,16": instead, that many sequences at once through the engine
  int shared_prefix = 0;  // with parallel: also 8 requests sharing a prefix of this many tokens
  SpeculativeCliOptions speculative;  // --draft / --lookup: plain against speculative generation
  std::string prompt_file;            // with them: the prompt's text (default: -p random tokens)
};

void declare(CLI::App& app, BenchOptions& options) {
  options.model.declare(app, /*required=*/true);
  options.lora.declare(app);
  const auto tokens = integer_in(0, kMaxBenchTokens);
  app.add_option("-p,--n-prompt", options.n_prompt,
                 "prompt tokens processed in one batch (default 512; 0 = skip)")
      ->check(tokens);
  app.add_option("-n,--n-gen", options.n_gen, "tokens generated one by one (default 128; 0 = skip)")
      ->check(tokens);
  app.add_option("-d,--n-depth", options.depth,
                 "context depth: tokens already in the KV cache before each test is timed (as "
                 "llama-bench's -d; default 0)")
      ->check(tokens);
  declare_threads(app, options.n_threads);
  options.cache_type.declare(app);
  app.add_option("-r,--repetitions", options.repetitions,
                 "repetitions; medians are reported, with min..max (default 3)")
      ->check(integer_in(1, 1000));
  const auto positive = number_above(0.0);
  app.add_option("--bw", options.bandwidth_gb,
                 "memory read bandwidth in GB/s for the generation bound (default: measured "
                 "at the start of the run)")
      ->check(positive);
  app.add_option("--int8-peak", options.int8_peak_gops,
                 "int8 matmul peak in GOP/s for the prompt bound of quantized files (default: "
                 "measured, q8_0 in cache)")
      ->check(positive);
  app.add_option("--fp32-peak", options.fp32_peak_gflops,
                 "fp32 matmul peak in GFLOP/s for the prompt bound of F16/F32 files (default: "
                 "measured, f32 in cache)")
      ->check(positive);
  auto* parallel = app.add_option(
      "--parallel", options.parallel,
      "instead: a list such as 1,2,4,8,16 of sequence counts run at once through the engine, "
      "each with a -p token prompt and -n generated tokens (aggregate and per-sequence t/s, time "
      "to first token, peak RSS)");
  app.add_option("--shared-prefix", options.shared_prefix,
                 "with --parallel: also 8 requests sharing an N-token prompt prefix (TTFT of "
                 "request 1, which computes it, against requests 2-8, which reuse it)")
      ->check(integer_in(1, kMaxBenchTokens))
      ->needs(parallel);
  options.speculative.declare(app);
  app.add_option("--prompt-file", options.prompt_file,
                 "with --draft or --lookup: the prompt, as text (default: -p random tokens)")
      ->type_name("PATH");
  declare_output_format(app, options.format,
                        {{"md", OutputFormat::kMarkdown},
                         {"json", OutputFormat::kJson},
                         {"csv", OutputFormat::kCsv}});
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;  // ru_maxrss is in KiB on Linux
}

// One test's figures: "pp512" or "tg128", each at the depth asked for.
struct BenchRow {
  std::string test;  // "pp" or "tg"
  int n_tokens = 0;
  std::vector<double> rates;  // tokens/s of each counted repetition
  double bound = 0.0;         // tokens/s this machine's limits allow

  double median() const {
    std::vector<double> sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    return sorted[sorted.size() / 2];
  }
  double min() const { return *std::min_element(rates.begin(), rates.end()); }
  double max() const { return *std::max_element(rates.begin(), rates.end()); }
};

struct BenchReport {
  std::string model;
  double bytes = 0.0;
  double params = 0.0;
  int n_threads = 0;
  int depth = 0;
  std::string kv_cache_type = "f16";  // of the keys and of the values
  double kv_bytes = 0.0;              // KV cache bytes a generated token reads at the depth
  int repetitions = 0;
  double load_seconds = 0.0;
  double peak_rss = 0.0;
  bool quantized = false;
  double compute_peak = 0.0;      // ops/s
  double bandwidth = 0.0;         // bytes/s
  bool compute_measured = false;  // by this run's probe, not given with --int8-peak/--fp32-peak
  bool bandwidth_measured = false;
  std::vector<BenchRow> rows;
};

void print_markdown(const BenchReport& report) {
  std::printf(
      "| model | size GB | params B | threads | test | t/s (median) | min..max | %% of bound | "
      "load s | peak RSS GB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  // As llama-bench labels it: "tg128 @ d4096". The generation bound counts the KV cache the depth
  // puts before each generated token; the prompt bound ignores attention.
  std::string depth_label = report.depth > 0 ? " @ d" + std::to_string(report.depth) : "";
  if (report.kv_cache_type != "f16") depth_label += " kv " + report.kv_cache_type;
  for (const auto& row : report.rows) {
    std::printf(
        "| %s | %.2f | %.2f | %d | %s%d%s | %.1f | %.1f..%.1f | %.0f%% of %.0f | %.2f | %.2f |\n",
        report.model.c_str(), report.bytes / 1e9, report.params / 1e9, report.n_threads,
        row.test.c_str(), row.n_tokens, depth_label.c_str(), row.median(), row.min(), row.max(),
        100.0 * row.median() / row.bound, row.bound, report.load_seconds, report.peak_rss / 1e9);
  }
  std::printf(
      "bounds: pp = %s peak %.0f G/s (%s) / (2 x params); tg = %.1f GB/s (%s) / file "
      "bytes\n",
      report.quantized ? "int8" : "fp32", report.compute_peak / 1e9,
      report.compute_measured
          ? (report.quantized ? "measured: q8_0 matmul in cache" : "measured: f32 matmul in cache")
          : "given",
      report.bandwidth / 1e9, report.bandwidth_measured ? "measured: read probe" : "given");
  if (report.kv_bytes > 0.0) {
    std::printf("        + the %s KV cache at depth %d: %.3f GB per generated token\n",
                report.kv_cache_type.c_str(), report.depth, report.kv_bytes / 1e9);
  }
}

void print_json(const BenchReport& report) {
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& row : report.rows) {
    tests.push_back({{"test", row.test + std::to_string(row.n_tokens)},
                     {"n_prompt", row.test == "pp" ? row.n_tokens : 0},
                     {"n_gen", row.test == "tg" ? row.n_tokens : 0},
                     {"n_depth", report.depth},
                     {"kv_cache_type", report.kv_cache_type},
                     {"tokens_per_second_median", row.median()},
                     {"tokens_per_second_min", row.min()},
                     {"tokens_per_second_max", row.max()},
                     {"samples_tokens_per_second", row.rates},
                     {"bound_tokens_per_second", row.bound},
                     {"fraction_of_bound", row.median() / row.bound}});
  }
  const nlohmann::json document = {{"model", report.model},
                                   {"size_bytes", static_cast<std::uint64_t>(report.bytes)},
                                   {"n_params", static_cast<std::uint64_t>(report.params)},
                                   {"n_threads", report.n_threads},
                                   {"repetitions", report.repetitions},
                                   {"load_seconds", report.load_seconds},
                                   {"peak_rss_bytes", static_cast<std::uint64_t>(report.peak_rss)},
                                   {"bounds",
                                    {{"compute", report.quantized ? "int8" : "fp32"},
                                     {"compute_peak_ops_per_second", report.compute_peak},
                                     {"compute_peak_measured", report.compute_measured},
                                     {"bandwidth_bytes_per_second", report.bandwidth},
                                     {"kv_bytes_per_token", report.kv_bytes},
                                     {"bandwidth_measured", report.bandwidth_measured}}},
                                   {"tests", tests}};
  std::printf("%s\n",
              document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void print_csv(const BenchReport& report) {
  std::printf(
      "model,size_bytes,n_params,n_threads,test,n_prompt,n_gen,n_depth,t_s_median,t_s_min,"
      "t_s_max,bound_t_s,fraction_of_bound,load_seconds,peak_rss_bytes\n");
  for (const auto& row : report.rows) {
    std::printf("%s,%.0f,%.0f,%d,%s%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.4f,%.4f,%.0f\n",
                csv_field(report.model).c_str(), report.bytes, report.params, report.n_threads,
                row.test.c_str(), row.n_tokens, row.test == "pp" ? row.n_tokens : 0,
                row.test == "tg" ? row.n_tokens : 0, report.depth, row.median(), row.min(),
                row.max(), row.bound, row.median() / row.bound, report.load_seconds,
                report.peak_rss);
  }
}

// Bytes of keys and values a token reads from a cache holding `depth` positions: per position and
// layer, a key and a value row of every KV head (q8_0: 34 bytes per 32 values, docs/kv-cache.md).
double kv_bytes_at_depth(const ModelConfig& config, int depth, KvCacheType type) {
  const double per_value = type == KvCacheType::kF32    ? 4.0
                           : type == KvCacheType::kQ8_0 ? 34.0 / 32.0
                                                        : 2.0;
  return 2.0 * config.n_layers * config.n_kv_heads * config.head_dim * per_value * depth;
}

// Greedy generation of -n tokens after the prompt, plain against speculative.
int run_speculative(const Model& model, BenchOptions& options, int n_threads) {
  options.speculative.load();
  SpeculativeBenchConfig config;
  config.model_label = options.model.path;
  config.draft_label = options.speculative.label();
  config.speculative = options.speculative.options(n_threads);
  config.n_gen = options.n_gen;
  config.n_threads = n_threads;
  config.repetitions = options.repetitions;
  config.json = options.format == OutputFormat::kJson;
  if (!options.prompt_file.empty()) {
    std::ifstream in(options.prompt_file, std::ios::binary);
    if (!in) throw Error(ErrorCode::kIo, "cannot read prompt file " + options.prompt_file);
    std::ostringstream text;
    text << in.rdbuf();
    EncodeOptions encode;
    encode.add_bos = true;
    config.prompt = model.tokenizer().encode(text.str(), encode);
  } else {
    std::mt19937 rng(1234);
    std::uniform_int_distribution<TokenId> any_token(0, model.config().n_vocab - 1);
    config.prompt.resize(static_cast<std::size_t>(std::max(options.n_prompt, 1)));
    for (auto& token : config.prompt) token = any_token(rng);
  }
  return run_speculative_bench(model, config);
}

}  // namespace

int run_bench(Args args) {
  const auto app =
      make_command_app("bench", "Prompt and generation speed, load time and peak RSS of a model.");
  BenchOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  // Each test runs in a fresh session: the context holds the depth and then one test's tokens.
  const long long context_tokens =
      static_cast<long long>(options.depth) + std::max(options.n_prompt, options.n_gen);
  if (context_tokens > kMaxBenchTokens) {
    throw UsageError("-d + max(-p, -n) = " + std::to_string(context_tokens) +
                     " tokens is more than " + std::to_string(kMaxBenchTokens) +
                     ", the longest Llama 3 context");
  }
  const int n_threads = clamp_threads(options.n_threads);

  LoadOptions load;
  load.use_mmap = !options.model.no_mmap;
  const auto load_start = Clock::now();
  const Model model = Model::load(options.model.path, load);
  const double load_seconds = seconds_since(load_start);
  if (!options.parallel.empty()) {
    if (options.format == OutputFormat::kCsv) throw UsageError("--parallel: -o takes md or json");
    ParallelBenchConfig parallel;
    parallel.model_label = options.model.path;
    parallel.n_parallel = parse_int_list(options.parallel, "--parallel");
    parallel.n_prompt = options.n_prompt;
    parallel.n_gen = options.n_gen;
    parallel.n_threads = n_threads;
    parallel.shared_prefix = options.shared_prefix;
    parallel.json = options.format == OutputFormat::kJson;
    options.speculative.load();
    parallel.speculative = options.speculative.options(n_threads);
    parallel.draft_label = options.speculative.label();
    return run_parallel_bench(model, parallel);
  }

  if (options.speculative.enabled()) {
    if (options.format == OutputFormat::kCsv)
      throw UsageError("--draft/--lookup: -o takes md or json");
    return run_speculative(model, options, n_threads);
  }

  const auto& config = model.config();
  // Attention past the trained context measures nothing a user would run, and its cost grows with
  // the square of the depth: a mistyped -d would run for hours.
  if (config.context_length > 0 && context_tokens > config.context_length) {
    throw UsageError("-d + max(-p, -n) = " + std::to_string(context_tokens) +
                     " tokens is more than the model's trained context of " +
                     std::to_string(config.context_length));
  }
  if (!options.lora.specs.empty()) {
    if (options.format == OutputFormat::kCsv) throw UsageError("--lora: -o takes md or json");
    LoraBenchConfig lora;
    lora.model_label = options.model.path;
    lora.lora_specs = options.lora.specs;
    lora.adapters = options.lora.load(model);
    lora.n_prompt = options.n_prompt;
    lora.n_gen = options.n_gen;
    lora.depth = options.depth;
    lora.n_threads = n_threads;
    lora.repetitions = options.repetitions;
    lora.json = options.format == OutputFormat::kJson;
    return run_lora_bench(model, lora);
  }
  SessionOptions session_options;
  session_options.n_threads = n_threads;
  session_options.n_ctx = static_cast<int>(std::max(1LL, context_tokens));
  session_options.kv_cache_type = options.cache_type.type();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<TokenId> any_token(0, config.n_vocab - 1);
  std::vector<TokenId> prompt(static_cast<std::size_t>(options.n_prompt));
  for (auto& token : prompt) token = any_token(rng);
  std::vector<TokenId> context(static_cast<std::size_t>(options.depth));
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
  // The first round warms caches and is not counted.
  for (int rep = 0; rep < options.repetitions + 1; ++rep) {
    if (options.n_prompt > 0) {
      Session session(model, session_options);
      fill_context(session);
      const auto start = Clock::now();
      session.decode(prompt);
      if (rep > 0) pp_rates.push_back(options.n_prompt / seconds_since(start));
    }
    if (options.n_gen > 0) {
      Session session(model, session_options);
      fill_context(session);
      TokenId token = any_token(rng);
      const auto start = Clock::now();
      for (int i = 0; i < options.n_gen; ++i) {
        session.decode(std::span<const TokenId>(&token, 1));
        token = static_cast<TokenId>((token + 7919) % config.n_vocab);
      }
      if (rep > 0) tg_rates.push_back(options.n_gen / seconds_since(start));
    }
  }

  // Work per token: 2 ops per weight of every matrix product (the embedding lookup is free, but the
  // output layer reads the same matrix when tied, so all parameters count once).
  BenchReport report;
  report.model = options.model.path;
  report.params = static_cast<double>(model.n_params());
  report.bytes = static_cast<double>(model.weight_bytes());
  report.quantized = report.bytes < report.params * 1.9;  // F16/BF16 files hold ~2 bytes a weight
  const std::optional<double> given_peak =
      report.quantized ? options.int8_peak_gops : options.fp32_peak_gflops;
  {
    // After the timed runs, so the probes' buffers never share memory with them.
    kernels::ThreadPool pool(n_threads);
    report.compute_measured = !given_peak;
    report.compute_peak =
        given_peak ? *given_peak * 1e9
                   : kernels::measure_matmul_peak(
                         pool, report.quantized ? io::TensorType::kQ8_0 : io::TensorType::kF32);
    report.bandwidth_measured = !options.bandwidth_gb;
    report.bandwidth =
        options.bandwidth_gb ? *options.bandwidth_gb * 1e9 : kernels::measure_read_bandwidth(pool);
  }
  report.n_threads = n_threads;
  report.depth = options.depth;
  report.kv_cache_type = options.cache_type.keys;
  report.kv_bytes = kv_bytes_at_depth(config, options.depth, session_options.kv_cache_type);
  report.repetitions = options.repetitions;
  report.load_seconds = load_seconds;
  report.peak_rss = peak_rss_bytes();
  if (!pp_rates.empty()) {
    report.rows.push_back(
        {"pp", options.n_prompt, pp_rates, report.compute_peak / (2.0 * report.params)});
  }
  if (!tg_rates.empty()) {
    report.rows.push_back(
        {"tg", options.n_gen, tg_rates, report.bandwidth / (report.bytes + report.kv_bytes)});
  }
  switch (options.format) {
    case OutputFormat::kJson:
      print_json(report);
      break;
    case OutputFormat::kCsv:
      print_csv(report);
      break;
    default:
      print_markdown(report);
  }
  return 0;
}

}  // namespace llama3::cli
