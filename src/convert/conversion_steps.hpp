// The steps quantize and convert share: the output type from the options, the checks on the output
// path before any work, and the per-tensor loop that reports progress, converts and gives the
// input's pages back.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "convert/tensor_conversion.hpp"
#include "io/gguf.hpp"
#include "llama3/convert.hpp"
#include "model/quant_mix.hpp"

namespace llama3::convert {

// The mix options.type names; kInvalidArgument listing the names otherwise.
model::QuantMix mix_from_options(const ConvertOptions& options);

// kInvalidArgument when `out` is one of `inputs` or an existing non-regular file.
void check_output(const std::filesystem::path& out, std::span<const std::filesystem::path> inputs);

// Copies every metadata key of `input` into `writer` except the alignment and the file type;
// general.file_type becomes `file_type` (and general.quantization_version 2) when given, else it
// keeps the input's.
void copy_model_metadata(const io::GgufFile& input, io::GgufWriter& writer,
                         std::optional<std::uint32_t> file_type);

// One tensor to write: its name and how to append its bytes in the output type.
struct PlannedTensor {
  std::string name;
  std::function<void(std::vector<std::byte>& out)> append;
};

// Writes `writer`'s file at `out`, calling the progress callback before each tensor (kCancelled
// when it returns false) and once at the end.
void write_tensors(const io::GgufWriter& writer, const std::filesystem::path& out,
                   const std::vector<PlannedTensor>& plan, const ConvertOptions& options);

}  // namespace llama3::convert
