// The AMX level's quantized matmul: Intel's Advanced Matrix Extensions multiply a tile of 16
// tokens' int8 activations by a tile of 16 rows' int8 weights in one instruction (tdpbssd), where
// AVX-512 needs a vpdpbusd per token and 4 values.
//
// One tdpbssd spans one block (K = 32 values; 16 for Q6_K's sub-blocks): every block has its own
// weight and activation scales, so its int32 sums are scaled before the next block's are added.
// Per block the tile of sums is stored and the AVX-512 units scale it into 16 accumulators while
// the tile unit works on the next block (two sets of tiles, alternating). The integer sums are
// exact and the float steps are the AVX-512 kernels' in their order (the same scale vectors, one
// convert, one multiply, one FMA, and the FMA of the mins), so this level's results are AVX-512's
// bit for bit (tests/kernels/test_matmul.cpp). Short batches (kMinTokens) go to AVX-512's kernels.
//
// A packed group's 32-value block is already the B tile's layout (16 rows x 4 values per 64-byte
// chunk, VNNI order; packed_matrix.hpp, k_quant_layout.hpp). Per group and token chunk its blocks
// are widened once to signed bytes (q - zero_point, which fits int8 for every type), with each
// block's 16 row scales (and mins) as f32, and then serve every 16-token tile of the chunk. The
// chunk's activations are copied once into A tiles of 16 tokens x one block, contiguous per block:
// loading 16 rows at a stride of `cols` bytes (a multiple of 4 KiB in Llama's shapes) would put
// all of them in one L1 set.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/grow_only_scratch.hpp"
#include "kernels/arch/x86/avx512/k_quant_unpack.hpp"
#include "kernels/k_quant_layout.hpp"

namespace llama3::kernels::amx {
namespace {

constexpr std::size_t kTileTokens = 16;  // rows of an A tile (and of the sums tile)
// Tokens whose activation tiles stay in L2 while the thread's weight groups pass them: each group
// is widened once per chunk, so the chunk is as long as about 1 MiB of activations allows.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxTokenChunk = 256;
// Fewer tokens than this take AVX-512's kernels: every call widens all its groups' weights and
// pays a tile's latency per block, which a short batch does not amortize (on the 8B shape AVX-512
// is faster up to about 24 tokens; bench/matmul_probe with LLAMA3_ARCH=avx512 and amx).
constexpr std::size_t kMinTokens = 32;

std::size_t token_chunk(std::size_t cols) {
  const std::size_t fit = kChunkBytes / cols / kTileTokens * kTileTokens;
  return std::clamp(fit, kTileTokens, kMaxTokenChunk);
}

// The tile configuration (palette 1): per tile its rows and bytes per row.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};

// Two sets, so one block's sums are scaled while the next block multiplies: sums in tiles 0 | 1,
// activations in 2 | 3, weights in 4 | 5. kB: the values of a block (K).
template <std::size_t kB>
TileConfig tile_config() {
  TileConfig config;
  for (const int sums : {0, 1}) {
    config.rows[sums] = kTileTokens;
    config.bytes_per_row[sums] = kPackedGroupRows * sizeof(std::int32_t);
  }
  for (const int acts : {2, 3}) {
    config.rows[acts] = kTileTokens;
    config.bytes_per_row[acts] = kB;
  }
  for (const int weights : {4, 5}) {
    config.rows[weights] = kB / 4;
    config.bytes_per_row[weights] = 64;
  }
  return config;
}

struct ScratchTag {};
// Per thread: the current group's widened blocks and their scales and mins, the token chunk's
// activations as A tiles with their block scales and sums, and the two blocks of sums in flight.
struct Scratch {
  GrowOnlyScratch<ScratchTag> weights, scales, mins, acts, token_scales, token_sums, sums;
};
thread_local Scratch scratch;

template <typename T>
T* scratch_of(GrowOnlyScratch<ScratchTag>& buffer, std::size_t count) {
  return reinterpret_cast<T*>(buffer.get((count * sizeof(T) + sizeof(float) - 1) / sizeof(float)));
}

// What a group's blocks become: kB values per block; per block wide [kB / 4 chunks][16 rows][4]
// int8, scales [16] and (kMins) mins [16] f32.
struct WideGroup {
  std::int8_t* wide;
  float* scales;
  float* mins;
};

// Legacy integer blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): 32 values, f16 scales (and mins).
template <bool kNibbles, bool kHasMins>
struct LegacyBlocks {
  static constexpr std::size_t kB = 32;
  static constexpr bool kMins = kHasMins;

