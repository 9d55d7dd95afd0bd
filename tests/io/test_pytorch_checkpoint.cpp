// The torch.save reader: files from our own writer (the layout torch.save writes) read back exactly
// and in place; hostile pickles (globals that would run code, REDUCE of anything else, memo and
// nesting abuse, truncation) and hostile zips (bad offsets, overlaps, absurd sizes) each fail with
// kBadFormat or kUnsupported and a message naming what is at fault.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "io/pickle_reader.hpp"
#include "io/pytorch_checkpoint.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"

using llama3::ErrorCode;
using namespace std::string_literals;
using namespace llama3::io;
using llama3::testing::hostile_input;

namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto span = std::as_bytes(std::span(text.data(), text.size()));
  return {span.begin(), span.end()};
}

std::vector<std::byte> counting_bytes(std::size_t n) {
  std::vector<std::byte> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>(i * 7 + 3);
  return bytes;
}

std::vector<PytorchTensorToWrite> sample_tensors() {
  return {{"tok_embeddings.weight", TorchDtype::kBF16, {3, 5}, counting_bytes(3 * 5 * 2)},
          {"norm.weight", TorchDtype::kF32, {5}, counting_bytes(5 * 4)},
          {"layers.0.attention.wq.weight", TorchDtype::kF16, {1, 300}, counting_bytes(300 * 2)}};
}

PytorchCheckpoint parse(std::vector<std::byte> bytes) {
  return PytorchCheckpoint::parse(MappedFile::from_bytes(std::move(bytes), "t.pth"));
}

void check_fails(std::vector<std::byte> bytes, ErrorCode code, const std::string& needle) {
  try {
    hostile_input("pytorch", [&] { return parse(std::move(bytes)); });
    FAIL("parsed; expected an error mentioning " << needle);
  } catch (const llama3::Error& error) {
    INFO(error.what());
    CHECK(error.code() == code);
    CHECK_THAT(error.what(), Catch::StartsWith("t.pth"));
    CHECK_THAT(error.what(), Catch::Contains(needle));
  }
}

// A pickle run on its own: the message must name the opcode or global at fault.
void check_pickle_fails(const std::string& pickle, const std::string& needle) {
  try {
    hostile_input("pytorch", [&] {
      return read_pickled_state_dict(std::as_bytes(std::span(pickle.data(), pickle.size())), "p");
    });
    FAIL("accepted; expected an error mentioning " << needle);
  } catch (const llama3::Error& error) {
    INFO(error.what());
    CHECK(error.code() == ErrorCode::kBadFormat);
    CHECK_THAT(error.what(), Catch::StartsWith("p: pickle: "));
    CHECK_THAT(error.what(), Catch::Contains(needle));
  }
}

std::string binunicode(const std::string& text) {
  std::string op = "X";
  for (int i = 0; i < 4; ++i) op += static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  return op + text;
}

// One tensor's _rebuild_tensor_v2 call with the given storage numel, offset, size and stride
// tuples (each a pickled tuple), as a complete state dict pickle.
std::string one_tensor_pickle(const std::string& numel, const std::string& offset,
                              const std::string& size, const std::string& stride) {
  return "\x80\x02}(" + binunicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
         binunicode("storage") + "ctorch\nFloatStorage\n" + binunicode("0") + binunicode("cpu") +
         numel + "tQ" + offset + size + stride + "\x89}tRu.";
}

std::vector<std::byte> archive_with_pickle(const std::string& pickle, std::size_t data_bytes) {
  const auto pkl = bytes_of(pickle);
  const auto data = counting_bytes(data_bytes);
  return zip_stored_bytes({{"archive/data.pkl", pkl}, {"archive/data/0", data}});
}

std::uint32_t read_u32(const std::vector<std::byte>& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}
void write_u32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}
std::size_t find_u32(const std::vector<std::byte>& b, std::uint32_t signature,
                     std::size_t from = 0) {
  for (std::size_t i = from; i + 4 <= b.size(); ++i) {
    if (read_u32(b, i) == signature) return i;
  }
  return std::string::npos;
}

}  // namespace

