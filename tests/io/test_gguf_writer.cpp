// GgufWriter: what it writes reads back exactly through GgufFile, and it refuses bad input.
#include <catch2/catch.hpp>

#include "support/error_code.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "io/gguf.hpp"
#include "llama3/error.hpp"
#include "support/test_data.hpp"

using llama3::ErrorCode;
using llama3::io::GgufArrayBuilder;
using llama3::io::GgufFile;
using llama3::io::GgufValueType;
using llama3::io::GgufWriter;
using llama3::io::TensorType;
using llama3::testing::code_of;

namespace {

struct TensorSpec {
  std::string name;
  std::vector<std::uint64_t> ne;
  TensorType type;
  std::uint64_t n_bytes;
};

// Deterministic, position-dependent bytes so a misplaced tensor cannot compare equal.
std::vector<std::byte> tensor_bytes(std::size_t index, std::uint64_t n) {
  std::vector<std::byte> out(n);
  for (std::uint64_t i = 0; i < n; ++i)
    out[i] = std::byte(static_cast<unsigned>(i * 7 + index * 31 + 1));
  return out;
}

}  // namespace

TEST_CASE("gguf writer round-trips every value type and tensor byte", "[io]") {
  const auto alignment = GENERATE(std::uint64_t{32}, std::uint64_t{64});
  CAPTURE(alignment);
  const auto dir = llama3::testing::scratch_dir("gguf_round_trip");
  const auto path = dir / "model.gguf";

  GgufWriter writer(alignment);
  writer.set_uint8("u8", 200);
  writer.set_int8("i8", -100);
  writer.set_uint16("u16", 60000);
  writer.set_int16("i16", -30000);
  writer.set_uint32("u32", 4000000000u);
  writer.set_int32("i32", -2000000000);
  writer.set_float32("f32", 0.1f);
  writer.set_bool("bool_true", true);
  writer.set_bool("bool_false", false);
  writer.set_string("string", "Llama 3 \xF0\x9F\xA6\x99");
  writer.set_uint64("u64", std::numeric_limits<std::uint64_t>::max());
  writer.set_int64("i64", std::numeric_limits<std::int64_t>::min());
  writer.set_float64("f64", 1.0 / 3.0);
  writer.set_string_array("strings", {"a", "", "Ġthe"});
  writer.set_int32_array("ints", {-1, 0, 128000});
  writer.set_float32_array("floats", {1.5f, -0.0f, 1e-5f});
  writer.set_string_array("empty", {});
  GgufArrayBuilder u64s(GgufValueType::kUint64);
  u64s.add_uint(0).add_uint(std::numeric_limits<std::uint64_t>::max());
  writer.set_array("u64s", u64s);
  GgufArrayBuilder bools(GgufValueType::kBool);
  bools.add_bool(true).add_bool(false);
  writer.set_array("bools", bools);
  GgufArrayBuilder nested(GgufValueType::kArray);
  GgufArrayBuilder inner_ints(GgufValueType::kInt16);
  inner_ints.add_int(-5).add_int(5);
  GgufArrayBuilder inner_strings(GgufValueType::kString);
  inner_strings.add_string("x");
  nested.add_array(inner_ints).add_array(inner_strings);
  writer.set_array("nested", nested);

  const std::vector<TensorSpec> specs = {
      {"token_embd.weight", {64, 3}, TensorType::kF32, 64 * 3 * 4},
      {"blk.0.attn_q.weight", {64, 2}, TensorType::kQ8_0, 2 * 2 * 34},
      {"blk.0.ffn_down.weight", {256, 1}, TensorType::kQ4_K, 144},
      {"output_norm.weight", {5}, TensorType::kF16, 10},
      {"cube", {2, 3, 4, 5}, TensorType::kBF16, 2 * 3 * 4 * 5 * 2},
  };
  for (const auto& s : specs) writer.add_tensor(s.name, s.ne, s.type);
  writer.write(path, [&](std::size_t i, std::vector<std::byte>& out) {
    const auto bytes = tensor_bytes(i, specs[i].n_bytes);
    out.insert(out.end(), bytes.begin(), bytes.end());
  });
  CHECK_FALSE(std::filesystem::exists(dir / "model.gguf.tmp"));

  const auto file = GgufFile::open(path);
  CHECK(file.version() == 3);
  CHECK(file.alignment() == alignment);
  CHECK(file.get("u8").as_uint("u8") == 200);
  CHECK(file.get("u8").type() == GgufValueType::kUint8);
  CHECK(file.get("i8").as_int("i8") == -100);
  CHECK(file.get("u16").as_uint("u16") == 60000);
  CHECK(file.get("i16").as_int("i16") == -30000);
  CHECK(file.get("u32").as_uint("u32") == 4000000000u);
  CHECK(file.get("i32").as_int("i32") == -2000000000);
  CHECK(file.get("f32").as_float("f32") == static_cast<double>(0.1f));
  CHECK(file.get("f32").type() == GgufValueType::kFloat32);
  CHECK(file.get("bool_true").as_bool("b"));
  CHECK_FALSE(file.get("bool_false").as_bool("b"));
  CHECK(file.get("string").as_string("s") == "Llama 3 \xF0\x9F\xA6\x99");
  CHECK(file.get("u64").as_uint("u64") == std::numeric_limits<std::uint64_t>::max());
  CHECK(file.get("i64").as_int("i64") == std::numeric_limits<std::int64_t>::min());
  CHECK(file.get("f64").as_float("f64") == 1.0 / 3.0);
  CHECK(file.get("strings").strings("s") == std::vector<std::string_view>{"a", "", "Ġthe"});
  CHECK(file.get("ints").element_type() == GgufValueType::kInt32);
  CHECK(file.get("ints").ints("i") == std::vector<std::int64_t>{-1, 0, 128000});
  const auto floats = file.get("floats").floats("f");
  REQUIRE(floats.size() == 3);
  CHECK(floats[0] == 1.5f);
  CHECK(std::signbit(floats[1]));
  CHECK(floats[2] == 1e-5f);
  CHECK(file.get("empty").size() == 0);
  CHECK(file.get("empty").strings("e").empty());
  CHECK(file.get("u64s").element_type() == GgufValueType::kUint64);
  CHECK(file.get("u64s").size() == 2);
  CHECK_THROWS_WITH(file.get("u64s").ints("u64s"), Catch::Contains("u64s"));  // 2^64-1 > INT64_MAX
  CHECK(file.get("bools").element_type() == GgufValueType::kBool);
  CHECK(file.get("bools").size() == 2);
  const auto& arrays = file.get("nested").arrays("nested");
  REQUIRE(arrays.size() == 2);
  CHECK(arrays[0].element_type() == GgufValueType::kInt16);
  CHECK(arrays[0].ints("n0") == std::vector<std::int64_t>{-5, 5});
  CHECK(arrays[1].strings("n1") == std::vector<std::string_view>{"x"});

  // Insertion order is kept; general.alignment comes first when it is written at all.
  const auto& metadata = file.metadata();
  const std::size_t first = alignment == 32 ? 0 : 1;
  REQUIRE(metadata.size() == first + 20);
  if (first == 1) CHECK(metadata[0].key == "general.alignment");
  CHECK(metadata[first].key == "u8");
  CHECK(metadata.back().key == "nested");

  REQUIRE(file.tensors().size() == specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& t = file.tensors()[i];
    CAPTURE(specs[i].name);
    CHECK(t.name == specs[i].name);
    CHECK(t.n_dims == specs[i].ne.size());
    for (std::size_t d = 0; d < 4; ++d)
      CHECK(t.ne[d] == (d < specs[i].ne.size() ? specs[i].ne[d] : 1));
    CHECK(t.type == specs[i].type);
    CHECK(t.n_bytes == specs[i].n_bytes);
    CHECK(t.offset % alignment == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data) % alignment == 0);  // mmap is page-aligned
    const auto expected = tensor_bytes(i, specs[i].n_bytes);
    CHECK(std::equal(expected.begin(), expected.end(), t.data));
  }
  // ggml reads the data section padded to the alignment, the last tensor included.
  CHECK(file.file()->bytes().size() % alignment == 0);
}

