// Option groups that several commands share, each declared in one place so that the same thing has
// the same spelling (and the same limits) in every command. llama.cpp's spellings are accepted as
// aliases, so a llama.cpp command line carries over.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "progress.hpp"

namespace llama3::cli {

// The default model: stories260K.gguf in $LLAMA3_DATA_DIR, the build's data folder or build/data.
std::string default_model_path();

// -m/--model and --no-mmap.
struct ModelOptions {
  std::string path;  // empty: default_model_path()
  bool no_mmap = false;

  void declare(CLI::App& app, bool required = false);
  // Loads the model, with a progress report on stderr for files large enough to take a moment.
  Model load() const;
};

// -t/--threads. 0 means one per hardware thread.
void declare_threads(CLI::App& app, int& n_threads);
// More threads than the machine has only adds switching (a 3-token prompt took 3.5 s with 1000):
// clamps to the hardware threads, with a warning on stderr.
int clamp_threads(int requested);

// --cache-type-k / --cache-type-v (llama.cpp's spellings; its -ctk / -ctv are respelled to them in
// command_line.cpp): f16 (default), f32 or q8_0. Keys and values share one type for now, so the two
// must agree.
struct KvCacheTypeOptions {
  std::string keys = "f16";
  std::string values = "f16";

  void declare(CLI::App& app);
  // The type; throws UsageError when keys and values differ.
  KvCacheType type() const;
};

// -c/--ctx-size (alias --ctx), -t/--threads and the KV cache type.
struct ContextOptions {
  int n_ctx = 0;
  int n_threads = 0;
  KvCacheTypeOptions cache_type;

  void declare(CLI::App& app);
  // Threads clamped; a context beyond the one the model was trained for gets a warning (attention
  // past it is untested and usually degrades).
  SessionOptions session_options(const Model& model) const;
};

// --lora PATH[:SCALE] (repeatable): LoRA adapters, each a PEFT folder or .safetensors file, with
// an optional scale (default 1).
struct LoraOptions {
  std::vector<std::string> specs;

  void declare(CLI::App& app);
  // The files and scales; throws UsageError for a scale that is not a finite number.
  std::vector<LoraFile> files() const;
  std::vector<ActiveLora> load(const Model& model) const { return load_adapters(model, files()); }
};

// Warns on stderr when `n_ctx` is beyond the context `model` was trained for.
void warn_beyond_trained_context(const Model& model, int n_ctx);

// Sampling: --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n,
// --frequency-penalty, --presence-penalty, -s/--seed. Unset options keep the model's defaults.
struct SamplingOptions {
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<float> min_p;
  std::optional<float> repeat_penalty;
  std::optional<int> repeat_last_n;
  std::optional<float> frequency_penalty;
  std::optional<float> presence_penalty;
  std::optional<std::string> seed;  // checked by the parser: -1 (random) or 0 .. 2^64-1

  void declare(CLI::App& app);
  // The model's default sampling (generation_config.json of a HF folder, else the library's) with
  // the options given applied; a random seed is drawn here.
  SamplerParams params(const Model& model) const;
  bool wants_random_seed() const { return seed == "-1"; }
};

// -n/--n-predict and --stop (repeatable).
struct GenerationOptions {
  int n_predict;
  std::vector<std::string> stop;
  bool context_shift = false;  // a full context drops the older half after the first `keep`
  int keep = 0;

  explicit GenerationOptions(int default_n_predict) : n_predict(default_n_predict) {}
  void declare(CLI::App& app);
  // max_tokens, stop strings and the context shift; -n -1 generates until end of generation or a
  // full context (without --context-shift).
  GenerateOptions generate_options() const;
};

// Token ids separated by white space; throws UsageError naming `what` and the word that is not an
// id in [0, 2^31).
std::vector<TokenId> parse_token_ids(const std::string& text, const std::string& what);

// --progress auto|bar|lines|none for long work.
void declare_progress(CLI::App& app, ProgressStyle& style);

// -o/--output-format NAME, one of `names` (the first is the default).
enum class OutputFormat { kText, kJson, kMarkdown, kCsv };
void declare_output_format(CLI::App& app, OutputFormat& format,
                           const std::vector<std::pair<std::string, OutputFormat>>& names);

}  // namespace llama3::cli