TEST_CASE("a torch.save layout from our writer reads back in place", "[io][pytorch]") {
  for (const bool zip64 : {false, true}) {
    INFO("zip64 " << zip64);
    const auto tensors = sample_tensors();
    const auto checkpoint = parse(pytorch_checkpoint_bytes(tensors, "consolidated", zip64));
    REQUIRE(checkpoint.tensors().size() == tensors.size());
    const auto file = checkpoint.file()->bytes();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto& read = checkpoint.tensors()[i];
      CHECK(read.name == tensors[i].name);
      CHECK(read.dtype == tensors[i].dtype);
      CHECK(read.shape == tensors[i].shape);
      REQUIRE(read.n_bytes == tensors[i].bytes.size());
      CHECK(std::memcmp(read.data, tensors[i].bytes.data(), read.n_bytes) == 0);
      // Zero-copy: the bytes are the file's, at a 64-aligned offset as torch writes them.
      CHECK(read.data >= file.data());
      CHECK(read.data + read.n_bytes <= file.data() + file.size());
      CHECK((read.data - file.data()) % 64 == 0);
    }
    CHECK(checkpoint.find("norm.weight") == &checkpoint.tensors()[1]);
    CHECK(checkpoint.find("missing") == nullptr);
  }
}

TEST_CASE("pickles that would run code are refused, naming the global", "[io][pytorch]") {
  // GLOBAL os.system + REDUCE, the classic payload a __reduce__ method emits.
  check_pickle_fails(
      "\x80\x02"
      "cos\nsystem\n" +
          binunicode("id") + "\x85R.",
      "os.system");
  check_pickle_fails(
      "\x80\x02"
      "cposix\nsystem\n" +
          binunicode("id") + "\x85R.",
      "posix.system");
  check_pickle_fails(
      "\x80\x02"
      "cbuiltins\neval\n" +
          binunicode("1") + "\x85R.",
      "builtins.eval");
  check_pickle_fails(
      "\x80\x02"
      "c__builtin__\ngetattr\n.",
      "__builtin__.getattr");
  check_pickle_fails(
      "\x80\x02"
      "csubprocess\nPopen\n.",
      "subprocess.Popen");
  // STACK_GLOBAL (protocol 4) of the same.
  check_pickle_fails(
      "\x80\x04\x8c\x08"
      "builtins\x8c\x04"
      "exec\x93.",
      "builtins.exec");
  // A torch name that is not on the list.
  check_pickle_fails(
      "\x80\x02"
      "ctorch\nload\n.",
      "torch.load");
  check_pickle_fails(
      "\x80\x02"
      "ctorch._utils\n_rebuild_qtensor\n.",
      "torch._utils._rebuild_qtensor");
  // REDUCE of anything but an allowed callable: a dict, a storage type.
  check_pickle_fails("\x80\x02})R.", "calls a dict");
  check_pickle_fails(
      "\x80\x02"
      "ctorch\nFloatStorage\n)R.",
      "calls a storage type");
  check_pickle_fails(
      "\x80\x02"
      "ccollections\nOrderedDict\n" +
          binunicode("x") + "\x85R.",
      "OrderedDict called with arguments");
  // Opcodes that build arbitrary objects.
  check_pickle_fails(
      "\x80\x02("
      "ios\nsystem\n.",
      "INST (0x69)");
  check_pickle_fails(
      "\x80\x02"
      "ccollections\nOrderedDict\n)\x81.",
      "NEWOBJ (0x81)");
  check_pickle_fails("\x80\x02(ccollections\nOrderedDict\no.", "OBJ (0x6f)");
  check_pickle_fails("\x80\x02\x82\x01.", "EXT1 (0x82)");
  check_pickle_fails("\x80\x02P0\n.", "PERSID (0x50)");
  check_pickle_fails("\x80\x02}}b.", "BUILD at offset 4 on a dict");
  check_pickle_fails("\x80\x02\xff.", "unknown opcode 0xff");
}

