// The forward pass split into stages over partial models (what a pipeline's ranks run, here in one
// process without MPI): the same logits, bit for bit, as the whole model in one pass.
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "kernels/thread_pool.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "model/model_impl.hpp"
#include "runtime/forward.hpp"
#include "runtime/kv_cache.hpp"
#include "runtime/layer_range_memory.hpp"
#include "support/error_code.hpp"
#include "support/test_data.hpp"

using namespace llama3;

namespace {

Model load_layers(int first, int last) {
  return detail::load_model_layers(testing::require_data_file("stories260K.gguf"), {},
                                   [&](const ModelConfig&) {
                                     return detail::LayerRange{first, last};
                                   });
}

struct StageUnderTest {
  StageUnderTest(int first, int last, int n_ctx)
      : model(load_layers(first, last)),
        first(first),
        last(last),
        pool(1),
        cache(last - first, n_ctx, model.config().n_kv_heads, model.config().head_dim,
              KvCacheType::kF16),
        memory(cache, first),
        forward(detail::ModelAccess::impl(model), memory, pool) {}
  Model model;
  int first, last;
  kernels::ThreadPool pool;
  runtime::KvCache cache;
  runtime::LayerRangeMemory memory;
  runtime::ForwardPass forward;
};

}  // namespace

TEST_CASE("a partial model binds only its layers, and a Session refuses it", "[model][data]") {
  const Model whole = Model::load(testing::require_data_file("stories260K.gguf"));
  const int n_layers = whole.config().n_layers;
  REQUIRE(n_layers >= 2);
  const Model head = load_layers(0, 1);
  const Model tail = load_layers(1, n_layers);
  const auto& head_impl = detail::ModelAccess::impl(head);
  const auto& tail_impl = detail::ModelAccess::impl(tail);
  CHECK(head_impl.is_partial());
  CHECK(head_impl.has_embedding());
  CHECK_FALSE(head_impl.has_output());
  CHECK(head_impl.layers()[0].attn_q.data != nullptr);
  CHECK(head_impl.layers()[1].attn_q.data == nullptr);
  CHECK(tail_impl.layers()[0].ffn_down.data == nullptr);
  CHECK(tail_impl.layers()[static_cast<std::size_t>(n_layers - 1)].ffn_down.data != nullptr);
  CHECK(tail_impl.has_output());
  CHECK(tail_impl.has_embedding() == whole.config().tied_embeddings);
  // The configuration and tokenizer stay whole on every share.
  CHECK(head.config().n_layers == n_layers);
  CHECK(tail.tokenizer().vocab_size() == whole.tokenizer().vocab_size());
  CHECK_FALSE(detail::ModelAccess::impl(whole).is_partial());

  CHECK(testing::code_of([&] { Session session(head); }) == ErrorCode::kInvalidArgument);
  CHECK(testing::code_of([&] { (void)load_layers(1, 1); }) == ErrorCode::kInvalidArgument);
  CHECK(testing::code_of([&] { (void)load_layers(0, n_layers + 1); }) ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("stages over partial models give the whole model's logits bit for bit",
          "[runtime][data]") {
  const Model whole = Model::load(testing::require_data_file("stories260K.gguf"));
  const ModelConfig& config = whole.config();
  const int n_layers = config.n_layers;
  const int n_ctx = 64;
  const auto n_vocab = static_cast<std::size_t>(config.n_vocab);
  const auto dim = static_cast<std::size_t>(config.dim);

  std::vector<TokenId> prompt(13);
  std::iota(prompt.begin(), prompt.end(), 40);
  prompt[0] = whole.tokenizer().bos_id();
  Session session(whole, {.n_ctx = n_ctx, .n_threads = 1});
  const auto whole_prompt = session.decode_all_logits(prompt);
  const std::vector<float> expected_prompt(whole_prompt.begin(), whole_prompt.end());
  const std::vector<TokenId> steps{77, 5, 300};
  std::vector<float> expected_steps;
  for (TokenId id : steps) {
    const auto logits = session.decode(std::span<const TokenId>(&id, 1));
    expected_steps.insert(expected_steps.end(), logits.begin(), logits.end());
  }

  for (int cut = 1; cut < n_layers; ++cut) {
    INFO("layers [0, " << cut << ") then [" << cut << ", " << n_layers << ")");
    StageUnderTest first(0, cut, n_ctx);
    StageUnderTest second(cut, n_layers, n_ctx);
    // Hidden states pass from the first stage to the second, in micro-batches of 5 rows.
    auto run = [&](std::span<const runtime::ForwardRow> rows, float* logits) {
      first.forward.embed(rows);
      first.forward.run_layers(rows, first.first, first.last);
      std::memcpy(second.forward.hidden(), first.forward.hidden(), rows.size() * dim * 4);
      second.forward.run_layers(rows, second.first, second.last);
      return second.forward.output_logits(rows, logits);
    };
    std::vector<runtime::ForwardRow> rows;
    for (std::size_t t = 0; t < prompt.size(); ++t) {
      rows.push_back({prompt[t], static_cast<int>(t), 0, true});
    }
    std::vector<float> got(prompt.size() * n_vocab);
    std::size_t written = 0;
    for (std::size_t begin = 0; begin < rows.size(); begin += 5) {
      const auto count = std::min<std::size_t>(5, rows.size() - begin);
      written += static_cast<std::size_t>(
          run(std::span(rows).subspan(begin, count), got.data() + written * n_vocab));
    }
    REQUIRE(written == prompt.size());
    CHECK(std::memcmp(got.data(), expected_prompt.data(), got.size() * sizeof(float)) == 0);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const runtime::ForwardRow row{steps[s], static_cast<int>(prompt.size() + s), 0, true};
      std::vector<float> step(n_vocab);
      REQUIRE(run(std::span(&row, 1), step.data()) == 1);
      CHECK(std::memcmp(step.data(), expected_steps.data() + s * n_vocab,
                        n_vocab * sizeof(float)) == 0);
    }
  }
}
