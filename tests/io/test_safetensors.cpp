// The safetensors reader on handcrafted bytes: the reference example, then one test per hostile
// case. Each hostile file must fail with kBadFormat and a message naming the file and the tensor at
// fault.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "io/safetensors.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"
#include "support/test_data.hpp"

using llama3::ErrorCode;
using llama3::io::MappedFile;
using llama3::io::SafetensorsDtype;
using llama3::io::SafetensorsFile;
using llama3::testing::hostile_input;

namespace {

// 8-byte little-endian length, the header text as given, then `data_bytes` bytes 0, 1, 2, ...
std::vector<std::byte> file_bytes(const std::string& header, std::size_t data_bytes,
                                  std::optional<std::uint64_t> length = std::nullopt) {
  const std::uint64_t n = length.value_or(header.size());
  std::vector<std::byte> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  for (char c : header) bytes.push_back(static_cast<std::byte>(c));
  for (std::size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<std::byte>(i));
  return bytes;
}

SafetensorsFile parse(std::vector<std::byte> bytes) {
  return SafetensorsFile::parse(MappedFile::from_bytes(std::move(bytes), "t.safetensors"));
}

void check_bad(std::vector<std::byte> bytes, const std::string& needle) {
  try {
    hostile_input("safetensors", [&] { return parse(std::move(bytes)); });
    FAIL("parsed; expected an error mentioning " << needle);
  } catch (const llama3::Error& error) {
    INFO(error.what());
    CHECK(error.code() == ErrorCode::kBadFormat);
    CHECK_THAT(error.what(), Catch::StartsWith("t.safetensors: "));
    CHECK_THAT(error.what(), Catch::Contains(needle));
  }
}

// Concatenation by append (g++ 12 warns falsely about `"..." + std::string` chains).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string text;
  ((text += parts), ...);
  return text;
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  std::uint64_t begin, std::uint64_t end) {
  return cat("\"", name, "\":{\"dtype\":\"", dtype, "\",\"shape\":", shape, ",\"data_offsets\":[",
             std::to_string(begin), ",", std::to_string(end), "]}");
}

}  // namespace

TEST_CASE("safetensors reader reads the reference implementation's example", "[io]") {
  // tensor.rs: one F32 tensor "attn.0" [1,2,3] = 0..5 serializes to a 64-byte header.
  const std::string header =
      "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
  REQUIRE(header.size() == 64);
  std::vector<std::byte> bytes = file_bytes(header, 0);
  for (int i = 0; i < 6; ++i) {
    const float value = static_cast<float>(i);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    bytes.insert(bytes.end(), p, p + 4);
  }
  const auto file = parse(bytes);
  REQUIRE(file.tensors().size() == 1);
  const auto* tensor = file.find("attn.0");
  REQUIRE(tensor);
  CHECK(tensor->dtype == SafetensorsDtype::kF32);
  CHECK(tensor->shape == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(tensor->n_bytes() == 24);
  float values[6];
  std::memcpy(values, tensor->data, 24);
  CHECK(values[5] == 5.0f);
  CHECK(file.find("absent") == nullptr);
}

TEST_CASE("safetensors reader accepts the empty file, metadata and space padding", "[io]") {
  CHECK(parse(file_bytes("{}      ", 0)).tensors().empty());
  const auto file = parse(
      file_bytes(cat("{\"__metadata__\":{\"format\":\"pt\"},", entry("b", "BF16", "[2,2]", 0, 8),
                     ",", entry("a", "U8", "[0]", 8, 8), "}   "),
                 8));
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.tensors().size() == 2);
  CHECK(file.find("a")->n_bytes() == 0);
}

TEST_CASE("safetensors reader knows every dtype of the format and its size", "[io]") {
  const std::vector<std::pair<std::string, std::size_t>> dtypes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  for (const auto& [name, size] : dtypes) {
    INFO(name);
    const auto file =
        parse(file_bytes(cat("{", entry("x", name, "[3]", 0, 3 * size), "}"), 3 * size));
    CHECK(llama3::io::safetensors_dtype_name(file.find("x")->dtype) == name);
    CHECK(llama3::io::safetensors_dtype_size(file.find("x")->dtype) == size);
  }
}

TEST_CASE("safetensors reader rejects a file shorter than the length field", "[io]") {
  check_bad(std::vector<std::byte>(5), "shorter than the 8-byte header length");
}

TEST_CASE("safetensors reader rejects a header length past the end of the file", "[io]") {
  check_bad(file_bytes("{}", 0, 3), "runs past the end");
  check_bad(file_bytes("{}", 0, ~std::uint64_t{0} - 3), "over the 100 MB limit");
}

