// make_test_model: writes a GGUF Llama model with random weights in the exact Llama 3 shapes, for
// tests (tiny) and benchmarks (the 3.2-1B and 3.1-8B shapes). Weights are deterministic for a given
// seed.
//
//   make_test_model --out FILE [--shape tiny|1b|8b] [--type f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|
//                   q4_k|q5_k|q6_k|q4_k_m|q5_k_m] [--rope-freqs|--no-rope-freqs] [--tied|--untied]
//                   [--vocab llama3|llama3.1|none|PATH.gguf] [--seed N] [--layers N]
//                   [--n-vocab N]
//   make_test_model --hf DIR [--shards 1|2] [same shape options]
//
// --hf writes the same model (same seed, same values) as a Hugging Face folder: config.json,
// generation_config.json, model.safetensors (or two shards and model.safetensors.index.json),
// BF16 weights with the q/k rows permuted as transformers' converter does, and with --vocab llama3
// tokenizer.json (+ tokenizer_config.json with the 3.0 chat template) from the data folder.
// --vocab llama3.1 is the same vocabulary with the two tokens Llama 3.1 named (128008 <|eom_id|>,
// 128010 <|python_tag|>, reserved in 3.0) renamed, so that tool-call turns can be rendered.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf.hpp"
#include "io/safetensors.hpp"
#include "kernels/reference.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/error.hpp"
#include "model/hf_names.hpp"
#include "model/quant_mix.hpp"
#include "model/rope_frequencies.hpp"

