// fill at every arch: every element of the range set, nothing outside it touched, at odd lengths
// and unaligned starts (the vector loop's head and tail).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/vector_ops.hpp"

using namespace llama3::kernels;

TEST_CASE("fill sets exactly the range at every arch", "[kernels]") {
  for (const Arch arch : runnable_archs()) {
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
      for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{17},
                                  std::size_t{64}, std::size_t{1001}}) {
        INFO("arch " << arch_name(arch) << ", offset " << offset << ", n " << n);
        std::vector<float> row(n + 2 * offset + 8, 1.5f);
        fill(row.data() + offset, n, -INFINITY, arch);
        for (std::size_t i = 0; i < row.size(); ++i) {
          const bool inside = i >= offset && i < offset + n;
          REQUIRE(row[i] == (inside ? -INFINITY : 1.5f));
        }
      }
    }
  }
}
