// Constants and little-endian helpers shared by the GGUF reader and writer (internal to src/io).
// Values follow ggml's gguf.cpp so files round-trip with llama.cpp: see docs/facts.md §4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "io/gguf.hpp"

namespace llama3::io::gguf_format {

// "GGUF" read as a little-endian u32.
inline constexpr std::uint32_t kMagic = 0x46554747;
inline constexpr std::uint32_t kVersion = 3;
inline constexpr std::uint64_t kDefaultAlignment = 32;
inline constexpr std::string_view kAlignmentKey = "general.alignment";
// ggml stores names in a char[GGML_MAX_NAME = 64] with a NUL, so it rejects names of 64 bytes or
// more.
inline constexpr std::size_t kMaxTensorNameBytes = 63;
inline constexpr std::uint32_t kMaxDims = 4;
// Arrays may nest; recursion is bounded so a hostile file cannot exhaust the stack.
inline constexpr int kMaxArrayDepth = 8;

// Size in bytes of a fixed-size value type, or nothing for strings, arrays and unknown ids.
inline std::optional<std::size_t> fixed_size(std::uint32_t type_id) {
  switch (static_cast<GgufValueType>(type_id)) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return std::nullopt;
  }
  return std::nullopt;
}

inline bool is_known_type(std::uint32_t type_id) {
  return type_id <= 12;
}

inline bool is_integer(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

inline bool is_signed_integer(GgufValueType type) {
  return type == GgufValueType::kInt8 || type == GgufValueType::kInt16 ||
         type == GgufValueType::kInt32 || type == GgufValueType::kInt64;
}

// Reads `n` (<= 8) little-endian bytes as an unsigned integer, independent of the host's byte
// order.
inline std::uint64_t load_le(const std::byte* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= std::uint64_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}

// Sign-extends the low `n` bytes of `bits`.
inline std::int64_t sign_extend(std::uint64_t bits, std::size_t n) {
  if (n >= 8) return static_cast<std::int64_t>(bits);
  const std::uint64_t sign = std::uint64_t{1} << (8 * n - 1);
  return static_cast<std::int64_t>((bits ^ sign) - sign);
}

inline bool is_power_of_two(std::uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// Rounds `x` up to a multiple of the power of two `alignment`; nothing on overflow.
inline std::optional<std::uint64_t> align_up(std::uint64_t x, std::uint64_t alignment) {
  const std::uint64_t rem = x & (alignment - 1);
  if (rem == 0) return x;
  const std::uint64_t pad = alignment - rem;
  if (x > UINT64_MAX - pad) return std::nullopt;
  return x + pad;
}

}  // namespace llama3::io::gguf_format
