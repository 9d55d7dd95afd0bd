// `llama3 convert HF_DIR -o OUT.gguf [--type TYPE] [--threads N]`: a Hugging Face Llama folder to a
// GGUF file in llama.cpp's conventions (FACTS.md §2, §4): llama.* architecture keys, the gpt2/
// llama-bpe tokenizer with byte-level tokens, token types, merges, bos/eos and the chat template,
// rope_freqs.weight for llama3 rope scaling, q/k rows permuted back to Meta's order, aligned data.
// Streams one tensor at a time.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "io/file_contents.hpp"
#include "io/gguf.hpp"
#include "io/hf_config.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/hf_names.hpp"
#include "model/quant_mix.hpp"
#include "model/weight_source.hpp"
#include "progress.hpp"
#include "tensor_conversion.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace llama3::cli {
namespace {

struct ConvertOptions {
  std::string folder;
  std::string out_path;
  std::string type_name = "f16";
  int n_threads = 0;
  ProgressStyle progress = ProgressStyle::kAuto;
};

void declare(CLI::App& app, ConvertOptions& options) {
  app.add_option("HF_DIR", options.folder,
                 "config.json, model.safetensors (or shards + model.safetensors.index.json), "
                 "tokenizer.json, optionally tokenizer_config.json (chat template, eos)")
      ->type_name("HF_DIR")
      ->required();
  app.add_option("-o,--output", options.out_path, "the GGUF file to write")
      ->type_name("OUT.gguf")
      ->required();
  app.add_option("--type", options.type_name,
                 "f16 (default), f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, "
                 "q4_k_m, q5_k_m (see `llama3 quantize --help` for the mix rule)")
      ->type_name("TYPE");
  declare_threads(app, options.n_threads);
  declare_progress(app, options.progress);
}

// The merges of tokenizer.json as GGUF stores them: "left right" strings in rank order (newer
// tokenizers versions write [left, right] pairs).
std::vector<std::string> read_merges(const std::filesystem::path& path) {
  const auto origin = path.string();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(io::read_file_contents(path));
  } catch (const nlohmann::json::exception& error) {
    throw Error(ErrorCode::kBadFormat, origin + ": not valid JSON: " + error.what());
  }
  std::vector<std::string> merges;
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object() ||
      !root["model"].contains("merges")) {
    return merges;
  }
  for (const auto& merge : root["model"]["merges"]) {
    if (merge.is_string()) {
      merges.push_back(merge.get<std::string>());
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
    } else {
      throw Error(ErrorCode::kBadFormat, origin + ": model.merges entry " + merge.dump() +
                                             " is neither \"a b\" nor [a, b]");
    }
  }
  return merges;
}

// tokenizer_config.json's eos_token ("<|eot_id|>" in instruct models) as an id, if it names one.
std::optional<TokenId> tokenizer_config_eos(const std::filesystem::path& path,
                                            const Tokenizer& tokenizer) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    const auto root = nlohmann::json::parse(io::read_file_contents(path));
    if (!root.is_object() || !root.contains("eos_token")) return std::nullopt;
    const auto& eos = root["eos_token"];
    std::string text;
    if (eos.is_string()) text = eos.get<std::string>();
    if (eos.is_object() && eos.contains("content") && eos["content"].is_string()) {
      text = eos["content"].get<std::string>();
    }
    return tokenizer.find(text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(ErrorCode::kBadFormat, path.string() + ": not valid JSON: " + error.what());
  }
}

void write_tokenizer(io::GgufWriter& writer, const model::HfCheckpoint& checkpoint) {
  const auto& tokenizer = *checkpoint.tokenizer;
  const auto& info = tokenizer.impl().info();
  writer.set_string("tokenizer.ggml.model", "gpt2");
  writer.set_string("tokenizer.ggml.pre", "llama-bpe");
  // tokenizer.json already spells normal tokens in byte-level form and specials literally, which
  // is exactly GGUF's form.
  writer.set_string_array("tokenizer.ggml.tokens", info.token_text);
  std::vector<std::int32_t> types;
  types.reserve(info.kinds.size());
  for (TokenKind kind : info.kinds) types.push_back(static_cast<std::int32_t>(kind) + 1);
  writer.set_int32_array("tokenizer.ggml.token_type", std::move(types));
  writer.set_string_array("tokenizer.ggml.merges",
                          read_merges(checkpoint.folder / "tokenizer.json"));
  if (tokenizer.bos_id() >= 0) {
    writer.set_uint32("tokenizer.ggml.bos_token_id",
                      static_cast<std::uint32_t>(tokenizer.bos_id()));
  }
  const auto eos = tokenizer_config_eos(checkpoint.folder / "tokenizer_config.json", tokenizer);
  const TokenId eos_id = eos ? *eos : tokenizer.eos_id();
  if (eos_id >= 0)
    writer.set_uint32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(eos_id));
  writer.set_bool("tokenizer.ggml.add_bos_token", true);
  if (checkpoint.chat_template)
    writer.set_string("tokenizer.chat_template", *checkpoint.chat_template);
}

