// quantize_gguf: a GGUF model's weights in another type or mix (model/quant_mix.hpp states the
// rule), one tensor at a time, all metadata copied.
#include "convert/conversion_steps.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"

namespace llama3 {

ConvertResult quantize_gguf(const std::filesystem::path& in_gguf,
                            const std::filesystem::path& out_gguf, const ConvertOptions& options) {
  const auto mix = convert::mix_from_options(options);
  const std::filesystem::path inputs[] = {in_gguf};
  convert::check_output(out_gguf, inputs);
  const auto input = io::GgufFile::open(in_gguf);
  ConvertResult result;

  io::GgufWriter writer(input.alignment());
  convert::copy_model_metadata(input, writer, mix.file_type);

  int n_layers = 0;
  if (const auto* blocks = input.find("llama.block_count")) {
    n_layers = static_cast<int>(blocks->as_uint("llama.block_count"));
  }
  const bool tied = input.find_tensor("output.weight") == nullptr;
  kernels::ThreadPool pool(options.n_threads);
  convert::QuantizationError error;
  std::vector<convert::PlannedTensor> plan;
  for (const auto& tensor : input.tensors()) {
    const auto target =
        model::tensor_type_for(mix, tensor.name, tensor.n_dims, tensor.ne[0], n_layers, tied);
    const bool quantized_input = io::traits_of(tensor.type).block_size > 1;
    if (tensor.n_dims >= 2 && quantized_input && target != tensor.type && result.warnings.empty()) {
      result.warnings.push_back(tensor.name + " is already " +
                                std::string(io::traits_of(tensor.type).name) +
                                "; it is dequantized and quantized again, so the result carries "
                                "both errors");
    }
    if (!kernels::reference::is_supported_weight_type(tensor.type)) {
      throw Error(ErrorCode::kUnsupported, input.name() + ": " + tensor.name + ": type " +
                                               std::string(io::traits_of(tensor.type).name) +
                                               " cannot be read");
    }
    writer.add_tensor(tensor.name, std::span<const std::uint64_t>(tensor.ne.data(), tensor.n_dims),
                      target);
    const io::GgufTensorInfo* info = &tensor;
    plan.push_back(
        {tensor.name, [&, info, target](std::vector<std::byte>& out) {
           const convert::SourceTensor source{
               info->name, info->type, info->data, info->ne[0], info->n_elements() / info->ne[0],
               {},         {}};
           convert::convert_tensor(source, target, pool, out, error);
           input.file()->release_pages({info->data, info->n_bytes});
         }});
  }
  convert::write_tensors(writer, out_gguf, plan, options);
  result.types = error.summary();
  return result;
}

}  // namespace llama3