TEST_CASE("pickles that abuse the memo, the stack or nesting are refused", "[io][pytorch]") {
  check_pickle_fails("\x80\x02}r\xff\xff\xff\xff.", "memo index 4294967295");
  check_pickle_fails("\x80\x02}j\x05\x00\x00\x00."s, "memo slot 5, which was never set");
  check_pickle_fails("\x80\x02}h\x00."s, "memo slot 0, which was never set");
  check_pickle_fails("\x80\x02.", "STOP (0x2e) at offset 2 on an empty stack");
  check_pickle_fails("\x80\x02}(R.", "REDUCE (0x52) at offset 4 on an empty stack");
  check_pickle_fails("\x80\x02t.", "without a MARK");
  check_pickle_fails("\x80\x02" + std::string(100, '('), "MARKs nested deeper than 32");
  std::string deep = "\x80\x02]";
  for (int i = 0; i < 100; ++i) deep += "\x85";
  check_pickle_fails(deep, "nests values deeper than 64");
  // A self-containing list is refused by depth, and nothing loops or leaks.
  std::string cycle = "\x80\x02]q\x00"s;
  for (int i = 0; i < 70; ++i)
    cycle +=
        "h\x00"s
        "a";
  check_pickle_fails(cycle + ".", "deeper than 64");
  check_pickle_fails("\x80\x09}.", "protocol 9");
  check_pickle_fails("\x80\x02\x8a\x09" + std::string(9, '\x01') + ".", "LONG1 of 9 bytes");
  check_pickle_fails("\x80\x02\x95\xff\xff\xff\xff\x00\x00\x00\x00}."s,
                     "FRAME of 4294967295 bytes");
}

TEST_CASE("pickles of anything but a state dict of tensors are refused", "[io][pytorch]") {
  check_pickle_fails("\x80\x02].", "holds a list, not a state dict");
  check_pickle_fails("\x80\x02}" + binunicode("w") + "K\x01s.",
                     "state dict entry 'w' must be a tensor");
  check_pickle_fails("\x80\x02}K\x01K\x01s.", "a state dict key must be a str");
  const std::string t = one_tensor_pickle("K\x06", "K\x00"s, "K\x06\x85", "K\x01\x85");
  check_pickle_fails(t.substr(0, t.size() - 2) + "q\x00"s + binunicode("w") +
                         "h\x00"s
                         "u.",
                     "state dict key 'w' appears twice");
  // The storage key becomes an archive path: only plain names.
  std::string traversal = t;
  traversal.replace(traversal.find(binunicode("0")), binunicode("0").size(),
                    binunicode("../../etc/passwd"));
  check_pickle_fails(traversal, "storage key '../../etc/passwd' is not a plain name");
  check_pickle_fails(one_tensor_pickle("K\x06", "K\x00"s, "K\x06\x85", "K\x01K\x01\x86"),
                     "tensor size has 1 dims but stride 2");
  check_pickle_fails(one_tensor_pickle("K\x06", "J\xff\xff\xff\xff", "K\x06\x85", "K\x01\x85"),
                     "storage offset is negative");
  std::string many_dims = "(";
  for (int i = 0; i < 9; ++i) many_dims += "K\x01";
  check_pickle_fails(one_tensor_pickle("K\x06", "K\x00"s, many_dims + "t", many_dims + "t"),
                     "has 9 dims (at most 8)");
  // Every proper prefix of a valid pickle is truncated: a clear error each time, never a crash.
  for (std::size_t n = 0; n + 1 < t.size(); ++n) {
    CHECK_THROWS_AS(
        hostile_input(
            "pytorch",
            [&] { return read_pickled_state_dict(std::as_bytes(std::span(t.data(), n)), "p"); }),
        llama3::Error);
  }
  CHECK(read_pickled_state_dict(std::as_bytes(std::span(t.data(), t.size())), "p").size() == 1);
}

TEST_CASE("tensors must lie inside their storage and entry", "[io][pytorch]") {
  const std::string vec6 = "K\x06\x85", unit = "K\x01\x85";
  CHECK(parse(archive_with_pickle(one_tensor_pickle("K\x06", "K\x00"s, vec6, unit), 24))
            .tensors()
            .front()
            .n_bytes == 24);
  check_fails(archive_with_pickle(one_tensor_pickle("K\x06", "K\x00"s, vec6, unit), 20),
              ErrorCode::kBadFormat, "w: storage of 6 elements does not fit archive/data/0");
  check_fails(archive_with_pickle(one_tensor_pickle("K\x06", "K\x01", vec6, unit), 24),
              ErrorCode::kBadFormat, "w: elements 1 + 6 lie past its storage of 6 elements");
  check_fails(
      archive_with_pickle(one_tensor_pickle("J\x00\x00\x00\x40"s, "K\x00"s, vec6, unit), 24),
      ErrorCode::kBadFormat, "does not fit");
  // 2^40 x 2^40 elements: the product overflows 64 bits.
  const std::string big = "\x8a\x06" + "\x00\x00\x00\x00\x00\x01"s;
  check_fails(archive_with_pickle(
                  one_tensor_pickle("K\x06", "K\x00"s, big + big + "\x86", big + "K\x01\x86"), 24),
              ErrorCode::kBadFormat, "shape overflows 64 bits");
  check_fails(archive_with_pickle(
                  one_tensor_pickle("K\x06", "K\x00"s, "K\x02K\x03\x86", "K\x01K\x02\x86"), 24),
              ErrorCode::kUnsupported, "strides are not row-major");
  // The storage entry is missing.
  const auto pkl = bytes_of(one_tensor_pickle("K\x06", "K\x00"s, vec6, unit));
  check_fails(zip_stored_bytes({{"archive/data.pkl", pkl}}), ErrorCode::kBadFormat,
              "its storage archive/data/0 is not in the archive");
  check_fails(zip_stored_bytes({{"archive/version", pkl}}), ErrorCode::kBadFormat,
              "no <folder>/data.pkl");
}

