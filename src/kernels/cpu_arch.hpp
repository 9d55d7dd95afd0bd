// Which instruction-set level the fast kernels run at. Detected once (cpuid on x86, the kernel's
// hardware capability bits on aarch64); the environment variable LLAMA3_ARCH (scalar, and
// sse4|avx2|avx512|amx on x86, neon|dotprod|i8mm on aarch64) can lower it, never raise it above
// what the CPU has. Every kernel entry point also takes an explicit Arch so tests can run each
// level.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace llama3::kernels {

// Within one CPU family a later level implies the CPU runs the earlier ones; levels of different
// families never compare (use runnable_archs()).
enum class Arch {
  kScalar,  // the reference kernels in reference.hpp, unpacked weights
  // x86-64
  kSse4,    // packed weights, portable C++ compiled for the x86-64-v2 baseline
  kAvx2,    // the same C++ compiled with AVX2 + FMA + F16C
  kAvx512,  // intrinsics: AVX-512 F/BW/VL + VNNI (vpdpbusd); BF16 dot where present
  kAmx,     // AVX-512 plus the AMX int8 tiles (tdpbssd) for 8-bit blocks of >= 32 tokens; needs the
            // OS's permission for the tile state (Linux 5.16 on)
  // aarch64
  kNeon,     // packed weights, the xsimd kernels on Advanced SIMD (every ARMv8-A CPU)
  kDotprod,  // the same with the ARMv8.2 dot-product instructions (sdot) for 8-bit blocks
  kI8mm,     // dotprod plus the int8 matrix multiply (smmla, FEAT_I8MM) for 8-bit blocks of >= 2
             // tokens
};

std::string_view arch_name(Arch arch);
std::optional<Arch> arch_from_name(std::string_view name);

// The best level this CPU runs (cpuid and OS support for the vector state on x86; AT_HWCAP and
// AT_HWCAP2 on aarch64). Scalar on any other CPU, or when the library was built for another family.
Arch detected_arch();

// Every level this CPU runs with this build, the portable scalar level first, detected_arch() last.
std::vector<Arch> runnable_archs();

// detected_arch(), lowered by LLAMA3_ARCH when set to a level in runnable_archs(); computed once
// per process.
Arch active_arch();

// True when this CPU has the AVX-512 BF16 dot-product instruction (vdpbf16ps).
bool cpu_has_avx512_bf16();

}  // namespace llama3::kernels
