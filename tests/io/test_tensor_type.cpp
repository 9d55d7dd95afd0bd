#include <catch2/catch.hpp>

#include "io/tensor_type.hpp"

using llama3::io::TensorType;

TEST_CASE("tensor type traits match ggml's block sizes", "[io]") {
  // (block_size, type_size) pairs as gguf-py GGML_QUANT_SIZES lists them.
  struct Expected {
    std::uint32_t id, block, bytes;
  };
  const Expected expected[] = {{0, 1, 4},      {1, 1, 2},      {2, 32, 18},    {3, 32, 20},
                               {6, 32, 22},    {7, 32, 24},    {8, 32, 34},    {10, 256, 84},
                               {11, 256, 110}, {12, 256, 144}, {13, 256, 176}, {14, 256, 210},
                               {15, 256, 292}, {30, 1, 2}};
  for (const auto& e : expected) {
    auto traits = llama3::io::tensor_type_traits(e.id);
    REQUIRE(traits);
    CHECK(traits->block_size == e.block);
    CHECK(traits->block_bytes == e.bytes);
  }
  CHECK_FALSE(llama3::io::tensor_type_traits(31));  // removed id
  CHECK_FALSE(llama3::io::tensor_type_traits(1000));
}

TEST_CASE("row bytes require whole blocks", "[io]") {
  CHECK(llama3::io::row_bytes(TensorType::kQ4_K, 512) == 288u);
  CHECK_FALSE(llama3::io::row_bytes(TensorType::kQ4_K, 500));
  CHECK(llama3::io::row_bytes(TensorType::kF16, 7) == 14u);
  CHECK_FALSE(llama3::io::row_bytes(TensorType::kF32, std::uint64_t{1} << 62));  // overflow
}

TEST_CASE("tensor types are found by name in any case", "[io]") {
  CHECK(llama3::io::tensor_type_from_name("Q4_K") == TensorType::kQ4_K);
  CHECK(llama3::io::tensor_type_from_name("bf16") == TensorType::kBF16);
  CHECK_FALSE(llama3::io::tensor_type_from_name("q4_k_m"));
}
