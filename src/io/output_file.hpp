// Writing a file so that nothing is ever lost or half-written: the bytes go to a temporary file in
// the target's folder, are flushed to the disk, and only then replace the target in one rename. A
// failure at any point (disk full, a cancelled conversion, an exception, even kill -9) leaves the
// old file as it was and no temporary file behind.
//
// Where the target is:
// - a symbolic link: the file it points to is replaced and the link stays a link (as `cp` writes
//   through a link); a dangling link is refused.
// - an existing file that is not a regular file (a FIFO, a device such as /dev/null, a folder): it
//   is refused, never replaced.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace llama3::io {

class OutputFile {
 public:
  // Throws llama3::Error: kInvalidArgument for a target that may not be replaced, kIo when the
  // temporary file cannot be created (the message names the path and the OS error).
  explicit OutputFile(const std::filesystem::path& path);
  ~OutputFile();  // discards the temporary file unless commit() succeeded
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // kIo naming the target and the OS error (ENOSPC: "No space left on device").
  void write(std::span<const std::byte> bytes);
  void write_zeros(std::uint64_t n);
  std::uint64_t size() const { return written_; }
  // Flushes the data to the disk, renames it over the target and flushes the folder entry.
  void commit();

  // The file that will be replaced (symbolic links resolved).
  const std::filesystem::path& target() const { return target_; }

 private:
  [[noreturn]] void fail(const std::string& what, int error) const;
  std::filesystem::path path_;    // as the caller named it, for messages
  std::filesystem::path target_;  // symbolic links resolved
  int fd_ = -1;
  int folder_fd_ = -1;
  bool anonymous_ = false;      // O_TMPFILE: the data has no name until commit()
  std::string temporary_name_;  // in the target's folder: "" while anonymous
  std::uint64_t written_ = 0;
  bool committed_ = false;
};

// Throws kInvalidArgument when `output` names the same file as one of `inputs` (same device and
// inode, so symbolic and hard links are seen through): writing it would destroy the input while it
// is read.
void refuse_to_overwrite_inputs(const std::filesystem::path& output,
                                std::span<const std::filesystem::path> inputs);

}  // namespace llama3::io
