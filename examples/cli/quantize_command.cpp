// `llama3 quantize IN.gguf OUT.gguf TYPE [--threads N]`: rewrites a GGUF model's weights in another
// type or mix; the work is the library's llama3::quantize_gguf (include/llama3/convert.hpp).
#include <cstdio>
#include <string>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "conversion_report.hpp"
#include "llama3/convert.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kTypeHelp =
    "TYPE: q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k f16 bf16 f32, or the mixes q4_k_m q5_k_m\n"
    "(Q6_K for output.weight and for attn_v/ffn_down in the first and last eighth of the layers\n"
    "and every third layer between). 1-D tensors stay F32. Already quantized inputs are\n"
    "dequantized first (with a warning: the result carries both errors). Prints the relative\n"
    "RMSE of each output type.";

struct QuantizeOptions {
  std::string in_path;
  std::string out_path;
  std::string type_name;
  int n_threads = 0;
  ProgressStyle progress = ProgressStyle::kAuto;
};

void declare(CLI::App& app, QuantizeOptions& options) {
  app.add_option("IN.gguf", options.in_path, "the GGUF model to read")
      ->type_name("IN.gguf")
      ->required();
  app.add_option("OUT.gguf", options.out_path, "the GGUF file to write")
      ->type_name("OUT.gguf")
      ->required();
  app.add_option("TYPE", options.type_name, "the weight type or mix to write (below)")
      ->type_name("TYPE")
      ->required();
  declare_threads(app, options.n_threads);
  declare_progress(app, options.progress);
  app.footer(kTypeHelp);
}

}  // namespace

int run_quantize(Args args) {
  const auto app = make_command_app(
      "quantize", "Rewrite a GGUF model's weights in another type (q4_k_m, q8_0, ...).");
  QuantizeOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  ProgressReport progress("quantize", options.progress);
  const ConvertOptions convert_options =
      conversion_options(options.type_name, options.n_threads, progress);
  const auto result = quantize_gguf(options.in_path, options.out_path, convert_options);
  progress.finish();
  print_conversion_result("quantize", result, options.out_path, convert_options.type);
  return 0;
}

}  // namespace llama3::cli
