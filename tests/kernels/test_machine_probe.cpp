// The machine probes behind `llama3 bench`'s bounds return finite, positive rates for every
// thread count and type they are used with (their values are measurements, never asserted).
#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/machine_probe.hpp"

using namespace llama3;

TEST_CASE("machine probes give finite positive rates", "[kernels]") {
  for (int threads : {1, 2}) {
    kernels::ThreadPool pool(threads);
    INFO("threads " << threads);
    // A small buffer keeps the test quick; the rate is still a rate.
    const double bandwidth = kernels::measure_read_bandwidth(pool, std::size_t{8} << 20, 1);
    CHECK(std::isfinite(bandwidth));
    CHECK(bandwidth > 0.0);
    for (auto type : {io::TensorType::kF32, io::TensorType::kQ8_0, io::TensorType::kQ4_0}) {
      const double peak = kernels::measure_matmul_peak(pool, type);
      CHECK(std::isfinite(peak));
      CHECK(peak > 0.0);
    }
  }
}
