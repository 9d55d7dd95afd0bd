// Software prefetch for the one-token kernels of every arch. They unpack weights between their
// loads, so the hardware prefetchers alone keep too few cache misses in flight to stream from
// memory; each step requests the bytes ~16 KB ahead into L2. Measured on the AVX-512 kernels,
// 8192 x 2048, 1 thread: Q4_K 0.54 -> 0.41 ms, Q6_K 0.93 -> 0.68 ms (prefetching into L1, or 8 KB
// ahead, gained less); Q4_0 0.46-0.53 -> 0.405-0.47 ms on a busy host. Byte-wide Q8_0 blocks need
// no unpacking and measured no gain.
//
// Only prefetch instructions and address arithmetic, always inlined into the arch's own code.
// __builtin_prefetch with locality 2 is prefetcht1 on x86-64 (the L2 hint) and PRFM PLDL2KEEP on
// aarch64.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/k_quant_layout.hpp"
#include "kernels/packed_matrix.hpp"

namespace llama3::kernels {

inline constexpr std::size_t kPrefetchBytes = 16 << 10;

[[gnu::always_inline]] inline void prefetch_l2(const void* at) {
  __builtin_prefetch(at, 0, 2);
}

// Legacy nibble blocks (Q4_0/Q4_1): block b of a group (kBlockBytes at `block`) and, every other
// block, the line of f16 scales (32 bytes a block) ahead of `group_scales` [nb, 16].
template <std::size_t kBlockBytes>
[[gnu::always_inline]] inline void prefetch_nibble_block_ahead(const std::uint8_t* block,
                                                               const std::uint16_t* group_scales,
                                                               std::size_t b) {
  for (std::size_t l = 0; l < kBlockBytes; l += 64) {
    prefetch_l2((block + kPrefetchBytes + l));
  }
  if (b % 2 == 0) {
    prefetch_l2(reinterpret_cast<const char*>(group_scales + b * kPackedGroupRows) +
                kPrefetchBytes / 8);
  }
}

// K-quant super-blocks (format F: kDataBytes and kScaleBytes per super-block): at 32-value block
// kBlock of a super-block, 1/8 of the super-block's data and, while there are any, a line of its
// scales, ~kPrefetchBytes ahead (past a group's end that is the next group, which the stream reads
// next).
template <class F, std::size_t kBlock>
[[gnu::always_inline]] inline void prefetch_k_quant_ahead(const std::uint8_t* sb_scales,
                                                          const std::uint8_t* sb_data) {
  constexpr std::size_t kBlocksPerSuper = kKSuperValues / 32;
  constexpr std::size_t kSupers = (kPrefetchBytes + F::kDataBytes - 1) / F::kDataBytes;
  constexpr std::size_t kLines = F::kDataBytes / kKChunkBytes / kBlocksPerSuper;
  const std::uint8_t* data = sb_data + kSupers * F::kDataBytes + kBlock * kLines * kKChunkBytes;
  for (std::size_t l = 0; l < kLines; ++l) {
    prefetch_l2((data + l * kKChunkBytes));
  }
  if constexpr (kBlock * kKChunkBytes < F::kScaleBytes) {
    const std::uint8_t* scales = sb_scales + kSupers * F::kScaleBytes + kBlock * kKChunkBytes;
    prefetch_l2((scales));
  }
}

}  // namespace llama3::kernels
