// convert and quantize given legal-but-unusual or broken inputs: each either converts with the
// right values or fails with a message naming what is wrong, and never leaves a file behind.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "convert/convert_test_support.hpp"
#include "io/gguf.hpp"
#include "llama3/convert.hpp"
#include "support/child_process.hpp"
#include "support/error_code.hpp"

using namespace llama3;

namespace {

std::vector<char> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::filesystem::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rewrites a safetensors file with its JSON header unpadded and of odd length, which the format
// allows: every tensor then starts at an odd offset, misaligned for its 2-byte elements.
void make_header_length_odd(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  std::uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) {
    header_length |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(header_length));
  while (!header.empty() && header.back() == ' ') header.pop_back();
  if (header.size() % 2 == 0) header.push_back(' ');
  std::vector<char> rewritten(8);
  for (int i = 0; i < 8; ++i) rewritten[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  rewritten.insert(rewritten.end(), header.begin(), header.end());
  rewritten.insert(rewritten.end(), bytes.begin() + 8 + static_cast<long>(header_length),
                   bytes.end());
  write_bytes(path, rewritten);
}

bool has_stray_temp_file(const std::filesystem::path& folder) {
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().filename().string().find(".tmp") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("convert of a safetensors file with an odd header length gives the aligned values",
          "[convert]") {
  const auto aligned = testing::make_test_hf_model("--seed 31 --untied --layers 2", "odd-aligned");
  const auto odd = testing::make_test_hf_model("--seed 31 --untied --layers 2", "odd-header");
  make_header_length_odd(odd / "model.safetensors");

  const auto folder = testing::hf_process_dir() / "odd-out";
  std::filesystem::create_directories(folder);
  for (const char* type : {"bf16", "q8_0"}) {
    INFO("type " << type);
    const auto expected_path = folder / (std::string("aligned-") + type + ".gguf");
    const auto actual_path = folder / (std::string("odd-") + type + ".gguf");
    testing::run_llama3("convert " + aligned.string() + " -o " + expected_path.string() +
                        " --type " + type);
    testing::run_llama3("convert " + odd.string() + " -o " + actual_path.string() + " --type " +
                        type);
    const auto expected = io::GgufFile::open(expected_path);
    const auto actual = io::GgufFile::open(actual_path);
    REQUIRE(actual.tensors().size() == expected.tensors().size());
    for (const auto& tensor : expected.tensors()) {
      INFO(tensor.name);
      const auto* other = actual.find_tensor(tensor.name);
      REQUIRE(other);
      REQUIRE(other->n_bytes == tensor.n_bytes);
      CHECK(std::memcmp(other->data, tensor.data, tensor.n_bytes) == 0);
    }
  }
  CHECK_FALSE(has_stray_temp_file(folder));
}

namespace {

// Rewrites one config.json key of a HF folder.
void set_config(const std::filesystem::path& folder, const std::string& key, int value) {
  const auto path = folder / "config.json";
  const auto bytes = read_bytes(path);
  auto config = nlohmann::json::parse(std::string(bytes.begin(), bytes.end()));
  config[key] = value;
  const std::string text = config.dump(2);
  write_bytes(path, std::vector<char>(text.begin(), text.end()));
}

}  // namespace

TEST_CASE("convert checks every tensor against config.json and names both shapes", "[convert]") {
  struct Case {
    const char* key;
    int value;
    const char* mention;
  };
  // The tiny shape: hidden 256, 8 heads of 32, 2 KV heads, FFN 512, vocab 512, 2 layers.
  const Case cases[] = {
      {"hidden_size", 128,
       "model.embed_tokens.weight: config.json gives shape [512, 128], the "
       "weights have [512, 256]"},
      {"intermediate_size", 384,
       "model.layers.0.mlp.gate_proj.weight: config.json gives shape "
       "[384, 256], the weights have [512, 256]"},
      {"num_key_value_heads", 4,
       "model.layers.0.self_attn.k_proj.weight: config.json gives shape "
       "[128, 256], the weights have [64, 256]"},
      {"num_hidden_layers", 1, "num_hidden_layers = 1 but the weights have tensors for 2 blocks"},
      {"num_hidden_layers", 3, "num_hidden_layers = 3 but the weights have tensors for 2 blocks"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value);
    const auto folder = testing::make_test_hf_model("--seed 32 --untied --layers 2",
                                                    std::string("config-") + c.key);
    set_config(folder, c.key, c.value);
    const auto out = folder.parent_path() / (std::string("config-") + c.key + ".gguf");
    const std::string message = testing::message_of([&] { convert_hf_to_gguf(folder, out); });
    CHECK_THAT(message, Catch::Contains(c.mention));
    CHECK_FALSE(std::filesystem::exists(out));
    // Loading the folder directly gives the same error.
    CHECK_THAT(testing::message_of([&] { Model::load(folder); }), Catch::Contains(c.mention));
  }
}

TEST_CASE("quantize and convert refuse to write over their input", "[convert]") {
  const auto dir = testing::scratch_dir("convert-over-input");
  const auto in = testing::make_test_gguf_model("--seed 33 --layers 1", "over-input.gguf");
  std::filesystem::copy_file(in, dir / "in.gguf");
  const auto before = read_bytes(dir / "in.gguf");
  std::filesystem::create_symlink(dir / "in.gguf", dir / "link.gguf");
  std::filesystem::create_hard_link(dir / "in.gguf", dir / "hard.gguf");
  ConvertOptions options;
  options.type = "q8_0";
  for (const char* out : {"in.gguf", "link.gguf", "hard.gguf"}) {
    INFO(out);
    CHECK_THAT(testing::message_of([&] { quantize_gguf(dir / "in.gguf", dir / out, options); }),
               Catch::Contains("is the input"));
  }
  CHECK(read_bytes(dir / "in.gguf") == before);

  const auto folder = testing::make_test_hf_model("--seed 33 --layers 1", "over-source");
  const auto weights = read_bytes(folder / "model.safetensors");
  CHECK_THAT(testing::message_of(
                 [&] { convert_hf_to_gguf(folder, folder / "model.safetensors", options); }),
             Catch::Contains("is the input"));
  CHECK(read_bytes(folder / "model.safetensors") == weights);
  // The CLI says so and fails.
  CHECK_THROWS(testing::run_llama3("quantize " + (dir / "in.gguf").string() + " " +
                                   (dir / "in.gguf").string() + " q8_0"));
  CHECK(read_bytes(dir / "in.gguf") == before);
}

TEST_CASE("quantize refuses a FIFO or device as output and writes through a link", "[convert]") {
  const auto dir = testing::scratch_dir("convert-special-output");
  const auto in = testing::make_test_gguf_model("--seed 34 --layers 1", "special-in.gguf");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  ConvertOptions options;
  options.type = "q8_0";
  CHECK(testing::code_of([&] { quantize_gguf(in, dir / "fifo", options); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(std::filesystem::is_fifo(dir / "fifo"));
  CHECK(testing::code_of([&] { quantize_gguf(in, "/dev/null", options); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(std::filesystem::is_character_file("/dev/null"));

  std::filesystem::create_directories(dir / "models");
  std::filesystem::create_symlink("models/real.gguf", dir / "current.gguf");
  write_bytes(dir / "models" / "real.gguf", {'o', 'l', 'd'});
  quantize_gguf(in, dir / "current.gguf", options);
  CHECK(std::filesystem::is_symlink(dir / "current.gguf"));
  CHECK(io::GgufFile::open(dir / "models" / "real.gguf").tensors().size() > 0);
  CHECK_FALSE(has_stray_temp_file(dir / "models"));
}

TEST_CASE("a cancelled, failed or killed quantize leaves the old output and no temporary file",
          "[convert]") {
  const auto dir = testing::scratch_dir("convert-interrupted");
  const auto in = testing::make_test_gguf_model("--seed 35 --layers 2", "interrupted-in.gguf");
  const auto out = dir / "out.gguf";
  const std::vector<char> old = {'o', 'l', 'd'};
  write_bytes(out, old);
  auto names_in_dir = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  };

  SECTION("cancelled by the progress callback") {
    ConvertOptions options;
    options.type = "q4_0";
    std::size_t calls = 0;
    options.progress = [&](const ConvertProgress& progress) {
      ++calls;
      return progress.tensors_done < 5;
    };
    CHECK(testing::code_of([&] { quantize_gguf(in, out, options); }) == ErrorCode::kCancelled);
    CHECK(calls == 6);
  }
  SECTION("killed with SIGKILL halfway") {
    const int status = testing::run_in_child([&] {
      ConvertOptions options;
      options.type = "q4_0";
      options.n_threads = 1;
      options.progress = [](const ConvertProgress& progress) {
        if (progress.tensors_done == progress.tensors_total / 2) ::raise(SIGKILL);
        return true;
      };
      quantize_gguf(in, out, options);
    });
    CHECK(WIFSIGNALED(status));
  }
  SECTION("the disk fills up (the CLI under a file size limit)") {
    // ulimit -f (in 1024-byte blocks) makes writes past 200 KB fail as a full disk would; SIGXFSZ
    // is ignored so the write returns the error instead of killing the process.
    const std::string command = "bash -c \"trap '' XFSZ; ulimit -f 200; " +
                                (testing::bin_dir() / "llama3").string() + " quantize " +
                                in.string() + " " + out.string() + " f32\" 2>" +
                                (dir.parent_path() / "convert-interrupted-stderr.txt").string();
    CHECK(std::system(command.c_str()) != 0);
    const auto stderr_bytes = read_bytes(dir.parent_path() / "convert-interrupted-stderr.txt");
    CHECK_THAT(std::string(stderr_bytes.begin(), stderr_bytes.end()),
               Catch::Contains("write failed: File too large"));
  }
  CHECK(read_bytes(out) == old);
  CHECK(names_in_dir() == std::vector<std::string>{"out.gguf"});
}

TEST_CASE("quantize and convert refuse NaN or infinite weights, naming the tensor", "[convert]") {
  const auto path = testing::make_test_gguf_model("--seed 36 --layers 1", "non-finite.gguf");
  std::uint64_t offset = 0;
  {
    const auto file = io::GgufFile::open(path);
    const auto* tensor = file.find_tensor("blk.0.ffn_up.weight");
    REQUIRE(tensor);
    REQUIRE(tensor->type == io::TensorType::kF32);
    // Row 3, column 5.
    offset = static_cast<std::uint64_t>(tensor->data - file.file()->bytes().data()) +
             (3 * tensor->ne[0] + 5) * sizeof(float);
  }
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    INFO("value " << bad);
    {
      std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
      file.seekp(static_cast<std::streamoff>(offset));
      file.write(reinterpret_cast<const char*>(&bad), sizeof bad);
    }
    for (const char* type : {"q4_k", "f32"}) {
      INFO("type " << type);
      ConvertOptions options;
      options.type = type;
      const auto out = path.parent_path() / "non-finite-out.gguf";
      const std::string message = testing::message_of([&] { quantize_gguf(path, out, options); });
      CHECK_THAT(message, Catch::Contains("blk.0.ffn_up.weight: weight [3, 5] is NaN or infinite"));
      CHECK_FALSE(std::filesystem::exists(out));
    }
  }
}
