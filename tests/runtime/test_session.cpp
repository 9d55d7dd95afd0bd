// Session: prefill versus token-by-token, context limits, bad ids, KV cache types.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "support/error_code.hpp"
#include "support/hostile_input.hpp"
#include "support/test_data.hpp"
#include "support/test_models.hpp"

using namespace llama3;

namespace {

const Model& tiny_model() {
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 7", "session-q8_0.gguf"));
  return model;
}

std::vector<TokenId> some_tokens(std::size_t n) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) tokens.push_back(static_cast<TokenId>((i * 37 + 11) % 512));
  return tokens;
}

float max_abs_difference(std::span<const float> a, std::span<const float> b) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("prefill in one batch gives the same logits as decoding token by token", "[runtime]") {
  const auto tokens = some_tokens(70);  // more than one internal chunk of 64
  Session batch(tiny_model(), {.n_ctx = 128, .n_threads = 2});
  const auto all = batch.decode_all_logits(tokens);
  const std::vector<float> batched(all.begin(), all.end());

  Session single(tiny_model(), {.n_ctx = 128, .n_threads = 1});
  const auto n_vocab = static_cast<std::size_t>(tiny_model().config().n_vocab);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto logits = single.decode(std::span<const TokenId>(&tokens[i], 1));
    INFO("position " << i);
    REQUIRE(max_abs_difference(
                logits, std::span<const float>(batched).subspan(i * n_vocab, n_vocab)) == 0.0f);
  }
  CHECK(single.n_past() == 70);
}

TEST_CASE("decode returns the last position's logits", "[runtime]") {
  const auto tokens = some_tokens(5);
  Session a(tiny_model(), {.n_ctx = 16});
  Session b(tiny_model(), {.n_ctx = 16});
  const auto last = a.decode(tokens);
  const auto all = b.decode_all_logits(tokens);
  const auto n_vocab = static_cast<std::size_t>(tiny_model().config().n_vocab);
  CHECK(max_abs_difference(last, all.subspan(4 * n_vocab, n_vocab)) == 0.0f);
  CHECK(max_abs_difference(a.logits(), last) == 0.0f);
}

TEST_CASE("a full context is an error that leaves the session usable", "[runtime]") {
  Session session(tiny_model(), {.n_ctx = 8});
  session.decode(some_tokens(6));
  try {
    session.decode(some_tokens(3));
    FAIL("expected kContextFull");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kContextFull);
  }
  CHECK(session.n_past() == 6);
  CHECK_NOTHROW(session.decode(some_tokens(2)));
  CHECK(session.n_past() == 8);
  session.reset();
  CHECK(session.n_past() == 0);
  CHECK_NOTHROW(session.decode(some_tokens(8)));
}

TEST_CASE("token ids outside the vocabulary are rejected before any work", "[runtime]") {
  Session session(tiny_model(), {.n_ctx = 8});
  const std::vector<TokenId> bad{1, 512};
  CHECK_THROWS_AS(session.decode(bad), Error);
  const std::vector<TokenId> negative{-1};
  CHECK_THROWS_AS(session.decode(negative), Error);
  CHECK(session.n_past() == 0);
  CHECK_THROWS_AS(session.decode(std::vector<TokenId>{}), Error);
}

TEST_CASE("an f16 KV cache stays close to an f32 one", "[runtime]") {
  // F32 weights: their kernels keep activations in f32, so the only difference between the two
  // sessions is the cache's rounding (with 8-bit activations, a tiny change can move a value to the
  // next rounding step, which would measure the activation rounding instead).
  static const Model f32_model =
      Model::load(testing::make_test_model("--shape tiny --type f32 --seed 7", "session-f32.gguf"));
  const auto tokens = some_tokens(20);
  Session half(f32_model, {.n_ctx = 32, .kv_cache_type = KvCacheType::kF16});
  Session full(f32_model, {.n_ctx = 32, .kv_cache_type = KvCacheType::kF32});
  const auto a = half.decode(tokens);
  const std::vector<float> half_logits(a.begin(), a.end());
  const auto b = full.decode(tokens);
  float scale = 0.0f;
  for (float v : b) scale = std::max(scale, std::abs(v));
  // f16 keeps 11 significant bits: relative error ~5e-4 per cached value, averaged by attention.
  CHECK(max_abs_difference(half_logits, b) <= 5e-3f * std::max(1.0f, scale));
}

