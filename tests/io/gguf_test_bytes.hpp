// Builds GGUF byte buffers by hand for reader tests, independently of GgufWriter, so a writer bug
// cannot hide a reader bug (or the other way round).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf.hpp"
#include "llama3/error.hpp"

namespace llama3::testing {

class GgufBytes {
 public:
  GgufBytes& u8(std::uint8_t v) { return le(v, 1); }
  GgufBytes& u32(std::uint32_t v) { return le(v, 4); }
  GgufBytes& u64(std::uint64_t v) { return le(v, 8); }
  GgufBytes& le(std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<std::byte>(v >> (8 * i)));
    return *this;
  }
  GgufBytes& str(std::string_view s) {
    u64(s.size());
    for (char c : s) bytes.push_back(static_cast<std::byte>(c));
    return *this;
  }
  GgufBytes& zeros(std::size_t n) {
    bytes.insert(bytes.end(), n, std::byte{0});
    return *this;
  }
  GgufBytes& pad_to(std::size_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(std::byte{0});
    return *this;
  }
  // Magic, version and the two counts.
  GgufBytes& header(std::uint64_t n_tensors, std::uint64_t n_metadata, std::uint32_t version = 3) {
    return u32(0x46554747).u32(version).u64(n_tensors).u64(n_metadata);  // "GGUF"
  }
  // A key and its value type; the caller appends the value.
  GgufBytes& key(std::string_view k, std::uint32_t type) { return str(k).u32(type); }
  GgufBytes& kv_u32(std::string_view k, std::uint32_t v) { return key(k, 4).u32(v); }
  GgufBytes& kv_string(std::string_view k, std::string_view v) { return key(k, 8).str(v); }
  GgufBytes& tensor_info(std::string_view name, std::initializer_list<std::uint64_t> ne,
                         std::uint32_t type, std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(ne.size()));
    for (auto n : ne) u64(n);
    return u32(type).u64(offset);
  }

  std::vector<std::byte> bytes;
};

inline io::GgufFile parse_bytes(const GgufBytes& b) {
  return io::GgufFile::parse(io::MappedFile::from_bytes(b.bytes, "hostile.gguf"));
}

inline io::GgufFile parse_bytes(std::vector<std::byte> bytes) {
  return io::GgufFile::parse(io::MappedFile::from_bytes(std::move(bytes), "hostile.gguf"));
}

// The code of the llama3::Error that parsing throws, or kOk when it parses.
inline ErrorCode parse_error_code(const GgufBytes& b) {
  try {
    parse_bytes(b);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kOk;
}

// A small valid file: several value types, a string array, a nested array and two tensors, with the
// last tensor's data ending exactly at the end of the file (so every shorter prefix is invalid).
inline GgufBytes small_valid_gguf() {
  GgufBytes b;
  b.header(2, 5);
  b.kv_string("general.architecture", "llama");
  b.kv_u32("llama.block_count", 1);
  b.key("tokenizer.ggml.tokens", 9).u32(8).u64(3).str("a").str("bc").str("");
  b.key("nested", 9).u32(9).u64(2);
  b.u32(5).u64(2).u32(0xFFFFFFFF).u32(7);  // [-1, 7] as int32
  b.u32(8).u64(1).str("x");
  b.key("llama.rope.freq_base", 6).u32(0x47C35000);  // 100000.0f
  b.tensor_info("a.weight", {4, 2}, 0, 0);           // F32, 32 bytes
  b.tensor_info("b.weight", {32}, 8, 32);            // Q8_0, 34 bytes
  b.pad_to(32);
  for (int i = 0; i < 32; ++i) b.u8(static_cast<std::uint8_t>(i));
  for (int i = 0; i < 34; ++i) b.u8(static_cast<std::uint8_t>(100 + i));
  return b;
}

}  // namespace llama3::testing
