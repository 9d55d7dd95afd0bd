// Folds the generated code point ranges into a two-level table: one byte per code point, grouped in
// blocks of 256 that are stored once however often they repeat (most blocks are all-zero or
// all-letter). A lookup is two loads, which keeps the pre-tokenizer's per-character cost flat for
// any script.
#include <array>
#include <map>
#include <vector>

#include "tokenizer/unicode_tables.hpp"

namespace llama3::detail {
namespace {

constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;
constexpr std::uint32_t kBlockBits = 8;
constexpr std::uint32_t kBlockSize = 1u << kBlockBits;
constexpr std::uint32_t kBlockCount = (kMaxCodePoint + 1) >> kBlockBits;

struct ClassTable {
  std::array<std::uint16_t, kBlockCount> block_of{};  // [code point >> 8] -> index into blocks
  std::vector<std::array<std::uint8_t, kBlockSize>> blocks;

  ClassTable() {
    std::vector<std::uint8_t> flat(kMaxCodePoint + 1, 0);
    for (const auto& range : code_point_ranges()) {
      for (std::uint32_t cp = range.first; cp <= range.last; ++cp) flat[cp] = range.bits;
    }
    std::map<std::array<std::uint8_t, kBlockSize>, std::uint16_t> seen;
    for (std::uint32_t block = 0; block < kBlockCount; ++block) {
      std::array<std::uint8_t, kBlockSize> content;
      for (std::uint32_t i = 0; i < kBlockSize; ++i) content[i] = flat[(block << kBlockBits) + i];
      auto [it, inserted] = seen.emplace(content, static_cast<std::uint16_t>(blocks.size()));
      if (inserted) blocks.push_back(content);
      block_of[block] = it->second;
    }
  }
};

const ClassTable& class_table() {
  static const ClassTable
      table;  // immutable after construction; C++11 guarantees a safe one-time init
  return table;
}

}  // namespace

std::uint8_t code_point_class(std::uint32_t code_point) {
  if (code_point > kMaxCodePoint) return 0;
  const auto& table = class_table();
  return table.blocks[table.block_of[code_point >> kBlockBits]][code_point & (kBlockSize - 1)];
}

}  // namespace llama3::detail
