#include "kernels/matmul.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "kernels/kernel_table.hpp"
#include "kernels/quantized_activations.hpp"
#include "kernels/reference.hpp"
#include "kernels/vector_ops.hpp"

namespace llama3::kernels {
namespace {

void reference_matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y,
                      ThreadPool& pool) {
  pool.parallel_for(w.rows, 16, [&](std::size_t begin, std::size_t end, int) {
    // Per-thread scratch, grown once: no allocation on the per-token path after the first call.
    thread_local std::vector<float> row_values;
    if (row_values.size() < w.cols) row_values.resize(w.cols);
    for (std::size_t r = begin; r < end; ++r) {
      const float* row = nullptr;
      if (w.type == io::TensorType::kF32) {
        row = static_cast<const float*>(w.row(r));
      } else {
        reference::dequantize_row(w.type, w.row(r), row_values.data(), w.cols);
        row = row_values.data();
      }
      for (std::size_t t = 0; t < n_tokens; ++t) {
        y[t * w.rows + r] = dot_f32(row, x + t * w.cols, w.cols);
      }
    }
  });
}

using IntKernel = IntMatmulKernel;
using PlainKernel = PlainMatmulKernel;

IntKernel int_kernel(Arch arch, const PackedMatrix& w) {
  const KernelTable& table = kernel_table(arch);
  return w.format().super_blocks ? table.k_quant_matmul : table.int_block_matmul;
}

PlainKernel plain_kernel(Arch arch) {
  return kernel_table(arch).plain_matmul;
}

// Work units (row groups, or rows for plain weights) per dynamically handed-out chunk: about 16
// chunks per thread so a thread slowed by other processes hands its share over, at least
// `minimum` (a multiple of the kernels' tile), at most `maximum` (long streams per chunk).
std::size_t chunk_size(std::size_t units, const ThreadPool& pool, std::size_t minimum,
                       std::size_t maximum) {
  const std::size_t target = units / (static_cast<std::size_t>(pool.size()) * 16);
  return std::clamp(target / minimum * minimum, minimum, maximum);
}

// Rounds x to 8-bit blocks for the integer kernels: across the pool for a batch (a 512-token
// prompt has millions of values per matmul), on the calling thread for a few tokens.
void round_activations(const float* x, std::size_t n_tokens, std::size_t cols,
                       const IntBlockFormat& format, QuantizedActivations& out, ThreadPool& pool,
                       Arch arch) {
  constexpr std::size_t kTokensPerThread = 4;
  prepare_activations(n_tokens, cols, format, out);
  pool.parallel_for(n_tokens, kTokensPerThread, [&](std::size_t begin, std::size_t end, int) {
    quantize_activation_tokens(x, begin, end, format, out, arch);
  });
  // A level that reads 16-token tiles gets them laid out once here, not once per chunk of rows.
  const KernelTable& table = kernel_table(arch);
  if (table.tile_activations && n_tokens >= table.tile_min_tokens) {
    constexpr std::size_t kTile = 16;
    const std::size_t tiles = (n_tokens + kTile - 1) / kTile;
    const std::size_t nb = cols / format.block_values;
    out.tile_qs.resize(tiles * kTile * cols);
    out.tile_scales.resize(tiles * kTile * nb);
    out.tile_sums.resize(tiles * kTile * nb);
    pool.parallel_for(tiles, 1, [&](std::size_t begin, std::size_t end, int) {
      table.tile_activations(out, begin, end);
    });
    out.tile_tokens = tiles * kTile;
  }
}

constexpr std::size_t kMinGroupChunk = 4;  // the one-token kernel reads 4 groups side by side
constexpr std::size_t kMaxGroupChunk = 64;

}  // namespace

void dequantize_matrix_row(const WeightMatrix& w, std::size_t row, float* out) {
  reference::dequantize_row(w.type, w.row(row), out, w.cols);
}

void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y,
            ThreadPool& pool) {
  matmul(w, x, n_tokens, y, pool, active_arch());
}

void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y, ThreadPool& pool,
            Arch arch) {
  // The scalar table (and a level of another CPU family, which maps to it) has no packed kernels.
  if (!kernel_table(arch).plain_matmul || !w.packed) {
    return reference_matmul(w, x, n_tokens, y, pool);
  }
  const PackedMatrix& packed = *w.packed;
  if (!packed.is_int_blocks()) {
    const PlainKernel kernel = plain_kernel(arch);
    // Plain weights keep one contiguous range of groups per thread: chunked hand-out measured
    // slower for F16 one-token generation (16 vs 12 tokens/s on the 1B shape).
    pool.parallel_for(packed.n_groups(), 1, [&](std::size_t begin, std::size_t end, int) {
      kernel(packed, x, n_tokens, begin, end, y);
    });
    return;
  }
  // Rounded once here, read by every thread. thread_local: one per calling thread, grown once.
  // (A lambda names a thread_local as the running thread's own copy, so workers get a reference.)
  thread_local QuantizedActivations caller_activations;
  const QuantizedActivations& activations = caller_activations;
  round_activations(x, n_tokens, w.cols, packed.format(), caller_activations, pool, arch);
  const IntKernel kernel = int_kernel(arch, packed);
  const std::size_t chunk = chunk_size(packed.n_groups(), pool, kMinGroupChunk, kMaxGroupChunk);
  pool.parallel_chunks(packed.n_groups(), chunk, [&](std::size_t begin, std::size_t end, int) {
    kernel(packed, activations, begin, end, y);
  });
}

