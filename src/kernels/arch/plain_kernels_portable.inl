// Portable C++ kernels for plain (F32/F16/BF16) weights in column-interleaved 16-row groups
// (PackedMatrix::plain_group: [cols][16 rows]), written so the compiler vectorises the 16-row
// inner loops. Included once per arch file with LLAMA3_PACKED_ARCH naming the namespace (sse4: the
// x86-64-v2 baseline; avx2: + AVX2, FMA, F16C). Stack arrays only: no heap templates, whose
// out-of-line copies compiled with this file's flags could be picked by the linker for baseline
// code.
#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/arch/packed_kernels.hpp"
#include "kernels/half_float.hpp"

namespace llama3::kernels::LLAMA3_PACKED_ARCH {
namespace {

// Columns widened to f32 at a time on the stack.
constexpr std::size_t kSliceCols = 64;

// A column of 16 rows as kColumnVectors GCC/Clang vectors (the auto-vectoriser, given plain loops,
// vectorised across columns instead and ran 3x slower than the former row-major dot products).
#ifdef __AVX2__
constexpr std::size_t kLanes = 8;
#else
constexpr std::size_t kLanes = 4;
#endif
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));
constexpr std::size_t kColumnVectors = kPackedGroupRows / kLanes;

// Columns [c0, c0 + n) of a group as f32.  out: [n][16]
void widen_columns(const PackedMatrix& w, std::size_t group, std::size_t c0, std::size_t n,
                   std::array<float, kSliceCols * kPackedGroupRows>& out) {
  const std::size_t count = n * kPackedGroupRows;
  const std::size_t first = c0 * kPackedGroupRows;
  if (w.type() == io::TensorType::kF32) {
    const auto* values = static_cast<const float*>(w.plain_group(group)) + first;
    std::copy_n(values, count, out.begin());
    return;
  }
  const auto* bits = static_cast<const std::uint16_t*>(w.plain_group(group)) + first;
  if (w.type() == io::TensorType::kF16) {
    for (std::size_t i = 0; i < count; ++i) out[i] = f16_to_f32(bits[i]);
  } else {
    for (std::size_t i = 0; i < count; ++i) out[i] = bf16_to_f32(bits[i]);
  }
}

}  // namespace

void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                  std::size_t group_begin, std::size_t group_end, float* y) {
  const std::size_t cols = w.cols();
  std::array<float, kSliceCols * kPackedGroupRows> columns;  // [kSliceCols][16]
  for (std::size_t g = group_begin; g < group_end; ++g) {
    const std::size_t first_row = g * kPackedGroupRows;
    const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
    for (std::size_t t = 0; t < n_tokens; ++t) {
      std::fill_n(y + t * w.rows() + first_row, valid, 0.0f);
    }
    for (std::size_t c0 = 0; c0 < cols; c0 += kSliceCols) {
      const std::size_t n = std::min(kSliceCols, cols - c0);
      widen_columns(w, g, c0, n, columns);
      for (std::size_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * cols + c0;
        Lanes acc[kColumnVectors] = {};  // 16 rows
        for (std::size_t c = 0; c < n; ++c) {
          for (std::size_t v = 0; v < kColumnVectors; ++v) {
            Lanes column;
            std::memcpy(&column, columns.data() + c * kPackedGroupRows + v * kLanes, sizeof column);
            acc[v] += column * xt[c];
          }
        }
        float* yt = y + t * w.rows() + first_row;
        for (std::size_t i = 0; i < valid; ++i) yt[i] += acc[i / kLanes][i % kLanes];
      }
    }
  }
}

}  // namespace llama3::kernels::LLAMA3_PACKED_ARCH