struct PlannedTensor {
  std::string name;
  std::vector<std::uint64_t> ne;
  io::TensorType type;
  const model::TensorView* source;  // nullptr: rope_freqs, from `fixed`
  std::vector<float> fixed;
};

}  // namespace

int run_convert(Args args) {
  const auto app = make_command_app("convert", "Convert a Hugging Face folder to a GGUF file.");
  ConvertOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  const std::string& type_name = options.type_name;
  const auto mix = model::quant_mix_from_name(type_name);
  if (!mix || !kernels::reference::is_supported_weight_type(mix->base)) {
    throw UsageError("unknown type '" + type_name + "'");
  }
  const int n_threads = clamp_threads(options.n_threads);
  const std::filesystem::path folder = options.folder;
  const auto checkpoint = model::HfCheckpoint::open(folder);
  const auto weights = model::WeightSource::from_safetensors(checkpoint.files, folder.string());
  const ModelConfig config = model::config_from_hf(checkpoint, weights);
  const auto u32 = [](int value) { return static_cast<std::uint32_t>(value); };

  io::GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_string("general.name", config.name);
  writer.set_uint32("general.file_type", mix->file_type);
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
  if (checkpoint.tokenizer) {
    write_tokenizer(writer, checkpoint);
  } else {
    std::fprintf(stderr,
                 "llama3 convert: warning: %s has no tokenizer.json; the GGUF has no "
                 "tokenizer\n",
                 folder.c_str());
  }

  // llama.cpp's tensor order: embedding, rope_freqs, blocks, final norm, output.
  std::vector<PlannedTensor> plan;
  auto add = [&](const std::string& name) {
    const auto* view = weights.find(name);
    if (!view) return;  // config_from_hf checked the required ones; output.weight may be tied
    std::vector<std::uint64_t> ne(view->ne.begin(), view->ne.begin() + view->n_dims);
    plan.push_back({name, ne, io::TensorType::kF32, view, {}});
  };
  add("token_embd.weight");
  if (auto divisors = model::hf_rope_divisors(checkpoint.config); !divisors.empty()) {
    const auto n = static_cast<std::uint64_t>(divisors.size());
    plan.push_back({"rope_freqs.weight", {n}, io::TensorType::kF32, nullptr, std::move(divisors)});
  }
  for (int layer = 0; layer < config.n_layers; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    for (const char* suffix : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                               "ffn_gate", "ffn_up", "ffn_down"}) {
      const std::string name = p + suffix + ".weight";
      if (!weights.find(name)) {
        throw Error(ErrorCode::kBadFormat,
                    folder.string() + ": missing tensor " + *model::hf_name_from_gguf(name));
      }
      add(name);
    }
  }
  add("output_norm.weight");
  if (!config.tied_embeddings) add("output.weight");
  for (auto& tensor : plan) {
    tensor.type =
        model::tensor_type_for(*mix, tensor.name, static_cast<std::uint32_t>(tensor.ne.size()),
                               tensor.ne[0], config.n_layers, config.tied_embeddings);
    writer.add_tensor(tensor.name, tensor.ne, tensor.type);
  }

  kernels::ThreadPool pool(n_threads);
  ProgressReport progress("convert", options.progress);
  QuantizationError error;
  const auto head_dim = static_cast<std::size_t>(config.head_dim);
  writer.write(options.out_path, [&](std::size_t index, std::vector<std::byte>& out) {
    const auto& tensor = plan[index];
    if (!tensor.source) {
      const auto* bytes = reinterpret_cast<const std::byte*>(tensor.fixed.data());
      out.insert(out.end(), bytes, bytes + tensor.fixed.size() * sizeof(float));
    } else {
      const auto& view = *tensor.source;
      SourceTensor source{
          tensor.name, view.type, view.data, view.ne[0], view.n_elements() / view.ne[0], {}};
      if (model::is_hf_permuted(tensor.name)) {
        // GGUF (Meta) row r is HF row hf_row_of_meta_row(r): undo transformers' permutation.
        source.source_row = [head_dim](std::size_t r) {
          return model::hf_row_of_meta_row(r, head_dim);
        };
      }
      convert_tensor(source, tensor.type, pool, out, error);
      release_input_pages(view.data, view.n_bytes);
    }
    progress.update(index + 1, plan.size(), tensor.name);
  });
  progress.finish();
  std::printf("llama3 convert: wrote %s (%s)\n", options.out_path.c_str(), mix->name.c_str());
  error.print(stdout);
  return 0;
}

}  // namespace llama3::cli