  static void widen(const PackedMatrix& w, std::size_t group, const WideGroup& out) {
    constexpr std::size_t kBlockBytes = kPackedGroupRows * kB / (kNibbles ? 2 : 1);
    const std::size_t nb = w.cols() / kB;
    const std::uint8_t* data = w.group_data(group);
    const std::uint16_t* scales = w.group_scales(group);
    const std::uint16_t* mins = w.group_mins(group);
    const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
    // q - zero_point wraps to the right int8 for every zero point (8, 16, 128, or 0).
    const __m512i zero_point = _mm512_set1_epi8(static_cast<char>(w.format().zero_point));
    for (std::size_t b = 0; b < nb; ++b) {
      const std::uint8_t* block = data + b * kBlockBytes;
      std::int8_t* wide = out.wide + b * kPackedGroupRows * kB;
      if constexpr (kNibbles) {
        // Chunk c holds chunk c in its low nibbles and chunk c + 4 in its high ones.
        for (std::size_t c = 0; c < 4; ++c) {
          const __m512i raw = _mm512_load_si512(block + 64 * c);
          const __m512i low = _mm512_and_si512(raw, low_nibbles);
          const __m512i high = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low_nibbles);
          _mm512_storeu_si512(wide + 64 * c, _mm512_sub_epi8(low, zero_point));
          _mm512_storeu_si512(wide + 64 * (c + 4), _mm512_sub_epi8(high, zero_point));
        }
      } else {
        for (std::size_t c = 0; c < 8; ++c) {
          const __m512i raw = _mm512_load_si512(block + 64 * c);
          _mm512_storeu_si512(wide + 64 * c, _mm512_sub_epi8(raw, zero_point));
        }
      }
      _mm512_storeu_ps(
          out.scales + 16 * b,
          load_f16(reinterpret_cast<const std::uint8_t*>(scales + b * kPackedGroupRows)));
      if constexpr (kMins) {
        _mm512_storeu_ps(
            out.mins + 16 * b,
            load_f16(reinterpret_cast<const std::uint8_t*>(mins + b * kPackedGroupRows)));
      }
    }
  }
};

// K-quants: F is the AVX-512 kernels' unpacking (k_quant_unpack.hpp). Q4_K/Q5_K blocks are their
// 32-value sub-blocks; Q6_K's are its 16-value sub-blocks, q - 32.
template <typename F>
struct KQuantBlocks {
  static constexpr std::size_t kB = 32 / F::kSubsPerBlock;
  static constexpr bool kMins = F::kMins;

  static void widen(const PackedMatrix& w, std::size_t group, const WideGroup& out) {
    const std::uint8_t* scales = w.group_super_scales(group);
    const std::uint8_t* data = w.group_data(group);
    const __m512i zero_point = _mm512_set1_epi8(F::kZeroPoint ? 32 : 0);
    for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
      const std::uint8_t* sb_scales = scales + s * F::kScaleBytes;
      const std::uint8_t* sb_data = data + s * F::kDataBytes;
      for_each_block([&]<std::size_t A>() {
        __m512i chunks[8];
        __m512 scale[F::kSubsPerBlock], mins[F::kSubsPerBlock];
        F::template unpack<A>(sb_data, chunks);
        F::template scales<A>(sb_scales, scale, mins);
        const std::size_t first = (s * kBlocksPerSuper + A) * F::kSubsPerBlock;
        std::int8_t* wide = out.wide + first * kPackedGroupRows * kB;
        for (std::size_t c = 0; c < 8; ++c) {
          _mm512_storeu_si512(wide + 64 * c, _mm512_sub_epi8(chunks[c], zero_point));
        }
        for (std::size_t u = 0; u < F::kSubsPerBlock; ++u) {
          _mm512_storeu_ps(out.scales + 16 * (first + u), scale[u]);
          if constexpr (kMins) _mm512_storeu_ps(out.mins + 16 * (first + u), mins[u]);
        }
      });
    }
  }
};

