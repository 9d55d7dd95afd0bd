// `llama3 quantize IN.gguf OUT.gguf TYPE [--threads N]`: rewrites a GGUF model's weights in another
// type or mix (model/quant_mix.hpp states the rule), one tensor at a time, copying all metadata.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "io/gguf.hpp"
#include "io/gguf_copy.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"
#include "model/quant_mix.hpp"
#include "options.hpp"
#include "tensor_conversion.hpp"

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
  const auto mix = model::quant_mix_from_name(options.positional()[2]);
  if (!mix || !kernels::reference::is_supported_weight_type(mix->base)) {
    throw Error(ErrorCode::kInvalidArgument,
                "unknown type '" + options.positional()[2] + "'\n" + kUsage);
  }
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

  kernels::ThreadPool pool(options.get_int("--threads", 0));
  QuantizationError error;
  const auto& tensors = input.tensors();
  writer.write(out_path, [&](std::size_t index, std::vector<std::byte>& out) {
    const auto& tensor = tensors[index];
    print_progress(index, tensors.size(), tensor.name);
    SourceTensor source{
        tensor.name, tensor.type, tensor.data, tensor.ne[0], tensor.n_elements() / tensor.ne[0],
        {}};
    convert_tensor(source, targets[index], pool, out, error);
    release_input_pages(tensor.data, tensor.n_bytes);
    print_progress(index + 1, tensors.size(), tensor.name);
  });
  std::printf("llama3 quantize: wrote %s (%s)\n", out_path.c_str(), mix->name.c_str());
  error.print(stdout);
  return 0;
}

}  // namespace llama3::cli
