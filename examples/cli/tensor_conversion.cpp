#include "tensor_conversion.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/reference.hpp"

namespace llama3::cli {

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

void QuantizationError::print(std::FILE* out) const {
  std::fprintf(out, "%-6s %8s %12s %s\n", "type", "tensors", "MiB", "relative RMSE");
  for (const auto& [type, sums] : by_type_) {
    std::fprintf(out, "%-6s %8d %12.2f %.6f\n", std::string(io::traits_of(type).name).c_str(),
                 sums.tensors, static_cast<double>(sums.bytes) / (1 << 20), relative_rmse(type));
  }
}

void convert_tensor(const SourceTensor& source, io::TensorType target, kernels::ThreadPool& pool,
                    std::vector<std::byte>& out, QuantizationError& error) {
  const std::size_t cols = source.row_length;
  const std::size_t in_row = *io::row_bytes(source.type, cols);
  const std::size_t out_row = *io::row_bytes(target, cols);
  const std::size_t start = out.size();
  out.resize(start + source.n_rows * out_row);
  if (target == source.type && !source.source_row) {
    std::memcpy(out.data() + start, source.data, source.n_rows * out_row);
    error.add(target, 0.0, 0.0, source.n_rows * out_row);
    return;
  }
  std::vector<double> squared_error(static_cast<std::size_t>(pool.size()), 0.0);
  std::vector<double> squared_value(static_cast<std::size_t>(pool.size()), 0.0);
  pool.parallel_for(source.n_rows, 16, [&](std::size_t begin, std::size_t end, int thread) {
    std::vector<float> values(cols), round_trip(cols);  // [cols]
    double err = 0.0, sum = 0.0;
    for (std::size_t r = begin; r < end; ++r) {
      const std::size_t from = source.source_row ? source.source_row(r) : r;
      kernels::reference::dequantize_row(source.type, source.data + from * in_row, values.data(),
                                         cols);
      std::byte* packed = out.data() + start + r * out_row;
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
  double err = 0.0, sum = 0.0;
  for (std::size_t t = 0; t < squared_error.size(); ++t) {
    err += squared_error[t];
    sum += squared_value[t];
  }
  error.add(target, err, sum, source.n_rows * out_row);
}

void release_input_pages(const std::byte* data, std::size_t n_bytes) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(data) + n_bytes;
  // Only a hint: the pages are file-backed and read-only, so dropping them loses nothing.
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace llama3::cli
