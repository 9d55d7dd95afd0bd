#include "convert/conversion_steps.hpp"

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
