// safetensors bytes -> the reader. An accepted file keeps every tensor inside its byte buffer, and
// each tensor's byte count matches its dtype and shape.
#include <vector>

#include "fuzz_support.hpp"
#include "io/mapped_file.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  fuzz::reject_only_with_clear_errors([&] {
    const io::SafetensorsFile file =
        io::SafetensorsFile::parse(io::MappedFile::from_bytes(std::move(bytes)));
    const std::span<const std::byte> buffer = file.file()->bytes();
    for (const io::SafetensorsTensor& tensor : file.tensors()) {
      fuzz::require(tensor.begin <= tensor.end, "begin <= end");
      fuzz::require(tensor.data >= buffer.data(), "tensor starts inside the file");
      fuzz::require(tensor.n_bytes() <=
                        static_cast<std::uint64_t>(buffer.data() + buffer.size() - tensor.data),
                    "tensor ends inside the file");
      std::uint64_t elements = 1;
      for (std::uint64_t dim : tensor.shape) elements *= dim;
      fuzz::require(elements * io::safetensors_dtype_size(tensor.dtype) == tensor.n_bytes(),
                    "byte count matches dtype and shape");
    }
  });
  return 0;
}
