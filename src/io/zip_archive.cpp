#include "io/zip_archive.hpp"

#include <algorithm>
#include <optional>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

// Record signatures and fixed sizes (PKWARE APPNOTE.TXT, sections 4.3.7, 4.3.12, 4.3.14-16).
constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndRecord = 0x06054b50, kZip64EndRecord = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;
constexpr std::size_t kZip64LocatorSize = 20, kZip64EndSize = 56;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
// More entries than any checkpoint has (one per storage); bounds the work a forged count asks for.
constexpr std::uint64_t kMaxEntries = std::uint64_t{1} << 22;

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::string& origin)
      : bytes_(bytes), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kBadFormat, origin_ + ": zip: " + what);
  }
  // `n` bytes at `at`, or an error naming `what`.
  std::span<const std::byte> at(std::uint64_t offset, std::uint64_t n, const char* what) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      fail(std::string(what) + " at offset " + std::to_string(offset) + " (" + std::to_string(n) +
           " bytes) lies past the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
    }
    return bytes_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(n));
  }
  std::size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  const std::string& origin_;
};

std::uint64_t le(std::span<const std::byte> bytes, std::size_t at, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= std::to_integer<std::uint64_t>(bytes[at + i]) << (8 * i);
  }
  return value;
}

struct Directory {
  std::uint64_t n_entries = 0, offset = 0, size = 0;
};

// The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
std::size_t find_end_record(const Reader& reader, std::span<const std::byte> bytes) {
  if (bytes.size() < kEndSize) reader.fail("file too short for an end-of-central-directory record");
  const std::size_t last = bytes.size() - kEndSize;
  const std::size_t first = last > 0xFFFF ? last - 0xFFFF : 0;
  for (std::size_t at = last + 1; at-- > first;) {
    if (le(bytes, at, 4) == kEndRecord && at + kEndSize + le(bytes, at + 20, 2) == bytes.size()) {
      return at;
    }
  }
  reader.fail("no end-of-central-directory record (not a zip archive)");
}

Directory read_directory(const Reader& reader, std::span<const std::byte> bytes) {
  const std::size_t end = find_end_record(reader, bytes);
  const auto record = bytes.subspan(end, kEndSize);
  if (le(record, 4, 2) != 0 || le(record, 6, 2) != 0)
    reader.fail("multi-disk archives are not supported");
  Directory directory{le(record, 10, 2), le(record, 16, 4), le(record, 12, 4)};
  const bool zip64 = directory.n_entries == 0xFFFF || directory.offset == 0xFFFFFFFF ||
                     directory.size == 0xFFFFFFFF;
  if (zip64) {
    if (end < kZip64LocatorSize) reader.fail("zip64 end-of-central-directory locator missing");
    const auto locator = reader.at(end - kZip64LocatorSize, kZip64LocatorSize, "zip64 locator");
    if (le(locator, 0, 4) != kZip64Locator)
      reader.fail("zip64 end-of-central-directory locator missing");
    const std::uint64_t at = le(locator, 8, 8);
    const auto record64 = reader.at(at, kZip64EndSize, "zip64 end-of-central-directory record");
    if (le(record64, 0, 4) != kZip64EndRecord)
      reader.fail("bad zip64 end-of-central-directory signature");
    directory = {le(record64, 32, 8), le(record64, 48, 8), le(record64, 40, 8)};
  }
  if (directory.n_entries > kMaxEntries) {
    reader.fail("claims " + std::to_string(directory.n_entries) + " entries (at most " +
                std::to_string(kMaxEntries) + ")");
  }
  reader.at(directory.offset, directory.size, "central directory");
  if (directory.n_entries * kCentralSize > directory.size) {
    reader.fail("central directory of " + std::to_string(directory.size) + " bytes cannot hold " +
                std::to_string(directory.n_entries) + " entries");
  }
  return directory;
}

struct Sizes {
  std::uint64_t compressed, uncompressed, local_offset;
};