TEST_CASE("safetensors reader rejects a header length over 100 MB", "[io]") {
  check_bad(file_bytes("{}", 0, 100'000'001), "over the 100 MB limit");
}

TEST_CASE("safetensors reader rejects a header that is not JSON", "[io]") {
  check_bad(file_bytes("{\"a\":", 0), "not valid JSON");
  check_bad(file_bytes("{\"a\":{}} x", 0), "not valid JSON");
  check_bad(file_bytes("{\"\xff\":1}", 0), "not valid JSON");  // not UTF-8
}

TEST_CASE("safetensors reader rejects a header that is not an object", "[io]") {
  check_bad(file_bytes("[1,2]", 0), "does not start with '{'");
  check_bad(file_bytes("", 0), "does not start with '{'");
  check_bad(file_bytes("{\"x\":[]}", 0), "x: entry is not an object");
  check_bad(file_bytes("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__: format");
}

TEST_CASE("safetensors reader rejects a tensor name that appears twice", "[io]") {
  check_bad(
      file_bytes(cat("{", entry("w", "U8", "[2]", 0, 2), ",", entry("w", "U8", "[2]", 2, 4), "}"),
                 4),
      "w: name appears twice");
  check_bad(
      file_bytes("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                 1),
      "dtype: name appears twice");
}

TEST_CASE("safetensors reader rejects missing or malformed fields", "[io]") {
  check_bad(file_bytes("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
            "w: missing or non-string \"dtype\"");
  check_bad(file_bytes("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1),
            "w: missing or non-array \"shape\"");
  check_bad(file_bytes(cat("{", entry("w", "U8", "[-1]", 0, 1), "}"), 1), "w: shape holds -1");
  check_bad(file_bytes("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1),
            "w: \"data_offsets\"");
}

TEST_CASE("safetensors reader rejects unknown dtypes", "[io]") {
  check_bad(file_bytes(cat("{", entry("w", "Q4_0", "[1]", 0, 1), "}"), 1),
            "w: unknown dtype 'Q4_0'");
  check_bad(file_bytes(cat("{", entry("w", "bf16", "[1]", 0, 2), "}"), 2),
            "w: unknown dtype 'bf16'");
}

TEST_CASE("safetensors reader rejects reversed offsets", "[io]") {
  check_bad(file_bytes(cat("{", entry("w", "U8", "[0]", 4, 0), "}"), 4),
            "w: data_offsets [4, 0] are reversed");
}

TEST_CASE("safetensors reader rejects overlapping offsets", "[io]") {
  check_bad(
      file_bytes(cat("{", entry("a", "U8", "[4]", 0, 4), ",", entry("b", "U8", "[4]", 2, 6), "}"),
                 6),
      "b: data_offsets [2, 6] overlap");
}

TEST_CASE("safetensors reader rejects gaps between tensors", "[io]") {
  check_bad(
      file_bytes(cat("{", entry("a", "U8", "[2]", 0, 2), ",", entry("b", "U8", "[2]", 4, 6), "}"),
                 6),
      "b: data_offsets [4, 6] leave a gap");
  check_bad(file_bytes(cat("{", entry("a", "U8", "[2]", 2, 4), "}"), 4),
            "a: data_offsets [2, 4] leave a gap");
}

TEST_CASE("safetensors reader rejects offsets past the end and trailing bytes", "[io]") {
  check_bad(file_bytes(cat("{", entry("a", "U8", "[8]", 0, 8), "}"), 4),
            "a: data_offsets [0, 8] run past the end");
  check_bad(file_bytes(cat("{", entry("a", "U8", "[2]", 0, 2), "}"), 4), "trailing bytes");
}

TEST_CASE("safetensors reader rejects a byte length that is not shape times dtype size", "[io]") {
  check_bad(file_bytes(cat("{", entry("w", "BF16", "[2,3]", 0, 6), "}"), 6),
            "w: data_offsets [0, 6] hold 6 bytes but shape × dtype size is 12");
}

TEST_CASE("safetensors reader rejects a shape whose size overflows 64 bits", "[io]") {
  check_bad(file_bytes(cat("{", entry("w", "F32", "[4294967296,4294967296]", 0, 0), "}"), 0),
            "w: shape × dtype size overflows");
  check_bad(file_bytes(cat("{", entry("w", "U8", "[18446744073709551615,2]", 0, 0), "}"), 0),
            "w: shape × dtype size overflows");
}

TEST_CASE("safetensors reader survives every truncation and byte flip of a valid file", "[io]") {
  const auto full = file_bytes(
      cat("{", entry("a", "F16", "[2,2]", 0, 8), ",", entry("b", "U8", "[3]", 8, 11), "}"), 11);
  for (std::size_t n = 0; n < full.size(); ++n) {
    CHECK_THROWS_AS(
        hostile_input("safetensors",
                      [&] {
                        return parse(std::vector<std::byte>(
                            full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
                      }),
        llama3::Error);
  }
  int parsed = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    CAPTURE(i);
    auto copy = full;
    copy[i] ^= std::byte{0x5A};
    try {
      const auto file = hostile_input("safetensors", [&] { return parse(copy); });
      ++parsed;
      // A flip the reader accepts (in the data, or in padding) must still give tensors whose
      // bytes lie inside the file and match their shape and dtype.
      const auto buffer = file.file()->bytes();
      for (const auto& tensor : file.tensors()) {
        CAPTURE(tensor.name);
        std::uint64_t n = llama3::io::safetensors_dtype_size(tensor.dtype);
        for (const auto d : tensor.shape) n *= d;
        CHECK(tensor.n_bytes() == n);
        CHECK(tensor.data >= buffer.data());
        CHECK(tensor.data + tensor.n_bytes() <= buffer.data() + buffer.size());
      }
    } catch (const llama3::Error& error) {
      CHECK(error.code() == ErrorCode::kBadFormat);
    }
  }
  // At least every data byte's flip parses (a flipped letter of a tensor name may, too).
  CHECK(parsed >= 11);
}

TEST_CASE("safetensors writer output reads back, padded to 8 bytes", "[io]") {
  const auto path = llama3::testing::scratch_dir("safetensors-writer") / "w.safetensors";
  llama3::io::SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  writer.add_tensor("first", SafetensorsDtype::kBF16, {2, 3});
  writer.add_tensor("second", SafetensorsDtype::kF32, {5});
  CHECK_THROWS_AS(writer.add_tensor("first", SafetensorsDtype::kU8, {1}), llama3::Error);
  writer.write(path, [](std::size_t index, std::vector<std::byte>& out) {
    out.resize(index == 0 ? 12 : 20, static_cast<std::byte>(index + 1));
  });
  const auto file = SafetensorsFile::open(path);
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors()[0].name == "first");
  CHECK(file.find("second")->shape == std::vector<std::uint64_t>{5});
  CHECK(file.find("second")->data[19] == std::byte{2});
  CHECK(file.metadata().at("format") == "pt");
  CHECK((file.find("first")->data - file.file()->bytes().data()) % 8 == 0);
}

TEST_CASE("safetensors checkpoint follows the shard index and rejects inconsistent ones", "[io]") {
  const auto dir = llama3::testing::scratch_dir("safetensors-shards");
  auto write_shard = [&](const std::string& name, const std::vector<std::string>& tensors) {
    llama3::io::SafetensorsWriter writer;
    for (const auto& tensor : tensors) writer.add_tensor(tensor, SafetensorsDtype::kU8, {4});
    writer.write(dir / name, [](std::size_t, std::vector<std::byte>& out) { out.resize(4); });
  };
  auto write_index = [&](const std::string& map) {
    std::ofstream(dir / "model.safetensors.index.json")
        << "{\"metadata\":{\"total_size\":12},\"weight_map\":{" << map << "}}";
  };
  write_shard("s1.safetensors", {"a", "b"});
  write_shard("s2.safetensors", {"c"});
  write_index("\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\"");
  const auto checkpoint = llama3::io::SafetensorsCheckpoint::open(dir);
  CHECK(checkpoint.files().size() == 2);
  CHECK(checkpoint.tensors().size() == 3);
  REQUIRE(checkpoint.find("c"));
  CHECK(checkpoint.find("c")->n_bytes() == 4);

  auto check_index_error = [&](const std::string& map, const std::string& needle) {
    write_index(map);
    try {
      hostile_input("safetensors", [&] { return llama3::io::SafetensorsCheckpoint::open(dir); });
      FAIL("opened; expected " << needle);
    } catch (const llama3::Error& error) {
      INFO(error.what());
      CHECK_THAT(error.what(), Catch::Contains(needle));
    }
  };
  check_index_error("\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\",\"c\":\"s2.safetensors\"",
                    "b: not assigned to this shard");
  check_index_error(
      "\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\",\"d\":\"s2."
      "safetensors\"",
      "d: the index puts it in s2.safetensors");
  check_index_error("\"a\":\"../s1.safetensors\"", "not a plain file name");
  check_index_error("\"a\":\"s1.safetensors\",\"a\":\"s2.safetensors\"", "a: name appears twice");
}
