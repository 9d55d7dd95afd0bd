// pytorch_checkpoint_bytes and zip_stored_bytes: our own writer of torch.save's layout
// (pytorch_checkpoint.hpp), so the reader is tested against files made the way torch makes them
// without needing torch.
#include <array>
#include <string_view>

#include "io/pytorch_checkpoint.hpp"

namespace llama3::io {
namespace {

std::uint32_t crc32(std::span<const std::byte> bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::byte b : bytes) c = table[(c ^ std::to_integer<std::uint32_t>(b)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

class Bytes {
 public:
  void u8(std::uint64_t v) { out.push_back(static_cast<std::byte>(v & 0xFF)); }
  void le(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) u8(v >> (8 * i));
  }
  void text(std::string_view s) {
    for (char c : s) u8(static_cast<unsigned char>(c));
  }
  std::vector<std::byte> out;
};

// Pickle protocol 2, as CPython's pickler writes a torch state dict (an OrderedDict).
class PickleWriter {
 public:
  void op(char c) { b.u8(static_cast<unsigned char>(c)); }
  void integer(std::uint64_t v) {
    if (v < 0x100) {
      op('K');
      b.le(v, 1);
    } else if (v < 0x10000) {
      op('M');
      b.le(v, 2);
    } else if (v < 0x80000000u) {
      op('J');
      b.le(v, 4);
    } else {
      b.u8(0x8a);
      b.u8(8);
      b.le(v, 8);
    }
  }
  void string(std::string_view s) {
    op('X');
    b.le(s.size(), 4);
    b.text(s);
  }
  // GLOBAL once, memoized, then BINGET, as the pickler does.
  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name + "\n";
    for (std::size_t i = 0; i < memo.size(); ++i) {
      if (memo[i] == key) {
        op('h');
        b.u8(i);
        return;
      }
    }
    op('c');
    b.text(key);
    op('q');
    b.u8(memo.size());
    memo.push_back(key);
  }
  void int_tuple(const std::vector<std::uint64_t>& values) {
    op('(');
    for (auto v : values) integer(v);
    op('t');
  }
  Bytes b;
  std::vector<std::string> memo;
};

std::string storage_type(TorchDtype dtype) {
  return std::string(torch_dtype_name(dtype)) + "Storage";
}

std::vector<std::byte> pickle_state_dict(const std::vector<PytorchTensorToWrite>& tensors) {
  PickleWriter p;
  p.b.u8(0x80);
  p.b.u8(2);
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    p.string(t.name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', type, key, location, numel)
    p.string("storage");
    p.global("torch", storage_type(t.dtype));
    p.string(std::to_string(i));
    p.string("cpu");
    p.integer(t.bytes.size() / torch_dtype_size(t.dtype));
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.shape);
    std::vector<std::uint64_t> stride(t.shape.size(), 1);
    for (std::size_t d = t.shape.size(); d-- > 1;) stride[d - 1] = stride[d] * t.shape[d];
    p.int_tuple(stride);
    p.b.u8(0x89);  // requires_grad False
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  p.op('u');
  // A state dict carries its modules' versions as the _metadata attribute: BUILD with that dict.
  p.op('}');
  p.string("_metadata");
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('s');
  p.op('b');
  p.op('.');
  return std::move(p.b.out);
}

}  // namespace

std::vector<std::byte> pytorch_checkpoint_bytes(const std::vector<PytorchTensorToWrite>& tensors,
                                                const std::string& archive_name, bool force_zip64) {
  const std::vector<std::byte> pickle = pickle_state_dict(tensors);
  const std::string little = "little", version = "3\n";
  std::vector<ZipEntry> entries;
  entries.push_back({archive_name + "/data.pkl", pickle});
  entries.push_back({archive_name + "/byteorder", std::as_bytes(std::span(little))});
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    entries.push_back({archive_name + "/data/" + std::to_string(i), tensors[i].bytes});
  }
  entries.push_back({archive_name + "/version", std::as_bytes(std::span(version))});
  return zip_stored_bytes(entries, force_zip64);
}

