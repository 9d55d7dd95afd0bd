#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/half_float.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quantized_activations.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"
#include "support/random_weight_matrix.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels;
using namespace llama3::test;

namespace {

// The stored matrix and its packed form (the matrix's `packed` points at it).
struct TestMatrix {
  std::vector<std::uint8_t> stored;  // [rows, row_bytes]; `matrix` views it
  WeightMatrix matrix;
  std::unique_ptr<PackedMatrix> packed;
};

TestMatrix make_matrix(std::mt19937& rng, TensorType type, std::size_t rows, std::size_t cols,
                       ThreadPool& pool) {
  RandomWeightMatrix source = random_weight_matrix(rng, type, rows, cols);
  // Moving the vector keeps its buffer, so the matrix's view stays valid.
  TestMatrix m{std::move(source.stored), source.matrix, nullptr};
  m.packed = pack_weight_matrix(m.matrix, pool);
  m.matrix.packed = m.packed.get();
  return m;
}

bool is_plain(TensorType type) {
  return block_values(type) == 1;
}

// y = w x at `arch` against the reference dot of the activations the kernels see (rounded to
// 8-bit blocks for quantized weights), within the bounds of the first test case below plus
// `absolute`.
void check_matmul(const TestMatrix& m, const std::vector<float>& x, std::size_t n_tokens,
                  ThreadPool& pool, Arch arch, double absolute = 1e-6) {
  const TensorType type = m.matrix.type;
  const std::size_t rows = m.matrix.rows, cols = m.matrix.cols;
  std::vector<float> seen = x;
  if (!is_plain(type) && arch != Arch::kScalar) {
    QuantizedActivations rounded;
    quantize_activations(x.data(), n_tokens, cols, m.packed->format(), rounded);
    dequantize_activations(rounded, seen.data());
  }
  std::vector<float> y(n_tokens * rows, NAN);  // [n_tokens, rows]
  matmul(m.matrix, x.data(), n_tokens, y.data(), pool, arch);
  const double relative = is_plain(type) || arch == Arch::kScalar ? 1e-5 : 1e-3;
  std::vector<float> dequantized(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    reference::dequantize_row(type, m.matrix.row(r), dequantized.data(), cols);
    for (std::size_t t = 0; t < n_tokens; ++t) {
      const float* xt = seen.data() + t * cols;
      const double expected = reference::dot_row(type, m.matrix.row(r), xt, cols);
      double magnitude = 0.0;
      for (std::size_t c = 0; c < cols; ++c) magnitude += std::fabs(dequantized[c] * xt[c]);
      INFO("row " << r << ", token " << t << ", expected " << expected);
      REQUIRE(std::fabs(y[t * rows + r] - expected) <= relative * magnitude + absolute);
    }
  }
}

}  // namespace

// Quantized weights: the kernels see activations rounded to 8-bit blocks, so they are compared
// with the reference dot of the *rounded* activations. What is left is f32 summation order and the
// f32 rounding of each block's scale products (K-quants keep d and the integer sub-block scales,
// whose product is exact in f32), bounded by 1e-3 of sum |w * x|.
// Plain weights: the same f32 inputs, so only summation order differs: 1e-5 of sum |w * x|.
TEST_CASE("matmul at every arch matches the reference kernels at odd sizes", "[kernels]") {
  const unsigned seed = 20261127;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    const std::size_t unit = is_plain(type) ? 1 : (block_values(type) == 256 ? 256 : 32);
    // Plain: 1031 cols crosses the batch kernel's 1024-column passes (the second one adds to y);
    // 50 tokens are a full 48-token block and a short one. 7 and 13 tokens end in two evened-out
    // tiles.
    const std::vector<std::size_t> token_counts = is_plain(type)
                                                      ? std::vector<std::size_t>{1, 2, 3, 7, 13, 50}
                                                      : std::vector<std::size_t>{1, 3, 7, 13};
    for (const std::size_t cols :
         {unit * (is_plain(type) ? 67 : 3), unit * (is_plain(type) ? 1031 : 5)}) {
      // 150 rows: 10 groups, so each of 2 threads runs the one-token kernel's 4 streams and a rest.
      for (const std::size_t rows : {std::size_t{1}, std::size_t{37}, std::size_t{150}}) {
        const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
        for (const std::size_t n_tokens : token_counts) {
          const auto x = normal_values(rng, n_tokens * cols);  // [n_tokens, cols]
          for (const Arch arch : runnable_archs()) {
            INFO("type " << llama3::io::traits_of(type).name << ", rows " << rows << ", cols "
                         << cols << ", tokens " << n_tokens << ", arch " << arch_name(arch));
            check_matmul(m, x, n_tokens, pool, arch);
          }
        }
      }
    }
  }
}

