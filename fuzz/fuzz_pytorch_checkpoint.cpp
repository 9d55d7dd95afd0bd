// torch.save checkpoint bytes (zip + pickle) -> the reader. An accepted file keeps every tensor
// inside the file, with a byte count that matches its dtype and shape; nothing is ever imported or
// called, whatever globals the pickle names.
#include <vector>

#include "fuzz_support.hpp"
#include "io/mapped_file.hpp"
#include "io/pytorch_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  fuzz::reject_only_with_clear_errors([&] {
    const io::PytorchCheckpoint checkpoint =
        io::PytorchCheckpoint::parse(io::MappedFile::from_bytes(std::move(bytes)));
    const std::span<const std::byte> file = checkpoint.file()->bytes();
    for (const io::PytorchTensor& tensor : checkpoint.tensors()) {
      fuzz::require(tensor.data >= file.data(), "tensor starts inside the file");
      fuzz::require(
          tensor.n_bytes <= static_cast<std::uint64_t>(file.data() + file.size() - tensor.data),
          "tensor ends inside the file");
      std::uint64_t elements = 1;
      for (std::uint64_t dim : tensor.shape) elements *= dim;
      fuzz::require(elements * io::torch_dtype_size(tensor.dtype) == tensor.n_bytes,
                    "byte count matches dtype and shape");
      fuzz::require(checkpoint.find(tensor.name) != nullptr, "every tensor is found by name");
    }
  });
  return 0;
}