std::vector<std::byte> zip_stored_bytes(const std::vector<ZipEntry>& entries, bool force_zip64) {
  std::vector<std::uint64_t> local_offsets;
  std::vector<std::uint32_t> crcs;
  constexpr std::uint64_t kAlign = 64, kSat = 0xFFFFFFFF;
  Bytes z;
  for (const auto& e : entries) {
    local_offsets.push_back(z.out.size());
    crcs.push_back(crc32(e.data));
    z.le(0x04034b50, 4);
    z.le(force_zip64 ? 45 : 20, 2);
    z.le(0, 2);  // flags
    z.le(0, 2);  // stored
    z.le(0, 2);
    z.le(0x21, 2);
    z.le(crcs.back(), 4);
    z.le(force_zip64 ? kSat : e.data.size(), 4);
    z.le(force_zip64 ? kSat : e.data.size(), 4);
    z.le(e.name.size(), 2);
    const std::uint64_t zip64_extra = force_zip64 ? 20 : 0;
    // Pad with an extra field (id "FB", as torch's writer does) so the data starts 64-aligned.
    const std::uint64_t before = z.out.size() + 2 + e.name.size() + zip64_extra + 4;
    const std::uint64_t pad = (kAlign - before % kAlign) % kAlign;
    z.le(zip64_extra + 4 + pad, 2);
    z.text(e.name);
    if (force_zip64) {
      z.le(0x0001, 2);
      z.le(16, 2);
      z.le(e.data.size(), 8);
      z.le(e.data.size(), 8);
    }
    z.le(0x4246, 2);
    z.le(pad, 2);
    z.out.resize(z.out.size() + pad);
    z.out.insert(z.out.end(), e.data.begin(), e.data.end());
  }
  const std::uint64_t directory_offset = z.out.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry& e = entries[i];
    z.le(0x02014b50, 4);
    z.le(force_zip64 ? 45 : 20, 2);
    z.le(force_zip64 ? 45 : 20, 2);
    z.le(0, 2);
    z.le(0, 2);
    z.le(0, 2);
    z.le(0x21, 2);
    z.le(crcs[i], 4);
    z.le(force_zip64 ? kSat : e.data.size(), 4);
    z.le(force_zip64 ? kSat : e.data.size(), 4);
    z.le(e.name.size(), 2);
    z.le(force_zip64 ? 28 : 0, 2);
    z.le(0, 2);  // comment
    z.le(0, 2);  // disk
    z.le(0, 2);
    z.le(0, 4);
    z.le(force_zip64 ? kSat : local_offsets[i], 4);
    z.text(e.name);
    if (force_zip64) {
      z.le(0x0001, 2);
      z.le(24, 2);
      z.le(e.data.size(), 8);
      z.le(e.data.size(), 8);
      z.le(local_offsets[i], 8);
    }
  }
  const std::uint64_t directory_size = z.out.size() - directory_offset;
  if (force_zip64) {
    const std::uint64_t record = z.out.size();
    z.le(0x06064b50, 4);
    z.le(44, 8);
    z.le(45, 2);
    z.le(45, 2);
    z.le(0, 4);
    z.le(0, 4);
    z.le(entries.size(), 8);
    z.le(entries.size(), 8);
    z.le(directory_size, 8);
    z.le(directory_offset, 8);
    z.le(0x07064b50, 4);
    z.le(0, 4);
    z.le(record, 8);
    z.le(1, 4);
  }
  z.le(0x06054b50, 4);
  z.le(0, 2);
  z.le(0, 2);
  z.le(force_zip64 ? 0xFFFF : entries.size(), 2);
  z.le(force_zip64 ? 0xFFFF : entries.size(), 2);
  z.le(force_zip64 ? kSat : directory_size, 4);
  z.le(force_zip64 ? kSat : directory_offset, 4);
  z.le(0, 2);
  return std::move(z.out);
}

}  // namespace llama3::io
