// The packed-weight arena hands out page-aligned, zeroed, non-overlapping memory, including after
// releases and for requests larger than one region.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/huge_page_arena.hpp"

using namespace llama3::kernels;

namespace {

bool all_zero(const std::byte* at, std::size_t n) {
  return std::all_of(at, at + n, [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

TEST_CASE("huge page arena: aligned, zeroed, disjoint", "[kernels]") {
  const std::size_t sizes[] = {1, 4096, 5000, std::size_t{3} << 20, 100};
  std::vector<std::pair<std::byte*, std::size_t>> live;
  for (const std::size_t n : sizes) {
    std::byte* at = allocate_huge_page_memory(n);
    REQUIRE(reinterpret_cast<std::uintptr_t>(at) % 4096 == 0);
    REQUIRE(all_zero(at, n));
    std::fill(at, at + n, std::byte{0xAB});
    for (const auto& [other, m] : live) REQUIRE((at + n <= other || other + m <= at));
    live.emplace_back(at, n);
  }
  // Release the middle ones; new memory is still zeroed and does not overlap what is live.
  release_huge_page_memory(live[1].first, live[1].second);
  release_huge_page_memory(live[3].first, live[3].second);
  std::byte* again = allocate_huge_page_memory(8192);
  CHECK(all_zero(again, 8192));
  for (const std::size_t i : {0, 2, 4}) {
    const auto& [other, m] = live[i];
    CHECK((again + 8192 <= other || other + m <= again));
    CHECK(other[m - 1] == std::byte{0xAB});  // untouched by the releases
  }
  // Larger than a region: its own mapping.
  const std::size_t big = (std::size_t{1} << 30) + 12345;
  std::byte* large = allocate_huge_page_memory(big);
  large[big - 1] = std::byte{1};
  release_huge_page_memory(large, big);
  release_huge_page_memory(again, 8192);
  for (const std::size_t i : {0, 2, 4}) release_huge_page_memory(live[i].first, live[i].second);
}
