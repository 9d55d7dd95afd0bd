// Meta checkpoint folders (params.json + consolidated.NN.pth), written by our own torch.save-layout
// writer from a random GGUF model: one shard and two shards give logits bit-identical to the GGUF
// (same values, same Meta q/k row order, same kernels), and match the HF safetensors folder of the
// same weights; a q/k row order mistake is caught; inconsistent folders fail clearly.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.hpp"
#include "io/pytorch_checkpoint.hpp"
#include "llama3/convert.hpp"
#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "model/hf_names.hpp"
#include "model/meta_names.hpp"
#include "model/model_impl.hpp"
#include "support/base64.hpp"
#include "support/hf_test_models.hpp"
#include "support/model_logits.hpp"

using namespace llama3;

namespace {

// The tiny shape's params.json: ffn_dim 512 = 256 * ceil(int(0.75 * int(2 * 4 * 256 / 3)) / 256).
constexpr const char* kTinyParams =
    R"({"dim": 256, "n_layers": 2, "n_heads": 8, "n_kv_heads": 2, "vocab_size": 512,
        "multiple_of": 256, "ffn_dim_multiplier": 0.75, "norm_eps": 1e-05,
        "rope_theta": 500000.0, "use_scaled_rope": false})";

struct Options {
  int n_shards = 1;
  bool permute_qk_as_hf = false;  // the mistake a loader must not make (negative control)
};

io::TorchDtype torch_dtype(io::TensorType type) {
  switch (type) {
    case io::TensorType::kF32:
      return io::TorchDtype::kF32;
    case io::TensorType::kF16:
      return io::TorchDtype::kF16;
    default:
      return io::TorchDtype::kBF16;
  }
}

// Shard `s` of `n` of a PyTorch-ordered [rows, cols] tensor along `dim`.
std::vector<std::byte> shard_of(const model::TensorView& view, int dim, int s, int n) {
  const std::uint64_t rows = view.n_dims == 2 ? view.ne[1] : 1, cols = view.ne[0];
  const std::uint64_t element = view.n_bytes / (rows * cols);
  std::vector<std::byte> out;
  if (dim == 0) {
    const std::uint64_t part = rows / static_cast<std::uint64_t>(n) * cols * element;
    out.assign(view.data + part * static_cast<std::uint64_t>(s),
               view.data + part * static_cast<std::uint64_t>(s + 1));
  } else {
    const std::uint64_t width = cols / static_cast<std::uint64_t>(n) * element;
    for (std::uint64_t r = 0; r < rows; ++r) {
      const std::byte* row = view.data + r * cols * element + width * static_cast<std::uint64_t>(s);
      out.insert(out.end(), row, row + width);
    }
  }
  return out;
}

// Writes the GGUF model's weights as a Meta folder; returns it.
std::filesystem::path write_meta_folder(const Model& gguf, const std::string& name,
                                        const Options& options, const char* params = kTinyParams) {
  const auto dir = testing::hf_process_dir() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "params.json") << params;
  const auto& weights = detail::ModelAccess::impl(gguf).weights();
  const int head_dim = gguf.config().head_dim;
  for (int s = 0; s < options.n_shards; ++s) {
    std::vector<io::PytorchTensorToWrite> tensors;
    for (const auto& view : weights.tensors()) {
      const auto meta_name = model::meta_name_from_gguf(view.name);
      if (!meta_name) continue;  // rope_freqs.weight: Meta folders have params.json's flag
      io::PytorchTensorToWrite tensor;
      tensor.name = *meta_name;
      tensor.dtype = torch_dtype(view.type);
      for (std::uint32_t d = view.n_dims; d-- > 0;) tensor.shape.push_back(view.ne[d]);
      if (view.n_dims == 1) {
        tensor.bytes.assign(view.data, view.data + view.n_bytes);
      } else {
        const int dim = model::meta_shard_dim(view.name);
        tensor.bytes = shard_of(view, dim, s, options.n_shards);
        tensor.shape[static_cast<std::size_t>(dim)] /= static_cast<std::uint64_t>(options.n_shards);
      }
      if (options.permute_qk_as_hf && model::is_hf_permuted(view.name)) {
        const std::size_t row_bytes = tensor.bytes.size() / tensor.shape[0];
        std::vector<std::byte> permuted(tensor.bytes.size());
        for (std::size_t r = 0; r < tensor.shape[0]; ++r) {
          const std::size_t to = model::hf_row_of_meta_row(r, static_cast<std::size_t>(head_dim));
          std::copy_n(tensor.bytes.data() + r * row_bytes, row_bytes,
                      permuted.data() + to * row_bytes);
        }
        tensor.bytes = std::move(permuted);
      }
      tensors.push_back(std::move(tensor));
    }
    char file[32];
    std::snprintf(file, sizeof file, "consolidated.%02d.pth", s);
    const auto bytes = io::pytorch_checkpoint_bytes(tensors, "consolidated");
    std::ofstream(dir / file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  return dir;
}

}  // namespace

