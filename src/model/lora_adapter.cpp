// Loading a LoRA adapter (llama3/lora.hpp): the files, every tensor's name, shape, rank and values,
// and the q/k row order.
#include "model/lora_adapter.hpp"

#include <cmath>
#include <cstring>
#include <map>

#include "io/file_contents.hpp"
#include "io/lora_config.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"
#include "model/hf_names.hpp"
#include "model/lora_tensor_file.hpp"

namespace llama3 {
namespace detail {
namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, origin + ": " + what);
}

// The tensor's values in f32, refusing NaN and infinities.
std::vector<float> finite_values(const model::LoraFileTensor& tensor, const std::string& origin) {
  const std::size_t n = tensor.shape[0] * tensor.shape[1];
  // Copied first: safetensors data need not be aligned to its element size.
  std::vector<std::uint32_t> aligned((tensor.n_bytes + 3) / 4);
  std::memcpy(aligned.data(), tensor.data, tensor.n_bytes);
  std::vector<float> values(n);
  kernels::reference::dequantize_row(tensor.type, aligned.data(), values.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) {
      bad(origin, tensor.name + ": value [" + std::to_string(i / tensor.shape[1]) + ", " +
                      std::to_string(i % tensor.shape[1]) + "] is NaN or infinite");
    }
  }
  return values;
}

// The row of the adapter's B that holds the model's q/k row `row`.
std::size_t source_row(std::size_t row, model::LoraNaming naming, RopeLayout layout,
                       std::size_t head_dim) {
  const bool adapter_hf = naming == model::LoraNaming::kPeft;
  const bool model_hf = layout == RopeLayout::kHalfSplit;
  if (adapter_hf == model_hf) return row;
  return adapter_hf ? model::hf_row_of_meta_row(row, head_dim)
                    : model::meta_row_of_hf_row(row, head_dim);
}

}  // namespace

std::pair<std::size_t, std::size_t> lora_target_shape(const ModelConfig& c,
                                                      model::LoraTarget target) {
  const auto dim = static_cast<std::size_t>(c.dim);
  const auto q_dim = static_cast<std::size_t>(c.n_heads * c.head_dim);
  const auto kv_dim = static_cast<std::size_t>(c.n_kv_heads * c.head_dim);
  const auto ffn = static_cast<std::size_t>(c.ffn_dim);
  switch (target) {
    case model::LoraTarget::kQ:
      return {q_dim, dim};
    case model::LoraTarget::kK:
    case model::LoraTarget::kV:
      return {kv_dim, dim};
    case model::LoraTarget::kO:
      return {dim, q_dim};
    case model::LoraTarget::kGate:
    case model::LoraTarget::kUp:
      return {ffn, dim};
    case model::LoraTarget::kDown:
      return {dim, ffn};
  }
  return {0, 0};
}

