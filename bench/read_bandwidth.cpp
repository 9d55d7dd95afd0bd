// Probe: memory read bandwidth, four interleaved streams per thread over 1 GiB, best of 5 rounds.
// bench/compare_llamacpp.sh prints it next to the speeds, since other users' load moves it a lot.
//   read_bandwidth [threads=2]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

std::uint64_t read_range(const std::uint64_t* data, std::size_t first_block,
                         std::size_t end_block) {
  constexpr std::size_t kStream = 1024;  // one stream alone does not saturate the prefetchers
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
  for (std::size_t block = first_block; block < end_block; ++block) {
    const std::uint64_t* p = data + block * 4 * kStream;
    for (std::size_t i = 0; i < kStream; ++i) {
      a += p[i], b += p[kStream + i], c += p[2 * kStream + i], d += p[3 * kStream + i];
    }
  }
  return a ^ b ^ c ^ d;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2;
  const std::size_t n = std::size_t{1} << 27;  // 2^27 x 8 bytes = 1 GiB
  const std::size_t n_blocks = n / 4096;
  std::vector<std::uint64_t> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = i;
  double best = 0.0;
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads));
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      const auto ut = static_cast<std::size_t>(t);
      workers.emplace_back([&, ut] {
        sums[ut] += read_range(data.data(), n_blocks * ut / static_cast<std::size_t>(threads),
                               n_blocks * (ut + 1) / static_cast<std::size_t>(threads));
      });
    }
    for (auto& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n) * 8.0 / seconds / 1e9);
  }
  std::uint64_t sink = 0;
  for (const auto s : sums) sink ^= s;
  std::printf("%.1f GB/s (%d threads)%s\n", best, threads, sink == 42 ? " " : "");
  return 0;
}
