// A session's memory is checked before it is allocated: the estimate is the hand-computed size,
// and an n_ctx whose KV cache cannot fit fails at once, naming what it needs and what there is.
#include <catch2/catch.hpp>

#include "io/system_memory.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "runtime/memory_budget.hpp"
#include "support/error_code.hpp"
#include "support/test_models.hpp"

using namespace llama3;

TEST_CASE("a session's memory estimate is the KV cache plus one batch of scratch", "[runtime]") {
  ModelConfig config;
  config.n_layers = 2;
  config.n_kv_heads = 2;
  config.n_heads = 8;
  config.head_dim = 32;
  config.dim = 256;
  config.ffn_dim = 512;
  config.n_vocab = 512;
  // KV: 2 (K, V) x 2 layers x 2 heads x 32 x 100 positions x 2 bytes = 51200.
  // Scratch per token, floats: 3 x 256 + 2 x 256 (q) + 2 x 64 (k, v) + 2 x 512 + 32 + 512 = 2976,
  // for a batch of 4: 2976 x 4 x 4 bytes = 47616.
  CHECK(runtime::session_memory_bytes(config, 100, KvCacheType::kF16, 4) == 51200 + 47616);
  CHECK(runtime::session_memory_bytes(config, 100, KvCacheType::kF32, 4) == 2 * 51200 + 47616);
}

TEST_CASE("an n_ctx whose KV cache cannot fit in memory fails before allocating", "[runtime]") {
  const Model model =
      Model::load(testing::make_test_model("--shape tiny --type q8_0 --seed 8", "budget.gguf"));
  const auto available = io::available_memory_bytes();
  if (!available) {
    WARN("neither /proc/meminfo nor the cgroup tells the available memory: nothing to check");
    return;
  }
  // 2^31-1 positions of the tiny model: 2 x 2 x 2 x 32 x 2 bytes = 512 bytes each, ~1 TiB.
  const int n_ctx = 2147483647;
  REQUIRE(runtime::session_memory_bytes(model.config(), n_ctx, KvCacheType::kF16, 64) > *available);
  const std::string message = testing::message_of([&] { Session(model, {.n_ctx = n_ctx}); });
  CHECK_THAT(message, Catch::Contains("n_ctx 2147483647 needs 1024.") &&
                          Catch::Contains("GiB of memory is available"));
  CHECK(testing::code_of([&] { Session(model, {.n_ctx = n_ctx}); }) == ErrorCode::kOutOfMemory);
  CHECK_NOTHROW(Session(model, {.n_ctx = 4096}));
}
