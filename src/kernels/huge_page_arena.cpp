#include "kernels/huge_page_arena.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace llama3::kernels {
namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Address space reserved per region (no memory until touched). A 70B model takes ~40 regions.
constexpr std::size_t kRegionBytes = std::size_t{1} << 30;

std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

struct Region {
  std::byte* base;
  std::size_t size;
  std::size_t used;   // bump pointer
  std::size_t users;  // live allocations
};

// Maps `bytes` (a multiple of 2 MiB) at a 2 MiB-aligned address: over-map, then trim both ends.
std::byte* map_aligned(std::size_t bytes) {
  void* raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t tail = start + bytes + kHugePage - (aligned + bytes);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  auto* base = reinterpret_cast<std::byte*>(aligned);
  madvise(base, bytes, MADV_HUGEPAGE);
  return base;
}

class Arena {
 public:
  std::byte* allocate(std::size_t bytes) {
    bytes = round_up(bytes, kPage);
    std::lock_guard lock(mutex_);
    if (regions_.empty() || regions_.back().used + bytes > regions_.back().size) {
      const std::size_t size = std::max(kRegionBytes, round_up(bytes, kHugePage));
      regions_.push_back({map_aligned(size), size, 0, 0});
    }
    Region& region = regions_.back();
    std::byte* at = region.base + region.used;
    region.used += bytes;
    ++region.users;
    return at;
  }

  void release(std::byte* at, std::size_t bytes) {
    bytes = round_up(bytes, kPage);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < regions_.size(); ++i) {
      Region& region = regions_[i];
      if (at < region.base || at >= region.base + region.size) continue;
      if (--region.users == 0) {
        munmap(region.base, region.size);
        regions_.erase(regions_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        // Freed now, not when the region empties: a reloaded model must not double the RSS.
        madvise(at, bytes, MADV_DONTNEED);
      }
      return;
    }
  }

 private:
  std::mutex mutex_;
  std::vector<Region> regions_;
};

Arena& arena() {
  static Arena instance;
  return instance;
}

}  // namespace

std::byte* allocate_huge_page_memory(std::size_t bytes) {
  return arena().allocate(bytes);
}

void release_huge_page_memory(std::byte* at, std::size_t bytes) {
  arena().release(at, bytes);
}

PageBuffer::PageBuffer(std::size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  data_ = allocate_huge_page_memory(bytes);
}

PageBuffer::~PageBuffer() {
  if (data_) release_huge_page_memory(data_, size_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) release_huge_page_memory(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace llama3::kernels
