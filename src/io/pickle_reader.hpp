// A state dict of tensors from the data.pkl of a torch.save checkpoint, read by our own pickle
// interpreter that accepts only what such a file needs (docs/meta-checkpoints.md "The pickle
// allow-list"). Nothing a file names is ever imported or called: GLOBAL/STACK_GLOBAL must name one
// of a handful of known callables (tensor rebuild functions, collections.OrderedDict, the torch
// storage types), REDUCE may apply only those, BUILD only sets an OrderedDict's attributes, and
// any other opcode, global, type or limit breach is llama3::Error kBadFormat "<origin>: pickle:
// <what>" naming the opcode or global at fault.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace llama3::io {

// The element types of torch's legacy storage classes (torch.FloatStorage, ...).
enum class TorchDtype : std::uint8_t { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

std::size_t torch_dtype_size(TorchDtype dtype);
std::string_view torch_dtype_name(TorchDtype dtype);  // "BFloat16"

struct PickledTensor {
  std::string name;  // the state dict key: "layers.0.attention.wq.weight"
  TorchDtype dtype = TorchDtype::kF32;
  std::vector<std::uint64_t> shape;   // outermost first, as PyTorch orders it
  std::vector<std::uint64_t> stride;  // in elements, one per dim
  std::uint64_t storage_offset = 0;   // in elements
  std::string storage_key;            // data/<key> in the archive
  std::uint64_t storage_numel = 0;    // elements the storage holds, as the pickle declares
};

// Interprets `pickle` (protocols 2 to 5) whose result must be a dict or OrderedDict of
// string -> tensor. Tensors are returned in the dict's order.
std::vector<PickledTensor> read_pickled_state_dict(std::span<const std::byte> pickle,
                                                   const std::string& origin);

}  // namespace llama3::io
