// The GGUF reader on handcrafted buffers: what a valid file yields, and one test per hostile case.
// Each hostile file must fail with kBadFormat and a message naming the key or tensor at fault.
#include <catch2/catch.hpp>

#include <limits>

#include "io/gguf.hpp"
#include "io/gguf_test_bytes.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"

using llama3::ErrorCode;
using llama3::io::GgufValueType;
using llama3::io::TensorType;
using llama3::testing::GgufBytes;
using llama3::testing::hostile_input;
using llama3::testing::parse_bytes;
using llama3::testing::parse_error_code;

namespace {
constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max();
}  // namespace

#define CHECK_BAD_FORMAT(builder, needle)                                          \
  do {                                                                             \
    CHECK_THROWS_WITH(hostile_input("gguf", [&] { return parse_bytes(builder); }), \
                      Catch::Contains(needle));                                    \
    CHECK(parse_error_code(builder) == ErrorCode::kBadFormat);                     \
  } while (0)

TEST_CASE("gguf reader yields the metadata and tensors of a valid file", "[io]") {
  const auto file = parse_bytes(llama3::testing::small_valid_gguf());
  CHECK(file.version() == 3);
  CHECK(file.alignment() == 32);
  REQUIRE(file.metadata().size() == 5);
  CHECK(file.metadata()[0].key == "general.architecture");
  CHECK(file.get("general.architecture").as_string("arch") == "llama");
  CHECK(file.get("llama.block_count").as_uint("n") == 1);
  CHECK(file.get("llama.block_count").as_int("n") == 1);
  CHECK(file.get("llama.rope.freq_base").as_float("base") == 100000.0);
  const auto& tokens = file.get("tokenizer.ggml.tokens");
  CHECK(tokens.is_array());
  CHECK(tokens.element_type() == GgufValueType::kString);
  CHECK(tokens.strings("tokens") == std::vector<std::string_view>{"a", "bc", ""});
  const auto& nested = file.get("nested").arrays("nested");
  REQUIRE(nested.size() == 2);
  CHECK(nested[0].ints("nested[0]") == std::vector<std::int64_t>{-1, 7});
  CHECK(nested[0].floats("nested[0]") == std::vector<float>{-1.0f, 7.0f});
  CHECK(nested[1].strings("nested[1]") == std::vector<std::string_view>{"x"});
  CHECK(file.find("absent") == nullptr);
  CHECK_THROWS_WITH(file.get("absent"), Catch::Contains("absent"));

  REQUIRE(file.tensors().size() == 2);
  const auto* a = file.find_tensor("a.weight");
  REQUIRE(a);
  CHECK(a->n_dims == 2);
  CHECK(a->ne == std::array<std::uint64_t, 4>{4, 2, 1, 1});
  CHECK(a->type == TensorType::kF32);
  CHECK(a->n_bytes == 32);
  CHECK(a->data == file.file()->bytes().data() + (file.file()->bytes().size() - 66));
  const auto* b = file.find_tensor("b.weight");
  REQUIRE(b);
  CHECK(b->type == TensorType::kQ8_0);
  CHECK(b->n_bytes == 34);
  CHECK(std::to_integer<int>(b->data[0]) == 100);
  CHECK(std::to_integer<int>(b->data[33]) == 133);
  CHECK(file.find_tensor("c.weight") == nullptr);
}

