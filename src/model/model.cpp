// Model loading: GGUF file, HF folder or Meta folder -> validated configuration, typed weight
// views, tokenizer.
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "kernels/matmul.hpp"
#include "kernels/reference.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/error.hpp"
#include "model/expected_tensors.hpp"
#include "model/model_config.hpp"
#include "model/model_impl.hpp"
#include "model/rope_frequencies.hpp"
#include "tokenizer/gguf_vocab.hpp"

namespace llama3 {
namespace detail {
namespace {

std::string shape_text(const model::TensorView& tensor) {
  std::string text = "[";
  for (std::uint32_t d = 0; d < tensor.n_dims; ++d) {
    if (d) text += ", ";
    text += std::to_string(tensor.ne[d]);
  }
  return text + "]";
}

// Touches every page of the weights so they are resident before the first token, reporting
// progress.
void bring_in_weights(std::span<const std::byte> bytes, const std::string& origin,
                      const LoadOptions& options) {
  if (!options.progress) return;
  constexpr std::size_t kStep = std::size_t{1} << 24;  // 16 MiB between progress reports
  constexpr std::size_t kPage = 4096;
  volatile unsigned char sink = 0;
  for (std::size_t begin = 0; begin < bytes.size(); begin += kStep) {
    const std::size_t end = std::min(bytes.size(), begin + kStep);
    unsigned char touched = 0;
    for (std::size_t at = begin; at < end; at += kPage)
      touched ^= std::to_integer<unsigned char>(bytes[at]);
    sink = sink ^ touched;
    if (!options.progress(static_cast<float>(end) / static_cast<float>(bytes.size()))) {
      throw Error(ErrorCode::kCancelled, origin + ": loading cancelled");
    }
  }
}

}  // namespace

ModelImpl::ModelImpl(io::GgufFile gguf, const LoadOptions& options,
                     const LayerChooser& choose_layers)
    : gguf_(std::move(gguf)),
      weights_(model::WeightSource::from_gguf(*gguf_)),
      config_(model::config_from_gguf(*gguf_)) {
  // Before anything is sized by the config: a block count of 2^31-1 in a small file is an error,
  // not an allocation.
  model::check_weights_match_config(weights_, config_,
                                    {origin(), "the metadata", "llama.block_count", false});
  if (auto impl = make_tokenizer_from_gguf(*gguf_)) {
    tokenizer_.emplace(detail::TokenizerAccess::make(std::move(impl)));
  }
  set_layer_range(choose_layers);
  bind_weights({});
  if (options.repack_weights) {
    std::vector<std::span<const std::byte>> mapped;
    if (gguf_->file()->is_mapped()) mapped.push_back(gguf_->file()->bytes());
    pack_matrices(options, mapped);
  } else if (!is_partial()) {
    // A partial model's pages come in as its own layers use them; touching the whole file would
    // bring in the other stages' share.
    bring_in_weights(gguf_->file()->bytes(), origin(), options);
  }
}

ModelImpl::ModelImpl(model::HfCheckpoint checkpoint, const LoadOptions& options,
                     const LayerChooser& choose_layers)
    : hf_(std::move(checkpoint)),
      weights_(model::WeightSource::from_safetensors(hf_->files, hf_->folder.string())),
      generation_defaults_(model::hf_generation_defaults(hf_->generation)),
      config_(model::config_from_hf(*hf_, weights_)),
      tokenizer_(hf_->tokenizer) {
  hf_metadata_["general.name"] = config_.name;
  if (hf_->chat_template) hf_metadata_["tokenizer.chat_template"] = *hf_->chat_template;
  set_layer_range(choose_layers);
  bind_weights(model::hf_rope_divisors(hf_->config));
  std::vector<std::shared_ptr<const io::MappedFile>> files;
  for (const auto& file : hf_->files.files()) files.push_back(file.file());
  finish_load(options, files);
}

ModelImpl::ModelImpl(model::MetaCheckpoint checkpoint, const LoadOptions& options,
                     const LayerChooser& choose_layers)
    : meta_(std::move(checkpoint)),
      weights_(model::WeightSource::from_pytorch(
          meta_->shards, static_cast<std::uint64_t>(meta_->params.dim), meta_->folder.string())),
      config_(model::config_from_meta(*meta_, weights_)),
      tokenizer_(meta_->tokenizer) {
  hf_metadata_["general.name"] = config_.name;
  set_layer_range(choose_layers);
  bind_weights(model::meta_rope_divisors(meta_->params));
  std::vector<std::shared_ptr<const io::MappedFile>> files;
  for (const auto& shard : meta_->shards) files.push_back(shard.file());
  finish_load(options, files);
}

void ModelImpl::finish_load(const LoadOptions& options,
                            const std::vector<std::shared_ptr<const io::MappedFile>>& files) {
  if (options.repack_weights) {
    std::vector<std::span<const std::byte>> mapped;
    for (const auto& file : files) {
      if (file->is_mapped()) mapped.push_back(file->bytes());
    }
    pack_matrices(options, mapped);
    return;
  }
  if (is_partial()) return;  // see the GGUF constructor
  for (std::size_t i = 0; i < files.size(); ++i) {
    LoadOptions shard_options;
    if (options.progress) {
      // Each shard is its share of the whole.
      shard_options.progress = [&, i](float fraction) {
        return options.progress((static_cast<float>(i) + fraction) /
                                static_cast<float>(files.size()));
      };
    }
    bring_in_weights(files[i]->bytes(), origin(), shard_options);
  }
}

void ModelImpl::pack_matrices(const LoadOptions& options,
                              const std::vector<std::span<const std::byte>>& mapped_files) {
  // The output layer first: while a matrix is packed its file pages and its copy are both resident,
  // so packing the largest one while the rest is still unpacked keeps the peak RSS near one copy.
  std::vector<kernels::WeightMatrix*> matrices;
  if (has_output()) matrices.push_back(&output_);
  for (int i = first_layer(); i < last_layer(); ++i) {
    auto& layer = layers_[static_cast<std::size_t>(i)];
    for (auto* m : {&layer.attn_q, &layer.attn_k, &layer.attn_v, &layer.attn_output,
                    &layer.ffn_gate, &layer.ffn_up, &layer.ffn_down}) {
      matrices.push_back(m);
    }
  }
  // Only pages of a mapped file may be given back: they fault in again from the file if read (a
  // tied embedding's rows are, for lookups). Heap copies would come back as zeros.
  auto in_mapped_file = [&](const void* begin, std::size_t n) {
    const auto* first = static_cast<const std::byte*>(begin);
    for (const auto& file : mapped_files) {
      if (first >= file.data() && first + n <= file.data() + file.size()) return true;
    }
    return false;
  };
  kernels::ThreadPool pool(0);
  for (std::size_t i = 0; i < matrices.size(); ++i) {
    kernels::WeightMatrix& m = *matrices[i];
    packed_.push_back(kernels::pack_weight_matrix(m, pool));
    m.packed = packed_.back().get();
    const std::size_t n_bytes = m.rows * m.row_bytes;
    if (in_mapped_file(m.data, n_bytes)) {
      constexpr std::uintptr_t kPage = 4096;
      const auto begin = (reinterpret_cast<std::uintptr_t>(m.data) + kPage - 1) & ~(kPage - 1);
      const auto end = (reinterpret_cast<std::uintptr_t>(m.data) + n_bytes) & ~(kPage - 1);
      if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
    if (options.progress &&
        !options.progress(static_cast<float>(i + 1) / static_cast<float>(matrices.size()))) {
      throw Error(ErrorCode::kCancelled, origin() + ": loading cancelled");
    }
  }
  if (config_.tied_embeddings) token_embedding_.packed = output_.packed;
}

void ModelImpl::set_layer_range(const LayerChooser& choose_layers) {
  const LayerRange layers = choose_layers ? choose_layers(config_) : LayerRange{};
  const int n_layers = config_.n_layers;
  const int last = layers.last < 0 ? n_layers : layers.last;
  if (layers.first < 0 || layers.first >= last || last > n_layers) {
    throw Error(ErrorCode::kInvalidArgument,
                origin() + ": layer range [" + std::to_string(layers.first) + ", " +
                    std::to_string(last) + ") is not a non-empty part of the model's " +
                    std::to_string(n_layers) + " layers");
  }
  layers_bound_ = {layers.first, last};
}

void ModelImpl::bind_weights(std::vector<float> rope_divisors) {
  const auto dim = static_cast<std::size_t>(config_.dim);
  const auto q_dim = static_cast<std::size_t>(config_.n_heads * config_.head_dim);
  const auto kv_dim = static_cast<std::size_t>(config_.n_kv_heads * config_.head_dim);
  const auto ffn_dim = static_cast<std::size_t>(config_.ffn_dim);
  const auto n_vocab = static_cast<std::size_t>(config_.n_vocab);

  const bool holds_first = first_layer() == 0;
  const bool holds_last = last_layer() == config_.n_layers;
  if (holds_first || (holds_last && config_.tied_embeddings)) {
    token_embedding_ = bind_matrix("token_embd.weight", dim, n_vocab);
  }
  layers_.resize(static_cast<std::size_t>(config_.n_layers));
  for (auto i = static_cast<std::size_t>(first_layer()); i < static_cast<std::size_t>(last_layer());
       ++i) {
    const std::string prefix = "blk." + std::to_string(i) + ".";
    auto& layer = layers_[i];
    layer.attn_norm = bind_vector(prefix + "attn_norm.weight", dim);
    layer.attn_q = bind_matrix(prefix + "attn_q.weight", dim, q_dim);
    layer.attn_k = bind_matrix(prefix + "attn_k.weight", dim, kv_dim);
    layer.attn_v = bind_matrix(prefix + "attn_v.weight", dim, kv_dim);
    layer.attn_output = bind_matrix(prefix + "attn_output.weight", q_dim, dim);
    layer.ffn_norm = bind_vector(prefix + "ffn_norm.weight", dim);
    layer.ffn_gate = bind_matrix(prefix + "ffn_gate.weight", dim, ffn_dim);
    layer.ffn_up = bind_matrix(prefix + "ffn_up.weight", dim, ffn_dim);
    layer.ffn_down = bind_matrix(prefix + "ffn_down.weight", ffn_dim, dim);
  }
  if (holds_last) {
    output_norm_ = bind_vector("output_norm.weight", dim);
    output_ =
        config_.tied_embeddings ? token_embedding_ : bind_matrix("output.weight", dim, n_vocab);
  }

  std::vector<float> divisors = std::move(rope_divisors);
  if (divisors.empty() && config_.has_rope_freqs) {
    divisors = bind_vector("rope_freqs.weight", static_cast<std::size_t>(config_.head_dim / 2));
    for (float divisor : divisors) {
      if (!(divisor > 0.0f) || divisor > 1e6f) {
        throw Error(ErrorCode::kBadFormat,
                    origin() + ": rope_freqs.weight holds a divisor that is not positive");
      }
    }
  }
  rope_inverse_frequencies_ =
      model::rope_inverse_frequencies(config_.head_dim, config_.rope_theta, divisors);

  if (tokenizer_ && tokenizer_->vocab_size() != n_vocab) {
    throw Error(ErrorCode::kBadFormat,
                origin() + ": the tokenizer has " + std::to_string(tokenizer_->vocab_size()) +
                    " tokens but token_embd.weight has " + std::to_string(n_vocab) + " rows");
  }

  for (const auto& tensor : weights_.tensors()) {
    n_params_ += tensor.n_elements();
    weight_bytes_ += tensor.n_bytes;
  }
}

std::string ModelImpl::metadata_string(const std::string& key) const {
  if (gguf_) {
    const auto* value = gguf_->find(key);
    if (!value || value->type() != io::GgufValueType::kString) return {};
    return std::string(value->as_string(key));
  }
  const auto it = hf_metadata_.find(key);
  return it == hf_metadata_.end() ? std::string() : it->second;
}

kernels::WeightMatrix ModelImpl::bind_matrix(const std::string& name, std::size_t cols,
                                             std::size_t rows) {
  const auto* tensor = weights_.find(name);
  if (!tensor) throw Error(ErrorCode::kBadFormat, origin() + ": missing tensor " + name);
  if (tensor->n_dims != 2 || tensor->ne[0] != cols || tensor->ne[1] != rows) {
    throw Error(ErrorCode::kBadFormat, origin() + ": " + tensor->file_name + ": expected shape [" +
                                           std::to_string(cols) + ", " + std::to_string(rows) +
                                           "], file has " + shape_text(*tensor));
  }
  if (!kernels::reference::is_supported_weight_type(tensor->type)) {
    throw Error(ErrorCode::kUnsupported, origin() + ": " + tensor->file_name + ": weight type " +
                                             std::string(io::traits_of(tensor->type).name) +
                                             " is not supported");
  }
  kernels::WeightMatrix matrix;
  matrix.type = tensor->type;
  matrix.data = tensor->data;
  matrix.rows = rows;
  matrix.cols = cols;
  matrix.row_bytes = *io::row_bytes(tensor->type, cols);
  return matrix;
}

std::vector<float> ModelImpl::bind_vector(const std::string& name, std::size_t n) {
  const auto* tensor = weights_.find(name);
  if (!tensor) throw Error(ErrorCode::kBadFormat, origin() + ": missing tensor " + name);
  if (tensor->n_dims != 1 || tensor->ne[0] != n) {
    throw Error(ErrorCode::kBadFormat, origin() + ": " + tensor->file_name + ": expected shape [" +
                                           std::to_string(n) + "], file has " +
                                           shape_text(*tensor));
  }
  if (!kernels::reference::is_supported_weight_type(tensor->type) ||
      n % io::traits_of(tensor->type).block_size != 0) {
    throw Error(ErrorCode::kUnsupported, origin() + ": " + tensor->file_name + ": type " +
                                             std::string(io::traits_of(tensor->type).name) +
                                             " is not supported for a vector");
  }
  std::vector<float> values(n);
  kernels::reference::dequantize_row(tensor->type, tensor->data, values.data(), n);
  return values;
}

}  // namespace detail

Model::Model(std::shared_ptr<const detail::ModelImpl> impl) : impl_(std::move(impl)) {}

namespace detail {

Model load_model_layers(const std::filesystem::path& path, const LoadOptions& options,
                        const LayerChooser& choose_layers) {
  io::MapOptions map_options;
  map_options.use_mmap = options.use_mmap;
  if (std::filesystem::is_directory(path) && model::is_meta_checkpoint_folder(path)) {
    return ModelAccess::make(std::make_shared<const ModelImpl>(
        model::MetaCheckpoint::open(path, map_options), options, choose_layers));
  }
  if (std::filesystem::is_directory(path)) {
    return ModelAccess::make(std::make_shared<const ModelImpl>(
        model::HfCheckpoint::open(path, map_options), options, choose_layers));
  }
  auto gguf = io::GgufFile::open(path, map_options);
  return ModelAccess::make(
      std::make_shared<const ModelImpl>(std::move(gguf), options, choose_layers));
}

void ModelAccess::require_whole(const Model& model, const char* user) {
  const ModelImpl& impl = *model.impl_;
  if (!impl.is_partial()) return;
  throw Error(ErrorCode::kInvalidArgument,
              std::string(user) + " needs the whole model, but this one holds only layers [" +
                  std::to_string(impl.first_layer()) + ", " + std::to_string(impl.last_layer()) +
                  ") of " + std::to_string(impl.config().n_layers) + " (a pipeline stage's share)");
}

}  // namespace detail

Model Model::load(const std::filesystem::path& path, const LoadOptions& options) {
  return detail::load_model_layers(path, options, {});
}

const ModelConfig& Model::config() const {
  return impl_->config();
}
bool Model::has_tokenizer() const {
  return impl_->tokenizer().has_value();
}

const Tokenizer& Model::tokenizer() const {
  if (!impl_->tokenizer()) {
    throw Error(ErrorCode::kInvalidArgument,
                impl_->origin() + ": this model file carries no tokenizer");
  }
  return *impl_->tokenizer();
}

std::string Model::metadata_string(const std::string& key) const {
  return impl_->metadata_string(key);
}

const GenerationDefaults& Model::generation_defaults() const {
  return impl_->generation_defaults();
}

std::uint64_t Model::n_params() const {
  return impl_->n_params();
}
std::uint64_t Model::weight_bytes() const {
  return impl_->weight_bytes();
}

}  // namespace llama3
