// Per-thread float scratch for the per-arch kernels, grown once and then reused (no allocation on
// the per-token path). Not std::vector, and templated on a type of the including arch: an inline
// member shared by files compiled with different flags could be emitted out of line by an AVX-512
// file and picked by the linker for baseline code. With `ArchTag` each arch gets its own symbols.
#pragma once

#include <cstddef>

namespace llama3::kernels {

template <class ArchTag>
class GrowOnlyScratch {
 public:
  GrowOnlyScratch() = default;
  GrowOnlyScratch(const GrowOnlyScratch&) = delete;
  GrowOnlyScratch& operator=(const GrowOnlyScratch&) = delete;
  ~GrowOnlyScratch() { delete[] data_; }

  // At least n floats; the contents are not kept when it grows.
  float* get(std::size_t n) {
    if (n > size_) {
      delete[] data_;
      data_ = new float[n];
      size_ = n;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llama3::kernels
