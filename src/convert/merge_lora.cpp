// merge_lora: a GGUF model with LoRA adapters merged into its weights, one tensor at a time, all
// metadata copied.
#include <cmath>
#include <map>
#include <memory>

#include "convert/conversion_steps.hpp"
#include "kernels/reference.hpp"
#include "kernels/vector_ops.hpp"
#include "llama3/error.hpp"
#include "model/lora_adapter.hpp"
#include "model/model_impl.hpp"

namespace llama3 {
namespace {

// "blk.N.attn_q.weight" -> its LoRA target; nothing for tensors adapters do not change.
std::optional<model::LoraTarget> target_of(std::string_view name) {
  static const std::map<std::string_view, model::LoraTarget> kSuffixes = {
      {".attn_q.weight", model::LoraTarget::kQ},
      {".attn_k.weight", model::LoraTarget::kK},
      {".attn_v.weight", model::LoraTarget::kV},
      {".attn_output.weight", model::LoraTarget::kO},
      {".ffn_gate.weight", model::LoraTarget::kGate},
      {".ffn_up.weight", model::LoraTarget::kUp},
      {".ffn_down.weight", model::LoraTarget::kDown},
  };
  if (!name.starts_with("blk.")) return std::nullopt;
  const std::size_t dot = name.find('.', 4);
  if (dot == std::string_view::npos) return std::nullopt;
  const auto it = kSuffixes.find(name.substr(dot));
  if (it == kSuffixes.end()) return std::nullopt;
  return it->second;
}

struct ScaledAdapter {
  std::shared_ptr<const detail::LoraAdapterImpl> adapter;
  float scale;  // the user's times the adapter's alpha / rank
};

}  // namespace

ConvertResult merge_lora(const std::filesystem::path& base_gguf,
                         const std::vector<LoraFile>& adapters,
                         const std::filesystem::path& out_gguf, const ConvertOptions& options) {
  std::optional<model::QuantMix> mix;
  if (!options.type.empty()) mix = convert::mix_from_options(options);
  if (adapters.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "merge_lora: no adapters given");
  }
  std::vector<std::filesystem::path> inputs = {base_gguf};
  for (const auto& adapter : adapters) inputs.push_back(adapter.path);
  convert::check_output(out_gguf, inputs);

  // The model itself gives the shapes and the q/k row order the adapters are checked against.
  LoadOptions load;
  load.repack_weights = false;
  const Model model = Model::load(base_gguf, load);
  const auto& impl = detail::ModelAccess::impl(model);
  const io::GgufFile* input = impl.gguf();
  if (!input) {
    throw Error(ErrorCode::kInvalidArgument,
                base_gguf.string() + ": merge_lora needs a GGUF base (convert the folder first)");
  }
  std::vector<ScaledAdapter> loaded;
  for (const auto& adapter : adapters) {
    if (!std::isfinite(adapter.scale)) {
      throw Error(
          ErrorCode::kInvalidArgument,
          adapter.path.string() + ": scale " + std::to_string(adapter.scale) + " is not finite");
    }
    auto lora = std::make_shared<const detail::LoraAdapterImpl>(model.config(), adapter.path);
    const float scale = adapter.scale * lora->scale();
    if (scale != 0.0f) loaded.push_back({std::move(lora), scale});
  }

  ConvertResult result;
  io::GgufWriter writer(input->alignment());
  convert::copy_model_metadata(*input, writer,
                               mix ? std::optional<std::uint32_t>(mix->file_type) : std::nullopt);
  const int n_layers = model.config().n_layers;
  const bool tied = input->find_tensor("output.weight") == nullptr;
  kernels::ThreadPool pool(options.n_threads);
  convert::QuantizationError error;
  std::vector<convert::PlannedTensor> plan;
  for (const auto& tensor : input->tensors()) {
    const auto target =
        mix ? model::tensor_type_for(*mix, tensor.name, tensor.n_dims, tensor.ne[0], n_layers, tied)
            : tensor.type;
    if (!kernels::reference::is_supported_weight_type(tensor.type)) {
      throw Error(ErrorCode::kUnsupported, input->name() + ": " + tensor.name + ": type " +
                                               std::string(io::traits_of(tensor.type).name) +
                                               " cannot be read");
    }
    // The updates of this tensor: (pair, scale) per adapter that has one.
    std::vector<std::pair<const detail::LoraPair*, float>> updates;
    if (const auto lora_target = target_of(tensor.name)) {
      const int layer = model::layer_of(tensor.name);
      for (const auto& [adapter, scale] : loaded) {
        if (const auto* pair = adapter->pair(layer, *lora_target)) updates.push_back({pair, scale});
      }
    }
    if (!updates.empty() && io::traits_of(target).block_size > 1 && result.warnings.empty()) {
      result.warnings.push_back(tensor.name + " is written as " +
                                std::string(io::traits_of(target).name) +
                                ": the merged weights are rounded to it again");
    }
    writer.add_tensor(tensor.name, std::span<const std::uint64_t>(tensor.ne.data(), tensor.n_dims),
                      target);
    const io::GgufTensorInfo* info = &tensor;
    plan.push_back(
        {tensor.name, [&, info, target, updates](std::vector<std::byte>& out) {
           convert::SourceTensor source{
               info->name, info->type, info->data, info->ne[0], info->n_elements() / info->ne[0],
               {},         {}};
           if (!updates.empty()) {
             // W'[row] = W[row] + Σ scale · Σ_k B[row, k] · A[k]   (A: [rank, in])
             source.adjust_row = [&updates](std::size_t row, float* values) {
               for (const auto& [pair, scale] : updates) {
                 const std::size_t rank = pair->b_by_rank.size() / pair->out;
                 for (std::size_t k = 0; k < rank; ++k) {
                   kernels::axpy(scale * pair->b(row, k), pair->a.data() + k * pair->in, values,
                                 pair->in);
                 }
               }
             };
           }
           convert::convert_tensor(source, target, pool, out, error);
           input->file()->release_pages({info->data, info->n_bytes});
         }});
  }
  convert::write_tensors(writer, out_gguf, plan, options);
  result.types = error.summary();
  return result;
}

}  // namespace llama3