// Tokens [first, first + count) of x as A tiles: tile k, block b is 16 rows of kB bytes at
// acts + (k * nb + b) * 16 * kB, and its tokens' scales and sums 16 floats at
// scales / sums + (k * nb + b) * 16. Rows past `count` are zero and their scales and sums 0. Each
// token's values are copied as they are, so the scaling is AVX-512's bit for bit.
template <std::size_t kB>
void tile_activations(const QuantizedActivations& x, std::size_t first, std::size_t count,
                      std::int8_t* acts, float* scales, float* sums) {
  const std::size_t cols = x.cols;
  const std::size_t nb = cols / kB;
  const std::size_t tiles = (count + kTileTokens - 1) / kTileTokens;
  for (std::size_t k = 0; k < tiles; ++k) {
    for (std::size_t r = 0; r < kTileTokens; ++r) {
      const std::size_t token = k * kTileTokens + r;
      std::int8_t* row = acts + k * nb * kTileTokens * kB + r * kB;
      float* row_scales = scales + k * nb * kTileTokens + r;
      float* row_sums = sums + k * nb * kTileTokens + r;
      const bool real = token < count;
      const std::int8_t* from = x.qs.data() + (first + token) * cols;
      const float* from_scales = x.block_scales.data() + (first + token) * nb;
      const float* from_sums = x.block_sums.data() + (first + token) * nb;
      for (std::size_t b = 0; b < nb; ++b) {
        std::int8_t* to = row + b * kTileTokens * kB;
        if (real) {
          std::memcpy(to, from + b * kB, kB);
        } else {
          std::memset(to, 0, kB);
        }
        row_scales[b * kTileTokens] = real ? from_scales[b] : 0.0f;
        row_sums[b * kTileTokens] = real ? from_sums[b] : 0.0f;
      }
    }
  }
}

// Block b of the tile: sums[16 tokens][16 rows] = acts . weights, on tile set kSet. GCC's tile
// intrinsics paste their tile number into the instruction's text, hence literal numbers.
template <int kSet, std::size_t kB>
inline void multiply_block(const std::int8_t* acts, const std::int8_t* wide, std::size_t b,
                           std::int32_t* sums) {
  constexpr std::size_t kTileBytes = kTileTokens * kB;  // = kPackedGroupRows * kB
  const std::int8_t* block_acts = acts + b * kTileBytes;
  const std::int8_t* block_weights = wide + b * kTileBytes;
  std::int32_t* block_sums = sums + kSet * kTileTokens * kPackedGroupRows;
  if constexpr (kSet == 0) {
    _tile_zero(0);
    _tile_loadd(2, block_acts, kB);
    _tile_loadd(4, block_weights, 64);
    _tile_dpbssd(0, 2, 4);
    _tile_stored(0, block_sums, 64);
  } else {
    _tile_zero(1);
    _tile_loadd(3, block_acts, kB);
    _tile_loadd(5, block_weights, 64);
    _tile_dpbssd(1, 3, 5);
    _tile_stored(1, block_sums, 64);
  }
}

