// Robustness of the GGUF reader: every truncation of a valid file and random mutations of it must
// end in a llama3::Error or a successful parse, never a crash or another exception.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "io/gguf.hpp"
#include "io/gguf_test_bytes.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"

namespace io = llama3::io;
using llama3::ErrorCode;
using llama3::testing::hostile_input;
using llama3::testing::parse_bytes;

TEST_CASE("gguf reader rejects every truncation of a valid file", "[io]") {
  const auto full = llama3::testing::small_valid_gguf().bytes;
  REQUIRE(parse_bytes(full).tensors().size() == 2);
  for (std::size_t length = 0; length < full.size(); ++length) {
    CAPTURE(length);
    std::vector<std::byte> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(length));
    try {
      hostile_input("gguf", [&] { return parse_bytes(std::move(prefix)); });
      FAIL("a truncated file parsed");
    } catch (const llama3::Error& e) {
      CHECK(e.code() == ErrorCode::kBadFormat);
    }
  }
}

TEST_CASE("gguf reader survives random mutations of a valid file", "[io]") {
  const auto full = llama3::testing::small_valid_gguf().bytes;
  // A fixed seed, so a run that passed passes again (LLAMA3_FUZZ_SEED tries others; the libFuzzer
  // target explores far more).
  const char* seed_text = std::getenv("LLAMA3_FUZZ_SEED");
  const auto seed =
      seed_text ? static_cast<std::uint32_t>(std::strtoul(seed_text, nullptr, 10)) : 20261203u;
  std::printf("gguf mutation fuzz seed: %u (replay with LLAMA3_FUZZ_SEED=%u)\n", seed, seed);
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // Bytes that turn lengths, counts and types into edge cases more often than uniform bytes do.
  const std::uint8_t interesting[] = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0x09, 0x0D, 0x40};
  int parsed = 0;
  int rejected = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    auto bytes = full;
    const int n_mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < n_mutations; ++m) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = std::byte(static_cast<std::uint8_t>(rng()));
          break;
        case 1:
          bytes[at] ^= std::byte(static_cast<std::uint8_t>(1u << (rng() % 8)));
          break;
        case 2:
          bytes[at] = std::byte(interesting[rng() % sizeof(interesting)]);
          break;
        default:
          bytes.resize(at);
          break;
      }
      if (bytes.empty()) break;
    }
    CAPTURE(iteration);
    const std::size_t size = bytes.size();
    try {
      const auto file = hostile_input("gguf", [&] { return parse_bytes(std::move(bytes)); });
      ++parsed;
      // What parsed must be consistent: every tensor's bytes inside the buffer, its size the one
      // its dims and type give, its start aligned; every string inside the buffer (under ASan, an
      // access outside it is a report).
      const auto buffer = file.file()->bytes();
      for (const auto& t : file.tensors()) {
        CAPTURE(t.name);
        REQUIRE(t.data >= buffer.data());
        REQUIRE(t.n_bytes <= size);
        REQUIRE(static_cast<std::size_t>(t.data - buffer.data()) <= size - t.n_bytes);
        CHECK(io::row_bytes(t.type, t.ne[0]).value_or(0) * (t.n_elements() / t.ne[0]) == t.n_bytes);
        CHECK(t.offset % file.alignment() == 0);
      }
      for (const auto& kv : file.metadata()) {
        if (kv.value.type() == llama3::io::GgufValueType::kString) {
          const auto text = kv.value.as_string("s");
          CHECK(reinterpret_cast<const std::byte*>(text.data()) >= buffer.data());
          CHECK(reinterpret_cast<const std::byte*>(text.data() + text.size()) <=
                buffer.data() + size);
        }
      }
    } catch (const llama3::Error&) {
      ++rejected;
    }
  }
  std::printf("gguf mutation fuzz: %d parsed, %d rejected\n", parsed, rejected);
  CHECK(parsed + rejected == 4000);
  // Both outcomes occur, so the sweep exercises the checks above and the reader's refusals.
  CHECK(rejected > 0);
  CHECK(parsed > 0);
}
