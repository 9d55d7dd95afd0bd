// llama3.convert_hf_to_gguf and llama3.quantize_gguf: the library's model file conversions, with
// the GIL released while they work and an optional progress callable that can cancel.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <functional>

#include "bindings.hpp"
#include "llama3/convert.hpp"

namespace llama3::python {
namespace {

using Conversion = std::function<ConvertResult(const ConvertOptions&)>;

py::dict run(const Conversion& conversion, const std::string& type, int n_threads,
             py::object progress) {
  if (n_threads < 0) throw Error(ErrorCode::kInvalidArgument, "n_threads must be >= 0");
  ConvertOptions options;
  options.type = type;
  options.n_threads = n_threads;
  std::optional<py::error_already_set> callback_error;
  if (!progress.is_none()) {
    options.progress = [&progress, &callback_error](const ConvertProgress& report) {
      py::gil_scoped_acquire gil;
      try {
        py::object keep_going =
            progress(report.tensors_done, report.tensors_total, std::string(report.tensor));
        return keep_going.is_none() || keep_going.cast<bool>();
      } catch (py::error_already_set& error) {
        callback_error.emplace(std::move(error));
        return false;
      }
    };
  }
  ConvertResult result;
  try {
    py::gil_scoped_release release;
    result = conversion(options);
  } catch (const Error&) {
    if (callback_error) throw std::move(*callback_error);
    throw;
  }
  py::list types;
  for (const auto& converted : result.types) {
    py::dict entry;
    entry["type"] = converted.type;
    entry["tensors"] = converted.tensors;
    entry["bytes"] = converted.bytes;
    entry["relative_rmse"] = converted.relative_rmse;
    types.append(entry);
  }
  py::dict summary;
  summary["types"] = types;
  summary["warnings"] = result.warnings;
  return summary;
}

constexpr const char* kCommonDoc = R"doc(
The output appears only once complete; on any error or cancellation an existing output is left
as it was and no temporary file remains. An output that is one of the inputs, or an existing FIFO,
device or folder, is refused before any work (InvalidArgumentError); a symbolic link is written
through.

Arguments:
    type: "f16", "f32", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k",
        "q4_k_m" or "q5_k_m".
    n_threads: 0 for one per hardware thread.
    progress: called as progress(tensors_done, tensors_total, tensor_name) before each tensor and
        once at the end; returning False cancels (CancelledError).

Returns:
    {"types": [{"type", "tensors", "bytes", "relative_rmse"}, ...], "warnings": [str, ...]}
)doc";

}  // namespace

void register_convert(py::module_& m) {
  m.def(
      "convert_hf_to_gguf",
      [](const std::filesystem::path& hf_folder, const std::filesystem::path& out,
         const std::string& type, int n_threads, py::object progress) {
        return run([&](const ConvertOptions& o) { return convert_hf_to_gguf(hf_folder, out, o); },
                   type, n_threads, std::move(progress));
      },
      py::arg("hf_folder"), py::arg("out"), py::kw_only(), py::arg("type") = "f16",
      py::arg("n_threads") = 0, py::arg("progress") = py::none(),
      (std::string("Converts a Hugging Face Llama folder (config.json, *.safetensors, "
                   "tokenizer.json) to a GGUF file.\n") +
       kCommonDoc +
       "\nExample:\n    >>> llama3.convert_hf_to_gguf(\"Llama-3.2-1B\", "
       "\"llama-1b.gguf\", type=\"q8_0\")\n")
          .c_str());
  m.def(
      "quantize_gguf",
      [](const std::filesystem::path& in, const std::filesystem::path& out, const std::string& type,
         int n_threads, py::object progress) {
        return run([&](const ConvertOptions& o) { return quantize_gguf(in, out, o); }, type,
                   n_threads, std::move(progress));
      },
      py::arg("in_gguf"), py::arg("out"), py::kw_only(), py::arg("type"), py::arg("n_threads") = 0,
      py::arg("progress") = py::none(),
      (std::string("Rewrites a GGUF model's weights in another type or mix, copying all "
                   "metadata.\n") +
       kCommonDoc +
       "\nExample:\n    >>> llama3.quantize_gguf(\"model-f16.gguf\", "
       "\"model-q4.gguf\", type=\"q4_k_m\")\n")
          .c_str());
  m.def(
      "merge_lora",
      [](const std::filesystem::path& base, const std::vector<py::object>& adapters,
         const std::filesystem::path& out, const std::string& type, int n_threads,
         py::object progress) {
        std::vector<LoraFile> files;
        for (const auto& adapter : adapters) {
          if (py::isinstance<py::tuple>(adapter)) {
            const auto pair = adapter.cast<std::pair<std::filesystem::path, float>>();
            files.push_back({pair.first, pair.second});
          } else {
            files.push_back({adapter.cast<std::filesystem::path>(), 1.0f});
          }
        }
        return run([&](const ConvertOptions& o) { return merge_lora(base, files, out, o); }, type,
                   n_threads, std::move(progress));
      },
      py::arg("base_gguf"), py::arg("adapters"), py::arg("out"), py::kw_only(),
      py::arg("type") = "", py::arg("n_threads") = 0, py::arg("progress") = py::none(),
      (std::string("Writes a GGUF model with LoRA adapters merged into its weights: W + "
                   "scale * (alpha / r) * B * A, computed in f32. `adapters` lists paths (a PEFT "
                   "folder or .safetensors file) or (path, scale) tuples; type \"\" keeps each "
                   "tensor's type.\n") +
       kCommonDoc +
       "\nExample:\n    >>> llama3.merge_lora(\"base.gguf\", [(\"my-adapter\", 0.8)], "
       "\"merged.gguf\")\n")
          .c_str());
}

}  // namespace llama3::python
