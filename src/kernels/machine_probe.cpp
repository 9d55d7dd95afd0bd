#include "kernels/machine_probe.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/reference.hpp"

namespace llama3::kernels {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One stream alone does not keep the prefetchers busy enough to saturate memory.
constexpr std::size_t kStreamWords = 1024;
constexpr std::size_t kBlockWords = 4 * kStreamWords;

volatile std::uint64_t g_read_sink = 0;

std::uint64_t read_blocks(const std::uint64_t* data, std::size_t first, std::size_t end) {
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
  for (std::size_t block = first; block < end; ++block) {
    const std::uint64_t* p = data + block * kBlockWords;
    for (std::size_t i = 0; i < kStreamWords; ++i) {
      a += p[i];
      b += p[kStreamWords + i];
      c += p[2 * kStreamWords + i];
      d += p[3 * kStreamWords + i];
    }
  }
  return a ^ b ^ c ^ d;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, std::size_t bytes, int rounds) {
  const std::size_t n_blocks = std::max<std::size_t>(1, bytes / (kBlockWords * 8));
  // Distinct values, written once, so every page is backed before the clock starts.
  std::vector<std::uint64_t> data(n_blocks * kBlockWords);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = i;
  const auto threads = static_cast<std::size_t>(pool.size());
  std::vector<std::uint64_t> sums(threads);
  double best = 0.0;
  for (int round = 0; round < std::max(1, rounds); ++round) {
    const auto start = Clock::now();
    pool.run_on_all([&](int thread) {
      const auto t = static_cast<std::size_t>(thread);
      sums[t] += read_blocks(data.data(), n_blocks * t / threads, n_blocks * (t + 1) / threads);
    });
    best = std::max(best, static_cast<double>(data.size() * 8) / seconds_since(start));
  }
  // Stored where the compiler must assume someone reads it, so the reads cannot be elided.
  std::uint64_t sink = 0;
  for (const auto s : sums) sink ^= s;
  g_read_sink = sink;
  return best;
}

double measure_matmul_peak(ThreadPool& pool, io::TensorType type) {
  // 512 x 1024 weights: 0.5 MiB at 8 bits, 2 MiB as f32, so the batch's passes hit cache.
  constexpr std::size_t kRows = 512, kCols = 1024, kBatch = 64;
  const std::size_t row_bytes = *io::row_bytes(type, kCols);
  std::vector<std::uint8_t> stored(kRows * row_bytes);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> row(kCols);
  for (std::size_t r = 0; r < kRows; ++r) {
    for (auto& v : row) v = normal(rng);
    reference::quantize_row(type, row.data(), stored.data() + r * row_bytes, kCols);
  }
  WeightMatrix matrix;
  matrix.type = type;
  matrix.data = stored.data();
  matrix.rows = kRows;
  matrix.cols = kCols;
  matrix.row_bytes = row_bytes;
  const auto packed = pack_weight_matrix(matrix, pool);
  matrix.packed = packed.get();
  std::vector<float> x(kBatch * kCols), y(kBatch * kRows);
  for (auto& v : x) v = normal(rng);
  matmul(matrix, x.data(), kBatch, y.data(), pool);  // warm the caches and the threads
  double best = 1e30;
  for (int pass = 0; pass < 8; ++pass) {
    const auto start = Clock::now();
    matmul(matrix, x.data(), kBatch, y.data(), pool);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * kRows * kCols * kBatch / best;
}

}  // namespace llama3::kernels
