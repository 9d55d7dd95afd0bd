#include <catch2/catch.hpp>

#include <algorithm>

#include "kernels/cpu_arch.hpp"
#include "kernels/kernel_table.hpp"

using namespace llama3::kernels;

TEST_CASE("The runnable levels run from scalar up to the detected one, each with its own table",
          "[kernels][arch]") {
  const std::vector<Arch> levels = runnable_archs();
  REQUIRE(!levels.empty());
  CHECK(levels.front() == Arch::kScalar);
  CHECK(levels.back() == detected_arch());
  const Arch active = active_arch();
  CHECK(std::find(levels.begin(), levels.end(), active) != levels.end());
  for (const Arch arch : levels) {
    INFO("arch " << arch_name(arch));
    CHECK(arch_from_name(arch_name(arch)) == arch);
    const KernelTable& table = kernel_table(arch);
    CHECK(table.arch == arch);
    CHECK(table.silu_mul != nullptr);
    CHECK(table.quantize_activation_row != nullptr);
    CHECK(table.fill != nullptr);
    CHECK(table.mask_row != nullptr);
    if (arch == Arch::kScalar) {
      CHECK(table.int_block_matmul == nullptr);  // matmul's reference path on unpacked weights
      continue;
    }
    CHECK(table.int_block_matmul != nullptr);
    CHECK(table.k_quant_matmul != nullptr);
    CHECK(table.plain_matmul != nullptr);
    CHECK(table.attend_f16 != nullptr);
    CHECK(table.attend_f32 != nullptr);
    CHECK(table.attend_q8_0 != nullptr);
    CHECK(table.attention_head_multiple % 4 == 0);
    // The chain of lower levels stays within what this CPU runs and ends at scalar.
    const auto position = std::find(levels.begin(), levels.end(), arch);
    REQUIRE(position != levels.begin());
    CHECK(table.lower == *(position - 1));
  }
}

TEST_CASE("Levels of another CPU family or unknown names get the scalar table or no level",
          "[kernels][arch]") {
  CHECK_FALSE(arch_from_name("avx3").has_value());
  CHECK_FALSE(arch_from_name("").has_value());
  const std::vector<Arch> levels = runnable_archs();
  for (const Arch arch : {Arch::kSse4, Arch::kAvx2, Arch::kAvx512, Arch::kAmx, Arch::kNeon,
                          Arch::kDotprod, Arch::kI8mm}) {
    if (std::find(levels.begin(), levels.end(), arch) != levels.end()) continue;
#if defined(__x86_64__)
    const bool other_family = arch == Arch::kNeon || arch == Arch::kDotprod || arch == Arch::kI8mm;
#elif defined(__aarch64__)
    const bool other_family = arch != Arch::kNeon && arch != Arch::kDotprod && arch != Arch::kI8mm;
#else
    const bool other_family = true;
#endif
    INFO("arch " << arch_name(arch));
    if (other_family) CHECK(kernel_table(arch).arch == Arch::kScalar);
  }
}
