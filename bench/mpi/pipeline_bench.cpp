// Speed of a model split across MPI ranks: prompt and generation tokens/s, each rank's compute per
// token, and the time that is neither (messages, waiting) -- the pipeline's communication cost.
//
//   mpirun -np N [--oversubscribe] build/bin/pipeline_bench -m MODEL [--prompt 128] [--tokens 32]
//          [-t THREADS] [--split 10,6] [-o json]
//
// -np 1 runs the same code in one process (the baseline). Generation passes one token through the
// ranks in turn, so its wall time per token is the ranks' compute plus the communication; the
// difference is reported as such. Prompt micro-batches overlap, so there the sum of compute can
// exceed the wall time.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <mpi.h>

#include "llama3/distributed.hpp"
#include "llama3/error.hpp"

using namespace llama3;
using namespace llama3::distributed;

namespace {

struct BenchOptions {
  std::string model;
  int prompt_tokens = 128;
  int generated_tokens = 32;
  int threads = 0;
  int micro_batch = 0;
  std::vector<double> split;
  bool json = false;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "pipeline_bench: %s\nusage: mpirun -np N pipeline_bench -m MODEL [--prompt N] "
               "[--tokens N] [-t THREADS] [--micro-batch N] [--split A,B,...] [-o json]\n",
               message);
  return 2;
}

std::vector<double> parse_split(const std::string& text) {
  std::vector<double> values;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    values.push_back(std::stod(text.substr(begin, end - begin)));
    begin = end + 1;
  }
  return values;
}

struct Phase {
  double seconds = 0.0;
  int tokens = 0;
  PipelineStats stats;
};

double total_compute(const PipelineStats& stats) {
  double sum = 0.0;
  for (const auto& rank : stats.ranks) sum += rank.compute_seconds;
  return sum;
}

std::uint64_t total_bytes(const PipelineStats& stats) {
  std::uint64_t sum = 0;
  for (const auto& rank : stats.ranks) sum += rank.bytes_sent;
  return sum;
}

nlohmann::json phase_json(const Phase& phase) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& rank : phase.stats.ranks) {
    ranks.push_back({{"layers", {rank.layers.first, rank.layers.last}},
                     {"compute_ms_per_token", 1e3 * rank.compute_seconds / phase.tokens},
                     {"wait_ms_per_token", 1e3 * rank.wait_seconds / phase.tokens},
                     {"bytes_sent_per_token", static_cast<double>(rank.bytes_sent) / phase.tokens},
                     {"resident_mib", static_cast<double>(rank.resident_bytes) / (1 << 20)}});
  }
  const double wall = phase.seconds / phase.tokens;
  const double compute = total_compute(phase.stats) / phase.tokens;
  return {{"tokens", phase.tokens},
          {"tokens_per_second", phase.tokens / phase.seconds},
          {"wall_ms_per_token", 1e3 * wall},
          {"compute_ms_per_token", 1e3 * compute},
          {"other_ms_per_token", 1e3 * (wall - compute)},
          {"bytes_sent_per_token", static_cast<double>(total_bytes(phase.stats)) / phase.tokens},
          {"ranks", ranks}};
}

// One-way time of an n-byte message between ranks 0 and 1 (half a ping-pong round trip, best of
// several rounds): what the pipeline's hidden-state and logits messages cost on this link.
double one_way_seconds(std::size_t n_bytes) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<char> buffer(n_bytes);
  constexpr int kRounds = 5, kTrips = 20;
  double best = 1e30;
  for (int round = 0; round < kRounds; ++round) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (int trip = 0; trip < kTrips; ++trip) {
      const int count = static_cast<int>(n_bytes);
      if (rank == 0) {
        MPI_Send(buffer.data(), count, MPI_CHAR, 1, 7, MPI_COMM_WORLD);
        MPI_Recv(buffer.data(), count, MPI_CHAR, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(buffer.data(), count, MPI_CHAR, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buffer.data(), count, MPI_CHAR, 0, 7, MPI_COMM_WORLD);
      }
    }
    best = std::min(best, (MPI_Wtime() - start) / (2.0 * kTrips));
  }
  return best;
}

