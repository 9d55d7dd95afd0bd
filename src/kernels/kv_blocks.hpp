// Where attention finds one KV head's keys and values: a list of blocks of `block_positions`
// positions each, position p in block p / block_positions at row p % block_positions, rows
// `stride` elements apart inside a block. A contiguous cache is the one-block case; the engine's
// paged pool hands over one pointer per block of a sequence's block table.
//
// The attention kernels take keys 16 at a time (kAttentionKeyBlock) with one softmax update per
// group of 16, starting at position 0. A block size that is a multiple of 16 keeps every group of
// 16 inside one block, so a paged sequence and a contiguous cache go through exactly the same
// arithmetic in the same order: their outputs are bit-identical.
#pragma once

#include <cstddef>

namespace llama3::kernels {

constexpr std::size_t kAttentionKeyBlock = 16;
// The bf16 kernels with bf16 products (x86/avx512/attention_bf16.cpp) take 32 keys per softmax
// step: their paged blocks must hold a multiple of 32 positions for the same bit-identity.
constexpr std::size_t kBf16AttentionKeyStep = 32;

template <typename Element>
struct KvBlocks {
  using element_type = Element;
  const Element* const* keys = nullptr;    // [n_blocks] block starts
  const Element* const* values = nullptr;  // [n_blocks]
  std::size_t block_positions = 0;         // a multiple of kAttentionKeyBlock (bf16:
                                           // kBf16AttentionKeyStep), or >= n_keys
  std::size_t stride = 0;                  // elements between consecutive positions in a block

  const Element* key_row(std::size_t position) const {
    return keys[position / block_positions] + (position % block_positions) * stride;
  }
  const Element* value_row(std::size_t position) const {
    return values[position / block_positions] + (position % block_positions) * stride;
  }
};

}  // namespace llama3::kernels