// Tokens [first, first + valid) (valid <= 16) against group `group`, widened in `g`; the tokens'
// A tiles, block scales and block sums as tile_activations lays them out.
template <typename Blocks>
void tile(const PackedMatrix& w, std::size_t group, const WideGroup& g, const std::int8_t* acts,
          const float* token_scales, const float* token_sums, std::size_t first, std::size_t valid,
          std::int32_t* sums, float* y) {
  constexpr std::size_t kB = Blocks::kB;
  const std::size_t nb = w.cols() / kB;

  __m512 acc[kTileTokens];
  for (auto& a : acc) a = _mm512_setzero_ps();

  multiply_block<0, kB>(acts, g.wide, 0, sums);
  for (std::size_t b = 0; b < nb; ++b) {
    if (b + 1 < nb) {
      if ((b + 1) % 2 == 0) {
        multiply_block<0, kB>(acts, g.wide, b + 1, sums);
      } else {
        multiply_block<1, kB>(acts, g.wide, b + 1, sums);
      }
    }
    const std::int32_t* block_sums = sums + (b % 2) * kTileTokens * kPackedGroupRows;
    const __m512 scale = _mm512_loadu_ps(g.scales + 16 * b);
    __m512 min = _mm512_setzero_ps();
    if constexpr (Blocks::kMins) min = _mm512_loadu_ps(g.mins + 16 * b);
    const float* block_scales = token_scales + b * kTileTokens;
    const float* block_token_sums = token_sums + b * kTileTokens;
    for (std::size_t t = 0; t < kTileTokens; ++t) {
      const __m512i sum = _mm512_loadu_si512(block_sums + t * kPackedGroupRows);
      const __m512 scaled = _mm512_mul_ps(scale, _mm512_set1_ps(block_scales[t]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scaled, acc[t]);
      if constexpr (Blocks::kMins) {
        acc[t] = _mm512_fmadd_ps(min, _mm512_set1_ps(block_token_sums[t]), acc[t]);
      }
    }
  }

  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t rows = std::min(kPackedGroupRows, w.rows() - first_row);
  const auto mask = static_cast<__mmask16>((1u << rows) - 1u);
  for (std::size_t t = 0; t < valid; ++t) {
    _mm512_mask_storeu_ps(y + (first + t) * w.rows() + first_row, mask, acc[t]);
  }
}

template <typename Blocks>
void tiled_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                  std::size_t group_end, float* y) {
  constexpr std::size_t kB = Blocks::kB;
  constexpr bool kMins = Blocks::kMins;
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / kB;
  const WideGroup g = {scratch_of<std::int8_t>(scratch.weights, nb * kPackedGroupRows * kB),
                       scratch_of<float>(scratch.scales, nb * 16),
                       kMins ? scratch_of<float>(scratch.mins, nb * 16) : nullptr};
  std::int32_t* sums = scratch_of<std::int32_t>(scratch.sums, 2 * kTileTokens * kPackedGroupRows);
  const std::size_t chunk = token_chunk(cols);
  // Normally laid out once per rounding (tile_layout, through KernelTable::tile_activations);
  // otherwise (a caller that rounded without it) per chunk here.
  const bool laid_out = x.tile_tokens >= x.n_tokens && x.block_values == kB;
  std::int8_t* own_acts = nullptr;
  float* own_scales = nullptr;
  float* own_sums = nullptr;
  if (!laid_out) {
    own_acts = scratch_of<std::int8_t>(scratch.acts, chunk * cols);
    own_scales = scratch_of<float>(scratch.token_scales, chunk * nb);
    own_sums = scratch_of<float>(scratch.token_sums, chunk * nb);
  }

  const TileConfig config = tile_config<kB>();
  _tile_loadconfig(&config);
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += chunk) {
    const std::size_t count = std::min(chunk, x.n_tokens - t0);
    const std::int8_t* acts = nullptr;
    const float* token_scales = nullptr;
    const float* token_sums = nullptr;
    if (laid_out) {  // chunk is a multiple of 16, so the chunk's tiles start at tile t0 / 16
      acts = x.tile_qs.data() + t0 * cols;
      token_scales = x.tile_scales.data() + t0 * nb;
      token_sums = x.tile_sums.data() + t0 * nb;
    } else {
      tile_activations<kB>(x, t0, count, own_acts, own_scales, own_sums);
      acts = own_acts, token_scales = own_scales, token_sums = own_sums;
    }
    for (std::size_t group = group_begin; group < group_end; ++group) {
      Blocks::widen(w, group, g);
      for (std::size_t k = 0; k * kTileTokens < count; ++k) {
        const std::size_t at = k * nb * kTileTokens;  // tile k's first scale; its bytes at kB x
        tile<Blocks>(w, group, g, acts + at * kB, token_scales + at,
                     kMins ? token_sums + at : nullptr, t0 + k * kTileTokens,
                     std::min(kTileTokens, count - k * kTileTokens), sums, y);
      }
    }
  }
  // Back to the initial state, so a context switch does not save 8 KiB of tile data.
  _tile_release();
}

}  // namespace

const std::size_t tile_min_tokens = kMinTokens;

void tile_layout(QuantizedActivations& x, std::size_t tile_begin, std::size_t tile_end) {
  const std::size_t nb = x.cols / x.block_values;
  const std::size_t first = tile_begin * kTileTokens;
  const std::size_t count = std::min(tile_end * kTileTokens, x.n_tokens) - first;
  std::int8_t* acts = x.tile_qs.data() + first * x.cols;
  float* scales = x.tile_scales.data() + first * nb;
  float* sums = x.tile_sums.data() + first * nb;
  if (x.block_values == 16) return tile_activations<16>(x, first, count, acts, scales, sums);
  if (x.block_values == 32) return tile_activations<32>(x, first, count, acts, scales, sums);
}

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  const IntBlockFormat& f = w.format();
  if (x.n_tokens < kMinTokens || f.block_values != 32) {
    return avx512::int_block_matmul(w, x, group_begin, group_end, y);
  }
  if (f.nibbles) {
    if (f.has_mins) return tiled_matmul<LegacyBlocks<true, true>>(w, x, group_begin, group_end, y);
    return tiled_matmul<LegacyBlocks<true, false>>(w, x, group_begin, group_end, y);
  }
  if (f.has_mins) return tiled_matmul<LegacyBlocks<false, true>>(w, x, group_begin, group_end, y);
  return tiled_matmul<LegacyBlocks<false, false>>(w, x, group_begin, group_end, y);
}

void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                    std::size_t group_end, float* y) {
  if (x.n_tokens < kMinTokens) return avx512::k_quant_matmul(w, x, group_begin, group_end, y);
  switch (w.type()) {
    case io::TensorType::kQ4_K:
      return tiled_matmul<KQuantBlocks<Q4K>>(w, x, group_begin, group_end, y);
    case io::TensorType::kQ5_K:
      return tiled_matmul<KQuantBlocks<Q5K>>(w, x, group_begin, group_end, y);
    default:
      return tiled_matmul<KQuantBlocks<Q6K>>(w, x, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::amx
