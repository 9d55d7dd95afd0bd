// `llama3 quantize IN.gguf OUT.gguf TYPE [--threads N]`: rewrites a GGUF model's weights in another
// type or mix (model/quant_mix.hpp states the rule), one tensor at a time, copying all metadata.
#include <cstdio>
#include <string>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "io/gguf.hpp"
#include "io/gguf_copy.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"
#include "model/quant_mix.hpp"
#include "progress.hpp"
#include "tensor_conversion.hpp"

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
  const std::string& in_path = options.in_path;
  const std::string& out_path = options.out_path;
  const auto mix = model::quant_mix_from_name(options.type_name);
  if (!mix || !kernels::reference::is_supported_weight_type(mix->base)) {
    throw UsageError("unknown type '" + options.type_name + "'");
  }
  const int n_threads = clamp_threads(options.n_threads);
  const auto input = io::GgufFile::open(in_path);

  io::GgufWriter writer(input.alignment());
  for (const auto& kv : input.metadata()) {
    const std::string key(kv.key);
    if (key == "general.alignment" || key == "general.file_type" ||
        key == "general.quantization_version") {
      continue;
    }
    io::copy_gguf_value(writer, key, kv.value);
  }
  writer.set_uint32("general.file_type", mix->file_type);
  writer.set_uint32("general.quantization_version", 2);

  int n_layers = 0;
  if (const auto* blocks = input.find("llama.block_count")) {
    n_layers = static_cast<int>(blocks->as_uint("llama.block_count"));
  }
  const bool tied = input.find_tensor("output.weight") == nullptr;
  std::vector<io::TensorType> targets;
  bool warned = false;
  for (const auto& tensor : input.tensors()) {
    auto target =
        model::tensor_type_for(*mix, tensor.name, tensor.n_dims, tensor.ne[0], n_layers, tied);
    const bool quantized_input = io::traits_of(tensor.type).block_size > 1;
    if (tensor.n_dims >= 2 && quantized_input && target != tensor.type && !warned) {
      std::fprintf(stderr,
                   "llama3 quantize: warning: %s is already %s; it is dequantized and quantized "
                   "again, so the result carries both errors\n",
                   tensor.name.c_str(), std::string(io::traits_of(tensor.type).name).c_str());
      warned = true;
    }
    if (!kernels::reference::is_supported_weight_type(tensor.type)) {
      throw Error(ErrorCode::kUnsupported, input.name() + ": " + tensor.name + ": type " +
                                               std::string(io::traits_of(tensor.type).name) +
                                               " cannot be read");
    }
    targets.push_back(target);
    writer.add_tensor(tensor.name, std::span<const std::uint64_t>(tensor.ne.data(), tensor.n_dims),
                      target);
  }

  kernels::ThreadPool pool(n_threads);
  ProgressReport progress("quantize", options.progress);
  QuantizationError error;
  const auto& tensors = input.tensors();
  writer.write(out_path, [&](std::size_t index, std::vector<std::byte>& out) {
    const auto& tensor = tensors[index];
    SourceTensor source{
        tensor.name, tensor.type, tensor.data, tensor.ne[0], tensor.n_elements() / tensor.ne[0],
        {}};
    convert_tensor(source, targets[index], pool, out, error);
    release_input_pages(tensor.data, tensor.n_bytes);
    progress.update(index + 1, tensors.size(), tensor.name);
  });
  progress.finish();
  std::printf("llama3 quantize: wrote %s (%s)\n", out_path.c_str(), mix->name.c_str());
  error.print(stdout);
  return 0;
}

}  // namespace llama3::cli
