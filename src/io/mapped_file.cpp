#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "io/system_memory.hpp"
#include "llama3/error.hpp"

namespace llama3::io {
namespace {

[[noreturn]] void throw_io(const std::filesystem::path& path, const std::string& what, int err) {
  throw Error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of open(); the mapping stays valid after close.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void read_all(int fd, std::byte* out, std::size_t size, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "read failed", errno);
    }
    // The file shrank after fstat: report it rather than hand out zeros.
    if (n == 0) throw Error(ErrorCode::kIo, path.string() + ": file shrank while being read");
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path,
                                                   const MapOptions& options) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_io(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) throw_io(path, "not a regular file", EINVAL);

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->name_ = path.string();
  file->size_ = static_cast<std::size_t>(st.st_size);
  // mmap of length 0 fails with EINVAL; an empty file is simply zero bytes for the parser to
  // reject.
  if (file->size_ == 0) return file;

  if (options.use_mmap) {
    void* addr = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (addr == MAP_FAILED) throw_io(path, "mmap failed", errno);
    file->data_ = static_cast<const std::byte*>(addr);
    file->mapped_ = true;
    // Read-ahead is only a hint: a kernel that refuses it still serves the pages on demand.
    if (options.prefetch) (void)::madvise(addr, file->size_, MADV_WILLNEED);
  } else {
    // Reading a file larger than the memory left would end in an allocation failure or the OOM
    // killer: say so first (mapping needs no such check; pages come and go with the file).
    const auto available = available_memory_bytes();
    if (available && file->size_ > *available) {
      throw Error(ErrorCode::kOutOfMemory,
                  path.string() + ": reading it into memory needs " + gib_text(file->size_) +
                      ", but only " + gib_text(*available) + " is available (map it instead)");
    }
    file->owned_.resize(file->size_);
    read_all(fd.get(), file->owned_.data(), file->size_, path);
    file->data_ = file->owned_.data();
  }
  return file;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::vector<std::byte> bytes,
                                                         std::string name) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->owned_ = std::move(bytes);
  file->data_ = file->owned_.data();
  file->size_ = file->owned_.size();
  file->name_ = std::move(name);
  return file;
}

void MappedFile::release_pages(std::span<const std::byte> range) const {
  if (!mapped_ || range.empty() || range.data() < data_ ||
      range.data() + range.size() > data_ + size_) {
    return;
  }
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  // Inward rounding: a page shared with a neighbouring range stays, and nothing outside the
  // mapping is ever touched.
  const auto begin = (reinterpret_cast<std::uintptr_t>(range.data()) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(range.data()) + range.size()) / page * page;
  // Only a hint: the mapping is read-only and file-backed, so dropping its pages loses nothing.
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace llama3::io