TEST_CASE("a Meta folder of one or two shards gives the GGUF's logits bit for bit",
          "[model][meta]") {
  for (const std::string type : {"f32", "bf16"}) {
    const auto gguf_path = testing::make_test_gguf_model(
        "--seed 7 --untied --no-rope-freqs --type " + type, "meta-" + type + ".gguf");
    const Model gguf = Model::load(gguf_path);
    const auto expected = testing::all_position_logits(gguf);
    for (int n_shards : {1, 2}) {
      INFO(type << ", " << n_shards << " shards");
      const auto dir = write_meta_folder(gguf, "meta-" + type, {n_shards, false});
      const Model meta = Model::load(dir);
      CHECK(meta.config().rope_layout == RopeLayout::kAdjacentPairs);
      CHECK(meta.config().ffn_dim == gguf.config().ffn_dim);
      CHECK(meta.config().n_kv_heads == gguf.config().n_kv_heads);
      CHECK(meta.config().n_vocab == gguf.config().n_vocab);
      CHECK_FALSE(meta.config().tied_embeddings);
      CHECK(meta.n_params() == gguf.n_params());
      // Same values, same type, same row order, same kernels: identical floats.
      CHECK(testing::all_position_logits(meta) == expected);
      if (n_shards == 1) {
        // One shard is used in place: every weight points into the mapped file.
        for (const auto& view : detail::ModelAccess::impl(meta).weights().tensors()) {
          CHECK(view.file != nullptr);
        }
      }
    }
  }
}

TEST_CASE("a Meta folder matches the HF folder of the same weights", "[model][meta]") {
  const auto hf_dir = testing::make_test_hf_model("--seed 8 --untied --no-rope-freqs", "meta-hf");
  const auto gguf_path = testing::make_test_gguf_model(
      "--seed 8 --untied --no-rope-freqs --type bf16", "meta-hf.gguf");
  const Model meta =
      Model::load(write_meta_folder(Model::load(gguf_path), "meta-from-hf", {2, false}));
  const Model hf = Model::load(hf_dir);
  CHECK(hf.config().rope_layout == RopeLayout::kHalfSplit);
  // As in the HF-vs-GGUF test: identical weights, only the order of the q.k sums differs.
  const float worst = testing::max_abs_difference(testing::all_position_logits(meta),
                                                  testing::all_position_logits(hf));
  INFO("max |meta - hf| = " << worst);
  CHECK(worst < 1e-3f);
}

TEST_CASE("q/k rows in HF's order are not Meta's: the logits show it", "[model][meta]") {
  const auto gguf_path = testing::make_test_gguf_model(
      "--seed 9 --untied --no-rope-freqs --type f32", "meta-perm.gguf");
  const Model gguf = Model::load(gguf_path);
  const Model wrong = Model::load(write_meta_folder(gguf, "meta-perm", {1, true}));
  // The test above can fail: rows permuted as transformers does move the logits by O(1).
  CHECK(testing::max_abs_difference(testing::all_position_logits(wrong),
                                    testing::all_position_logits(gguf)) > 0.1f);
}

TEST_CASE("inconsistent Meta folders fail with the file at fault", "[model][meta]") {
  const auto gguf_path = testing::make_test_gguf_model(
      "--seed 10 --untied --no-rope-freqs --type bf16", "meta-bad.gguf");
  const Model gguf = Model::load(gguf_path);
  auto expect = [&](const std::filesystem::path& dir, ErrorCode code, const std::string& needle) {
    try {
      Model::load(dir);
      FAIL("loaded; expected an error mentioning " << needle);
    } catch (const Error& error) {
      INFO(error.what());
      CHECK(error.code() == code);
      CHECK_THAT(error.what(), Catch::Contains(needle));
    }
  };
  std::string params = kTinyParams;
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string text = params;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  expect(write_meta_folder(gguf, "bad-layers", {1, false},
                           edited("\"n_layers\": 2", "\"n_layers\": 3").c_str()),
         ErrorCode::kBadFormat, "n_layers = 3 but the weights have tensors for 2 blocks");
  expect(write_meta_folder(gguf, "bad-ffn", {1, false}, edited("0.75", "1.3").c_str()),
         ErrorCode::kBadFormat, "params.json gives shape");
  expect(write_meta_folder(gguf, "bad-vocab", {1, false}, edited("512,", "513,").c_str()),
         ErrorCode::kBadFormat, "vocab_size = 513 but tok_embeddings.weight has 512 rows");
  expect(write_meta_folder(gguf, "bad-heads", {1, false},
                           edited("\"n_kv_heads\": 2", "\"n_kv_heads\": 3").c_str()),
         ErrorCode::kBadFormat, "n_heads (8) is not a multiple of n_kv_heads (3)");
  {
    const auto dir = write_meta_folder(gguf, "gap", {2, false});
    std::filesystem::rename(dir / "consolidated.01.pth", dir / "consolidated.02.pth");
    expect(dir, ErrorCode::kBadFormat,
           "consolidated.02.pth is not one of consolidated.00.pth to consolidated.00.pth");
  }
  {
    // A shard of another model: its norms disagree with shard 0's.
    const auto other_path = testing::make_test_gguf_model(
        "--seed 11 --untied --no-rope-freqs --type bf16", "meta-other.gguf");
    const auto dir = write_meta_folder(gguf, "mixed", {2, false});
    const auto other = write_meta_folder(Model::load(other_path), "mixed-other", {2, false});
    std::filesystem::copy_file(other / "consolidated.01.pth", dir / "consolidated.01.pth",
                               std::filesystem::copy_options::overwrite_existing);
    expect(dir, ErrorCode::kBadFormat, "differs between shards");
  }
  {
    const auto dir = write_meta_folder(gguf, "one-of-two", {2, false});
    const auto one = write_meta_folder(gguf, "one-shard", {1, false});
    // Shard 1 holds the full-size tensors: their split dims do not add up to params.json's.
    std::filesystem::copy_file(one / "consolidated.00.pth", dir / "consolidated.01.pth",
                               std::filesystem::copy_options::overwrite_existing);
    expect(dir, ErrorCode::kBadFormat, "tok_embeddings.weight has 768 rows");
  }
  {
    const auto dir = write_meta_folder(gguf, "no-params", {1, false});
    std::filesystem::remove(dir / "params.json");
    // Not a Meta folder any more, nor a HF one.
    expect(dir, ErrorCode::kIo, "config.json");
  }
}

