// The AMX level's integer-block matmul: Intel's Advanced Matrix Extensions multiply a tile of 16
// tokens' int8 activations by a tile of 16 rows' int8 weights in one instruction (tdpbssd), where
// AVX-512 needs 8 vpdpbusd per token and block.
//
// One tdpbssd spans one 32-value block (K = 32): every block has its own weight and activation
// scales, so its int32 sums are scaled before the next block's are added. Per block the tile of
// sums is stored and the AVX-512 units scale it into 16 accumulators while the tile unit works on
// the next block (two sets of tiles, alternating). The integer sums are exact and the float steps
// are AVX-512's int_tile's in its order, so this level's results are AVX-512's bit for bit
// (tests/kernels/test_matmul.cpp); short batches (kMinTokens) go to AVX-512's kernel.
//
// The packed group's block is already the B tile's layout (packed_matrix.hpp: 16 rows x 4 values
// per 64-byte chunk, VNNI order); the group's blocks are widened to signed bytes (q - zero_point,
// which fits int8 for every integer-block type) once per group and token chunk, and then serve each
// 16-token tile of the chunk. The chunk's activations are copied once into A tiles of 16 tokens x
// 32 bytes, contiguous per block: loading 16 rows at a stride of `cols` bytes (a multiple of 4 KiB
// in Llama's shapes) would put all of them in one L1 set. A short last tile gets zero rows.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/grow_only_scratch.hpp"