// Fields saturated at 0xFFFFFFFF are in the zip64 extra field, in this order (APPNOTE 4.5.3).
void read_zip64_extra(const Reader& reader, std::span<const std::byte> extra, Sizes& sizes,
                      const std::string& name) {
  std::size_t at = 0;
  while (at + 4 <= extra.size()) {
    const auto id = le(extra, at, 2);
    const std::size_t length = static_cast<std::size_t>(le(extra, at + 2, 2));
    if (length > extra.size() - at - 4) reader.fail(name + ": extra field runs past its header");
    if (id == kZip64ExtraId) {
      const auto field = extra.subspan(at + 4, length);
      std::size_t used = 0;
      for (std::uint64_t* value : {&sizes.uncompressed, &sizes.compressed, &sizes.local_offset}) {
        if (*value != 0xFFFFFFFF) continue;
        if (used + 8 > field.size()) reader.fail(name + ": zip64 extra field too short");
        *value = le(field, used, 8);
        used += 8;
      }
      return;
    }
    at += 4 + length;
  }
  if (sizes.compressed == 0xFFFFFFFF || sizes.uncompressed == 0xFFFFFFFF ||
      sizes.local_offset == 0xFFFFFFFF) {
    reader.fail(name + ": zip64 sizes without a zip64 extra field");
  }
}

}  // namespace

const ZipEntry* ZipArchive::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

ZipArchive ZipArchive::parse(std::shared_ptr<const MappedFile> file) {
  ZipArchive archive;
  archive.file_ = std::move(file);
  const auto bytes = archive.file_->bytes();
  const Reader reader(bytes, archive.file_->name());
  const Directory directory = read_directory(reader, bytes);

  struct Extent {
    std::uint64_t begin, end;  // local header to end of data
    std::size_t entry;
  };
  std::vector<Extent> extents;
  std::uint64_t at = directory.offset;
  const std::uint64_t directory_end = directory.offset + directory.size;
  for (std::uint64_t i = 0; i < directory.n_entries; ++i) {
    if (at + kCentralSize > directory_end) reader.fail("central directory ends inside an entry");
    const auto header = reader.at(at, kCentralSize, "central directory entry");
    if (le(header, 0, 4) != kCentralHeader) {
      reader.fail("bad central directory signature at offset " + std::to_string(at));
    }
    const std::uint64_t flags = le(header, 8, 2), method = le(header, 10, 2);
    Sizes sizes{le(header, 20, 4), le(header, 24, 4), le(header, 42, 4)};
    const std::uint64_t name_length = le(header, 28, 2), extra_length = le(header, 30, 2),
                        comment_length = le(header, 32, 2);
    const std::uint64_t variable = name_length + extra_length + comment_length;
    if (at + kCentralSize + variable > directory_end)
      reader.fail("central directory entry runs past its end");
    const auto name_bytes = reader.at(at + kCentralSize, name_length, "entry name");
    std::string name(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    read_zip64_extra(reader,
                     reader.at(at + kCentralSize + name_length, extra_length, "extra field"), sizes,
                     name);
    at += kCentralSize + variable;

    if (flags & 0x1)
      throw Error(ErrorCode::kUnsupported, archive.name() + ": zip: " + name + ": encrypted");
    if (method != 0) {
      throw Error(ErrorCode::kUnsupported, archive.name() + ": zip: " + name +
                                               ": compression method " + std::to_string(method) +
                                               " (only stored entries, as torch.save writes them)");
    }
    if (sizes.compressed != sizes.uncompressed) {
      reader.fail(name + ": stored entry with compressed size " + std::to_string(sizes.compressed) +
                  " != size " + std::to_string(sizes.uncompressed));
    }
    const auto local = reader.at(sizes.local_offset, kLocalSize, "local header");
    if (le(local, 0, 4) != kLocalHeader) reader.fail(name + ": bad local header signature");
    if (le(local, 8, 2) != method) reader.fail(name + ": local header disagrees on the method");
    const std::uint64_t data_offset =
        sizes.local_offset + kLocalSize + le(local, 26, 2) + le(local, 28, 2);
    const auto data = reader.at(data_offset, sizes.uncompressed, ("data of " + name).c_str());
    if (archive.index_.count(name)) reader.fail("two entries named " + name);
    archive.index_.emplace(name, archive.entries_.size());
    extents.push_back(
        {sizes.local_offset, data_offset + sizes.uncompressed, archive.entries_.size()});
    archive.entries_.push_back({std::move(name), data});
  }
  // No entry's header or data may overlap another's, nor the central directory.
  extents.push_back({directory.offset, directory_end, archive.entries_.size()});
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < extents.size(); ++i) {
    if (extents[i].begin < extents[i - 1].end) {
      const auto label = [&](const Extent& e) {
        return e.entry < archive.entries_.size() ? archive.entries_[e.entry].name
                                                 : std::string("the central directory");
      };
      reader.fail(label(extents[i]) + " overlaps " + label(extents[i - 1]));
    }
  }
  return archive;
}

}  // namespace llama3::io
