// MappedFile: mapped and read-in bytes agree, and failures are kIo errors naming the path.
#include <catch2/catch.hpp>

#include "support/error_code.hpp"

#include <fstream>

#include "io/gguf.hpp"
#include "io/mapped_file.hpp"
#include "llama3/error.hpp"
#include "support/test_data.hpp"

using llama3::ErrorCode;
using llama3::io::MappedFile;
using llama3::testing::code_of;

TEST_CASE("mapped file gives the same bytes mapped and read", "[io]") {
  const auto dir = llama3::testing::scratch_dir("mapped_file");
  const auto path = dir / "bytes.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 10000; ++i) out.put(static_cast<char>(i * 13));
  }
  const auto mapped = MappedFile::open(path, {.use_mmap = true, .prefetch = true});
  const auto read = MappedFile::open(path, {.use_mmap = false, .prefetch = false});
  CHECK(mapped->is_mapped());
  CHECK_FALSE(read->is_mapped());
  CHECK(mapped->name() == path.string());
  REQUIRE(mapped->bytes().size() == 10000);
  REQUIRE(read->bytes().size() == 10000);
  CHECK(std::equal(mapped->bytes().begin(), mapped->bytes().end(), read->bytes().begin()));
  CHECK(std::to_integer<int>(mapped->bytes()[5]) == 65);
}

TEST_CASE("mapped file handles empty files, and gguf rejects them", "[io]") {
  const auto dir = llama3::testing::scratch_dir("mapped_file_empty");
  const auto path = dir / "empty.gguf";
  std::ofstream(path).close();
  for (const bool use_mmap : {true, false}) {
    const auto file = MappedFile::open(path, {.use_mmap = use_mmap, .prefetch = true});
    CHECK(file->bytes().empty());
    CHECK_THROWS_WITH(llama3::io::GgufFile::parse(file), Catch::Contains("empty.gguf"));
  }
}

TEST_CASE("mapped file reports missing files and directories as io errors", "[io]") {
  const auto missing = std::filesystem::path("/nonexistent-llama3/model.gguf");
  CHECK_THROWS_WITH(MappedFile::open(missing), Catch::Contains("/nonexistent-llama3/model.gguf") &&
                                                   Catch::Contains("No such file"));
  CHECK(code_of([&] { MappedFile::open(missing); }) == ErrorCode::kIo);
  const auto dir = llama3::testing::scratch_dir("mapped_file_dir");
  CHECK(code_of([&] { MappedFile::open(dir); }) == ErrorCode::kIo);
  CHECK(code_of([&] { llama3::io::GgufFile::open(missing); }) == ErrorCode::kIo);
}
