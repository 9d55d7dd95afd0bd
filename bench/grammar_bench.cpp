// Structured-output benchmark over the real 128K Llama 3 vocabulary:
//   grammar_bench [--vocab tokenizer.json|.gguf] [--steps N] [--warmup-walks N] [-o json]
//                 [--schema NAME] [--model FILE.gguf --gen-tokens N]
// For each schema: compile time (schema -> grammar, vocabulary trie, start masks) and the time of
// one mask_logits() call per token (p50 / p99 / max) along uniform random walks through the
// grammar, after warm-up walks have filled the mask cache; and of one fill_allowed_tokens() call
// (the allowed-token bitset without writing the row: what llguidance and xgrammar time). With
// --model: tokens per second of generation with and without the grammar (same prompt, seeds and
// token budget).
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "grammar/benchmark_schemas.hpp"
#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"

using namespace llama3;
using Clock = std::chrono::steady_clock;

namespace {

GenerateOptions max_tokens(int n) {
  GenerateOptions options;
  options.max_tokens = n;
  return options;
}

double microseconds(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// On a shared host the wall-clock tail is mostly the scheduler (a time slice is milliseconds); the
// thread's CPU time shows what the call itself cost.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size()))) - 1;
  return values[std::min(index, values.size() - 1)];
}

struct Result {
  std::string name;
  double compile_ms = 0, first_mask_us = 0, p50_us = 0, p99_us = 0, max_us = 0;
  double cpu_p99_us = 0, cpu_max_us = 0;          // the thread's CPU time: unaffected by preemption
  double bitmask_p50_us = 0, bitmask_p99_us = 0;  // fill_allowed_tokens(): the bitset, no row
  std::size_t measured = 0;
  double tps_free = 0, tps_constrained = 0;
};

// Times mask_logits (on even steps) and fill_allowed_tokens (on odd steps) along random walks; the
// first `warmup_walks` walks are not measured. Each step times only the first call it makes, so
// neither call finds the other's work in the caches; the walk picks its next token uniformly among
// the allowed ones, read from the bitset.
void measure_masks(const Grammar& grammar, const Tokenizer& vocab, int warmup_walks, int steps,
                   Result& result) {
  std::mt19937_64 rng(1234);
  std::vector<float> logits(vocab.vocab_size());
  std::vector<std::uint64_t> bitmask((vocab.vocab_size() + 63) / 64);
  std::vector<double> times, cpu_times, bitmask_times;
  std::size_t step = 0;
  for (int walk = 0; static_cast<int>(std::min(times.size(), bitmask_times.size())) < steps;
       ++walk) {
    GrammarMatcher matcher(grammar);
    for (int token = 0; token < 400; ++token, ++step) {
      const bool measured = walk >= warmup_walks;
      double us = 0;
      if (step % 2 == 0) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        const auto start = Clock::now();
        const double cpu_start = thread_cpu_us();
        matcher.mask_logits(logits);
        const double cpu_us = thread_cpu_us() - cpu_start;
        us = microseconds(Clock::now() - start);
        if (measured) {
          times.push_back(us);
          cpu_times.push_back(cpu_us);
        }
        matcher.fill_allowed_tokens(bitmask);
      } else {
        const auto start = Clock::now();
        matcher.fill_allowed_tokens(bitmask);
        us = microseconds(Clock::now() - start);
        if (measured) bitmask_times.push_back(us);
      }
      if (step == 0) result.first_mask_us = us;  // the first call after compiling
      std::vector<TokenId> allowed;
      for (std::size_t w = 0; w < bitmask.size(); ++w) {
        for (std::uint64_t bits = bitmask[w]; bits != 0; bits &= bits - 1) {
          allowed.push_back(static_cast<TokenId>(w * 64 + std::countr_zero(bits)));
        }
      }
      if (allowed.empty()) break;
      const TokenId pick = allowed[rng() % allowed.size()];
      matcher.accept(pick);
      if (matcher.is_finished()) break;
    }
  }
  result.measured = times.size();
  result.p50_us = percentile(times, 0.50);
  result.p99_us = percentile(times, 0.99);
  result.max_us = percentile(times, 1.0);
  result.cpu_p99_us = percentile(cpu_times, 0.99);
  result.cpu_max_us = percentile(cpu_times, 1.0);
  result.bitmask_p50_us = percentile(bitmask_times, 0.50);
  result.bitmask_p99_us = percentile(bitmask_times, 0.99);
}