// Speculative verification and micro-batched prompts must give what one-token decoding gives, so
// a token's outputs may not depend on how many tokens share its batch: the one-token kernels sum
// in the batch kernels' order, bit for bit. 1031 plain columns cross a 1024-column slice.
TEST_CASE("a token's matmul outputs are the same bits alone and in a batch", "[kernels]") {
  const unsigned seed = 20261205;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    const std::size_t unit = is_plain(type) ? 1 : (block_values(type) == 256 ? 256 : 32);
    for (const std::size_t cols :
         {unit * (is_plain(type) ? 67 : 3), unit * (is_plain(type) ? 1031 : 5)}) {
      const TestMatrix m = make_matrix(rng, type, 150, cols, pool);
      for (const std::size_t n_tokens :
           {std::size_t{2}, std::size_t{7}, std::size_t{13}, std::size_t{50}}) {
        const auto x = normal_values(rng, n_tokens * cols);
        for (const Arch arch : runnable_archs()) {
          INFO("type " << llama3::io::traits_of(type).name << ", cols " << cols << ", tokens "
                       << n_tokens << ", arch " << arch_name(arch));
          std::vector<float> batch(n_tokens * 150, NAN), alone(150, NAN);
          matmul(m.matrix, x.data(), n_tokens, batch.data(), pool, arch);
          for (std::size_t t = 0; t < n_tokens; ++t) {
            INFO("token " << t);
            matmul(m.matrix, x.data() + t * cols, 1, alone.data(), pool, arch);
            REQUIRE(std::equal(alone.begin(), alone.end(), batch.begin() + t * 150));
          }
        }
      }
    }
  }
}

// The K-quant kernels' edges at every arch: a group's last rows filling part of a register (11 and
// 13 valid rows end inside the second 8-row or the fourth 4-row batch), batches crossing the
// 64-token chunk and ending in a short tile, and activations at +-127 everywhere, where s16 pair
// sums kept over too many chunks would saturate pmaddubsw. Same bound as the test above.
TEST_CASE("K-quant kernels at every arch: partial row batches, token chunks, extreme activations",
          "[kernels]") {
  const unsigned seed = 20261131;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  const std::size_t cols = 512;
  for (const TensorType type : {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K}) {
    for (const std::size_t rows : {std::size_t{11}, std::size_t{29}}) {
      const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
      for (const std::size_t n_tokens : {std::size_t{1}, std::size_t{5}, std::size_t{70}}) {
        for (const float level : {0.0f, 1.0f, -1.0f}) {  // 0: normal values
          auto x = normal_values(rng, n_tokens * cols);  // [n_tokens, cols]
          if (level != 0.0f) std::fill(x.begin(), x.end(), level);
          for (const Arch arch : runnable_archs()) {
            if (arch == Arch::kScalar) continue;
            INFO("type " << llama3::io::traits_of(type).name << ", rows " << rows << ", tokens "
                         << n_tokens << ", level " << level << ", arch " << arch_name(arch));
            check_matmul(m, x, n_tokens, pool, arch);
          }
        }
      }
    }
  }
}