namespace llama3::kernels::amx {
namespace {

constexpr std::size_t kTileTokens = 16;   // rows of an A tile (and of the sums tile)
constexpr std::size_t kBlockValues = 32;  // K of one tdpbssd: one block
// A block of 16 rows as signed bytes: the B tile, kBlockValues / 4 rows of 64 bytes.
constexpr std::size_t kWideBlockBytes = kPackedGroupRows * kBlockValues;
// Tokens whose activation tiles stay in L2 while the thread's weight groups pass them: each group
// is widened once per chunk, so the chunk is as long as about 1 MiB of activations allows.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxTokenChunk = 256;

std::size_t token_chunk(std::size_t cols) {
  const std::size_t fit = kChunkBytes / cols / kTileTokens * kTileTokens;
  return std::clamp(fit, kTileTokens, kMaxTokenChunk);
}
// Fewer tokens than this take AVX-512's kernel: every call widens all its groups' weights and
// pays a tile's latency per block, which a short batch does not amortize (on the 8B shape AVX-512
// is faster up to about 24 tokens; bench/matmul_probe with LLAMA3_ARCH=avx512 and amx).
constexpr std::size_t kMinTokens = 32;

// Tile registers: two sets, so one block's sums are scaled while the next block multiplies:
// sums in tiles 0 and 1, activations in 2 and 3, weights in 4 and 5.
constexpr int kSums[2] = {0, 1}, kActs[2] = {2, 3}, kWeights[2] = {4, 5};

// The tile configuration (palette 1): per tile its rows and bytes per row.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};

TileConfig tile_config() {
  TileConfig config;
  for (const int sums : kSums) {
    config.rows[sums] = kTileTokens;
    config.bytes_per_row[sums] = kPackedGroupRows * sizeof(std::int32_t);
  }
  for (const int acts : kActs) {
    config.rows[acts] = kTileTokens;
    config.bytes_per_row[acts] = kBlockValues;
  }
  for (const int weights : kWeights) {
    config.rows[weights] = kBlockValues / 4;
    config.bytes_per_row[weights] = 64;
  }
  return config;
}

struct ScratchTag {};
// Per thread: the current group's widened blocks, the token chunk's activations as A tiles with
// their block scales (and sums) per tile and block, and the two blocks of int32 sums in flight.
struct Scratch {
  GrowOnlyScratch<ScratchTag> weights, acts, token_scales, token_sums, sums;
};
thread_local Scratch scratch;

template <typename T>
T* scratch_of(GrowOnlyScratch<ScratchTag>& buffer, std::size_t bytes) {
  return reinterpret_cast<T*>(buffer.get((bytes + sizeof(float) - 1) / sizeof(float)));
}

// Group `group`'s blocks as signed bytes q - zero_point, [nb][kWideBlockBytes].
template <bool kNibbles>
void widen_group(const PackedMatrix& w, std::size_t group, std::int8_t* out) {
  constexpr std::size_t kBlockBytes = kPackedGroupRows * kBlockValues / (kNibbles ? 2 : 1);
  const std::size_t nb = w.cols() / kBlockValues;
  const std::uint8_t* data = w.group_data(group);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  // q - zero_point wraps to the right int8 for every zero point (8, 16, 128, or 0).
  const __m512i zero_point = _mm512_set1_epi8(static_cast<char>(w.format().zero_point));
  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* block = data + b * kBlockBytes;
    std::int8_t* wide = out + b * kWideBlockBytes;
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
  }
}

// Tokens [first, first + count) of x as A tiles: tile k, block b is 16 rows of 32 bytes at
// acts + (k * nb + b) * kWideBlockBytes, and its tokens' scales and sums 16 floats at
// scales / sums + (k * nb + b) * 16. Rows past `count` are zero and their scales and sums 0. Each
// token's values are copied as they are, so the sums' scaling is AVX-512's bit for bit.
template <bool kMins>
void tile_activations(const QuantizedActivations& x, std::size_t first, std::size_t count,
                      std::int8_t* acts, float* scales, float* sums) {
  const std::size_t cols = x.cols;
  const std::size_t nb = cols / kBlockValues;
  const std::size_t tiles = (count + kTileTokens - 1) / kTileTokens;
  for (std::size_t k = 0; k < tiles; ++k) {
    for (std::size_t r = 0; r < kTileTokens; ++r) {
      const std::size_t token = k * kTileTokens + r;
      std::int8_t* row = acts + k * nb * kWideBlockBytes + r * kBlockValues;
      float* row_scales = scales + k * nb * kTileTokens + r;
      float* row_sums = sums + k * nb * kTileTokens + r;
      if (token >= count) {
        for (std::size_t b = 0; b < nb; ++b) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + b * kWideBlockBytes),
                              _mm256_setzero_si256());
          row_scales[b * kTileTokens] = 0.0f;
          if constexpr (kMins) row_sums[b * kTileTokens] = 0.0f;
        }
        continue;
      }
      const std::int8_t* from = x.qs.data() + (first + token) * cols;
      const float* from_scales = x.block_scales.data() + (first + token) * nb;
      const float* from_sums = x.block_sums.data() + (first + token) * nb;
      for (std::size_t b = 0; b < nb; ++b) {
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(row + b * kWideBlockBytes),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + b * kBlockValues)));
        row_scales[b * kTileTokens] = from_scales[b];
        if constexpr (kMins) row_sums[b * kTileTokens] = from_sums[b];
      }
    }
  }
}

// Block b of the tile: sums[16 tokens][16 rows] = acts . weights, on tile set kSet. GCC's tile
// intrinsics paste their tile number into the instruction's text, hence literal numbers.
template <int kSet>
inline void multiply_block(const std::int8_t* acts, const std::int8_t* wide, std::size_t b,
                           std::int32_t* sums) {
  const std::int8_t* block_acts = acts + b * kWideBlockBytes;
  const std::int8_t* block_weights = wide + b * kWideBlockBytes;
  std::int32_t* block_sums = sums + kSet * kTileTokens * kPackedGroupRows;
  if constexpr (kSet == 0) {
    _tile_zero(0);
    _tile_loadd(2, block_acts, kBlockValues);
    _tile_loadd(4, block_weights, 64);
    _tile_dpbssd(0, 2, 4);
    _tile_stored(0, block_sums, 64);
  } else {
    _tile_zero(1);
    _tile_loadd(3, block_acts, kBlockValues);
    _tile_loadd(5, block_weights, 64);
    _tile_dpbssd(1, 3, 5);
    _tile_stored(1, block_sums, 64);
  }
}

