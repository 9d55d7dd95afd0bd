// Model loading: configuration from metadata and the clear errors for inconsistent files.
#include <catch2/catch.hpp>

#include <functional>
#include <map>

#include "io/gguf.hpp"
#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "support/test_data.hpp"

using namespace llama3;

namespace {

// A minimal llama GGUF: dim 8, 2 heads, 1 KV head, 1 layer, FFN 16, vocab 10, all F32. `edit` may
// change the metadata and the tensor list before writing.
struct TinySpec {
  std::map<std::string, std::uint32_t> u32{
      {"llama.embedding_length", 8},        {"llama.block_count", 1},
      {"llama.feed_forward_length", 16},    {"llama.attention.head_count", 2},
      {"llama.attention.head_count_kv", 1}, {"llama.context_length", 64}};
  std::string architecture = "llama";
  bool rope_theta = true;
  std::map<std::string, std::vector<std::uint64_t>> tensors{
      {"token_embd.weight", {8, 10}},   {"blk.0.attn_norm.weight", {8}},
      {"blk.0.attn_q.weight", {8, 8}},  {"blk.0.attn_k.weight", {8, 4}},
      {"blk.0.attn_v.weight", {8, 4}},  {"blk.0.attn_output.weight", {8, 8}},
      {"blk.0.ffn_norm.weight", {8}},   {"blk.0.ffn_gate.weight", {8, 16}},
      {"blk.0.ffn_up.weight", {8, 16}}, {"blk.0.ffn_down.weight", {16, 8}},
      {"output_norm.weight", {8}},      {"output.weight", {8, 10}}};
};

std::filesystem::path write_tiny(const TinySpec& spec, const std::string& name) {
  io::GgufWriter writer;
  writer.set_string("general.architecture", spec.architecture);
  for (const auto& [key, value] : spec.u32) writer.set_uint32(key, value);
  if (spec.rope_theta) writer.set_float32("llama.rope.freq_base", 500000.0f);
  writer.set_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  std::vector<std::uint64_t> sizes;
  for (const auto& [tensor, ne] : spec.tensors) {
    writer.add_tensor(tensor, ne, io::TensorType::kF32);
    std::uint64_t n = 1;
    for (auto d : ne) n *= d;
    sizes.push_back(n);
  }
  const auto path = testing::scratch_dir("model-load-" + name) / "model.gguf";
  writer.write(path, [&](std::size_t index, std::vector<std::byte>& out) {
    const std::vector<float> values(sizes[index], 0.5f);
    const auto* bytes = reinterpret_cast<const std::byte*>(values.data());
    out.insert(out.end(), bytes, bytes + values.size() * sizeof(float));
  });
  return path;
}

void check_load_error(const TinySpec& spec, const std::string& name, ErrorCode code,
                      const std::string& mention) {
  const auto path = write_tiny(spec, name);
  try {
    Model::load(path);
    FAIL("loading succeeded, expected an error mentioning " << mention);
  } catch (const Error& error) {
    INFO(error.what());
    CHECK(error.code() == code);
    CHECK_THAT(error.what(), Catch::Contains(mention));
  }
}

}  // namespace

TEST_CASE("a consistent tiny llama file loads with the right configuration", "[model]") {
  const Model model = Model::load(write_tiny(TinySpec{}, "ok"));
  const auto& c = model.config();
  CHECK(c.dim == 8);
  CHECK(c.n_heads == 2);
  CHECK(c.n_kv_heads == 1);
  CHECK(c.head_dim == 4);
  CHECK(c.n_vocab == 10);
  CHECK(c.rope_theta == 500000.0f);
  CHECK_FALSE(c.tied_embeddings);
  CHECK_FALSE(c.has_rope_freqs);
  CHECK_FALSE(model.has_tokenizer());
  CHECK_THROWS_AS(model.tokenizer(), Error);
}

TEST_CASE("a file without rope.freq_base uses the Llama 2 default 10000", "[model]") {
  TinySpec spec;
  spec.rope_theta = false;
  CHECK(Model::load(write_tiny(spec, "no-theta")).config().rope_theta == 10000.0f);
}

TEST_CASE("a file without output.weight ties the output layer to the embedding", "[model]") {
  TinySpec spec;
  spec.tensors.erase("output.weight");
  CHECK(Model::load(write_tiny(spec, "tied")).config().tied_embeddings);
}

TEST_CASE("inconsistent model files are rejected with an error naming the cause", "[model]") {
  SECTION("another architecture") {
    TinySpec spec;
    spec.architecture = "gemma";
    check_load_error(spec, "arch", ErrorCode::kUnsupported, "gemma");
  }
  SECTION("head counts that do not divide") {
    TinySpec spec;
    spec.u32["llama.attention.head_count_kv"] = 3;
    check_load_error(spec, "gqa", ErrorCode::kBadFormat, "head_count_kv");
  }
  SECTION("dim not a multiple of the head count") {
    TinySpec spec;
    spec.u32["llama.attention.head_count"] = 3;
    spec.u32["llama.attention.head_count_kv"] = 3;
    check_load_error(spec, "dim", ErrorCode::kBadFormat, "embedding_length");
  }
  SECTION("vocab_size different from the embedding rows") {
    TinySpec spec;
    spec.u32["llama.vocab_size"] = 11;
    check_load_error(spec, "vocab", ErrorCode::kBadFormat, "llama.vocab_size");
  }
  SECTION("a missing tensor") {
    TinySpec spec;
    spec.tensors.erase("blk.0.ffn_up.weight");
    check_load_error(spec, "missing", ErrorCode::kBadFormat, "blk.0.ffn_up.weight");
  }
  SECTION("a tensor of the wrong shape") {
    TinySpec spec;
    spec.tensors["blk.0.attn_k.weight"] = {8, 8};
    check_load_error(spec, "shape", ErrorCode::kBadFormat, "blk.0.attn_k.weight");
  }
  SECTION("a missing required key") {
    TinySpec spec;
    spec.u32.erase("llama.block_count");
    check_load_error(spec, "key", ErrorCode::kBadFormat, "llama.block_count");
  }
  SECTION("a tensor of the wrong shape names both shapes") {
    TinySpec spec;
    spec.tensors["blk.0.ffn_down.weight"] = {16, 4};
    check_load_error(spec, "both-shapes", ErrorCode::kBadFormat,
                     "blk.0.ffn_down.weight: the metadata gives shape [16, 8], the weights have "
                     "[16, 4]");
  }
}

TEST_CASE("a block count the tensors do not match fails before anything is sized by it",
          "[model]") {
  // 2^31-1 blocks once threw std::bad_alloc, 10^7 took seconds and gigabytes before "missing
  // tensor": the count is now checked against the tensor names first.
  for (const std::uint32_t blocks : {2147483647u, 10000000u, 2u}) {
    INFO("llama.block_count " << blocks);
    TinySpec spec;
    spec.u32["llama.block_count"] = blocks;
    check_load_error(spec, "blocks-" + std::to_string(blocks), ErrorCode::kBadFormat,
                     "llama.block_count = " + std::to_string(blocks) +
                         " but the weights have tensors for 1 block");
  }
  SECTION("fewer blocks in the metadata than in the tensors") {
    TinySpec spec;
    for (const auto& [name, ne] : TinySpec{}.tensors) {
      if (name.rfind("blk.0.", 0) == 0) spec.tensors["blk.1." + name.substr(6)] = ne;
    }
    check_load_error(spec, "fewer-blocks", ErrorCode::kBadFormat,
                     "llama.block_count = 1 but the weights have tensors for 2 blocks");
  }
}
