// Element types of stored tensors, numbered as ggml numbers them (GGUF stores these ids). Quantized
// types pack `block_size` values into `block_bytes` bytes; a tensor row is always a whole number of
// blocks along ne[0]. Kernels use these traits too; nothing here knows about files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llama3::io {

enum class TensorType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct TensorTypeTraits {
  TensorType type;
  std::string_view name;    // as ggml spells it: "q4_K", "bf16"
  std::uint32_t block_size;  // values per block (1 for plain types)
  std::uint32_t block_bytes;  // bytes per block
};

// The traits of a type id read from a file, or nothing for an id this library does not know.
std::optional<TensorTypeTraits> tensor_type_traits(std::uint32_t type_id);

// Same, for a type known to be valid (throws llama3::Error kInternal otherwise).
const TensorTypeTraits& traits_of(TensorType type);

// Looks a type up by its ggml name, case-insensitively ("Q8_0", "q4_k", "bf16").
std::optional<TensorType> tensor_type_from_name(std::string_view name);

// Bytes of one row of `n` values, or nothing when n is not a multiple of the block size or the
// byte count would overflow.
std::optional<std::uint64_t> row_bytes(TensorType type, std::uint64_t n);

}  // namespace llama3::io