// Tokens [first, first + valid) (valid <= 16) against group `group`, whose widened blocks are
// `wide`; the tokens' A tiles, block scales and block sums as tile_activations lays them out.
template <bool kMins>
void tile(const PackedMatrix& w, std::size_t group, const std::int8_t* wide,
          const std::int8_t* acts, const float* token_scales, const float* token_sums,
          std::size_t first, std::size_t valid, std::int32_t* sums, float* y) {
  const std::size_t nb = w.cols() / kBlockValues;
  const std::uint16_t* scales = w.group_scales(group);  // [nb, 16] f16
  const std::uint16_t* mins = w.group_mins(group);      // [nb, 16] f16 (if kMins)

  __m512 acc[kTileTokens];
  for (auto& a : acc) a = _mm512_setzero_ps();

  multiply_block<0>(acts, wide, 0, sums);
  for (std::size_t b = 0; b < nb; ++b) {
    if (b + 1 < nb) {
      if ((b + 1) % 2 == 0) {
        multiply_block<0>(acts, wide, b + 1, sums);
      } else {
        multiply_block<1>(acts, wide, b + 1, sums);
      }
    }
    const std::int32_t* block_sums = sums + (b % 2) * kTileTokens * kPackedGroupRows;
    const __m512 scale = _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + b * kPackedGroupRows)));
    __m512 min = _mm512_setzero_ps();
    if constexpr (kMins) {
      min = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins + b * kPackedGroupRows)));
    }
    const float* block_scales = token_scales + b * kTileTokens;
    const float* block_token_sums = token_sums + b * kTileTokens;
    for (std::size_t t = 0; t < kTileTokens; ++t) {
      const __m512i sum = _mm512_loadu_si512(block_sums + t * kPackedGroupRows);
      const __m512 scaled = _mm512_mul_ps(scale, _mm512_set1_ps(block_scales[t]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scaled, acc[t]);
      if constexpr (kMins) {
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

template <bool kNibbles, bool kMins>
void tiled_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                  std::size_t group_end, float* y) {
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / kBlockValues;
  std::int8_t* wide = scratch_of<std::int8_t>(scratch.weights, nb * kWideBlockBytes);
  std::int32_t* sums =
      scratch_of<std::int32_t>(scratch.sums, 2 * kTileTokens * kPackedGroupRows * 4);
  const std::size_t chunk = token_chunk(cols);
  std::int8_t* acts = scratch_of<std::int8_t>(scratch.acts, chunk * cols);
  float* token_scales = scratch.token_scales.get(chunk * nb);
  float* token_sums = kMins ? scratch.token_sums.get(chunk * nb) : nullptr;

  const TileConfig config = tile_config();
  _tile_loadconfig(&config);
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += chunk) {
    const std::size_t count = std::min(chunk, x.n_tokens - t0);
    tile_activations<kMins>(x, t0, count, acts, token_scales, token_sums);
    for (std::size_t g = group_begin; g < group_end; ++g) {
      widen_group<kNibbles>(w, g, wide);
      for (std::size_t k = 0; k * kTileTokens < count; ++k) {
        const std::size_t at = k * nb * kTileTokens;  // tile k's first scale; its A tiles at 32x
        tile<kMins>(w, g, wide, acts + at * kBlockValues, token_scales + at,
                    kMins ? token_sums + at : nullptr, t0 + k * kTileTokens,
                    std::min(kTileTokens, count - k * kTileTokens), sums, y);
      }
    }
  }
  // Back to the initial state, so a context switch does not save 8 KiB of tile data.
  _tile_release();
}

}  // namespace

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  const IntBlockFormat& f = w.format();
  if (x.n_tokens < kMinTokens || f.block_values != kBlockValues) {
    return avx512::int_block_matmul(w, x, group_begin, group_end, y);
  }
  if (f.nibbles) {
    if (f.has_mins) return tiled_matmul<true, true>(w, x, group_begin, group_end, y);
    return tiled_matmul<true, false>(w, x, group_begin, group_end, y);
  }
  if (f.has_mins) return tiled_matmul<false, true>(w, x, group_begin, group_end, y);
  return tiled_matmul<false, false>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels::amx
