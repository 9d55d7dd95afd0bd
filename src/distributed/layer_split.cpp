#include "distributed/layer_split.hpp"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "llama3/error.hpp"

namespace llama3::distributed {
namespace {

std::string list_text(std::span<const double> values) {
  std::string text;
  for (double value : values) {
    if (!text.empty()) text += ",";
    char number[32];
    std::snprintf(number, sizeof number, "%g", value);
    text += number;
  }
  return text;
}

bool are_layer_counts(int n_layers, std::span<const double> split) {
  double sum = 0.0;
  for (double value : split) {
    if (value != std::floor(value)) return false;
    sum += value;
  }
  return sum == static_cast<double>(n_layers);
}

}  // namespace

std::vector<LayerSpan> split_layers(int n_layers, int n_ranks, std::span<const double> split) {
  if (n_ranks < 1 || n_ranks > n_layers) {
    throw Error(ErrorCode::kInvalidArgument,
                "a pipeline of " + std::to_string(n_ranks) + " ranks needs at least one layer " +
                    "per rank, and the model has " + std::to_string(n_layers) + " layers");
  }
  std::vector<int> counts(static_cast<std::size_t>(n_ranks));
  if (split.empty()) {
    for (int r = 0; r < n_ranks; ++r) {
      counts[static_cast<std::size_t>(r)] = n_layers / n_ranks + (r < n_layers % n_ranks ? 1 : 0);
    }
  } else {
    if (split.size() != counts.size()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the split " + list_text(split) + " names " + std::to_string(split.size()) +
                      " ranks, but the pipeline has " + std::to_string(n_ranks));
    }
    for (double value : split) {
      if (!std::isfinite(value) || !(value > 0.0)) {
        throw Error(ErrorCode::kInvalidArgument,
                    "the split " + list_text(split) + " holds a value that is not positive");
      }
    }
    if (are_layer_counts(n_layers, split)) {
      for (std::size_t r = 0; r < counts.size(); ++r) counts[r] = static_cast<int>(split[r]);
    } else {
      // Shares: rank r ends where the running share, scaled to the layers, rounds to.
      const double total = std::accumulate(split.begin(), split.end(), 0.0);
      double running = 0.0;
      int previous_end = 0;
      for (std::size_t r = 0; r < counts.size(); ++r) {
        running += split[r];
        const int end = r + 1 == counts.size()
                            ? n_layers
                            : static_cast<int>(std::lround(running / total * n_layers));
        counts[r] = end - previous_end;
        previous_end = end;
      }
    }
  }
  std::vector<LayerSpan> spans;
  int first = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] < 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the split " + list_text(split) + " leaves rank " + std::to_string(r) +
                      " without a layer of the model's " + std::to_string(n_layers) +
                      " (give layer counts that add up to it, or larger shares)");
    }
    spans.push_back({first, first + counts[r]});
    first += counts[r];
  }
  return spans;
}

}  // namespace llama3::distributed
