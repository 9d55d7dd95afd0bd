// `llama3 quantize IN.gguf OUT.gguf TYPE [--threads N]`: rewrites a GGUF model's weights in another
// type or mix; the work is the library's llama3::quantize_gguf (include/llama3/convert.hpp).
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "conversion_report.hpp"
#include "llama3/convert.hpp"
#include "options.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kUsage =
    "usage: llama3 quantize IN.gguf OUT.gguf TYPE [--threads N]\n"
    "  TYPE: q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k f16 bf16 f32, or the mixes q4_k_m q5_k_m\n"
    "  (Q6_K for output.weight and for attn_v/ffn_down in the first and last eighth of the layers\n"
    "  and every third layer between). 1-D tensors stay F32. Already quantized inputs are\n"
    "  dequantized first (with a warning: the result carries both errors). Prints the relative\n"
    "  RMSE of each output type.\n";

}  // namespace

int run_quantize(Args args) {
  const Options options(args, {"--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (options.positional().size() != 3) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  const std::string& in_path = options.positional()[0];
  const std::string& out_path = options.positional()[1];
  ConvertOptions convert_options;
  convert_options.type = options.positional()[2];
  convert_options.n_threads = options.get_int("--threads", 0);
  convert_options.progress = print_progress;
  const auto result = quantize_gguf(in_path, out_path, convert_options);
  print_conversion_result("quantize", result, out_path, convert_options.type);
  return 0;
}

}  // namespace llama3::cli