TEST_CASE("hostile zips fail clearly", "[io][pytorch]") {
  const auto good = pytorch_checkpoint_bytes(sample_tensors());
  const std::size_t end = find_u32(good, 0x06054b50);
  const std::size_t central = find_u32(good, 0x02014b50);
  REQUIRE(end != std::string::npos);
  REQUIRE(central != std::string::npos);
  check_fails(std::vector<std::byte>(good.begin(), good.begin() + 10), ErrorCode::kBadFormat,
              "too short");
  check_fails(bytes_of(std::string(100, 'x')), ErrorCode::kBadFormat,
              "no end-of-central-directory");
  {  // the central directory offset points past the end
    auto b = good;
    write_u32(b, end + 16, 0x7FFFFFF0);
    check_fails(b, ErrorCode::kBadFormat, "central directory at offset 2147483632");
  }
  {  // an absurd entry size
    auto b = good;
    write_u32(b, central + 20, 0xFFFFFFF0);
    write_u32(b, central + 24, 0xFFFFFFF0);
    check_fails(b, ErrorCode::kBadFormat, "lies past the end of the file");
  }
  {  // an entry's local header offset past the end
    auto b = good;
    write_u32(b, central + 42, 0x7FFFFFF0);
    check_fails(b, ErrorCode::kBadFormat, "local header at offset");
  }
  {  // a zip64 marker without the zip64 extra field
    auto b = good;
    write_u32(b, central + 42, 0xFFFFFFFF);
    check_fails(b, ErrorCode::kBadFormat, "zip64 sizes without a zip64 extra field");
  }
  {  // two entries claim the same bytes
    auto b = good;
    const std::size_t second = find_u32(b, 0x02014b50, central + 4);
    write_u32(b, second + 42, read_u32(b, central + 42));
    write_u32(b, second + 20, read_u32(b, central + 20));
    write_u32(b, second + 24, read_u32(b, central + 24));
    check_fails(b, ErrorCode::kBadFormat, "overlaps");
  }
  {  // more entries than the directory can hold
    auto b = good;
    b[end + 10] = std::byte{0xFE};
    b[end + 11] = std::byte{0xFF};
    check_fails(b, ErrorCode::kBadFormat, "cannot hold 65534 entries");
  }
  {  // compressed entries are not used in place
    auto b = good;
    b[central + 10] = std::byte{8};
    check_fails(b, ErrorCode::kUnsupported, "compression method 8");
  }
  // Every truncation and every single-byte flip: a clean error or a file whose every tensor lies
  // inside it, never a crash (the ASan build of this test makes a stray read a failure).
  for (std::size_t n = 0; n < good.size(); ++n) {
    CHECK_THROWS_AS(
        hostile_input("pytorch",
                      [&] {
                        return parse(std::vector<std::byte>(
                            good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
                      }),
        llama3::Error);
  }
  std::size_t parsed = 0, rejected = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto b = good;
    b[i] ^= std::byte{0xFF};
    try {
      const auto checkpoint = hostile_input("pytorch", [&] { return parse(b); });
      const auto file = checkpoint.file()->bytes();
      for (const auto& tensor : checkpoint.tensors()) {
        CHECK(tensor.data >= file.data());
        CHECK(tensor.n_bytes <=
              static_cast<std::uint64_t>(file.data() + file.size() - tensor.data));
      }
      ++parsed;
    } catch (const llama3::Error& error) {
      CHECK((error.code() == ErrorCode::kBadFormat || error.code() == ErrorCode::kUnsupported));
      ++rejected;
    }
  }
  CHECK(parsed + rejected == good.size());
  CHECK(rejected > 0);
}
