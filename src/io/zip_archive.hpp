// The entries of a zip archive whose data is stored uncompressed (method 0), as PyTorch's
// torch.save writes its checkpoints (docs/meta-checkpoints.md). Zip64 sizes and offsets are read;
// compressed or encrypted entries are refused (kUnsupported), since a checkpoint's tensors are
// used in place through the mapped file. The reader trusts nothing: the central directory, every
// local header and every entry's data must lie inside the file, no two entries may overlap and no
// name may repeat; a failure is llama3::Error kBadFormat "<file>: zip: <what>". CRCs are not
// checked (that would read every byte of a multi-gigabyte file at open).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.hpp"

namespace llama3::io {

struct ZipEntry {
  std::string name;
  std::span<const std::byte> data;  // inside the archive's file bytes
};

class ZipArchive {
 public:
  static ZipArchive parse(std::shared_ptr<const MappedFile> file);

  const std::string& name() const { return file_->name(); }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }  // in central-directory order
  const ZipEntry* find(std::string_view name) const;                 // nullptr when absent

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

// A zip of `entries`, stored, each entry's data aligned to 64 bytes as torch.save aligns them;
// zip64 records when `force_zip64` (tests and fuzz seeds; pytorch_writer.cpp).
std::vector<std::byte> zip_stored_bytes(const std::vector<ZipEntry>& entries,
                                        bool force_zip64 = false);

}  // namespace llama3::io
