// Probe: memory read bandwidth with OpenMP threads, 4 streams per thread over 1 GiB, best of 5.
// Printed by bench/compare_llamacpp.sh next to the speeds, since other users' load moves it.
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

int main() {
  const std::size_t n = std::size_t{1} << 27;  // 2^27 x 8 bytes = 1 GiB
  std::vector<std::uint64_t> data(n);
#pragma omp parallel for
  for (std::size_t i = 0; i < n; ++i) data[i] = i;
  double best = 0.0;
  std::uint64_t sink = 0;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t total = 0;
#pragma omp parallel for reduction(+ : total)
    for (std::size_t block = 0; block < n / 4096; ++block) {
      // Four interleaved streams per thread: one stream alone does not saturate the prefetchers.
      const std::uint64_t* p = data.data() + block * 4096;
      std::uint64_t a = 0, b = 0, c = 0, d = 0;
      for (std::size_t i = 0; i < 1024; ++i) a += p[i], b += p[1024 + i], c += p[2048 + i], d += p[3072 + i];
      total += a ^ b ^ c ^ d;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, n * 8.0 / seconds / 1e9);
    sink += total;
  }
  std::printf("%.1f GB/s (%d threads)%s\n", best, omp_get_max_threads(), sink == 42 ? " " : "");
  return 0;
}
