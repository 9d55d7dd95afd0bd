#include "kernels/cpu_arch.hpp"

#include <algorithm>
#include <cstdlib>

#if defined(__aarch64__) && defined(__linux__)
// getauxval is in glibc and in Android's bionic (API level 18 on); the bit values are the Linux
// kernel's (arch/arm64/include/uapi/asm/hwcap.h), repeated for C libraries whose headers lack them.
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef AT_HWCAP2
#define AT_HWCAP2 26
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace llama3::kernels {
namespace {

// Every level of this build's CPU family, lowest first.
std::vector<Arch> family_levels() {
#if defined(__x86_64__)
  return {Arch::kScalar, Arch::kSse4, Arch::kAvx2, Arch::kAvx512, Arch::kAmx};
#elif defined(__aarch64__)
  return {Arch::kScalar, Arch::kNeon, Arch::kDotprod, Arch::kI8mm};
#else
  return {Arch::kScalar};
#endif
}

}  // namespace

#if defined(__x86_64__) || defined(__i386__)
namespace {
// F16C from cpuid leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c", and the OS
// support of the registers it uses is already implied by the AVX check made beside it.
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}

// AMX tiles and their int8 multiply (cpuid leaf 7: EDX bits 24 and 25), usable once Linux grants
// this process the tile state (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16
// on; the grant is process-wide and asked once). Without the grant a tile instruction faults.
bool cpu_runs_amx_int8() {
#if defined(__linux__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  if ((edx & (1u << 24)) == 0 || (edx & (1u << 25)) == 0) return false;
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  static const bool granted = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  return granted;
#else
  return false;
#endif
}
}  // namespace
#endif

std::string_view arch_name(Arch arch) {
  switch (arch) {
    case Arch::kScalar:
      return "scalar";
    case Arch::kSse4:
      return "sse4";
    case Arch::kAvx2:
      return "avx2";
    case Arch::kAvx512:
      return "avx512";
    case Arch::kAmx:
      return "amx";
    case Arch::kNeon:
      return "neon";
    case Arch::kDotprod:
      return "dotprod";
    case Arch::kI8mm:
      return "i8mm";
  }
  return "unknown";
}

std::optional<Arch> arch_from_name(std::string_view name) {
  for (const Arch arch : {Arch::kScalar, Arch::kSse4, Arch::kAvx2, Arch::kAvx512, Arch::kAmx,
                          Arch::kNeon, Arch::kDotprod, Arch::kI8mm}) {
    if (arch_name(arch) == name) return arch;
  }
  return std::nullopt;
}

Arch detected_arch() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves the wide registers (xgetbv).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
    return cpu_runs_amx_int8() ? Arch::kAmx : Arch::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    return Arch::kAvx2;
  }
  if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt")) return Arch::kSse4;
#elif defined(__aarch64__) && defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  // The levels are a chain, each running the one below's kernels: i8mm counts only on top of the
  // dot product (a CPU with FEAT_I8MM but no FEAT_DotProd gets the NEON level).
  if ((hwcap & HWCAP_ASIMD) && (hwcap & HWCAP_ASIMDDP) && (hwcap2 & HWCAP2_I8MM))
    return Arch::kI8mm;
  if ((hwcap & HWCAP_ASIMD) && (hwcap & HWCAP_ASIMDDP)) return Arch::kDotprod;
  if (hwcap & HWCAP_ASIMD) return Arch::kNeon;
#elif defined(__aarch64__)
  return Arch::kNeon;  // Advanced SIMD is part of every ARMv8-A CPU
#endif
  return Arch::kScalar;
}

std::vector<Arch> runnable_archs() {
  std::vector<Arch> levels = family_levels();
  const auto detected = std::find(levels.begin(), levels.end(), detected_arch());
  levels.erase(detected + 1, levels.end());
  return levels;
}

Arch active_arch() {
  static const Arch arch = [] {
    const Arch detected = detected_arch();
    const char* requested = std::getenv("LLAMA3_ARCH");
    if (!requested) return detected;
    const auto parsed = arch_from_name(requested);
    const std::vector<Arch> runnable = runnable_archs();
    if (!parsed || std::find(runnable.begin(), runnable.end(), *parsed) == runnable.end())
      return detected;
    return *parsed;
  }();
  return arch;
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

}  // namespace llama3::kernels
