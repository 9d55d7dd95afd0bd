// Probe: speed of kernels::matmul on one random 1B-shaped weight matrix (default ffn_up, 8192 x
// 2048) for 1 token (GB/s of weights streamed) and for a batch (GOP/s), at the active arch.
//   matmul_probe TYPE [threads=2] [rows=8192] [cols=2048] [batch=64] [copies] [batch_passes=4]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "io/tensor_type.hpp"
#include "kernels/matmul.hpp"
#include "kernels/reference.hpp"

using namespace llama3;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: matmul_probe TYPE [threads] [rows] [cols] [batch]\n");
    return 2;
  }
  const auto type = *io::tensor_type_from_name(argv[1]);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::size_t rows = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 8192;
  const std::size_t cols = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 2048;
  const std::size_t batch = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 64;
  const std::size_t row_bytes = *io::row_bytes(type, cols);
  // Enough copies of the matrix that one token's pass streams from memory, not cache.
  const std::size_t copies =
      argc > 6 ? std::strtoul(argv[6], nullptr, 10)
               : std::max<std::size_t>(1, (std::size_t{256} << 20) / (rows * row_bytes));
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> row(cols);
  std::vector<std::vector<std::uint8_t>> stored(copies,
                                                std::vector<std::uint8_t>(rows * row_bytes));
  kernels::ThreadPool pool(threads);
  using Clock = std::chrono::steady_clock;
  double pack_seconds = 0.0;
  std::vector<kernels::WeightMatrix> matrices(copies);
  std::vector<std::unique_ptr<kernels::PackedMatrix>> packed(copies);
  for (std::size_t c = 0; c < copies; ++c) {
    for (std::size_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = normal(rng);
      if (c == 0)
        kernels::reference::quantize_row(type, row.data(), stored[c].data() + r * row_bytes, cols);
    }
    if (c > 0) stored[c] = stored[0];
    auto& m = matrices[c];
    m.type = type, m.data = stored[c].data(), m.rows = rows, m.cols = cols, m.row_bytes = row_bytes;
    const auto pack_start = Clock::now();
    packed[c] = kernels::pack_weight_matrix(m, pool);
    pack_seconds += std::chrono::duration<double>(Clock::now() - pack_start).count();
    m.packed = packed[c].get();
  }
  std::vector<float> x(batch * cols), y(batch * rows);
  for (auto& v : x) v = normal(rng);
  // The fastest of `passes` passes over every copy: on a shared host the slower passes measure
  // other processes.
  const auto time = [&](std::size_t n_tokens, int passes) {
    double best = 1e30;
    for (int p = 0; p < passes; ++p) {
      const auto start = Clock::now();
      for (auto& m : matrices) kernels::matmul(m, x.data(), n_tokens, y.data(), pool);
      best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / copies);
    }
    return best;
  };
  time(1, 2);
  const double t1 = time(1, 20);
  const int batch_passes = argc > 7 ? std::atoi(argv[7]) : 4;
  const double tb = time(batch, std::max(1, batch_passes));
  const double bytes = static_cast<double>(packed[0]->bytes());
  std::printf(
      "%s %zux%zu arch %s threads %d: 1 token %.3f ms (%.1f GB/s); %zu tokens %.2f ms (%.0f "
      "GOP/s); packing %.1f GB/s\n",
      argv[1], rows, cols, std::string(kernels::arch_name(kernels::active_arch())).c_str(), threads,
      t1 * 1e3, bytes / t1 / 1e9, batch, tb * 1e3, 2.0 * rows * cols * batch / tb / 1e9,
      bytes * copies / pack_seconds / 1e9);
  return 0;
}