int run(const BenchOptions& options) {
  MpiEnvironment mpi;
  nlohmann::json document;
  {
    PipelineOptions pipeline_options;
    pipeline_options.session.n_ctx = options.prompt_tokens + options.generated_tokens + 8;
    pipeline_options.session.n_threads = options.threads;
    pipeline_options.split = options.split;
    pipeline_options.micro_batch = options.micro_batch;
    Pipeline pipeline(options.model, mpi.world(), pipeline_options);
    const ModelConfig& config = pipeline.model().config();
    document["message_bytes"] = {{"hidden_row", config.dim * 4},
                                 {"logits_row", config.n_vocab * 4}};
    if (!pipeline.is_root()) {
      pipeline.serve();
    } else {
      // Token ids spread over the vocabulary; their values do not change the work.
      std::vector<TokenId> prompt(static_cast<std::size_t>(options.prompt_tokens));
      for (std::size_t i = 0; i < prompt.size(); ++i) {
        prompt[i] =
            static_cast<TokenId>((i * 7919 + 11) % static_cast<std::size_t>(config.n_vocab));
      }
      // Warm-up: first touches of weights and caches.
      pipeline.decode(std::span(prompt).first(std::min<std::size_t>(prompt.size(), 8)));
      pipeline.reset();
      pipeline.stats(/*reset=*/true);

      using Clock = std::chrono::steady_clock;
      Phase prompt_phase, generation_phase;
      auto start = Clock::now();
      pipeline.decode(prompt);
      prompt_phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      prompt_phase.tokens = options.prompt_tokens;
      prompt_phase.stats = pipeline.stats(/*reset=*/true);

      start = Clock::now();
      for (int i = 0; i < options.generated_tokens; ++i) {
        const auto logits = pipeline.logits();
        const auto best =
            static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        pipeline.decode(std::span<const TokenId>(&best, 1));
      }
      generation_phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      generation_phase.tokens = options.generated_tokens;
      generation_phase.stats = pipeline.stats(/*reset=*/true);

      document.update({{"model", config.name},
                       {"ranks", pipeline.n_ranks()},
                       {"layers", config.n_layers},
                       {"dim", config.dim},
                       {"threads_per_rank", options.threads},
                       {"prompt", phase_json(prompt_phase)},
                       {"generation", phase_json(generation_phase)}});
    }
  }
  // The links' own cost, with no compute in between (every rank takes part in the barriers).
  if (mpi.size() > 1) {
    const std::size_t hidden = document["message_bytes"]["hidden_row"];
    const std::size_t logits = document["message_bytes"]["logits_row"];
    document["one_way_ms"] = {{"hidden_row", 1e3 * one_way_seconds(hidden)},
                              {"logits_row", 1e3 * one_way_seconds(logits)}};
  }
  if (mpi.rank() != 0) return 0;
  const auto& prompt_phase_json = document["prompt"];
  const auto& generation_json = document["generation"];
  if (options.json) {
    std::printf("%s\n", document.dump(2).c_str());
    return 0;
  }
  std::printf("%s, %d layers, %d rank(s)\n", document["model"].get<std::string>().c_str(),
              document["layers"].get<int>(), document["ranks"].get<int>());
  std::printf("%-10s %8s %10s %12s %12s %10s %10s\n", "phase", "tok/s", "ms/tok", "compute ms",
              "other ms", "other %", "KiB/tok");
  for (const auto& [name, phase] :
       {std::pair{"prompt", &prompt_phase_json}, std::pair{"generation", &generation_json}}) {
    const auto& j = *phase;
    const double compute = j["compute_ms_per_token"];
    const double other = j["other_ms_per_token"];
    std::printf("%-10s %8.2f %10.3f %12.3f %12.3f %9.1f%% %10.1f\n", name,
                static_cast<double>(j["tokens_per_second"]),
                static_cast<double>(j["wall_ms_per_token"]), compute, other,
                compute > 0 ? 100.0 * other / compute : 0.0,
                static_cast<double>(j["bytes_sent_per_token"]) / 1024.0);
  }
  std::printf("%-6s %-10s %20s %20s %12s\n", "rank", "layers", "gen compute ms/tok",
              "gen wait ms/tok", "RSS MiB");
  for (std::size_t r = 0; r < generation_json["ranks"].size(); ++r) {
    const auto& rank = generation_json["ranks"][r];
    std::printf("%-6zu [%3d,%3d)  %20.3f %20.3f %12.1f\n", r, rank["layers"][0].get<int>(),
                rank["layers"][1].get<int>(), rank["compute_ms_per_token"].get<double>(),
                rank["wait_ms_per_token"].get<double>(), rank["resident_mib"].get<double>());
  }
  if (document.contains("one_way_ms")) {
    std::printf(
        "one-way message, rank 0 <-> 1: hidden row (%zu B) %.3f ms, logits row (%zu B) "
        "%.3f ms\n",
        document["message_bytes"]["hidden_row"].get<std::size_t>(),
        document["one_way_ms"]["hidden_row"].get<double>(),
        document["message_bytes"]["logits_row"].get<std::size_t>(),
        document["one_way_ms"]["logits_row"].get<double>());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "-m")
        options.model = value();
      else if (arg == "--prompt")
        options.prompt_tokens = std::stoi(value());
      else if (arg == "--tokens")
        options.generated_tokens = std::stoi(value());
      else if (arg == "-t")
        options.threads = std::stoi(value());
      else if (arg == "--micro-batch")
        options.micro_batch = std::stoi(value());
      else if (arg == "--split")
        options.split = parse_split(value());
      else if (arg == "-o" && value() == "json")
        options.json = true;
      else
        return usage(("unknown option " + arg).c_str());
    } catch (const std::exception& error) {
      return usage(error.what());
    }
  }
  if (options.model.empty()) return usage("give -m MODEL");
  if (options.prompt_tokens < 1 || options.generated_tokens < 1) {
    return usage("--prompt and --tokens must be >= 1");
  }
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pipeline_bench: error: %s\n", error.what());
    MpiEnvironment::abort(1);
  }
}
