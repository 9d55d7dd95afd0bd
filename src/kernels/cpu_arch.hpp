// Which instruction-set level the fast kernels run at. Detected once from cpuid; the environment
// variable LLAMA3_ARCH (scalar|sse4|avx2|avx512) can lower it (never raise it above what the CPU
// has), and every kernel entry point also takes an explicit Arch so tests can run each level.
#pragma once

#include <optional>
#include <string_view>

namespace llama3::kernels {

// Ordered from the portable baseline up; a higher level implies the CPU runs the lower ones.
enum class Arch {
  kScalar,  // the reference kernels in reference.hpp, unpacked weights
  kSse4,    // packed weights, portable C++ compiled for the x86-64-v2 baseline
  kAvx2,    // the same C++ compiled with AVX2 + FMA + F16C
  kAvx512,  // intrinsics: AVX-512 F/BW/VL + VNNI (vpdpbusd); BF16 dot where present
};

std::string_view arch_name(Arch arch);
std::optional<Arch> arch_from_name(std::string_view name);

// The best level this CPU runs (cpuid and OS support for the vector state).
Arch detected_arch();

// detected_arch(), lowered by LLAMA3_ARCH when set; computed once per process.
Arch active_arch();

// True when this CPU has the AVX-512 BF16 dot-product instruction (vdpbf16ps).
bool cpu_has_avx512_bf16();

}  // namespace llama3::kernels
