// `llama3 convert HF_DIR -o OUT.gguf [--type TYPE] [--threads N]`: a Hugging Face (or Meta) Llama
// folder to a GGUF file; the work is the library's llama3::convert_hf_to_gguf
// (include/llama3/convert.hpp).
#include <cstdio>
#include <string>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "conversion_report.hpp"
#include "llama3/convert.hpp"

namespace llama3::cli {
namespace {

struct ConvertCommandOptions {
  std::string folder;
  std::string out_path;
  std::string type_name = "f16";
  int n_threads = 0;
  ProgressStyle progress = ProgressStyle::kAuto;
};

void declare(CLI::App& app, ConvertCommandOptions& options) {
  app.add_option("HF_DIR", options.folder,
                 "config.json, model.safetensors (or shards + model.safetensors.index.json), "
                 "tokenizer.json, optionally tokenizer_config.json (chat template, eos); or a "
                 "Meta folder: params.json, consolidated.NN.pth, tokenizer.model")
      ->type_name("HF_DIR")
      ->required();
  app.add_option("-o,--output", options.out_path, "the GGUF file to write")
      ->type_name("OUT.gguf")
      ->required();
  app.add_option("--type", options.type_name,
                 "f16 (default), f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, "
                 "q4_k_m, q5_k_m (see `llama3 quantize --help` for the mix rule)")
      ->type_name("TYPE");
  declare_threads(app, options.n_threads);
  declare_progress(app, options.progress);
}

}  // namespace

int run_convert(Args args) {
  const auto app =
      make_command_app("convert", "Convert a Hugging Face or Meta folder to a GGUF file.");
  ConvertCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  ProgressReport progress("convert", options.progress);
  const ConvertOptions convert_options =
      conversion_options(options.type_name, options.n_threads, progress);
  const std::filesystem::path folder = options.folder;
  const auto result = convert_hf_to_gguf(folder, options.out_path, convert_options);
  progress.finish();
  print_conversion_result("convert", result, options.out_path, convert_options.type);
  return 0;
}

}  // namespace llama3::cli
