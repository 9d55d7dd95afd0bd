// GGUF bytes -> the reader, then the model config and the tokenizer built from its metadata, as
// Model::load and Tokenizer::load do. An accepted file must keep every tensor inside the buffer.
#include <vector>

#include "fuzz_support.hpp"
#include "io/gguf.hpp"
#include "io/mapped_file.hpp"
#include "model/model_config.hpp"
#include "tokenizer/gguf_vocab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  fuzz::reject_only_with_clear_errors([&] {
    const io::GgufFile file = io::GgufFile::parse(io::MappedFile::from_bytes(std::move(bytes)));
    const std::span<const std::byte> buffer = file.file()->bytes();
    for (const io::GgufTensorInfo& tensor : file.tensors()) {
      fuzz::require(tensor.data >= buffer.data(), "tensor starts inside the file");
      fuzz::require(
          tensor.n_bytes <= static_cast<std::uint64_t>(buffer.data() + buffer.size() - tensor.data),
          "tensor ends inside the file");
    }
    fuzz::reject_only_with_clear_errors([&] { (void)model::config_from_gguf(file); });
    fuzz::reject_only_with_clear_errors([&] { (void)detail::make_tokenizer_from_gguf(file); });
  });
  return 0;
}
