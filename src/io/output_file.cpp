#include "io/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

namespace fs = std::filesystem;

std::string file_kind(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "a folder";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "not a regular file";
}

// A name no other writer in this folder uses: the process id and a per-process counter.
std::string temporary_name_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  std::string name = target.filename().string();
  name.insert(0, 1, '.');  // (not "." + name: g++ 12 warns falsely on that, -Wrestrict)
  name += '.';
  name += std::to_string(::getpid());
  name += '.';
  name += std::to_string(counter.fetch_add(1));
  name += ".tmp";
  return name;
}

}  // namespace

OutputFile::OutputFile(const fs::path& path) : path_(path), target_(path) {
  struct stat link {};
  if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    std::error_code error;
    target_ = fs::canonical(path, error);
    if (error) {
      throw Error(ErrorCode::kInvalidArgument,
                  path.string() + ": a symbolic link to a file that does not exist (" +
                      error.message() + "); name the file itself");
    }
  }
  struct stat existing {};
  const bool exists = ::stat(target_.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    throw Error(ErrorCode::kInvalidArgument, path.string() + " is " + file_kind(existing) +
                                                 "; refusing to replace it (name a regular file)");
  }
  if (target_.filename().empty()) {
    throw Error(ErrorCode::kInvalidArgument, path.string() + " names a folder, not a file");
  }
  const fs::path folder = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  folder_fd_ = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd_ < 0) fail("cannot open its folder " + folder.string(), errno);

  // An unnamed file (O_TMPFILE) gets a name only once it is complete, so even kill -9 leaves
  // nothing behind. Naming it later goes through /proc/self/fd; without either, a named temporary
  // file it is.
  if (::access("/proc/self/fd", X_OK) == 0) {
    fd_ = ::openat(folder_fd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    anonymous_ = fd_ >= 0;
  }
  if (fd_ < 0) {
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      temporary_name_ = temporary_name_for(target_);
      fd_ = ::openat(folder_fd_, temporary_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                     0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) {
      const int error = errno;
      temporary_name_.clear();
      fail("cannot create a temporary file in " + folder.string(), error);
    }
  }
  // A replaced file keeps its permissions.
  if (exists) (void)::fchmod(fd_, existing.st_mode & 07777);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_name_.empty()) ::unlinkat(folder_fd_, temporary_name_.c_str(), 0);
  if (folder_fd_ >= 0) ::close(folder_fd_);
}

void OutputFile::fail(const std::string& what, int error) const {
  throw Error(ErrorCode::kIo, path_.string() + ": " + what + ": " + std::strerror(error));
}

void OutputFile::write(std::span<const std::byte> bytes) {
  const std::byte* at = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed", errno);
    if (n == 0) fail("write failed", ENOSPC);
    at += n;
    left -= static_cast<std::size_t>(n);
  }
  written_ += bytes.size();
}

void OutputFile::write_zeros(std::uint64_t n) {
  static constexpr std::byte kZeros[4096] = {};
  while (n > 0) {
    const std::size_t chunk = n < sizeof(kZeros) ? static_cast<std::size_t>(n) : sizeof(kZeros);
    write({kZeros, chunk});
    n -= chunk;
  }
}

void OutputFile::commit() {
  // A full disk may only show here, when the data is flushed.
  if (::fsync(fd_) != 0) fail("cannot flush to disk", errno);
  if (anonymous_) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    for (int attempt = 0; attempt < 100; ++attempt) {
      temporary_name_ = temporary_name_for(target_);
      if (::linkat(AT_FDCWD, self.c_str(), folder_fd_, temporary_name_.c_str(),
                   AT_SYMLINK_FOLLOW) == 0) {
        break;
      }
      const int error = errno;
      temporary_name_.clear();
      if (error != EEXIST) fail("cannot name the written file", error);
    }
    if (temporary_name_.empty()) fail("cannot name the written file", EEXIST);
  }
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail("write failed", errno);
  if (::renameat(folder_fd_, temporary_name_.c_str(), folder_fd_, target_.filename().c_str()) !=
      0) {
    fail("cannot rename the written file into place", errno);
  }
  committed_ = true;
  // The rename itself reaches the disk with the folder; some file systems refuse to fsync one.
  (void)::fsync(folder_fd_);
}

void refuse_to_overwrite_inputs(const fs::path& output, std::span<const fs::path> inputs) {
  struct stat out {};
  if (::stat(output.c_str(), &out) != 0) return;
  for (const auto& input : inputs) {
    struct stat in {};
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      throw Error(ErrorCode::kInvalidArgument,
                  output.string() + " is the input " + input.string() +
                      "; writing it would destroy the input: name another output file");
    }
  }
}

}  // namespace llama3::io