TEST_CASE("gguf writer checks what the callback appends and leaves no partial file", "[io]") {
  const auto dir = llama3::testing::scratch_dir("gguf_short_tensor");
  const auto path = dir / "short.gguf";
  GgufWriter writer;
  const std::uint64_t ne[] = {8};
  writer.add_tensor("t", ne, TensorType::kF32);
  const auto write_short = [&] {
    writer.write(path, [](std::size_t, std::vector<std::byte>& out) { out.resize(31); });
  };
  CHECK_THROWS_WITH(write_short(), Catch::Contains("'t'"));
  CHECK(code_of(write_short) == ErrorCode::kInternal);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(dir / "short.gguf.tmp"));
}

TEST_CASE("gguf writer reports unwritable paths as io errors naming the path", "[io]") {
  GgufWriter writer;
  const auto path = std::filesystem::path("/nonexistent-dir-llama3/x.gguf");
  const auto write = [&] { writer.write(path, [](std::size_t, std::vector<std::byte>&) {}); };
  CHECK_THROWS_WITH(write(), Catch::Contains("/nonexistent-dir-llama3/x.gguf"));
  CHECK(code_of(write) == ErrorCode::kIo);
}

TEST_CASE("gguf writer refuses input the reader would reject", "[io]") {
  CHECK(code_of([] { GgufWriter w(0); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([] { GgufWriter w(48); }) == ErrorCode::kInvalidArgument);
  GgufWriter writer;
  writer.set_uint32("k", 1);
  CHECK(code_of([&] { writer.set_uint32("k", 2); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { writer.set_uint32("general.alignment", 64); }) ==
        ErrorCode::kInvalidArgument);
  const std::uint64_t odd[] = {33};
  CHECK(code_of([&] { writer.add_tensor("q", odd, TensorType::kQ8_0); }) ==
        ErrorCode::kInvalidArgument);
  const std::uint64_t zero[] = {32, 0};
  CHECK(code_of([&] { writer.add_tensor("z", zero, TensorType::kF32); }) ==
        ErrorCode::kInvalidArgument);
  const std::uint64_t ok[] = {32};
  CHECK(code_of([&] { writer.add_tensor(std::string(64, 'n'), ok, TensorType::kF32); }) ==
        ErrorCode::kInvalidArgument);
  writer.add_tensor("t", ok, TensorType::kF32);
  CHECK(code_of([&] { writer.add_tensor("t", ok, TensorType::kF32); }) ==
        ErrorCode::kInvalidArgument);
  GgufArrayBuilder u8s(GgufValueType::kUint8);
  CHECK(code_of([&] { u8s.add_uint(256); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { u8s.add_int(-1); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { u8s.add_string("a"); }) == ErrorCode::kInvalidArgument);
  GgufArrayBuilder i8s(GgufValueType::kInt8);
  i8s.add_int(-128).add_int(127);
  CHECK(code_of([&] { i8s.add_int(-129); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { i8s.add_uint(128); }) == ErrorCode::kInvalidArgument);
  CHECK(i8s.size() == 2);
}
