#include "convert/conversion_steps.hpp"

#include "io/gguf_copy.hpp"
#include "io/output_file.hpp"
#include "kernels/reference.hpp"
#include "llama3/error.hpp"

namespace llama3::convert {

model::QuantMix mix_from_options(const ConvertOptions& options) {
  const auto mix = model::quant_mix_from_name(options.type);
  if (!mix || !kernels::reference::is_supported_weight_type(mix->base)) {
    throw Error(ErrorCode::kInvalidArgument,
                "unknown output type '" + options.type +
                    "' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, "
                    "q5_k_m)");
  }
  return *mix;
}

void check_output(const std::filesystem::path& out, std::span<const std::filesystem::path> inputs) {
  io::refuse_to_overwrite_inputs(out, inputs);
  // Opening (and discarding) the output file runs its checks (FIFO, device, dangling link) and
  // proves the folder writable before minutes of work.
  io::OutputFile probe(out);
}

void copy_model_metadata(const io::GgufFile& input, io::GgufWriter& writer,
                         std::optional<std::uint32_t> file_type) {
  for (const auto& kv : input.metadata()) {
    const std::string key(kv.key);
    if (key == "general.alignment") continue;
    if (file_type && (key == "general.file_type" || key == "general.quantization_version")) {
      continue;
    }
    io::copy_gguf_value(writer, key, kv.value);
  }
  if (file_type) {
    writer.set_uint32("general.file_type", *file_type);
    writer.set_uint32("general.quantization_version", 2);
  }
}

void write_tensors(const io::GgufWriter& writer, const std::filesystem::path& out,
                   const std::vector<PlannedTensor>& plan, const ConvertOptions& options) {
  const auto report = [&](std::size_t done, std::string_view name) {
    if (options.progress && !options.progress({done, plan.size(), name})) {
      throw Error(ErrorCode::kCancelled,
                  out.string() + ": cancelled; the output file was not written");
    }
  };
  writer.write(out, [&](std::size_t index, std::vector<std::byte>& bytes) {
    report(index, plan[index].name);
    plan[index].append(bytes);
    // The last report still comes before the file is committed, so it can cancel too.
    if (index + 1 == plan.size()) report(plan.size(), "");
  });
}

}  // namespace llama3::convert