void matmul_same_input(std::span<const WeightMatrix* const> ws, const float* x,
                       std::size_t n_tokens, std::span<float* const> ys, ThreadPool& pool) {
  matmul_same_input(ws, x, n_tokens, ys, pool, active_arch());
}

void matmul_same_input(std::span<const WeightMatrix* const> ws, const float* x,
                       std::size_t n_tokens, std::span<float* const> ys, ThreadPool& pool,
                       Arch arch) {
  constexpr std::size_t kMaxMatrices = 8;
  const auto separately = [&] {
    for (std::size_t i = 0; i < ws.size(); ++i) matmul(*ws[i], x, n_tokens, ys[i], pool, arch);
  };
  if (!kernel_table(arch).plain_matmul || ws.empty() || ws.size() > kMaxMatrices) {
    return separately();
  }
  const PackedMatrix* first = ws[0]->packed;
  if (!first) return separately();
  for (const WeightMatrix* w : ws) {
    const PackedMatrix* p = w->packed;
    if (!p || p->is_int_blocks() != first->is_int_blocks() || p->cols() != first->cols())
      return separately();
  }
  // Row groups of every matrix laid end to end: [ends[i-1], ends[i]) belongs to ws[i].
  std::size_t ends[kMaxMatrices];
  std::size_t total = 0;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    total += ws[i]->packed->n_groups();
    ends[i] = total;
  }
  // Calls body(matrix, begin, end) for the parts of [begin, end) in each matrix (local units).
  const auto split = [&](std::size_t begin, std::size_t end, const auto& body) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < ws.size(); ++i) {
      const std::size_t b = std::max(begin, start);
      const std::size_t e = std::min(end, ends[i]);
      if (b < e) body(i, b - start, e - start);
      start = ends[i];
    }
  };
  if (!first->is_int_blocks()) {
    // One contiguous range per thread across the matrices, as in matmul.
    const PlainKernel kernel = plain_kernel(arch);
    pool.parallel_for(total, 1, [&](std::size_t begin, std::size_t end, int) {
      split(begin, end, [&](std::size_t i, std::size_t b, std::size_t e) {
        kernel(*ws[i]->packed, x, n_tokens, b, e, ys[i]);
      });
    });
    return;
  }
  // The activations are rounded once per distinct block size and zero point (Q4_K and Q6_K of a
  // Q4_K_M model's Q/K/V differ), each matrix reads its own rounding: the same as matmul's.
  // thread_local: one set per calling thread, grown once (see matmul).
  thread_local std::array<QuantizedActivations, kMaxMatrices> caller_activations;
  const std::array<QuantizedActivations, kMaxMatrices>& activations = caller_activations;
  std::size_t rounding_of[kMaxMatrices];
  IntKernel kernels[kMaxMatrices];
  std::size_t n_roundings = 0;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    const PackedMatrix& p = *ws[i]->packed;
    const IntBlockFormat& f = p.format();
    kernels[i] = int_kernel(arch, p);
    rounding_of[i] = n_roundings;
    for (std::size_t j = 0; j < i; ++j) {
      const IntBlockFormat& g = ws[j]->packed->format();
      if (f.block_values == g.block_values && f.zero_point == g.zero_point) {
        rounding_of[i] = rounding_of[j];
        break;
      }
    }
    if (rounding_of[i] == n_roundings) {
      round_activations(x, n_tokens, p.cols(), f, caller_activations[n_roundings++], pool, arch);
    }
  }
  const std::size_t chunk = chunk_size(total, pool, kMinGroupChunk, kMaxGroupChunk);
  pool.parallel_chunks(total, chunk, [&](std::size_t begin, std::size_t end, int) {
    split(begin, end, [&](std::size_t i, std::size_t b, std::size_t e) {
      kernels[i](*ws[i]->packed, activations[rounding_of[i]], b, e, ys[i]);
    });
  });
}

std::unique_ptr<PackedMatrix> pack_weight_matrix(const WeightMatrix& w, ThreadPool& pool) {
  auto packed = std::make_unique<PackedMatrix>(w.type, w.rows, w.cols);
  pool.parallel_for(packed->n_groups(), 1, [&](std::size_t begin, std::size_t end, int) {
    packed->pack_groups(w.data, w.row_bytes, begin, end);
  });
  return packed;
}

}  // namespace llama3::kernels
