// Engine with a q8_0 or bf16 KV pool: rows are rounded one by one as they are stored, so batching,
// paging and prefix reuse stay bit-identical to a lone Session of the same type, as with f16.
#include <catch2/catch.hpp>

#include "engine/engine_test_support.hpp"
#include "llama3/session.hpp"

using namespace llama3;
using namespace llama3::testing;

namespace {

EngineOptions compact_options(KvCacheType type) {
  return {.n_threads = 2, .n_ctx = 256, .kv_cache_type = type, .background = false};
}

// Logits rows a Session with a `type` cache gives for the prompt and then each of `tokens`.
std::vector<float> session_logits(KvCacheType type, const std::vector<TokenId>& prompt,
                                  const std::vector<TokenId>& tokens) {
  Session session(engine_test_model(), {.n_ctx = 256, .n_threads = 1, .kv_cache_type = type});
  std::vector<float> expected;
  auto logits = session.decode(prompt);
  for (TokenId id : tokens) {
    expected.insert(expected.end(), logits.begin(), logits.end());
    logits = session.decode(std::span<const TokenId>(&id, 1));
  }
  return expected;
}

}  // namespace

TEST_CASE("a q8_0 or bf16 engine batch gives each sequence a lone Session's logits bit for bit",
          "[engine]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO((type == KvCacheType::kQ8_0 ? "q8_0" : "bf16"));
  Engine engine(engine_test_model(), compact_options(type));
  const std::size_t lengths[] = {1, 31, 33, 70, 9};
  std::vector<RecordedRun> runs(std::size(lengths));
  std::vector<Engine::RequestId> ids;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    ids.push_back(engine.submit(
        recording_request(test_prompt(lengths[i], static_cast<unsigned>(i)), 7, 100 + i, runs[i])));
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    runs[i].result = engine.wait(ids[i]);
    INFO("prompt of " << lengths[i] << " tokens");
    REQUIRE(runs[i].result.state == RequestState::kFinished);
    CHECK(same_bits(runs[i].logits,
                    session_logits(type, test_prompt(lengths[i], static_cast<unsigned>(i)),
                                   runs[i].result.generation.tokens)));
  }
}

TEST_CASE("a reused prompt prefix in a q8_0 or bf16 pool gives a fresh computation's bits",
          "[engine]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO((type == KvCacheType::kQ8_0 ? "q8_0" : "bf16"));
  auto system = test_prompt(100, 3);  // three full blocks and a partial one
  auto first = system, second = system;
  const auto a_tail = test_prompt(7, 4), b_tail = test_prompt(12, 5);
  first.insert(first.end(), a_tail.begin(), a_tail.end());
  second.insert(second.end(), b_tail.begin(), b_tail.end());
  Engine engine(engine_test_model(), compact_options(type));
  RecordedRun a, b;
  a.result = engine.wait(engine.submit(recording_request(first, 5, 1, a)));
  b.result = engine.wait(engine.submit(recording_request(second, 5, 2, b)));
  CHECK(b.result.n_reused_prompt_tokens == 96);
  Engine fresh_engine(engine_test_model(), compact_options(type));
  RecordedRun fresh;
  fresh.result = fresh_engine.wait(fresh_engine.submit(recording_request(second, 5, 2, fresh)));
  CHECK(b.result.generation.tokens == fresh.result.generation.tokens);
  CHECK(same_bits(b.logits, fresh.logits));
}
