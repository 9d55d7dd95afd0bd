// llama3 generate: text from a prompt, printed as it is produced with speed figures at the end, or
// (-o json) one JSON object with the completion, its tokens, why it stopped, usage and timings.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "generate_parallel.hpp"
#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "pipeline_options.hpp"
#include "safety_options.hpp"
#include "speculative_options.hpp"
#include "structured_options.hpp"

#if LLAMA3_HAS_MPI
#include <optional>

#include "llama3/distributed.hpp"
#endif

namespace llama3::cli {
namespace {

struct GenerateCommandOptions {
  ModelOptions model;
  ContextOptions context;
  LoraOptions lora;
  SamplingOptions sampling;
  GenerationOptions generation{256};
  SafetyOptions safety;
  StructuredOptions structured;
  SpeculativeCliOptions speculative;
  std::string prompt;
  std::string prompt_file;
  bool raw = false;
  std::string dump_logits_path;
  OutputFormat format = OutputFormat::kText;
  int n_parallel = 0;  // > 0: every line of -f is a prompt, this many at once through the engine
  int kv_tokens = 0;   // with --parallel: the engine's KV pool in positions (0: its default)
  PipelineCommandOptions pipeline;
};

void declare(CLI::App& app, GenerateCommandOptions& options) {
  options.model.declare(app);
  auto* prompt = app.add_option("-p,--prompt", options.prompt,
                                "prompt text (default: empty; BOS is always added); or -f");
  app.add_option("-f,--file", options.prompt_file, "read the prompt from this file; or -p")
      ->type_name("PATH")
      ->excludes(prompt);
  options.generation.declare(app);
  options.sampling.declare(app);
  options.context.declare(app);
  options.lora.declare(app);
  options.structured.declare(app, /*with_logprobs=*/true);
  app.add_flag("--raw", options.raw, "treat special-token text in the prompt as plain text");
  app.add_option("--dump-logits", options.dump_logits_path,
                 "write the float32 logits after the prompt (n_vocab values) to this file")
      ->type_name("PATH");
  options.safety.declare(app);
  options.pipeline.declare(app);
  options.speculative.declare(app);
  auto* parallel =
      app.add_option("--parallel", options.n_parallel,
                     "with -f: one prompt per line, this many at once through the engine; each "
                     "answer is printed when complete, in order")
          ->check(integer_in(1, 4096))
          ->needs("-f");
  app.add_option("--kv-tokens", options.kv_tokens,
                 "with --parallel: the engine's KV memory in positions (default: 4 contexts)")
      ->check(integer_in(1, 1 << 24))
      ->needs(parallel);
  declare_output_format(app, options.format,
                        {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}});
  app.footer(
      "Text output: the prompt, then the completion as it is produced; stderr gets a speed line\n"
      "and what the filters blocked or noted. -o json prints one object with text (the\n"
      "completion without the prompt), tokens, finish_reason, stop_reason, seed, usage and\n"
      "timings (docs/cli.md), and with --logprobs N each token's logprob and N alternatives.\n"
      "--grammar, --json-schema and --regex constrain the completion "
      "(docs/structured-output.md). --draft / --lookup decode speculatively (greedy output is\n"
      "unchanged; docs/speculative.md); -o json then adds the acceptance figures.");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read prompt file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// OpenAI's finish_reason vocabulary, which client code already knows how to read.
const char* finish_reason(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration:
    case StopReason::kStopString:
      return "stop";
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    case StopReason::kBlocked:
    case StopReason::kFiltered:
      return "content_filter";
    case StopReason::kCallback:
      return "cancelled";
  }
  return "stop";
}

double rate(double n, double seconds) {
  return seconds > 0 ? n / seconds : 0.0;
}

// Each generated token with its text, logprob and the alternatives, in OpenAI's field names.
nlohmann::json logprobs_json(const GenerateResult& result, const Tokenizer& tokenizer) {
  auto entry = [&](TokenId token, float logprob) {
    return nlohmann::json{
        {"token", token}, {"text", tokenizer.piece(token, false)}, {"logprob", logprob}};
  };
  nlohmann::json list = nlohmann::json::array();
  for (const GeneratedTokenLogprobs& generated : result.logprobs) {
    nlohmann::json item = entry(generated.token, generated.logprob);
    item["top_logprobs"] = nlohmann::json::array();
    for (const TokenLogprob& alternative : generated.top) {
      item["top_logprobs"].push_back(entry(alternative.token, alternative.logprob));
    }
    list.push_back(std::move(item));
  }
  return list;
}

void print_json(const GenerateResult& result, std::uint64_t seed, const Tokenizer& tokenizer,
                bool with_logprobs, bool speculative) {
  const auto n_generated = static_cast<int>(result.tokens.size());
  nlohmann::json document = {
      {"text", result.text},
      {"tokens", result.tokens},
      {"finish_reason", finish_reason(result.stop_reason)},
      {"stop_reason", stop_reason_name(result.stop_reason)},
      {"seed", seed},
      {"usage",
       {{"prompt_tokens", result.n_prompt_tokens},
        {"completion_tokens", n_generated},
        {"total_tokens", result.n_prompt_tokens + n_generated}}},
      {"timings",
       {{"prompt_seconds", result.prompt_seconds},
        {"prompt_tokens_per_second", rate(result.n_prompt_tokens, result.prompt_seconds)},
        {"generation_seconds", result.generate_seconds},
        {"generation_tokens_per_second", rate(n_generated, result.generate_seconds)}}}};
  if (!result.filter_reason.empty()) document["filter_reason"] = result.filter_reason;
  if (!result.notes.empty()) document["notes"] = result.notes;
  if (with_logprobs) document["logprobs"] = logprobs_json(result, tokenizer);
  if (speculative) document["speculative"] = speculative_json(result.speculative);
  // Generated text may end inside a multi-byte character; replace such bytes rather than fail.
  std::printf("%s\n",
              document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

// The single-conversation generation, over a Session or (under mpirun) rank 0 of a pipeline.
template <class Context>
int generate_in(Context& session, const Model& model, GenerateCommandOptions& options,
                int n_threads) {
  SafetyFilters filters = options.safety.load(n_threads);
  const Tokenizer& tokenizer = model.tokenizer();
  const std::string prompt =
      options.prompt_file.empty() ? options.prompt : read_file(options.prompt_file);

  SamplerParams sampling = options.sampling.params(model);
  options.structured.apply(model, sampling);
  Sampler sampler(sampling);
  if (options.sampling.wants_random_seed()) {
    std::fprintf(stderr, "seed: %llu (random; -s repeats it)\n",
                 static_cast<unsigned long long>(sampler.params().seed));
  }

  EncodeOptions encode;
  encode.add_bos = true;
  encode.parse_special = !options.raw;
  const std::vector<TokenId> prompt_tokens = tokenizer.encode(prompt, encode);
  if (prompt_tokens.size() > static_cast<std::size_t>(session.context_size())) {
    throw Error(ErrorCode::kContextFull, "the prompt has " + std::to_string(prompt_tokens.size()) +
                                             " tokens, more than the context of " +
                                             std::to_string(session.context_size()) + " (-c)");
  }

  if (!options.dump_logits_path.empty()) {
    const auto logits = session.decode(prompt_tokens);
    std::ofstream out(options.dump_logits_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size_bytes()));
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + options.dump_logits_path);
    session.reset();
  }

  const bool json = options.format == OutputFormat::kJson;
  GenerateOptions generate = options.generation.generate_options();
  options.structured.apply(generate);
  options.speculative.load();
  generate.speculative = options.speculative.options(n_threads);
  if (!json) {
    std::printf("%s", prompt.c_str());
    std::fflush(stdout);
    generate.on_piece = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  filters.apply(generate, prompt);
  const GenerateResult result = session.generate(prompt_tokens, sampler, generate);
  if (json) {
    print_json(result, sampler.params().seed, tokenizer, generate.logprobs,
               options.speculative.enabled());
    report_filters(result);
    return 0;
  }
  std::printf("\n");
  std::fflush(stdout);  // before the speed line on stderr, so the two never interleave
  report_filters(result);
  std::fprintf(stderr,
               "prompt: %d tokens in %.3f s (%.2f tokens/s) | generation: %zu tokens in %.3f s "
               "(%.2f tokens/s) | stop: %s\n",
               result.n_prompt_tokens, result.prompt_seconds,
               rate(result.n_prompt_tokens, result.prompt_seconds), result.tokens.size(),
               result.generate_seconds,
               rate(static_cast<double>(result.tokens.size()), result.generate_seconds),
               stop_reason_name(result.stop_reason));
  if (options.speculative.enabled()) report_speculative(result.speculative);
  return 0;
}

// generate --parallel: the engine's run, checked and configured from the command line.
ParallelGenerateConfig parallel_config(GenerateCommandOptions& options, const Model& model,
                                       const SessionOptions& session_options) {
  if (!options.safety.guard_path.empty() || options.safety.scan_code ||
      !options.dump_logits_path.empty() || options.format == OutputFormat::kJson ||
      options.generation.context_shift) {
    throw UsageError(
        "--parallel does not take --guard, --scan-code, --dump-logits, --context-shift or -o json "
        "yet");
  }
  options.speculative.load();
  ParallelGenerateConfig config;
  config.prompt_file = options.prompt_file;
  config.parse_special = !options.raw;
  config.session = session_options;
  config.sampling = options.sampling.params(model);
  options.structured.apply(model, config.sampling);
  config.generate = options.generation.generate_options();
  config.generate.speculative = options.speculative.options(session_options.n_threads);
  config.kv_tokens = options.kv_tokens;
  config.n_parallel = options.n_parallel;
  return config;
}

#if LLAMA3_HAS_MPI
// Under mpirun: every rank loads its share of the layers; rank 0 tokenizes, samples and prints,
// the others serve it. A rank that dies or hangs ends the whole job after --mpi-timeout.
int run_generate_pipeline(GenerateCommandOptions& options) {
  if (!options.lora.specs.empty()) throw UsageError("--lora does not run under mpirun yet");
  distributed::MpiEnvironment mpi;
  distributed::PipelineOptions pipeline_options;
  pipeline_options.session.n_ctx = options.context.n_ctx;
  pipeline_options.session.n_threads = clamp_threads(options.context.n_threads);
  pipeline_options.session.kv_cache_type = options.context.cache_type.type();
  pipeline_options.load.use_mmap = !options.model.no_mmap;
  const std::string path = options.model.path.empty() ? default_model_path() : options.model.path;
  int exit_code = 0;
  const auto pipeline =
      join_pipeline(mpi, path, pipeline_options, options.pipeline, "generate", exit_code);
  if (!pipeline) return exit_code;
  try {
    if (options.n_parallel > 0) {
      const Model& model = pipeline->model();
      SessionOptions session_options = pipeline_options.session;
      return run_generate_parallel(model, parallel_config(options, model, session_options),
                                   [&](const EngineOptions& engine_options) {
                                     return pipeline->make_engine(engine_options);
                                   });
    }
    return generate_in(*pipeline, pipeline->model(), options, pipeline_options.session.n_threads);
  } catch (const Error& error) {
    if (!pipeline->failed()) throw;  // the other ranks are fine: shut down in order
    print_error("generate", error);
    distributed::MpiEnvironment::abort(1);
  }
}
#endif

}  // namespace

int run_generate(Args args) {
  const auto app = make_command_app("generate", "Generate text from a prompt.");
  GenerateCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  if (options.structured.logprobs && options.format != OutputFormat::kJson) {
    throw UsageError("--logprobs is printed with -o json only");
  }
#if LLAMA3_HAS_MPI
  if (options.pipeline.active()) return run_generate_pipeline(options);
#else
  options.pipeline.active();  // refuses the pipeline options without MPI
#endif

  const Model model = options.model.load();
  SessionOptions session_options = options.context.session_options(model);
  session_options.adapters = options.lora.load(model);
  if (options.n_parallel > 0) {
    return run_generate_parallel(model, parallel_config(options, model, session_options));
  }
  Session session(model, session_options);
  return generate_in(session, model, options, session_options.n_threads);
}

}  // namespace llama3::cli