LoraAdapterImpl::LoraAdapterImpl(const ModelConfig& config, const std::filesystem::path& path)
    : name_(path.string()), config_(config) {
  const model::LoraAdapterFiles files = model::find_lora_adapter_files(path);
  std::error_code ec;
  if (!std::filesystem::exists(files.config, ec)) {
    // torchtune's FullModelMetaCheckpointer saves adapter_model.pt without a config.
    const bool torchtune = files.tensors.extension() == ".pt";
    throw Error(
        ErrorCode::kIo,
        files.config.string() +
            ": missing; an adapter needs its adapter_config.json (r, lora_alpha) beside "
            "the tensors" +
            (torchtune ? std::string(" (for a torchtune adapter, write {\"r\": lora_rank, "
                                     "\"lora_alpha\": lora_alpha} from the recipe's config)")
                       : std::string()));
  }
  const io::LoraConfig lora =
      io::parse_lora_config(io::read_file_contents(files.config), files.config.string());
  rank_ = lora.rank;
  alpha_ = static_cast<float>(lora.alpha);
  scale_ = static_cast<float>(lora.use_rslora ? lora.alpha / std::sqrt(double(lora.rank))
                                              : lora.alpha / lora.rank);
  std::array<bool, model::kLoraTargetCount> listed{};
  if (lora.target_modules) {
    for (const auto& module : *lora.target_modules) {
      const auto target = model::lora_target_from_module(module);
      if (target) {
        listed[static_cast<std::size_t>(*target)] = true;
      } else if (module == "lm_head" || module == "embed_tokens" || module == "output") {
        throw Error(ErrorCode::kUnsupported, files.config.string() + ": target_modules: " + module +
                                                 " adapters are not supported");
      } else {
        bad(files.config.string(), "target_modules: unknown target module '" + module +
                                       "' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
                                       "down_proj)");
      }
    }
  }

  const auto file = model::LoraTensorFile::open(files.tensors);
  const std::string& origin = file.name();
  layers_.resize(static_cast<std::size_t>(config.n_layers));
  // Both halves of a pair are read before the pair is built: A and B may come in any order.
  struct Halves {
    const model::LoraFileTensor* a = nullptr;
    const model::LoraFileTensor* b = nullptr;
    model::LoraNaming naming = model::LoraNaming::kPeft;
  };
  std::map<std::pair<int, int>, Halves> halves;
  std::optional<model::LoraNaming> naming;
  for (const auto& tensor : file.tensors()) {
    const auto parsed = model::parse_lora_tensor_name(tensor.name);
    if (const auto* problem = std::get_if<model::LoraNameProblem>(&parsed)) {
      throw Error(problem->unsupported ? ErrorCode::kUnsupported : ErrorCode::kBadFormat,
                  origin + ": " + tensor.name + ": " + problem->what);
    }
    const auto& name = std::get<model::LoraTensorName>(parsed);
    if (naming && *naming != name.naming) {
      bad(origin, tensor.name + ": mixes PEFT and torchtune names in one adapter");
    }
    naming = name.naming;
    if (name.layer >= config.n_layers) {
      bad(origin, tensor.name + ": layer " + std::to_string(name.layer) + ", but the model has " +
                      std::to_string(config.n_layers));
    }
    if (lora.target_modules && !listed[static_cast<std::size_t>(name.target)]) {
      bad(origin, tensor.name + ": " + std::string(model::lora_target_name(name.target)) +
                      " is not in adapter_config.json's target_modules");
    }
    auto& slot = halves[{name.layer, static_cast<int>(name.target)}];
    auto& half = name.is_a ? slot.a : slot.b;
    if (half)
      bad(origin, tensor.name + ": a second " + (name.is_a ? "A" : "B") + " for " + half->name);
    half = &tensor;
    slot.naming = name.naming;
  }
  if (halves.empty()) bad(origin, "no LoRA tensors");

  for (const auto& [key, slot] : halves) {
    const auto target = static_cast<model::LoraTarget>(key.second);
    if (!slot.a || !slot.b) {
      bad(origin, (slot.a ? slot.a : slot.b)->name + ": its " + (slot.a ? "B" : "A") + " (lora_" +
                      (slot.a ? "B" : "A") + ") is missing");
    }
    const auto [out, in] = lora_target_shape(config, target);
    const auto r = static_cast<std::uint64_t>(rank_);
    for (const auto* tensor : {slot.a, slot.b}) {
      if (tensor->shape.size() != 2) {
        bad(origin,
            tensor->name + ": expected 2 dims, file has " + std::to_string(tensor->shape.size()));
      }
    }
    // A: [r, in], B: [out, r] (PyTorch order).
    if (slot.a->shape[0] != r || slot.b->shape[1] != r) {
      const auto* wrong = slot.a->shape[0] != r ? slot.a : slot.b;
      bad(origin, wrong->name + ": rank " +
                      std::to_string(wrong == slot.a ? slot.a->shape[0] : slot.b->shape[1]) +
                      ", but adapter_config.json says r = " + std::to_string(rank_));
    }
    if (slot.a->shape[1] != in || slot.b->shape[0] != out) {
      bad(origin, "shape mismatch: " + slot.a->name + " is [" + std::to_string(slot.a->shape[0]) +
                      ", " + std::to_string(slot.a->shape[1]) + "] and " + slot.b->name + " [" +
                      std::to_string(slot.b->shape[0]) + ", " + std::to_string(slot.b->shape[1]) +
                      "]; " + std::string(model::lora_target_name(target)) +
                      " of this model needs A [" + std::to_string(r) + ", " + std::to_string(in) +
                      "] and B [" + std::to_string(out) + ", " + std::to_string(r) + "]");
    }
    LoraPair pair;
    pair.in = in;
    pair.out = out;
    pair.a = finite_values(*slot.a, origin);
    const std::vector<float> b = finite_values(*slot.b, origin);  // [out, r]
    const bool permuted = target == model::LoraTarget::kQ || target == model::LoraTarget::kK;
    const auto head_dim = static_cast<std::size_t>(config.head_dim);
    pair.b_by_rank.resize(out * r);
    for (std::size_t row = 0; row < out; ++row) {
      const std::size_t from =
          permuted ? source_row(row, slot.naming, config.rope_layout, head_dim) : row;
      for (std::size_t k = 0; k < r; ++k) pair.b_by_rank[k * out + row] = b[from * r + k];
    }
    layers_[static_cast<std::size_t>(key.first)][static_cast<std::size_t>(target)] =
        std::move(pair);
    has_target_[static_cast<std::size_t>(target)] = true;
  }

  kernels::ThreadPool pool(1);
  for (auto& layer : layers_) {
    for (auto& slot : layer) {
      if (!slot) continue;
      slot->a_matrix = {
          io::TensorType::kF32,     slot->a.data(), static_cast<std::size_t>(rank_), slot->in,
          slot->in * sizeof(float), nullptr};
      slot->a_packed = kernels::pack_weight_matrix(slot->a_matrix, pool);
      slot->a_matrix.packed = slot->a_packed.get();
    }
  }
}

