// Probe: memory read bandwidth over 1 GiB, best of 5 rounds (kernels/machine_probe.hpp, the same
// measurement `llama3 bench` makes for its generation bound).
// bench/compare_llamacpp.sh prints it next to the speeds, since other users' load moves it a lot.
//   read_bandwidth [threads=2]
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "kernels/machine_probe.hpp"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2;
  llama3::kernels::ThreadPool pool(threads);
  const double bytes_per_second =
      llama3::kernels::measure_read_bandwidth(pool, std::size_t{1} << 30, 5);
  std::printf("%.1f GB/s (%d threads)\n", bytes_per_second / 1e9, threads);
  return 0;
}