TEST_CASE("saved state restores the same continuation and rejects damage", "[runtime]") {
  const auto prompt = some_tokens(9);
  Session original(tiny_model(), {.n_ctx = 32});
  original.decode(prompt);
  const auto state = original.save_state();

  const auto next = some_tokens(3);
  const auto expected_span = original.decode(next);
  const std::vector<float> expected(expected_span.begin(), expected_span.end());

  Session restored(tiny_model(), {.n_ctx = 32});
  restored.load_state(state);
  CHECK(restored.n_past() == 9);
  CHECK(max_abs_difference(restored.decode(next), expected) == 0.0f);

  auto damaged = state;
  damaged[damaged.size() / 2] ^= std::byte{1};
  Session fresh(tiny_model(), {.n_ctx = 32});
  CHECK_THROWS_AS(testing::hostile_input("session_state", [&] { fresh.load_state(damaged); }),
                  Error);
  CHECK(fresh.n_past() == 0);

  Session other_cache(tiny_model(), {.n_ctx = 32, .kv_cache_type = KvCacheType::kF32});
  try {
    testing::hostile_input("session_state", [&] { other_cache.load_state(state); });
    FAIL("expected a KV cache type mismatch");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInvalidArgument);
  }
  Session small(tiny_model(), {.n_ctx = 4});
  CHECK_THROWS_AS(testing::hostile_input("session_state", [&] { small.load_state(state); }), Error);
  std::vector<std::byte> truncated(state.begin(), state.begin() + 10);
  CHECK_THROWS_AS(testing::hostile_input("session_state", [&] { fresh.load_state(truncated); }),
                  Error);
}

TEST_CASE("truncated and bit-flipped states are refused and leave the session empty", "[runtime]") {
  Session original(tiny_model(), {.n_ctx = 32});
  original.decode(some_tokens(9));
  const auto state = original.save_state();
  REQUIRE(state.size() > 64);
  Session fresh(tiny_model(), {.n_ctx = 32});
  // 64 lengths and 64 byte positions spread over the whole state (header, tokens, KV, checksum).
  for (std::size_t k = 0; k < 64; ++k) {
    const std::size_t at = k * (state.size() - 1) / 63;
    CAPTURE(k, at);
    const std::vector<std::byte> truncated(state.begin(),
                                           state.begin() + static_cast<std::ptrdiff_t>(at));
    CHECK(testing::code_of([&] {
            testing::hostile_input("session_state", [&] { fresh.load_state(truncated); });
          }) != ErrorCode::kOk);
    auto flipped = state;
    flipped[at] ^= std::byte{0x10};
    CHECK(testing::code_of([&] {
            testing::hostile_input("session_state", [&] { fresh.load_state(flipped); });
          }) != ErrorCode::kOk);
    CHECK(fresh.n_past() == 0);
  }
}

TEST_CASE("a state file is written safely: through a link, never over a FIFO or a half file",
          "[runtime]") {
  const auto dir = testing::scratch_dir("session-state-file");
  Session session(tiny_model(), {.n_ctx = 16});
  session.decode(some_tokens(5));

  std::filesystem::create_directories(dir / "states");
  std::ofstream(dir / "states" / "real.state") << "an older state";
  std::filesystem::create_symlink("states/real.state", dir / "link.state");
  session.save_state_file(dir / "link.state");
  CHECK(std::filesystem::is_symlink(dir / "link.state"));
  Session restored(tiny_model(), {.n_ctx = 16});
  restored.load_state_file(dir / "states" / "real.state");
  CHECK(restored.n_past() == 5);

  REQUIRE(::mkfifo((dir / "fifo.state").c_str(), 0600) == 0);
  CHECK(testing::code_of([&] { session.save_state_file(dir / "fifo.state"); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(std::filesystem::is_fifo(dir / "fifo.state"));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "states")) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"real.state"});
}
