#include "convert/tensor_conversion.hpp"

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/reference.hpp"
#include "llama3/error.hpp"

namespace llama3::convert {
namespace {

// The first non-finite value any thread saw, as row * cols + column (max: none yet).
class FirstNonFinite {
 public:
  void note(std::uint64_t index) {
    std::uint64_t seen = first_.load();
    while (index < seen && !first_.compare_exchange_weak(seen, index)) {
    }
  }
  void throw_if_any(const SourceTensor& source) const {
    const std::uint64_t index = first_.load();
    if (index == kNone) return;
    throw Error(ErrorCode::kBadFormat,
                source.name + ": weight [" + std::to_string(index / source.row_length) + ", " +
                    std::to_string(index % source.row_length) +
                    "] is NaN or infinite; the checkpoint is damaged (or was saved after training "
                    "diverged), so it is not converted");
  }

 private:
  static constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::atomic<std::uint64_t> first_{kNone};
};

}  // namespace

void QuantizationError::add(io::TensorType type, double squared_error, double squared_value,
                            std::uint64_t bytes) {
  auto& sums = by_type_[type];
  ++sums.tensors;
  sums.squared_error += squared_error;
  sums.squared_value += squared_value;
  sums.bytes += bytes;
}

double QuantizationError::relative_rmse(io::TensorType type) const {
  const auto it = by_type_.find(type);
  if (it == by_type_.end() || it->second.squared_value <= 0.0) return 0.0;
  return std::sqrt(it->second.squared_error / it->second.squared_value);
}

std::vector<ConvertedType> QuantizationError::summary() const {
  std::vector<ConvertedType> types;
  for (const auto& [type, sums] : by_type_) {
    types.push_back(
        {std::string(io::traits_of(type).name), sums.tensors, sums.bytes, relative_rmse(type)});
  }
  return types;
}

void convert_tensor(const SourceTensor& source, io::TensorType target, kernels::ThreadPool& pool,
                    std::vector<std::byte>& out, QuantizationError& error) {
  const std::size_t cols = source.row_length;
  const std::size_t in_row = *io::row_bytes(source.type, cols);
  const std::size_t out_row = *io::row_bytes(target, cols);
  const std::size_t start = out.size();
  const bool copy = target == source.type && !source.source_row && !source.adjust_row;
  out.resize(start + source.n_rows * out_row);
  std::vector<double> squared_error(static_cast<std::size_t>(pool.size()), 0.0);
  std::vector<double> squared_value(static_cast<std::size_t>(pool.size()), 0.0);
  FirstNonFinite non_finite;
  pool.parallel_for(source.n_rows, 16, [&](std::size_t begin, std::size_t end, int thread) {
    std::vector<float> values(cols), round_trip(cols);  // [cols]
    double err = 0.0, sum = 0.0;
    for (std::size_t r = begin; r < end; ++r) {
      const std::size_t from = source.source_row ? source.source_row(r) : r;
      kernels::reference::dequantize_row(source.type, source.data + from * in_row, values.data(),
                                         cols);
      for (std::size_t c = 0; c < cols; ++c) {
        if (!std::isfinite(values[c])) {
          non_finite.note(std::uint64_t{r} * cols + c);
          return;
        }
      }
      if (source.adjust_row) source.adjust_row(r, values.data());
      std::byte* packed = out.data() + start + r * out_row;
      if (copy) {
        std::memcpy(packed, source.data + r * in_row, out_row);
        continue;
      }
      kernels::reference::quantize_row(target, values.data(), packed, cols);
      kernels::reference::dequantize_row(target, packed, round_trip.data(), cols);
      for (std::size_t c = 0; c < cols; ++c) {
        const double d = static_cast<double>(round_trip[c]) - values[c];
        err += d * d;
        sum += static_cast<double>(values[c]) * values[c];
      }
    }
    squared_error[static_cast<std::size_t>(thread)] += err;
    squared_value[static_cast<std::size_t>(thread)] += sum;
  });
  non_finite.throw_if_any(source);
  double err = 0.0, sum = 0.0;
  for (std::size_t t = 0; t < squared_error.size(); ++t) {
    err += squared_error[t];
    sum += squared_value[t];
  }
  error.add(target, copy ? 0.0 : err, copy ? 0.0 : sum, source.n_rows * out_row);
}

}  // namespace llama3::convert