// The K-quants' f16 factors (d, dmin) of every class: zeros, subnormals, the extremes. SSE4 has no
// F16C and converts them with bit arithmetic. One super-block per row, so a row's factors share a
// magnitude and the bound is relative to that row's own sum (no absolute slack).
TEST_CASE("K-quant kernels at every arch read every class of f16 factor", "[kernels]") {
  const unsigned seed = 20261201;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  const std::uint16_t factors[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x83ff,
                                   0x0400, 0x7bff, 0xfbff, 0x3c00, 0xc000};
  const std::size_t cols = 256, rows = 29;
  for (const TensorType type : {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K}) {
    RandomWeightMatrix source = random_weight_matrix(rng, type, rows, cols);
    const std::size_t block_bytes = llama3::io::traits_of(type).block_bytes;
    for (std::size_t r = 0; r < rows; ++r) {
      std::uint8_t* block = source.stored.data() + r * source.matrix.row_bytes;
      const std::uint16_t d = factors[r % std::size(factors)];
      const std::uint16_t dmin = factors[(r + 3) % std::size(factors)];
      if (type == TensorType::kQ6_K) {
        std::memcpy(block + block_bytes - 2, &d, 2);  // d ends a Q6_K block
      } else {
        std::memcpy(block, &d, 2);  // d, then dmin, start a Q4_K/Q5_K block
        std::memcpy(block + 2, &dmin, 2);
      }
    }
    TestMatrix m{std::move(source.stored), source.matrix, nullptr};
    m.packed = pack_weight_matrix(m.matrix, pool);
    m.matrix.packed = m.packed.get();
    for (const std::size_t n_tokens : {std::size_t{1}, std::size_t{5}}) {
      const auto x = normal_values(rng, n_tokens * cols);  // [n_tokens, cols]
      for (const Arch arch : runnable_archs()) {
        if (arch == Arch::kScalar) continue;
        INFO("type " << llama3::io::traits_of(type).name << ", tokens " << n_tokens << ", arch "
                     << arch_name(arch));
        check_matmul(m, x, n_tokens, pool, arch, /*absolute=*/0.0);
      }
    }
  }
}

// Several matrices on one input in one pass give exactly what one matmul after another gives.
TEST_CASE("matmul_same_input equals separate matmuls", "[kernels]") {
  const unsigned seed = 20261128;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    const std::size_t cols = is_plain(type) ? 67 : (block_values(type) == 256 ? 512 : 96);
    std::vector<TestMatrix> matrices;
    for (const std::size_t rows : {std::size_t{37}, std::size_t{150}, std::size_t{16}})
      matrices.push_back(make_matrix(rng, type, rows, cols, pool));
    const WeightMatrix* const ws[] = {&matrices[0].matrix, &matrices[1].matrix,
                                      &matrices[2].matrix};
    for (const std::size_t n_tokens : {std::size_t{1}, std::size_t{3}}) {
      const auto x = normal_values(rng, n_tokens * cols);
      for (const Arch arch : runnable_archs()) {
        INFO("type " << llama3::io::traits_of(type).name << ", tokens " << n_tokens << ", arch "
                     << arch_name(arch));
        std::vector<std::vector<float>> fused(3), separate(3);
        for (std::size_t i = 0; i < 3; ++i) {
          fused[i].assign(n_tokens * ws[i]->rows, NAN);
          separate[i].assign(n_tokens * ws[i]->rows, NAN);
          matmul(*ws[i], x.data(), n_tokens, separate[i].data(), pool, arch);
        }
        float* const ys[] = {fused[0].data(), fused[1].data(), fused[2].data()};
        matmul_same_input(ws, x.data(), n_tokens, ys, pool, arch);
        for (std::size_t i = 0; i < 3; ++i) REQUIRE(fused[i] == separate[i]);
      }
    }
  }
}

// Matrices of different integer-block formats on one input (Q4_K_M's Q/K/V are Q4_K, Q4_K, Q6_K)
// fuse too, each reading the activations rounded for its own format.
TEST_CASE("matmul_same_input equals separate matmuls for mixed quantized formats", "[kernels]") {
  const unsigned seed = 20261129;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  const std::size_t cols = 512;
  const TensorType types[] = {TensorType::kQ4_K, TensorType::kQ6_K, TensorType::kQ4_K,
                              TensorType::kQ5_K, TensorType::kQ8_0};
  const std::size_t rows[] = {150, 37, 16, 21, 40};
  std::vector<TestMatrix> matrices;
  std::vector<const WeightMatrix*> ws;
  for (std::size_t i = 0; i < std::size(types); ++i)
    matrices.push_back(make_matrix(rng, types[i], rows[i], cols, pool));
  for (const TestMatrix& m : matrices) ws.push_back(&m.matrix);
  for (const std::size_t n_tokens : {std::size_t{1}, std::size_t{3}, std::size_t{9}}) {
    const auto x = normal_values(rng, n_tokens * cols);
    for (const Arch arch : runnable_archs()) {
      INFO("tokens " << n_tokens << ", arch " << arch_name(arch));
      std::vector<std::vector<float>> fused, separate;
      std::vector<float*> ys;
      for (const WeightMatrix* w : ws) {
        fused.emplace_back(n_tokens * w->rows, NAN);
        separate.emplace_back(n_tokens * w->rows, NAN);
        matmul(*w, x.data(), n_tokens, separate.back().data(), pool, arch);
      }
      for (auto& y : fused) ys.push_back(y.data());
      matmul_same_input(ws, x.data(), n_tokens, ys, pool, arch);
      for (std::size_t i = 0; i < ws.size(); ++i) REQUIRE(fused[i] == separate[i]);
    }
  }
}

