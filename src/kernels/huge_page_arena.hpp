// Anonymous memory for packed weights, carved from large 2 MiB-aligned regions so that transparent
// huge pages cover nearly all of it. Each matrix mapped on its own would start and end mid huge
// page, and a 1B model's small matrices (K/V projections are 0.6 MB) would get none: a third of
// its packed bytes sat on 4 KiB pages, which on this VM cost 4-15x more to fault in at load and
// one TLB entry per 4 KiB when every token streams them.
#pragma once

#include <cstddef>

namespace llama3::kernels {

// Page-aligned memory (zeroed on first touch), huge pages advised. Thread-safe.
std::byte* allocate_huge_page_memory(std::size_t bytes);

// Gives back memory from allocate_huge_page_memory (same size). Its pages return to the system at
// once; a region's address space is unmapped when nothing in it is in use.
void release_huge_page_memory(std::byte* at, std::size_t bytes);

// Owns page-aligned memory from allocate_huge_page_memory, zeroed on first touch: pages
// a buffer never touches cost no memory.
class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(std::size_t bytes);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llama3::kernels
