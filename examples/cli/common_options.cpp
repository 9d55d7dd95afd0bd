#include "common_options.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include "llama3/error.hpp"

namespace llama3::cli {
namespace {

// Files smaller than this load in a blink; a progress report would only be noise.
constexpr std::uintmax_t kLoadProgressMinBytes = std::uintmax_t{64} << 20;

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

}  // namespace

std::string default_model_path() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("LLAMA3_DATA_DIR")) candidates.emplace_back(dir);
  // The build puts the test data beside the programs: build/bin/llama3 -> build/data.
  std::error_code error;
  const auto exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(exe.parent_path().parent_path() / "data");
  candidates.emplace_back("build/data");
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "stories260K.gguf")) return (dir / "stories260K.gguf").string();
  }
  throw Error(ErrorCode::kIo,
              "no model given (-m FILE) and the default stories260K.gguf was not found in "
              "$LLAMA3_DATA_DIR, the build's data folder or build/data; run "
              "scripts/fetch-data.sh");
}

void ModelOptions::declare(CLI::App& app, bool required) {
  auto* model = app.add_option("-m,--model", path,
                               required ? "model: a GGUF file or a Hugging Face folder"
                                        : "model: a GGUF file or a Hugging Face folder (default: "
                                          "stories260K.gguf from the test data)");
  model->type_name("PATH");
  if (required) model->required();
  app.add_flag("--no-mmap", no_mmap, "read the whole file into memory instead of mapping it");
}

Model ModelOptions::load() const {
  const std::string file = path.empty() ? default_model_path() : path;
  LoadOptions load;
  load.use_mmap = !no_mmap;
  std::error_code unknown_size;
  const auto size = std::filesystem::file_size(file, unknown_size);
  ProgressReport report("loading", ProgressStyle::kAuto);
  if (!unknown_size && size >= kLoadProgressMinBytes) {
    load.progress = [&report](float fraction) {
      report.update(static_cast<std::size_t>(fraction * 100.0f), 100);
      return true;
    };
  }
  Model model = Model::load(file, load);
  report.finish();
  return model;
}

void declare_threads(CLI::App& app, int& n_threads) {
  const std::string default_text =
      n_threads == 0 ? "default 0: one per hardware thread"
                     : "default " + std::to_string(n_threads) + "; 0: one per hardware thread";
  app.add_option("-t,--threads", n_threads,
                 "threads (" + default_text + "; more than the machine has are clamped)")
      ->check(integer_in(0, INT_MAX));
}

int clamp_threads(int requested) {
  const int available = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (requested <= available) return requested;
  std::fprintf(stderr, "warning: --threads %d is more than the %d hardware threads; using %d\n",
               requested, available, available);
  return available;
}

void KvCacheTypeOptions::declare(CLI::App& app) {
  const auto types = CLI::IsMember({"f16", "f32", "q8_0", "bf16"});
  app.add_option("--cache-type-k", keys,
                 "KV cache type of the keys: f16 (default), f32, q8_0 (about half f16's memory "
                 "and reads) or bf16 (bf16 attention on CPUs with AVX512-BF16: faster on long "
                 "prompts at depth); must equal --cache-type-v")
      ->check(types);
  app.add_option("--cache-type-v", values,
                 "KV cache type of the values: f16 (default), f32, q8_0 or bf16 (must equal "
                 "--cache-type-k)")
      ->check(types);
}

KvCacheType KvCacheTypeOptions::type() const {
  if (keys != values) {
    throw UsageError("--cache-type-k " + keys + " and --cache-type-v " + values +
                     " differ; keys and values take one type for now (give both the same)");
  }
  if (keys == "f32") return KvCacheType::kF32;
  if (keys == "q8_0") return KvCacheType::kQ8_0;
  if (keys == "bf16") return KvCacheType::kBf16;
  return KvCacheType::kF16;
}

void ContextOptions::declare(CLI::App& app) {
  app.add_option("-c,--ctx-size,--ctx", n_ctx,
                 "context size in tokens (default 0: the model's, at most 4096)")
      ->check(integer_in(0, INT_MAX));
  declare_threads(app, n_threads);
  cache_type.declare(app);
}

void LoraOptions::declare(CLI::App& app) {
  app.add_option("--lora", specs,
                 "LoRA adapter PATH[:SCALE] (a PEFT or torchtune folder, or its .safetensors, "
                 ".pt or .bin file; scale default 1; repeatable)");
}

std::vector<LoraFile> LoraOptions::files() const {
  std::vector<LoraFile> files;
  for (const auto& spec : specs) {
    LoraFile file{spec, 1.0f};
    // A trailing ":number" is the scale; a path may itself hold ':' elsewhere.
    const std::size_t colon = spec.rfind(':');
    if (colon != std::string::npos && colon + 1 < spec.size()) {
      const std::string tail = spec.substr(colon + 1);
      char* end = nullptr;
      const float scale = std::strtof(tail.c_str(), &end);
      if (end == tail.c_str() + tail.size()) {
        if (!std::isfinite(scale)) throw UsageError("--lora " + spec + ": the scale is not finite");
        file = {spec.substr(0, colon), scale};
      }
    }
    files.push_back(std::move(file));
  }
  return files;
}

void warn_beyond_trained_context(const Model& model, int n_ctx) {
  const int trained = model.config().context_length;
  if (trained > 0 && n_ctx > trained) {
    std::fprintf(stderr,
                 "warning: context of %d tokens is beyond the %d the model was trained for; "
                 "output past that is likely to degrade\n",
                 n_ctx, trained);
  }
}

