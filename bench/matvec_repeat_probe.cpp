// Probe for instruction counting (scripts/count-arm-instructions.sh): packs one random weight
// matrix and runs kernels::matmul for one token `repeats` times at the active arch on one
// thread, then exits. Run under an instruction counter twice (e.g. 1 and 11 repeats), the
// difference divided by the extra repeats is the instructions of one token's matrix-vector
// product, without the setup. Prints nothing timed: it is meant for emulators.
//   matvec_repeat_probe TYPE [repeats=1] [rows=2048] [cols=2048]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "io/tensor_type.hpp"
#include "kernels/cpu_arch.hpp"
#include "kernels/matmul.hpp"
#include "kernels/reference.hpp"
#include "kernels/thread_pool.hpp"

using namespace llama3;

int main(int argc, char** argv) {
  if (argc < 2 || !io::tensor_type_from_name(argv[1])) {
    std::fprintf(stderr, "usage: matvec_repeat_probe TYPE [repeats] [rows] [cols]\n");
    return 2;
  }
  const auto type = *io::tensor_type_from_name(argv[1]);
  const long repeats = argc > 2 ? std::atol(argv[2]) : 1;
  const std::size_t rows = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2048;
  const std::size_t cols = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 2048;
  const auto row_bytes = io::row_bytes(type, cols);
  if (repeats < 0 || rows == 0 || !row_bytes) {
    std::fprintf(stderr, "matvec_repeat_probe: bad repeats, rows or cols for %s\n", argv[1]);
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> row(cols);
  std::vector<std::uint8_t> stored(rows * *row_bytes);
  for (std::size_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = normal(rng);
    kernels::reference::quantize_row(type, row.data(), stored.data() + r * *row_bytes, cols);
  }
  kernels::ThreadPool pool(1);
  kernels::WeightMatrix m;
  m.type = type, m.data = stored.data(), m.rows = rows, m.cols = cols, m.row_bytes = *row_bytes;
  const auto packed = kernels::pack_weight_matrix(m, pool);
  m.packed = packed.get();
  std::vector<float> x(cols), y(rows);
  for (auto& v : x) v = normal(rng);
  for (long i = 0; i < repeats; ++i) kernels::matmul(m, x.data(), 1, y.data(), pool);
  std::printf("%s %zux%zu arch %s repeats %ld y[0] %g\n", argv[1], rows, cols,
              std::string(kernels::arch_name(kernels::active_arch())).c_str(), repeats, y[0]);
  return 0;
}