TEST_CASE("convert takes a Meta folder: the GGUF runs like the original",
          "[model][meta][convert]") {
  const auto gguf_path = testing::make_test_gguf_model(
      "--seed 12 --untied --no-rope-freqs --type f32", "meta-conv.gguf");
  const Model gguf = Model::load(gguf_path);
  const auto dir = write_meta_folder(gguf, "meta-conv", {2, false});
  const auto out = testing::hf_process_dir() / "meta-conv-out.gguf";
  ConvertOptions options;
  options.type = "f32";
  const auto result = convert_hf_to_gguf(dir, out, options);
  REQUIRE(result.warnings.size() == 1);
  CHECK_THAT(result.warnings.front(), Catch::Contains("no tokenizer.model"));
  const Model converted = Model::load(out);
  CHECK(converted.config().rope_layout == RopeLayout::kAdjacentPairs);
  // F32 to F32 with no row reordering: the same floats, the same logits.
  CHECK(testing::all_position_logits(converted) == testing::all_position_logits(gguf));
}

TEST_CASE("a Meta folder's tokenizer.model makes the tokenizer, and convert writes its merges",
          "[model][meta][convert]") {
  const auto vocab_path = testing::require_data_file("ggml-vocab-llama-bpe.gguf");
  const auto gguf_path = testing::make_test_gguf_model(
      "--seed 13 --untied --no-rope-freqs --type bf16 --layers 1 --vocab llama3",
      "meta-vocab.gguf");
  const Model gguf = Model::load(gguf_path);
  auto params = nlohmann::json::parse(kTinyParams);
  params["n_layers"] = 1;
  params["vocab_size"] = 128256;
  const auto dir = write_meta_folder(gguf, "meta-vocab", {1, false}, params.dump().c_str());
  {
    std::ofstream model(dir / "tokenizer.model", std::ios::binary);
    for (TokenId id = 0; id < 128000; ++id) {
      model << testing::base64(gguf.tokenizer().piece(id)) << ' ' << id << '\n';
    }
  }
  const Model meta = Model::load(dir);
  REQUIRE(meta.has_tokenizer());
  CHECK(meta.tokenizer().bos_id() == 128000);
  CHECK(meta.tokenizer().end_of_generation_ids() == std::vector<TokenId>{128001, 128008, 128009});
  CHECK(meta.tokenizer().encode("Hello world") == std::vector<TokenId>{9906, 1917});

  const auto out = testing::hf_process_dir() / "meta-vocab-out.gguf";
  ConvertOptions options;
  options.type = "bf16";
  CHECK(convert_hf_to_gguf(dir, out, options).warnings.empty());
  const auto file = io::GgufFile::open(out);
  // The merges the ranks imply are llama.cpp's own list for Llama 3.
  CHECK(file.get("tokenizer.ggml.merges").strings("m") ==
        io::GgufFile::open(vocab_path).get("tokenizer.ggml.merges").strings("m"));
  const Model converted = Model::load(out);
  CHECK(converted.tokenizer().encode(" grabbed 🦙.cpp") ==
        meta.tokenizer().encode(" grabbed 🦙.cpp"));
  CHECK(testing::all_position_logits(converted) == testing::all_position_logits(meta));
}