TEST_CASE("gguf values convert between integer widths with range checks", "[io]") {
  GgufBytes b;
  b.header(0, 6);
  b.key("neg", 1).u8(0xFF);           // int8 -1
  b.key("big", 10).u64(kHuge);        // uint64 max
  b.key("small16", 3).le(0x8000, 2);  // int16 -32768
  b.key("flag", 7).u8(1);
  b.key("f64", 12).u64(0x400C000000000000);               // 3.5
  b.key("ints", 9).u32(2).u64(2).le(0xFFFF, 2).le(3, 2);  // uint16 [65535, 3]
  const auto file = parse_bytes(b);
  CHECK(file.get("neg").as_int("neg") == -1);
  CHECK_THROWS_WITH(file.get("neg").as_uint("neg"), Catch::Contains("neg"));
  CHECK(file.get("big").as_uint("big") == kHuge);
  CHECK_THROWS_WITH(file.get("big").as_int("big"), Catch::Contains("big"));
  CHECK(file.get("small16").as_int("s") == -32768);
  CHECK(file.get("flag").as_bool("flag"));
  CHECK_THROWS_WITH(file.get("flag").as_uint("flag"), Catch::Contains("flag"));
  CHECK(file.get("f64").as_float("f64") == 3.5);
  CHECK_THROWS_WITH(file.get("f64").as_string("f64"), Catch::Contains("f64"));
  CHECK(file.get("ints").ints("ints") == std::vector<std::int64_t>{65535, 3});
  CHECK(file.get("ints").size() == 2);
  CHECK_THROWS_WITH(file.get("ints").strings("ints"), Catch::Contains("ints"));
  CHECK_THROWS_WITH(file.get("ints").as_uint("ints"), Catch::Contains("ints"));
}

TEST_CASE("gguf reader accepts a metadata-only file without trailing padding", "[io]") {
  GgufBytes b;
  b.header(0, 1, 2).kv_u32("general.alignment", 64);
  const auto file = parse_bytes(b);
  CHECK(file.version() == 2);
  CHECK(file.alignment() == 64);
  CHECK(file.tensors().empty());
}

TEST_CASE("gguf reader rejects files that are not GGUF v2 or v3", "[io]") {
  CHECK_BAD_FORMAT(GgufBytes{}, "hostile.gguf: header");
  GgufBytes magic;
  magic.u32(0x46554746).u32(3).u64(0).u64(0);
  CHECK_BAD_FORMAT(magic, "magic");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 0, 1), "version 1");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 0, 0), "version 0");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 0, 4), "version 4");
}

TEST_CASE("gguf reader rejects counts larger than the file can hold", "[io]") {
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, kHuge), "metadata count");
  CHECK_BAD_FORMAT(GgufBytes{}.header(kHuge, 0), "tensor count");
  // A count the file could hold, but entries that are missing.
  GgufBytes missing;
  missing.header(0, 2).kv_u32("only.one", 1).u64(kHuge).zeros(8);
  CHECK_BAD_FORMAT(missing, "metadata entry 1");
}

TEST_CASE("gguf reader rejects string lengths past the end of the file", "[io]") {
  GgufBytes key;
  key.header(0, 1).u64(kHuge).zeros(16);
  CHECK_BAD_FORMAT(key, "metadata entry 0");
  GgufBytes value;
  value.header(0, 1).key("general.name", 8).u64(kHuge).zeros(16);
  CHECK_BAD_FORMAT(value, "general.name");
  GgufBytes just_past;
  just_past.header(0, 1).key("general.name", 8).u64(5).zeros(4);
  CHECK_BAD_FORMAT(just_past, "general.name");
}

TEST_CASE("gguf reader rejects array counts past the end of the file", "[io]") {
  GgufBytes numbers;
  numbers.header(0, 1).key("tokenizer.ggml.scores", 9).u32(6).u64(kHuge).zeros(64);
  CHECK_BAD_FORMAT(numbers, "tokenizer.ggml.scores");
  GgufBytes half;  // 2^63 u16 elements: count * size wraps to 0 if multiplied unchecked
  half.header(0, 1).key("tokenizer.ggml.token_type", 9).u32(2).u64(std::uint64_t{1} << 63);
  CHECK_BAD_FORMAT(half, "tokenizer.ggml.token_type");
  GgufBytes strings;
  strings.header(0, 1).key("tokenizer.ggml.tokens", 9).u32(8).u64(kHuge).zeros(64);
  CHECK_BAD_FORMAT(strings, "tokenizer.ggml.tokens");
  GgufBytes long_element;
  long_element.header(0, 1).key("tokenizer.ggml.merges", 9).u32(8).u64(2).str("a b").u64(kHuge);
  CHECK_BAD_FORMAT(long_element, "tokenizer.ggml.merges");
  GgufBytes arrays;
  arrays.header(0, 1).key("nested", 9).u32(9).u64(kHuge).zeros(64);
  CHECK_BAD_FORMAT(arrays, "nested");
}

