// convert_hf_to_gguf: a Hugging Face (or Meta) Llama folder to a GGUF file in llama.cpp's
// conventions (docs/formats.md): llama.* architecture keys, the tokenizer
// (hf_tokenizer_metadata.cpp), rope_freqs.weight for llama3 rope scaling, q/k rows permuted back to
// Meta's order, aligned data. Every tensor's shape is checked against config.json before anything
// is written.
#include "convert/conversion_steps.hpp"
#include "convert/hf_tokenizer_metadata.hpp"
#include "llama3/error.hpp"
#include "model/expected_tensors.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/hf_names.hpp"
#include "model/meta_checkpoint.hpp"
#include "model/weight_source.hpp"

namespace llama3 {
namespace {

// Every regular file of the folder: the output may be none of them.
std::vector<std::filesystem::path> files_in(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

void write_architecture(io::GgufWriter& writer, const ModelConfig& config,
                        const model::QuantMix& mix) {
  const auto u32 = [](int value) { return static_cast<std::uint32_t>(value); };
  writer.set_string("general.architecture", "llama");
  writer.set_string("general.name", config.name);
  writer.set_uint32("general.file_type", mix.file_type);
  writer.set_uint32("general.quantization_version", 2);
  writer.set_uint32("llama.context_length", u32(config.context_length));
  writer.set_uint32("llama.embedding_length", u32(config.dim));
  writer.set_uint32("llama.block_count", u32(config.n_layers));
  writer.set_uint32("llama.feed_forward_length", u32(config.ffn_dim));
  writer.set_uint32("llama.attention.head_count", u32(config.n_heads));
  writer.set_uint32("llama.attention.head_count_kv", u32(config.n_kv_heads));
  writer.set_float32("llama.rope.freq_base", config.rope_theta);
  writer.set_float32("llama.attention.layer_norm_rms_epsilon", config.norm_eps);
  writer.set_uint32("llama.vocab_size", u32(config.n_vocab));
  writer.set_uint32("llama.rope.dimension_count", u32(config.head_dim));
  writer.set_uint32("llama.attention.key_length", u32(config.head_dim));
  writer.set_uint32("llama.attention.value_length", u32(config.head_dim));
}

// The tensors in llama.cpp's order (embedding, rope_freqs, blocks, final norm, output), each
// converted to the mix's type as the writer streams it.
struct Source {
  const model::WeightSource& weights;
  const ModelConfig& config;
  std::vector<float> rope_divisors;  // empty: no rope_freqs.weight
  bool hf_row_order = false;         // q/k rows permuted by transformers, to be put back
};

void write_weights(io::GgufWriter& writer, const Source& source, const model::QuantMix& mix,
                   const std::filesystem::path& out_gguf, const ConvertOptions& options,
                   ConvertResult& result) {
  const ModelConfig& config = source.config;
  kernels::ThreadPool pool(options.n_threads);
  convert::QuantizationError error;
  const auto head_dim = static_cast<std::size_t>(config.head_dim);
  std::vector<convert::PlannedTensor> plan;
  auto add = [&](const std::string& name, io::TensorType type,
                 std::function<void(std::vector<std::byte>&)> append,
                 std::span<const std::uint64_t> ne) {
    writer.add_tensor(name, ne, type);
    plan.push_back({name, std::move(append)});
  };
  const auto type_of = [&](const std::string& name, std::span<const std::uint64_t> ne) {
    return model::tensor_type_for(mix, name, static_cast<std::uint32_t>(ne.size()), ne[0],
                                  config.n_layers, config.tied_embeddings);
  };
  auto add_weight = [&](const model::ExpectedTensor& expected) {
    const model::TensorView* view = source.weights.find(expected.name);
    const auto target = type_of(expected.name, expected.ne);
    add(
        expected.name, target,
        [&, view, target](std::vector<std::byte>& out) {
          convert::SourceTensor tensor{
              view->name, view->type, view->data, view->ne[0], view->n_elements() / view->ne[0],
              {},         {}};
          if (source.hf_row_order && model::is_hf_permuted(view->name)) {
            // GGUF (Meta) row r is HF row hf_row_of_meta_row(r): undo transformers' permutation.
            tensor.source_row = [head_dim](std::size_t r) {
              return model::hf_row_of_meta_row(r, head_dim);
            };
          }
          convert::convert_tensor(tensor, target, pool, out, error);
          model::WeightSource::release_pages(*view);
        },
        expected.ne);
  };

  const auto expected = model::expected_tensors(config);
  add_weight(expected.front());
  const auto& divisors = source.rope_divisors;
  if (!divisors.empty()) {
    const std::uint64_t ne[] = {divisors.size()};
    add(
        "rope_freqs.weight", io::TensorType::kF32,
        [&divisors](std::vector<std::byte>& out) {
          const auto bytes = std::as_bytes(std::span(divisors));
          out.insert(out.end(), bytes.begin(), bytes.end());
        },
        ne);
  }
  for (std::size_t i = 1; i < expected.size(); ++i) add_weight(expected[i]);

  convert::write_tensors(writer, out_gguf, plan, options);
  result.types = error.summary();
}

// A folder of either kind, opened: its weights and the ModelConfig checked against every tensor's
// shape (model/expected_tensors.hpp).
struct OpenedFolder {
  model::WeightSource weights;
  ModelConfig config;
  std::vector<float> rope_divisors;
  bool hf_row_order = false;
};

template <typename Checkpoint, typename Read>
ConvertResult convert_folder(const std::filesystem::path& folder,
                             const std::filesystem::path& out_gguf, const ConvertOptions& options,
                             const char* tokenizer_file, Read read) {
  const auto mix = convert::mix_from_options(options);
  convert::check_output(out_gguf, files_in(folder));
  const auto checkpoint = Checkpoint::open(folder);
  const OpenedFolder opened = read(checkpoint);
  ConvertResult result;
  io::GgufWriter writer;
  write_architecture(writer, opened.config, mix);
  if (checkpoint.tokenizer) {
    convert::write_tokenizer_metadata(writer, checkpoint);
  } else {
    result.warnings.push_back(folder.string() + " has no " + tokenizer_file +
                              "; the GGUF has no tokenizer");
  }
  write_weights(writer, {opened.weights, opened.config, opened.rope_divisors, opened.hf_row_order},
                mix, out_gguf, options, result);
  return result;
}

}  // namespace

ConvertResult convert_hf_to_gguf(const std::filesystem::path& folder,
                                 const std::filesystem::path& out_gguf,
                                 const ConvertOptions& options) {
  if (model::is_meta_checkpoint_folder(folder)) {
    // params.json, consolidated.NN.pth, tokenizer.model (docs/meta-checkpoints.md): q/k rows are
    // already in Meta's order, which is GGUF's.
    return convert_folder<model::MetaCheckpoint>(
        folder, out_gguf, options, "tokenizer.model", [&](const model::MetaCheckpoint& meta) {
          auto weights = model::WeightSource::from_pytorch(
              meta.shards, static_cast<std::uint64_t>(meta.params.dim), folder.string());
          auto config = model::config_from_meta(meta, weights);
          return OpenedFolder{std::move(weights), std::move(config),
                              model::meta_rope_divisors(meta.params), false};
        });
  }
  return convert_folder<model::HfCheckpoint>(
      folder, out_gguf, options, "tokenizer.json", [&](const model::HfCheckpoint& hf) {
        auto weights = model::WeightSource::from_safetensors(hf.files, folder.string());
        auto config = model::config_from_hf(hf, weights);
        return OpenedFolder{std::move(weights), std::move(config),
                            model::hf_rope_divisors(hf.config), true};
      });
}

}  // namespace llama3
