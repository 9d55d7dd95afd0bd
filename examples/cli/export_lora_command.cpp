// `llama3 export-lora -m BASE.gguf -l ADAPTER[:SCALE] ... -o OUT.gguf [--type T]`: writes the base
// model with LoRA adapters merged into its weights; the work is the library's llama3::merge_lora
// (include/llama3/convert.hpp).
#include <cstdio>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "conversion_report.hpp"
#include "llama3/convert.hpp"

namespace llama3::cli {
namespace {

struct ExportLoraOptions {
  std::string base_path;
  LoraOptions lora;
  std::string out_path;
  std::string type_name;  // empty: every tensor keeps its type
  int n_threads = 0;
  ProgressStyle progress = ProgressStyle::kAuto;
};

void declare(CLI::App& app, ExportLoraOptions& options) {
  app.add_option("-m,--model", options.base_path, "the GGUF base model")->required();
  app.add_option(
         "-l,--lora", options.lora.specs,
         "LoRA adapter PATH[:SCALE] (a PEFT or torchtune folder, or its .safetensors, .pt or .bin "
         "file; repeatable)")
      ->required();
  app.add_option("-o,--output", options.out_path, "the merged GGUF file to write")->required();
  app.add_option("--type", options.type_name,
                 "weight type of the output (f32, f16, q8_0, q4_0, ...; default: each tensor "
                 "keeps the base's type)");
  declare_threads(app, options.n_threads);
  declare_progress(app, options.progress);
  app.footer(
      "W' = W + scale * (lora_alpha / r) * B * A for every adapted matrix, computed in f32 from\n"
      "the dequantized base. A quantized type rounds the merged weights again; --type f32 keeps\n"
      "them exact. The output appears only once complete.");
}

}  // namespace

int run_export_lora(Args args) {
  const auto app = make_command_app(
      "export-lora", "Merge LoRA adapters into a GGUF model and write the merged model.");
  ExportLoraOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  ProgressReport progress("export-lora", options.progress);
  // The type is checked like quantize's before any file is opened; empty keeps each tensor's.
  ConvertOptions convert_options = conversion_options(
      options.type_name.empty() ? "f32" : options.type_name, options.n_threads, progress);
  convert_options.type = options.type_name;
  const auto result =
      merge_lora(options.base_path, options.lora.files(), options.out_path, convert_options);
  progress.finish();
  print_conversion_result("export-lora", result, options.out_path,
                          options.type_name.empty() ? "types of the base" : options.type_name);
  return 0;
}

}  // namespace llama3::cli