TEST_CASE("gguf reader rejects unknown value types", "[io]") {
  GgufBytes scalar;
  scalar.header(0, 1).key("general.weird", 13).u64(0);
  CHECK_BAD_FORMAT(scalar, "general.weird");
  GgufBytes element;
  element.header(0, 1).key("general.weird_array", 9).u32(0xFFFFFFFF).u64(0);
  CHECK_BAD_FORMAT(element, "general.weird_array");
}

TEST_CASE("gguf reader bounds array nesting", "[io]") {
  const auto nested = [](int depth) {
    GgufBytes b;
    b.header(0, 1).key("deep", 9);
    for (int i = 1; i < depth; ++i) b.u32(9).u64(1);
    b.u32(4).u64(1).u32(42);
    return b;
  };
  // Depth 8 parses; each level holds the next.
  auto file = parse_bytes(nested(8));
  const llama3::io::GgufValue* v = &file.get("deep");
  for (int i = 1; i < 8; ++i) v = &v->arrays("deep").at(0);
  CHECK(v->ints("deep") == std::vector<std::int64_t>{42});
  CHECK_BAD_FORMAT(nested(9), "deep");
  CHECK_BAD_FORMAT(nested(100000), "deep");  // would overflow the stack without the bound
}

TEST_CASE("gguf reader rejects duplicate keys", "[io]") {
  GgufBytes b;
  b.header(0, 2).kv_u32("llama.block_count", 1).kv_u32("llama.block_count", 2);
  CHECK_BAD_FORMAT(b, "llama.block_count");
}

TEST_CASE("gguf reader rejects bools other than 0 and 1", "[io]") {
  GgufBytes scalar;
  scalar.header(0, 1).key("general.flag", 7).u8(2);
  CHECK_BAD_FORMAT(scalar, "general.flag");
  GgufBytes array;
  array.header(0, 1).key("general.flags", 9).u32(7).u64(3).u8(0).u8(1).u8(0x80);
  CHECK_BAD_FORMAT(array, "general.flags");
}

TEST_CASE("gguf reader validates general.alignment", "[io]") {
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 1).kv_u32("general.alignment", 0), "general.alignment");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 1).kv_u32("general.alignment", 48), "general.alignment");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 1).kv_string("general.alignment", "32"),
                   "general.alignment");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 1).key("general.alignment", 6).u32(0x42000000),
                   "general.alignment");
  CHECK_BAD_FORMAT(GgufBytes{}.header(0, 1).key("general.alignment", 5).u32(0xFFFFFFE0),
                   "general.alignment");  // int32 -32
  // Any integer width with a valid value is accepted, and governs the tensor offsets.
  GgufBytes wide;
  wide.header(1, 1).key("general.alignment", 10).u64(64);
  wide.tensor_info("t", {16}, 0, 0).pad_to(64).zeros(64);
  CHECK(parse_bytes(wide).alignment() == 64);
}

namespace {
// One tensor info after a header with no metadata; data follows, padded to 32.
GgufBytes one_tensor(std::string_view name, std::initializer_list<std::uint64_t> ne,
                     std::uint32_t type, std::uint64_t offset, std::size_t data_bytes) {
  GgufBytes b;
  b.header(1, 0).tensor_info(name, ne, type, offset).pad_to(32).zeros(data_bytes);
  return b;
}
}  // namespace

TEST_CASE("gguf reader limits tensor names to what ggml accepts", "[io]") {
  const std::string ok(63, 'n');
  CHECK(parse_bytes(one_tensor(ok, {8}, 0, 0, 32)).tensors().at(0).name == ok);
  const std::string too_long(64, 'n');
  CHECK_BAD_FORMAT(one_tensor(too_long, {8}, 0, 0, 32), too_long);
}