double tokens_per_second(const Model& model, const std::optional<Grammar>& grammar, int n_tokens) {
  Session session(model, {.n_ctx = 1024});
  const auto prompt = model.tokenizer().encode("JSON:", {.add_bos = true});
  int produced = 0;
  double seconds = 0;
  for (std::uint64_t seed = 0; produced < n_tokens; ++seed) {
    SamplerParams params;
    params.temperature = 1.0f;
    params.top_p = 1.0f;
    params.seed = seed;
    params.grammar = grammar;
    Sampler sampler(params);
    session.reset();
    const auto result = session.generate(prompt, sampler, max_tokens(n_tokens - produced));
    produced += static_cast<int>(result.tokens.size()) + 1;
    seconds += result.generate_seconds;
  }
  return produced / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_path = std::string(LLAMA3_DATA_DIR) + "/tokenizer.json";
  std::string model_path;
  std::string only;  // --schema NAME: just that one
  int steps = 2000, warmup_walks = 30, gen_tokens = 64;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "grammar_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--vocab")
      vocab_path = next();
    else if (arg == "--model")
      model_path = next();
    else if (arg == "--steps")
      steps = std::stoi(next());
    else if (arg == "--warmup-walks")
      warmup_walks = std::stoi(next());
    else if (arg == "--gen-tokens")
      gen_tokens = std::stoi(next());
    else if (arg == "--schema")
      only = next();
    else if (arg == "-o" && next() == "json")
      json = true;
    else {
      std::fprintf(stderr,
                   "usage: grammar_bench [--vocab FILE] [--steps N] [--warmup-walks N] "
                   "[-o json] [--schema NAME] [--model FILE.gguf --gen-tokens N]\n");
      return 2;
    }
  }
  std::optional<Model> model;
  if (!model_path.empty()) model.emplace(Model::load(model_path));
  const Tokenizer vocab = model ? model->tokenizer() : Tokenizer::load(vocab_path);
  auto start = Clock::now();
  const GrammarVocabulary vocabulary(vocab);
  const double vocabulary_ms = microseconds(Clock::now() - start) / 1000.0;
  std::vector<Result> results;
  for (const auto& [name, schema] : testing::kBenchmarkSchemas) {
    if (!only.empty() && only != name) continue;
    Result result;
    result.name = name;
    start = Clock::now();
    const Grammar grammar = Grammar::from_json_schema(schema, vocabulary);
    result.compile_ms = microseconds(Clock::now() - start) / 1000.0;
    measure_masks(grammar, vocab, warmup_walks, steps, result);
    if (model) {
      result.tps_free = tokens_per_second(*model, std::nullopt, gen_tokens);
      result.tps_constrained = tokens_per_second(*model, grammar, gen_tokens);
    }
    results.push_back(result);
  }
  if (json) {
    std::printf("{\"vocabulary_ms\": %.3f, \"schemas\": [", vocabulary_ms);
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      std::printf(
          "%s{\"schema\": \"%s\", \"compile_ms\": %.3f, \"first_mask_us\": %.1f, "
          "\"mask_p50_us\": %.1f, \"mask_p99_us\": %.1f, \"mask_max_us\": %.1f, "
          "\"mask_cpu_p99_us\": %.1f, \"mask_cpu_max_us\": %.1f, "
          "\"bitmask_p50_us\": %.1f, \"bitmask_p99_us\": %.1f, "
          "\"measured_steps\": %zu, \"tps_unconstrained\": %.3f, \"tps_constrained\": %.3f}",
          i ? ", " : "", r.name.c_str(), r.compile_ms, r.first_mask_us, r.p50_us, r.p99_us,
          r.max_us, r.cpu_p99_us, r.cpu_max_us, r.bitmask_p50_us, r.bitmask_p99_us, r.measured,
          r.tps_free, r.tps_constrained);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf(
      "vocabulary: %zu tokens; GrammarVocabulary built once in %.1f ms\n"
      "compile: schema -> grammar + precomputed masks; mask: one mask_logits() call over the "
      "row, after %d warm-up walks, wall clock and (cpu) the thread's CPU time; bitmask: one "
      "fill_allowed_tokens() call (the bitset alone, as the peers time it)\n",
      vocab.vocab_size(), vocabulary_ms, warmup_walks);
  std::printf("%-10s %11s %14s %10s %10s %10s %12s %12s %12s %12s %8s", "schema", "compile ms",
              "first mask us", "p50 us", "p99 us", "max us", "cpu p99 us", "cpu max us",
              "bitmask p50", "bitmask p99", "steps");
  if (model) std::printf(" %10s %10s %7s", "free t/s", "json t/s", "ratio");
  std::printf("\n");
  for (const auto& r : results) {
    std::printf("%-10s %11.2f %14.1f %10.1f %10.1f %10.1f %12.1f %12.1f %12.1f %12.1f %8zu",
                r.name.c_str(), r.compile_ms, r.first_mask_us, r.p50_us, r.p99_us, r.max_us,
                r.cpu_p99_us, r.cpu_max_us, r.bitmask_p50_us, r.bitmask_p99_us, r.measured);
    if (model) {
      std::printf(" %10.2f %10.2f %7.3f", r.tps_free, r.tps_constrained,
                  r.tps_constrained / r.tps_free);
    }
    std::printf("\n");
  }
  return 0;
}
