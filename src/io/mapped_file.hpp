// Read-only bytes of a file: memory-mapped, or read into anonymous memory. Parsers see a span
// either way.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace llama3::io {

struct MapOptions {
  bool use_mmap = true;   // false: read the whole file into memory instead
  bool prefetch = false;  // ask the kernel to read ahead (MADV_WILLNEED)
};

class MappedFile {
 public:
  // Throws llama3::Error (kIo) naming the path and the OS error.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path,
                                                const MapOptions& options = {});
  // Owns a copy of `bytes` (for tests and for parsing buffers that are not files).
  static std::shared_ptr<const MappedFile> from_bytes(std::vector<std::byte> bytes,
                                                      std::string name = "<memory>");
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& name() const { return name_; }
  bool is_mapped() const { return mapped_; }
  // Drops the whole pages inside `range` from this process's resident set (they fault in again from
  // the file when read). Does nothing for bytes read into memory or a range outside the file:
  // MADV_DONTNEED on anonymous memory would zero it, not release it.
  void release_pages(std::span<const std::byte> range) const;

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::byte> owned_;
  std::string name_;
};

}  // namespace llama3::io