TEST_CASE("gguf reader rejects duplicate tensor names", "[io]") {
  GgufBytes b;
  b.header(2, 0).tensor_info("blk.0.attn_q.weight", {8}, 0, 0);
  b.tensor_info("blk.0.attn_q.weight", {8}, 0, 32).pad_to(32).zeros(64);
  CHECK_BAD_FORMAT(b, "blk.0.attn_q.weight");
}

TEST_CASE("gguf reader rejects bad tensor dimensions", "[io]") {
  CHECK_BAD_FORMAT(one_tensor("no_dims", {}, 0, 0, 32), "no_dims");
  CHECK_BAD_FORMAT(one_tensor("five_dims", {1, 1, 1, 1, 8}, 0, 0, 32), "five_dims");
  CHECK_BAD_FORMAT(one_tensor("zero_dim", {8, 0}, 0, 0, 32), "zero_dim");
  CHECK_BAD_FORMAT(one_tensor("too_many", {1ull << 32, 1ull << 32}, 0, 0, 32), "too_many");
  CHECK_BAD_FORMAT(one_tensor("negative", {1ull << 63}, 24, 0, 32), "negative");
  // 2^62 f32 values fit the element count but not the byte size.
  CHECK_BAD_FORMAT(one_tensor("huge_bytes", {1ull << 62}, 0, 0, 32), "huge_bytes");
}

TEST_CASE("gguf reader rejects unknown tensor types", "[io]") {
  CHECK_BAD_FORMAT(one_tensor("odd_type", {8}, 1000, 0, 32), "odd_type");
  CHECK_BAD_FORMAT(one_tensor("removed_type", {8}, 4, 0, 32), "removed_type");  // Q4_2 is gone
  // A type ggml knows (IQ2_XXS) is well-formed, but this library does not run it.
  const auto iq = one_tensor("iq_type", {256}, 16, 0, 66);
  CHECK_THROWS_WITH(hostile_input("gguf", [&] { return parse_bytes(iq); }),
                    Catch::Contains("iq_type"));
  CHECK(parse_error_code(iq) == ErrorCode::kUnsupported);
}

TEST_CASE("gguf reader rejects rows that are not whole blocks", "[io]") {
  CHECK_BAD_FORMAT(one_tensor("blk.0.ffn_down.weight", {33, 2}, 8, 0, 68), "blk.0.ffn_down.weight");
  CHECK_BAD_FORMAT(one_tensor("blk.0.ffn_up.weight", {128}, 12, 0, 144), "blk.0.ffn_up.weight");
}

TEST_CASE("gguf reader rejects misplaced tensor data", "[io]") {
  CHECK_BAD_FORMAT(one_tensor("unaligned", {8}, 0, 8, 64), "unaligned");
  CHECK_BAD_FORMAT(one_tensor("past_end", {8}, 0, 0, 31), "past_end");
  CHECK_BAD_FORMAT(one_tensor("far_past_end", {8}, 0, 1ull << 40, 32), "far_past_end");
  CHECK_BAD_FORMAT(one_tensor("wraps", {8}, 0, kHuge - 31, 32), "wraps");

  GgufBytes same;
  same.header(2, 0).tensor_info("first", {8}, 0, 0).tensor_info("second", {8}, 0, 0);
  same.pad_to(32).zeros(64);
  CHECK_BAD_FORMAT(same, "second");
  GgufBytes overlap;  // first holds 64 bytes, second starts 32 bytes in; stored out of order
  overlap.header(2, 0).tensor_info("late", {8}, 0, 32).tensor_info("early", {16}, 0, 0);
  overlap.pad_to(32).zeros(96);
  CHECK_BAD_FORMAT(overlap, "early");
  // Out of order but disjoint is fine.
  GgufBytes disjoint;
  disjoint.header(2, 0).tensor_info("late", {8}, 0, 64).tensor_info("early", {16}, 0, 0);
  disjoint.pad_to(32).zeros(96);
  CHECK(parse_bytes(disjoint).tensors().size() == 2);
}