// The end-to-end error of rounding activations: each 32-block moves by at most half its step
// d = max|x| / 127, so |y - exact| <= sum_b (d_b / 2) * sum_{j in b} |w_j| (+ the bound above).
TEST_CASE("integer kernels stay within the activation-rounding bound of the exact product",
          "[kernels]") {
  const unsigned seed = 7;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(1);
  for (const TensorType type :
       {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_K, TensorType::kQ6_K}) {
    const std::size_t cols = 512, rows = 19;
    const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
    const auto x = normal_values(rng, cols);
    std::vector<float> y(rows);
    matmul(m.matrix, x.data(), 1, y.data(), pool, detected_arch());
    std::vector<float> w(cols);
    for (std::size_t r = 0; r < rows; ++r) {
      reference::dequantize_row(type, m.matrix.row(r), w.data(), cols);
      double bound = 0.0, magnitude = 0.0;
      for (std::size_t b = 0; b < cols / 32; ++b) {
        double amax = 0.0, weight_sum = 0.0;
        for (std::size_t j = b * 32; j < b * 32 + 32; ++j) {
          amax = std::max(amax, static_cast<double>(std::fabs(x[j])));
          weight_sum += std::fabs(w[j]);
          magnitude += std::fabs(w[j] * x[j]);
        }
        bound += amax / 127.0 / 2.0 * weight_sum;
      }
      const double exact = reference::dot_row(type, m.matrix.row(r), x.data(), cols);
      INFO("type " << llama3::io::traits_of(type).name << ", row " << r);
      REQUIRE(std::fabs(y[r] - exact) <= bound + 1e-3 * magnitude);
    }
  }
}

TEST_CASE("parallel_chunks runs every index exactly once", "[kernels]") {
  ThreadPool pool(2);
  for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{1001}}) {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{4}, std::size_t{64}}) {
      // Chunks are disjoint, so each index is written by one thread; Catch asserts only here.
      std::vector<int> seen(n, 0);
      std::atomic<int> bad_chunks{0};
      pool.parallel_chunks(n, chunk, [&](std::size_t begin, std::size_t end, int) {
        if (begin >= end || end - begin > chunk) ++bad_chunks;
        for (std::size_t i = begin; i < end; ++i) ++seen[i];
      });
      REQUIRE(bad_chunks.load() == 0);
      for (const int count : seen) REQUIRE(count == 1);
    }
  }
}

// Batches longer than the kernels' token blocks (64 tokens for the integer kernels, 48 for the
// plain ones), at every format, with partial row groups.
TEST_CASE("matmul at every arch matches the reference past the kernels' token blocks",
          "[kernels]") {
  const unsigned seed = 20261130;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    const std::size_t cols = is_plain(type) ? 67 : (block_values(type) == 256 ? 256 : 96);
    const std::size_t rows = 37, n_tokens = 67;
    const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
    const auto x = normal_values(rng, n_tokens * cols);
    for (const Arch arch : runnable_archs()) {
      INFO("type " << llama3::io::traits_of(type).name << ", arch " << arch_name(arch));
      check_matmul(m, x, n_tokens, pool, arch);
    }
  }
}

