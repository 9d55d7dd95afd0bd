// `llama3 convert HF_DIR -o OUT.gguf [--type TYPE] [--threads N]`: a Hugging Face Llama folder to a
// GGUF file; the work is the library's llama3::convert_hf_to_gguf (include/llama3/convert.hpp).
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "conversion_report.hpp"
#include "llama3/convert.hpp"
#include "options.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kUsage =
    "usage: llama3 convert HF_DIR -o OUT.gguf [--type TYPE] [--threads N]\n"
    "  HF_DIR: config.json, model.safetensors (or shards + model.safetensors.index.json),\n"
    "          tokenizer.json, optionally tokenizer_config.json (chat template, eos)\n"
    "  TYPE:   f16 (default), f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m,\n"
    "          q5_k_m (see `llama3 quantize --help` for the mix rule)\n";

}  // namespace

int run_convert(Args args) {
  const Options options(args, {"--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const auto out_path = options.get("-o");
  if (options.positional().size() != 1 || !out_path) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  ConvertOptions convert_options;
  convert_options.type = options.get_or("--type", "f16");
  convert_options.n_threads = options.get_int("--threads", 0);
  convert_options.progress = print_progress;
  const std::filesystem::path folder = options.positional()[0];
  const auto result = convert_hf_to_gguf(folder, *out_path, convert_options);
  print_conversion_result("convert", result, *out_path, convert_options.type);
  return 0;
}

}  // namespace llama3::cli