SessionOptions ContextOptions::session_options(const Model& model) const {
  SessionOptions options;
  options.n_ctx = n_ctx;
  options.n_threads = clamp_threads(n_threads);
  options.kv_cache_type = cache_type.type();
  warn_beyond_trained_context(model, n_ctx);
  return options;
}

void SamplingOptions::declare(CLI::App& app) {
  const auto probability = number_in(0.0, 1.0);
  constexpr double kUnbounded = std::numeric_limits<double>::infinity();
  const auto any_finite = number_in(-kUnbounded, kUnbounded);
  app.add_option("--temp,--temperature", temperature,
                 "temperature; 0 = greedy (>= 0; default: the model's, see docs/cli.md)")
      ->check(number_in(0.0, kUnbounded));
  app.add_option("--top-k", top_k, "keep the K most likely tokens; 0 = off (>= 0)")
      ->check(integer_in(0, INT_MAX));
  app.add_option("--top-p", top_p, "nucleus sampling mass; 1 = off (in [0, 1])")
      ->check(probability);
  app.add_option("--min-p", min_p, "drop tokens below P x the best one's probability (in [0, 1])")
      ->check(probability);
  app.add_option("--repeat-penalty", repeat_penalty,
                 "divide the logits of recent tokens by this; 1 = off (> 0)")
      ->check(number_above(0.0));
  app.add_option("--repeat-last-n", repeat_last_n,
                 "recent tokens the penalties look at (default 64; 0 = off, -1 = all)")
      ->check(integer_in(-1, INT_MAX));
  app.add_option("--frequency-penalty", frequency_penalty,
                 "subtract this times a recent token's count from its logit; 0 = off")
      ->check(any_finite);
  app.add_option("--presence-penalty", presence_penalty,
                 "subtract this from the logit of any recent token; 0 = off")
      ->check(any_finite);
  app.add_option("-s,--seed", seed, "sampling seed; -1 = random (default: a fixed seed)")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text == "-1") return {};
            char* end = nullptr;
            errno = 0;
            std::strtoull(text.c_str(), &end, 10);
            if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() ||
                errno == ERANGE) {
              return "'" + text + "' is not -1 (random) or a seed in [0, 18446744073709551615]";
            }
            return {};
          },
          ""));
}

SamplerParams SamplingOptions::params(const Model& model) const {
  SamplerParams params = default_sampler_params(model);
  if (temperature) params.temperature = *temperature;
  if (top_k) params.top_k = *top_k;
  if (top_p) params.top_p = *top_p;
  if (min_p) params.min_p = *min_p;
  if (repeat_penalty) params.repeat_penalty = *repeat_penalty;
  if (repeat_last_n) params.penalty_last_n = *repeat_last_n;
  if (frequency_penalty) params.frequency_penalty = *frequency_penalty;
  if (presence_penalty) params.presence_penalty = *presence_penalty;
  if (seed) params.seed = *seed == "-1" ? random_seed() : std::strtoull(seed->c_str(), nullptr, 10);
  return params;
}

void GenerationOptions::declare(CLI::App& app) {
  app.add_option("-n,--n-predict", n_predict,
                 "tokens to generate at most (default " + std::to_string(n_predict) +
                     "; -1 = until end of generation or a full context)")
      ->check(integer_in(-1, INT_MAX));
  app.add_option("--stop", stop, "stop when the text contains this (repeatable)")
      ->type_name("TEXT")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::Validator(
          [](std::string& text) { return text.empty() ? "must not be empty" : std::string(); },
          ""));
  auto* shift = app.add_flag("--context-shift", context_shift,
                             "when the context is full, drop the older half of what follows the "
                             "first --keep tokens and go on (default: stop)");
  app.add_option("--keep", keep,
                 "with --context-shift: prompt tokens never dropped (default 0; BOS stays anyway)")
      ->check(integer_in(0, INT_MAX))
      ->needs(shift);
}

GenerateOptions GenerationOptions::generate_options() const {
  GenerateOptions options;
  options.max_tokens = n_predict < 0 ? std::numeric_limits<int>::max() : n_predict;
  options.stop_strings = stop;
  options.context_shift = context_shift;
  options.n_keep = keep;
  return options;
}

std::vector<TokenId> parse_token_ids(const std::string& text, const std::string& what) {
  std::vector<TokenId> ids;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(word.c_str(), &end, 10);
    if (end != word.c_str() + word.size() || errno == ERANGE || value < 0 || value > INT32_MAX) {
      throw UsageError(what + ": '" + word + "' is not a token id");
    }
    ids.push_back(static_cast<TokenId>(value));
  }
  return ids;
}

void declare_progress(CLI::App& app, ProgressStyle& style) {
  const std::vector<std::pair<std::string, ProgressStyle>> names = {
      {"auto", ProgressStyle::kAuto},
      {"bar", ProgressStyle::kBar},
      {"lines", ProgressStyle::kLines},
      {"none", ProgressStyle::kNone}};
  app.add_option("--progress", style,
                 "auto (default: a bar on a terminal, else a line per tenth), bar, lines or none")
      ->type_name("STYLE")
      ->transform(choice_of(names));
}

void declare_output_format(CLI::App& app, OutputFormat& format,
                           const std::vector<std::pair<std::string, OutputFormat>>& names) {
  std::string listed;
  for (const auto& [name, value] : names) listed += (listed.empty() ? "" : "|") + name;
  format = names.front().second;
  app.add_option("-o,--output-format", format,
                 "output: " + listed + " (default " + names.front().first + ")")
      ->type_name("FORMAT")
      ->transform(choice_of(names));
}

}  // namespace llama3::cli