// Without VNNI the integer kernels multiply u8 x s8 byte pairs into saturating s16 sums: weights at
// the ends of their range (Q8_0's -128 and 127, all-ones nibbles and fifth bits, random bytes)
// against activations that all round to +-127 must still give the exact integer sums.
TEST_CASE("integer kernels stay exact at extreme weights and activations", "[kernels]") {
  const unsigned seed = 20261131;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  const std::size_t rows = 37, cols = 96, n_tokens = 7;
  // x: [n_tokens, cols]: all +1, all -1, +-1 alternating, +-1 by pairs, then normal values.
  std::vector<float> x = normal_values(rng, n_tokens * cols, 3.0f);
  for (std::size_t c = 0; c < cols; ++c) {
    x[c] = 1.0f;
    x[cols + c] = -1.0f;
    x[2 * cols + c] = c % 2 ? -1.0f : 1.0f;
    x[3 * cols + c] = c / 2 % 2 ? -1.0f : 1.0f;
  }
  for (const TensorType type : {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_1,
                                TensorType::kQ5_0, TensorType::kQ5_1}) {
    const bool has_min = type == TensorType::kQ4_1 || type == TensorType::kQ5_1;
    const std::size_t block_bytes = packed_bytes(type, 32);
    const std::size_t row_bytes = packed_bytes(type, cols);
    TestMatrix m;
    m.stored.resize(rows * row_bytes);
    std::uniform_int_distribution<int> byte(0, 255);
    for (std::size_t r = 0; r < rows; ++r) {
      // Quant bytes (and Q5's fifth bits): Q8_0 127 / -128, the others all ones / all zeros, or
      // random; then the f16 scale (and min) of every block.
      const std::uint8_t high = type == TensorType::kQ8_0 ? 0x7F : 0xFF;
      const std::uint8_t low = type == TensorType::kQ8_0 ? 0x80 : 0x00;
      std::uint8_t* row = m.stored.data() + r * row_bytes;
      for (std::size_t i = 0; i < row_bytes; ++i) {
        row[i] = r % 3 == 0 ? high : r % 3 == 1 ? low : static_cast<std::uint8_t>(byte(rng));
      }
      for (std::size_t b = 0; b < cols / 32; ++b) {
        const std::uint16_t d = f32_to_f16(r % 2 ? 0.5f : -0.75f);
        std::memcpy(row + b * block_bytes, &d, 2);
        if (has_min) {
          const std::uint16_t min = f32_to_f16(-0.25f);
          std::memcpy(row + b * block_bytes + 2, &min, 2);
        }
      }
    }
    m.matrix.type = type;
    m.matrix.data = m.stored.data();
    m.matrix.rows = rows;
    m.matrix.cols = cols;
    m.matrix.row_bytes = row_bytes;
    m.packed = pack_weight_matrix(m.matrix, pool);
    m.matrix.packed = m.packed.get();
    for (const Arch arch : runnable_archs()) {
      INFO("type " << llama3::io::traits_of(type).name << ", arch " << arch_name(arch));
      check_matmul(m, x, n_tokens, pool, arch);  // the batch kernels
      for (std::size_t t = 0; t < n_tokens; ++t) {
        INFO("one token: " << t);
        const std::vector<float> xt(x.begin() + t * cols, x.begin() + (t + 1) * cols);
        check_matmul(m, xt, 1, pool, arch);
      }
    }
  }
}

#if defined(__x86_64__)
// The AMX level multiplies 16 tokens by 16 rows per tile instruction where AVX-512 takes a token
// and 4 values at a time; the integer sums are exact and the float steps the same, so the two agree
// bit for bit, on the legacy blocks and the K-quants (Q6_K: 16-value tiles). Token counts around
// the 16-token tile and the 32-token threshold (a short last tile reads zero rows), two token
// chunks (300), a group's rows cut off (5, 37, 45 rows), and short batches (AVX-512's kernel).
TEST_CASE("The AMX level equals the AVX-512 level bit for bit", "[kernels][amx]") {
  const std::vector<Arch> levels = runnable_archs();
  if (std::find(levels.begin(), levels.end(), Arch::kAmx) == levels.end()) {
    WARN("this CPU (or OS) runs no AMX tiles: nothing to compare");
    return;
  }
  const unsigned seed = 20261205;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    if (is_plain(type)) continue;
    for (const std::size_t rows : {std::size_t{5}, std::size_t{37}, std::size_t{45}}) {
      const std::size_t cols = block_values(type) == 256 ? 256 * 3 : 32 * 7;
      const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
      for (const std::size_t n_tokens : {1, 31, 32, 33, 47, 64, 67, 130, 300}) {
        INFO("type " << llama3::io::traits_of(type).name << ", rows " << rows << ", tokens "
                     << n_tokens);
        const auto x = normal_values(rng, n_tokens * cols);
        std::vector<float> avx512(n_tokens * rows, NAN), amx(n_tokens * rows, NAN);
        matmul(m.matrix, x.data(), n_tokens, avx512.data(), pool, Arch::kAvx512);
        matmul(m.matrix, x.data(), n_tokens, amx.data(), pool, Arch::kAmx);
        CHECK(amx == avx512);
      }
    }
  }
}
#endif

