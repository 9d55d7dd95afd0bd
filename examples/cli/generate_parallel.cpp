// llama3 generate --parallel N -f prompts.txt: one prompt per line, N at a time through the engine
// (a new one starts as soon as one ends); each answer is printed when it is complete, in order.
#include <cstdio>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "generate_parallel.hpp"
#include "llama3/engine.hpp"
#include "llama3/error.hpp"

namespace llama3::cli {
namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read prompt file " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

int run_generate_parallel(const Model& model, const ParallelGenerateConfig& config,
                          const EngineMaker& make_engine) {
  const int n_parallel = config.n_parallel;
  const std::vector<std::string> prompts = read_lines(config.prompt_file);
  EngineOptions engine_options;
  engine_options.n_threads = config.session.n_threads;
  engine_options.n_ctx = config.session.n_ctx;
  engine_options.kv_cache_type = config.session.kv_cache_type;
  engine_options.kv_tokens = config.kv_tokens;
  const std::unique_ptr<Engine> engine_owner =
      make_engine ? make_engine(engine_options) : std::make_unique<Engine>(model, engine_options);
  Engine& engine = *engine_owner;

  EncodeOptions encode;
  encode.add_bos = true;
  encode.parse_special = config.parse_special;
  const auto submit = [&](std::size_t i) {
    EngineRequest request;
    request.prompt = model.tokenizer().encode(prompts[i], encode);
    request.sampling = config.sampling;
    request.generate.max_tokens = config.generate.max_tokens;
    request.generate.stop_strings = config.generate.stop_strings;
    request.generate.speculative = config.generate.speculative;
    request.adapters = config.session.adapters;
    return engine.submit(std::move(request));
  };
  std::deque<Engine::RequestId> in_flight;
  std::size_t next = 0;
  for (; next < prompts.size() && in_flight.size() < static_cast<std::size_t>(n_parallel); ++next)
    in_flight.push_back(submit(next));
  std::size_t total_tokens = 0;
  for (std::size_t done = 0; done < prompts.size(); ++done) {
    const EngineResult result = engine.wait(in_flight.front());
    in_flight.pop_front();
    if (next < prompts.size()) in_flight.push_back(submit(next++));
    std::printf("[%zu] %s%s\n", done + 1, prompts[done].c_str(), result.generation.text.c_str());
    std::fflush(stdout);
    if (result.state != RequestState::kFinished) {
      std::fprintf(stderr, "[%zu] %s: %s\n", done + 1, request_state_name(result.state),
                   result.error.c_str());
    }
    total_tokens += result.generation.tokens.size();
  }
  std::fprintf(stderr, "%zu prompts, %d at a time: %zu tokens generated\n", prompts.size(),
               n_parallel, total_tokens);
  if (config.generate.speculative.enabled()) {
    const EngineStats stats = engine.stats();
    std::fprintf(stderr, "speculative: %llu drafted, %llu accepted\n",
                 static_cast<unsigned long long>(stats.n_drafted),
                 static_cast<unsigned long long>(stats.n_draft_accepted));
  }
  return 0;
}

}  // namespace llama3::cli