void LoraAdapterImpl::check_fits(const ModelConfig& c) const {
  const ModelConfig& o = config_;
  if (c.dim != o.dim || c.n_layers != o.n_layers || c.n_heads != o.n_heads ||
      c.n_kv_heads != o.n_kv_heads || c.head_dim != o.head_dim || c.ffn_dim != o.ffn_dim ||
      c.rope_layout != o.rope_layout) {
    throw Error(ErrorCode::kInvalidArgument,
                name_ +
                    ": the adapter was loaded for another model shape or q/k row order; load "
                    "it again for this model");
  }
}

}  // namespace detail

LoraAdapter::LoraAdapter(std::shared_ptr<const detail::LoraAdapterImpl> impl)
    : impl_(std::move(impl)) {}

LoraAdapter LoraAdapter::load(const Model& model, const std::filesystem::path& path) {
  return LoraAdapter(std::make_shared<const detail::LoraAdapterImpl>(model.config(), path));
}

const std::string& LoraAdapter::name() const {
  return impl_->name();
}
int LoraAdapter::rank() const {
  return impl_->rank();
}
float LoraAdapter::alpha() const {
  return impl_->alpha();
}
float LoraAdapter::scale() const {
  return impl_->scale();
}

std::vector<ActiveLora> load_adapters(const Model& model, const std::vector<LoraFile>& files) {
  std::vector<ActiveLora> adapters;
  for (const auto& file : files)
    adapters.push_back({LoraAdapter::load(model, file.path), file.scale});
  return adapters;
}

std::vector<std::string> LoraAdapter::targets() const {
  std::vector<std::string> names;
  for (int t = 0; t < model::kLoraTargetCount; ++t) {
    const auto target = static_cast<model::LoraTarget>(t);
    if (impl_->has_target(target)) names.emplace_back(model::lora_target_name(target));
  }
  return names;
}

}  // namespace llama3