#if defined(__aarch64__)
// The dot-product level adds each chunk's byte products straight into s32 (sdot) where NEON goes
// through s16 pair sums; both sums are exact, and the float steps after them are the same, so the
// two levels agree bit for bit on every quantized type (docs/performance.md, "ARM levels").
TEST_CASE("The ARM dot-product level equals the NEON level bit for bit", "[kernels][arm]") {
  const std::vector<Arch> levels = runnable_archs();
  if (std::find(levels.begin(), levels.end(), Arch::kDotprod) == levels.end()) {
    WARN("this CPU has no dot-product instructions: nothing to compare");
    return;
  }
  const unsigned seed = 20261203;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    if (is_plain(type)) continue;
    const std::size_t cols = block_values(type) == 256 ? 512 : 96;
    const TestMatrix m = make_matrix(rng, type, 37, cols, pool);
    for (const std::size_t n_tokens : {std::size_t{1}, std::size_t{7}}) {
      INFO("type " << llama3::io::traits_of(type).name << ", tokens " << n_tokens);
      const auto x = normal_values(rng, n_tokens * cols);
      std::vector<float> neon(n_tokens * 37), dotprod(n_tokens * 37);
      matmul(m.matrix, x.data(), n_tokens, neon.data(), pool, Arch::kNeon);
      matmul(m.matrix, x.data(), n_tokens, dotprod.data(), pool, Arch::kDotprod);
      CHECK(dotprod == neon);
    }
  }
}

// The i8mm level multiplies 2 rows by 2 tokens per instruction (smmla) where the dot-product level
// takes one token at a time; the integer sums are exact and the float steps the same, so the two
// agree bit for bit. Odd token counts (the last token pairs with itself), a group's rows cut off
// within either of its 8-row passes (5, 37, 45 rows), the 4-token tiles and the 64-token chunks.
TEST_CASE("The ARM i8mm level equals the dot-product level bit for bit", "[kernels][arm]") {
  const std::vector<Arch> levels = runnable_archs();
  if (std::find(levels.begin(), levels.end(), Arch::kI8mm) == levels.end()) {
    WARN("this CPU has no int8 matrix multiply: nothing to compare");
    return;
  }
  const unsigned seed = 20261204;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ThreadPool pool(2);
  for (const TensorType type : kWeightTypes) {
    if (is_plain(type) || block_values(type) == 256) continue;  // K-quants: the same kernel
    for (const std::size_t rows : {std::size_t{5}, std::size_t{37}, std::size_t{45}}) {
      const std::size_t cols = 32 * 5;
      const TestMatrix m = make_matrix(rng, type, rows, cols, pool);
      for (const std::size_t n_tokens : {1, 2, 3, 5, 8, 13, 67}) {
        INFO("type " << llama3::io::traits_of(type).name << ", rows " << rows << ", tokens "
                     << n_tokens);
        const auto x = normal_values(rng, n_tokens * cols);
        std::vector<float> dotprod(n_tokens * rows, NAN), i8mm(n_tokens * rows, NAN);
        matmul(m.matrix, x.data(), n_tokens, dotprod.data(), pool, Arch::kDotprod);
        matmul(m.matrix, x.data(), n_tokens, i8mm.data(), pool, Arch::kI8mm);
        CHECK(i8mm == dotprod);
      }
    }
  }
}
#endif