namespace {

using llama3::io::TensorType;

struct Shape {
  int dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim, n_vocab, context_length;
  bool tied;
  bool rope_freqs;
  double rope_factor;
};

std::optional<Shape> shape_named(const std::string& name) {
  // tiny: GQA 4:1, head size 32, every row length a multiple of 256 so K-quants apply.
  if (name == "tiny") return Shape{256, 2, 8, 2, 32, 512, 512, 2048, false, false, 8.0};
  if (name == "1b") return Shape{2048, 16, 32, 8, 64, 8192, 128256, 131072, true, true, 32.0};
  if (name == "8b") return Shape{4096, 32, 32, 8, 128, 14336, 128256, 131072, false, true, 8.0};
  return std::nullopt;
}

// splitmix64: a tiny, well-mixed generator whose output is the same on every platform.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Standard normal values by Box-Muller from our own generator (std distributions differ by
// platform).
void fill_normal(std::uint64_t seed, float mean, float stddev, float* out, std::size_t n) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; i += 2) {
    const double u1 = (static_cast<double>(splitmix64(state) >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    out[i] = mean + stddev * static_cast<float>(radius * std::cos(2.0 * std::numbers::pi * u2));
    if (i + 1 < n)
      out[i + 1] =
          mean + stddev * static_cast<float>(radius * std::sin(2.0 * std::numbers::pi * u2));
  }
}

struct TensorPlan {
  std::string name;
  std::vector<std::uint64_t> ne;  // innermost first
  TensorType type;
  float mean, stddev;
  std::vector<float> fixed;  // when set, these exact values (rope_freqs)
};

void copy_value(llama3::io::GgufWriter& writer, const std::string& key,
                const llama3::io::GgufValue& value) {
  using llama3::io::GgufValueType;
  switch (value.type()) {
    case GgufValueType::kString:
      writer.set_string(key, std::string(value.as_string(key)));
      return;
    case GgufValueType::kBool:
      writer.set_bool(key, value.as_bool(key));
      return;
    case GgufValueType::kFloat32:
    case GgufValueType::kFloat64:
      writer.set_float32(key, static_cast<float>(value.as_float(key)));
      return;
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64:
      writer.set_int32(key, static_cast<std::int32_t>(value.as_int(key)));
      return;
    case GgufValueType::kArray: {
      if (value.element_type() == GgufValueType::kString) {
        const auto& views = value.strings(key);
        writer.set_string_array(key, std::vector<std::string>(views.begin(), views.end()));
      } else if (value.element_type() == GgufValueType::kFloat32 ||
                 value.element_type() == GgufValueType::kFloat64) {
        writer.set_float32_array(key, value.floats(key));
      } else {
        const auto ints = value.ints(key);
        writer.set_int32_array(key, std::vector<std::int32_t>(ints.begin(), ints.end()));
      }
      return;
    }
    default:
      writer.set_uint32(key, static_cast<std::uint32_t>(value.as_uint(key)));
      return;
  }
}

int usage(const char* message) {
  std::fprintf(stderr,
               "make_test_model: %s\nusage: make_test_model --out FILE [--shape tiny|1b|8b] "
               "[--type TYPE|q4_k_m] [--rope-freqs|--no-rope-freqs] [--tied|--untied] "
               "[--vocab llama3|llama3.1|none|PATH.gguf] [--seed N] [--layers N] [--n-vocab N]\n",
               message);
  return 2;
}

std::filesystem::path data_dir() {
  const char* dir = std::getenv("LLAMA3_DATA_DIR");
  return std::filesystem::path(dir ? dir : "build/data");
}

std::filesystem::path default_vocab_path() {
  return data_dir() / "ggml-vocab-llama-bpe.gguf";
}

// The Llama 3.0 chat template, as in the npm tokenizer_config.json (docs/facts.md §3).
constexpr const char* kChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% "
    "endif "
    "%}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw llama3::Error(llama3::ErrorCode::kIo, path.string() + ": write failed");
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path, hf_dir, shape_name = "tiny", type_name = "f32", vocab = "none";
  int n_shards = 1;
  std::optional<bool> tied, rope_freqs;
  std::uint64_t seed = 1;
  int layers_override = 0;
  int n_vocab_override = 0;  // with --vocab none: a smaller embedding for tests of big shapes
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--out")
        out_path = value();
      else if (arg == "--hf")
        hf_dir = value();
      else if (arg == "--shards")
        n_shards = std::stoi(value());
      else if (arg == "--shape")
        shape_name = value();
      else if (arg == "--type")
        type_name = value();
      else if (arg == "--vocab")
        vocab = value();
      else if (arg == "--seed")
        seed = std::stoull(value());
      else if (arg == "--layers")
        layers_override = std::stoi(value());
      else if (arg == "--n-vocab")
        n_vocab_override = std::stoi(value());
      else if (arg == "--tied")
        tied = true;
      else if (arg == "--untied")
        tied = false;
      else if (arg == "--rope-freqs")
        rope_freqs = true;
      else if (arg == "--no-rope-freqs")
        rope_freqs = false;
      else
        return usage(("unknown option " + arg).c_str());
    } catch (const std::exception& error) {
      return usage(error.what());
    }
  }
  if (out_path.empty() == hf_dir.empty()) return usage("give one of --out FILE and --hf DIR");
  if (n_shards != 1 && n_shards != 2) return usage("--shards is 1 or 2");
  auto shape = shape_named(shape_name);
  if (!shape) return usage("unknown --shape");
  if (tied) shape->tied = *tied;
  if (rope_freqs) shape->rope_freqs = *rope_freqs;
  if (layers_override > 0) shape->n_layers = layers_override;
  if (n_vocab_override > 0) {
    if (vocab != "none") return usage("--n-vocab needs --vocab none");
    shape->n_vocab = n_vocab_override;
  }
  const auto mix = llama3::model::quant_mix_from_name(hf_dir.empty() ? type_name : "bf16");
  if (!mix || !llama3::kernels::reference::is_supported_weight_type(mix->base)) {
    return usage("unknown or unsupported --type");
  }

  try {
    std::optional<llama3::io::GgufFile> vocab_file;
    if (vocab != "none") {
      const bool bundled = vocab == "llama3" || vocab == "llama3.1";
      vocab_file =
          llama3::io::GgufFile::open(bundled ? default_vocab_path() : std::filesystem::path(vocab));
      shape->n_vocab = static_cast<int>(vocab_file->get("tokenizer.ggml.tokens").size());
    }

    llama3::io::GgufWriter writer;
    writer.set_string("general.architecture", "llama");
    writer.set_string("general.name", "llama3-random-" + shape_name + "-" + type_name);
    writer.set_uint32("general.quantization_version", 2);
    writer.set_uint32("llama.context_length", static_cast<std::uint32_t>(shape->context_length));
    writer.set_uint32("llama.embedding_length", static_cast<std::uint32_t>(shape->dim));
    writer.set_uint32("llama.block_count", static_cast<std::uint32_t>(shape->n_layers));
    writer.set_uint32("llama.feed_forward_length", static_cast<std::uint32_t>(shape->ffn_dim));
    writer.set_uint32("llama.attention.head_count", static_cast<std::uint32_t>(shape->n_heads));
    writer.set_uint32("llama.attention.head_count_kv",
                      static_cast<std::uint32_t>(shape->n_kv_heads));
    writer.set_float32("llama.rope.freq_base", 500000.0f);
    writer.set_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    writer.set_uint32("llama.vocab_size", static_cast<std::uint32_t>(shape->n_vocab));
    writer.set_uint32("llama.rope.dimension_count", static_cast<std::uint32_t>(shape->head_dim));
    if (shape->head_dim * shape->n_heads != shape->dim) {
      writer.set_uint32("llama.attention.key_length", static_cast<std::uint32_t>(shape->head_dim));
      writer.set_uint32("llama.attention.value_length",
                        static_cast<std::uint32_t>(shape->head_dim));
    }
    if (vocab_file) {
      for (const auto& kv : vocab_file->metadata()) {
        if (vocab == "llama3.1" && kv.key == "tokenizer.ggml.tokens") {
          const auto& views = kv.value.strings(kv.key);
          std::vector<std::string> tokens(views.begin(), views.end());
          if (tokens.size() > 128010) {
            tokens[128008] = "<|eom_id|>";
            tokens[128010] = "<|python_tag|>";
          }
          writer.set_string_array(std::string(kv.key), tokens);
        } else if (std::string_view(kv.key).starts_with("tokenizer.")) {
          copy_value(writer, std::string(kv.key), kv.value);
        }
      }
    }

    // Tensors in llama.cpp's order. Matrices: N(0, 1/sqrt(inputs)) so activations keep their scale;
    // norms near 1.
    const auto d = static_cast<std::uint64_t>(shape->dim);
    const auto q = static_cast<std::uint64_t>(shape->n_heads * shape->head_dim);
    const auto kv = static_cast<std::uint64_t>(shape->n_kv_heads * shape->head_dim);
    const auto f = static_cast<std::uint64_t>(shape->ffn_dim);
    const auto v = static_cast<std::uint64_t>(shape->n_vocab);
    auto scale = [](std::uint64_t inputs) { return 1.0f / std::sqrt(static_cast<float>(inputs)); };
    std::vector<TensorPlan> plan;
    plan.push_back({"token_embd.weight", {d, v}, TensorType::kF32, 0.0f, 1.0f, {}});
    if (shape->rope_freqs) {
      llama3::model::Llama3RopeScaling scaling;
      scaling.factor = shape->rope_factor;
      plan.push_back({"rope_freqs.weight",
                      {static_cast<std::uint64_t>(shape->head_dim / 2)},
                      TensorType::kF32,
                      0,
                      0,
                      llama3::model::llama3_rope_divisors(shape->head_dim, 500000.0, scaling)});
    }
    for (int layer = 0; layer < shape->n_layers; ++layer) {
      const std::string p = "blk." + std::to_string(layer) + ".";
      plan.push_back({p + "attn_norm.weight", {d}, TensorType::kF32, 1.0f, 0.1f, {}});
      plan.push_back({p + "attn_q.weight", {d, q}, TensorType::kF32, 0.0f, scale(d), {}});
      plan.push_back({p + "attn_k.weight", {d, kv}, TensorType::kF32, 0.0f, scale(d), {}});
      plan.push_back({p + "attn_v.weight", {d, kv}, TensorType::kF32, 0.0f, scale(d), {}});
      plan.push_back({p + "attn_output.weight", {q, d}, TensorType::kF32, 0.0f, scale(q), {}});
      plan.push_back({p + "ffn_norm.weight", {d}, TensorType::kF32, 1.0f, 0.1f, {}});
      plan.push_back({p + "ffn_gate.weight", {d, f}, TensorType::kF32, 0.0f, scale(d), {}});
      plan.push_back({p + "ffn_up.weight", {d, f}, TensorType::kF32, 0.0f, scale(d), {}});
      plan.push_back({p + "ffn_down.weight", {f, d}, TensorType::kF32, 0.0f, scale(f), {}});
    }
    plan.push_back({"output_norm.weight", {d}, TensorType::kF32, 1.0f, 0.1f, {}});
    if (!shape->tied)
      plan.push_back({"output.weight", {d, v}, TensorType::kF32, 0.0f, scale(d), {}});
    for (auto& tensor : plan) {
      tensor.type = llama3::model::tensor_type_for(*mix, tensor.name,
                                                   static_cast<std::uint32_t>(tensor.ne.size()),
                                                   tensor.ne[0], shape->n_layers, shape->tied);
    }

    llama3::kernels::ThreadPool pool(0);
    // Appends tensor `index` of the plan in its type; `hf_head_dim` > 0 stores the rows in HF's
    // permuted q/k order (HF row r holds Meta row meta_row_of_hf_row(r)).
    auto append_tensor = [&](std::size_t index, std::vector<std::byte>& out,
                             std::size_t hf_head_dim) {
      const auto& tensor = plan[index];
      const std::size_t cols = tensor.ne[0];
      const std::size_t rows = tensor.ne.size() > 1 ? tensor.ne[1] : 1;
      const std::size_t row_size = *llama3::io::row_bytes(tensor.type, cols);
      const std::size_t start = out.size();
      out.resize(start + rows * row_size);
      if (!tensor.fixed.empty()) {
        std::memcpy(out.data() + start, tensor.fixed.data(), row_size);
        return;
      }
      pool.parallel_for(rows, 64, [&](std::size_t begin, std::size_t end, int) {
        std::vector<float> values(cols);
        for (std::size_t r = begin; r < end; ++r) {
          const std::size_t source_row =
              hf_head_dim ? llama3::model::meta_row_of_hf_row(r, hf_head_dim) : r;
          fill_normal(seed * 0x100000001b3ull + index * 0x9e3779b9ull + source_row, tensor.mean,
                      tensor.stddev, values.data(), cols);
          llama3::kernels::reference::quantize_row(tensor.type, values.data(),
                                                   out.data() + start + r * row_size, cols);
        }
      });
    };

    if (!hf_dir.empty()) {
      const std::filesystem::path dir(hf_dir);
      std::filesystem::create_directories(dir);
      nlohmann::ordered_json config = {
          {"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", shape->dim},
          {"intermediate_size", shape->ffn_dim},
          {"num_hidden_layers", shape->n_layers},
          {"num_attention_heads", shape->n_heads},
          {"num_key_value_heads", shape->n_kv_heads},
          {"head_dim", shape->head_dim},
          {"max_position_embeddings", shape->context_length},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 500000.0},
          {"vocab_size", shape->n_vocab},
          {"tie_word_embeddings", shape->tied},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"torch_dtype", "bfloat16"},
          {"bos_token_id", 128000},
          {"eos_token_id", {128001, 128008, 128009}},
      };
      if (vocab == "none") {
        config.erase("bos_token_id");
        config.erase("eos_token_id");
      }
      if (shape->rope_freqs) {
        config["rope_scaling"] = {{"factor", shape->rope_factor},
                                  {"low_freq_factor", 1.0},
                                  {"high_freq_factor", 4.0},
                                  {"original_max_position_embeddings", 8192},
                                  {"rope_type", "llama3"}};
      }
      write_text(dir / "config.json", config.dump(2));
      write_text(dir / "generation_config.json",
                 R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9})");
      if (vocab == "llama3") {
        std::filesystem::copy_file(data_dir() / "tokenizer.json", dir / "tokenizer.json",
                                   std::filesystem::copy_options::overwrite_existing);
        write_text(dir / "tokenizer_config.json", nlohmann::json{{"bos_token", "<|begin_of_text|>"},
                                                                 {"eos_token", "<|end_of_text|>"},
                                                                 {"chat_template", kChatTemplate}}
                                                      .dump(2));
      }
      // HF holds no rope_freqs tensor; the plan index still seeds the values, so the HF and GGUF
      // models of one seed hold the same weights.
      std::vector<std::size_t> hf_tensors;
      for (std::size_t i = 0; i < plan.size(); ++i) {
        if (llama3::model::hf_name_from_gguf(plan[i].name)) hf_tensors.push_back(i);
      }
      const std::size_t per_shard = (hf_tensors.size() + n_shards - 1) / n_shards;
      nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
      for (int shard = 0; shard < n_shards; ++shard) {
        const std::string file_name = n_shards == 1
                                          ? std::string("model.safetensors")
                                          : "model-0000" + std::to_string(shard + 1) + "-of-0000" +
                                                std::to_string(n_shards) + ".safetensors";
        std::vector<std::size_t> members(
            hf_tensors.begin() +
                static_cast<std::ptrdiff_t>(std::min(hf_tensors.size(), shard * per_shard)),
            hf_tensors.begin() +
                static_cast<std::ptrdiff_t>(std::min(hf_tensors.size(), (shard + 1) * per_shard)));
        llama3::io::SafetensorsWriter safetensors;
        safetensors.set_metadata("format", "pt");
        for (std::size_t index : members) {
          auto& tensor = plan[index];
          const auto hf_name = *llama3::model::hf_name_from_gguf(tensor.name);
          // BF16 matrices as HF ships them. Norms stay F32 (a mixed checkpoint is valid), so the
          // GGUF model of the same seed with --type bf16 holds exactly the same numbers.
          const bool matrix = tensor.ne.size() > 1;
          tensor.type = matrix ? TensorType::kBF16 : TensorType::kF32;
          std::vector<std::uint64_t> torch_shape(tensor.ne.rbegin(), tensor.ne.rend());
          safetensors.add_tensor(
              hf_name,
              matrix ? llama3::io::SafetensorsDtype::kBF16 : llama3::io::SafetensorsDtype::kF32,
              torch_shape);
          weight_map[hf_name] = file_name;
        }
        safetensors.write(dir / file_name, [&](std::size_t i, std::vector<std::byte>& out) {
          const std::size_t index = members[i];
          const bool permuted = llama3::model::is_hf_permuted(plan[index].name);
          append_tensor(index, out, permuted ? static_cast<std::size_t>(shape->head_dim) : 0);
        });
      }
      if (n_shards > 1) {
        write_text(
            dir / "model.safetensors.index.json",
            nlohmann::ordered_json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}
                .dump(2));
      }
      std::fprintf(stderr, "make_test_model: wrote %s\n", hf_dir.c_str());
      return 0;
    }

    for (const auto& tensor : plan) writer.add_tensor(tensor.name, tensor.ne, tensor.type);
    writer.set_uint32("general.file_type", mix->file_type);
    std::size_t done = 0;
    writer.write(out_path, [&](std::size_t index, std::vector<std::byte>& out) {
      append_tensor(index, out, 0);
      ++done;
      std::fprintf(stderr, "\rmake_test_model: %zu/%zu tensors", done, plan.size());
    });
    std::fprintf(stderr, "\nmake_test_model: wrote %s\n", out_path.c_str());
  } catch (const llama3::Error& error) {
    std::fprintf(stderr, "make_test_model: error (%s): %s\n", llama3::error_code_name(error.code()),
                 error.what());
    return 1;
  }
  return 0;
}
