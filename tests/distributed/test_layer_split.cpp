// Which layers each rank of a pipeline gets (src/distributed/layer_split).
#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

#include "distributed/layer_split.hpp"
#include "support/error_code.hpp"

using namespace llama3;
using distributed::LayerSpan;
using distributed::split_layers;

namespace {

std::vector<int> counts(const std::vector<LayerSpan>& spans) {
  std::vector<int> result;
  int expected_first = 0;
  for (const LayerSpan& span : spans) {
    CHECK(span.first == expected_first);  // contiguous, no gaps
    expected_first = span.last;
    result.push_back(span.last - span.first);
  }
  return result;
}

ErrorCode split_error(int n_layers, int n_ranks, std::vector<double> split) {
  return testing::code_of([&] { (void)split_layers(n_layers, n_ranks, split); });
}

}  // namespace

TEST_CASE("an even split gives the first ranks the extra layers", "[distributed]") {
  CHECK(counts(split_layers(16, 1, {})) == std::vector<int>{16});
  CHECK(counts(split_layers(16, 2, {})) == std::vector<int>{8, 8});
  CHECK(counts(split_layers(5, 3, {})) == std::vector<int>{2, 2, 1});
  CHECK(counts(split_layers(80, 3, {})) == std::vector<int>{27, 27, 26});
  CHECK(counts(split_layers(126, 12, {})).back() == 10);
  CHECK(counts(split_layers(7, 7, {})) == std::vector<int>(7, 1));
}

TEST_CASE("a split of layer counts is taken as it is, other values as shares", "[distributed]") {
  const std::vector<double> counts_10_6{10, 6};
  CHECK(counts(split_layers(16, 2, counts_10_6)) == std::vector<int>{10, 6});
  const std::vector<double> shares{0.6, 0.4};
  CHECK(counts(split_layers(16, 2, shares)) == std::vector<int>{10, 6});
  // Integers that do not add up to the layers are shares too: 1:1:2 of 16.
  const std::vector<double> ratio{1, 1, 2};
  CHECK(counts(split_layers(16, 3, ratio)) == std::vector<int>{4, 4, 8});
  // Rounding at the cumulative boundaries never loses or adds a layer.
  const std::vector<double> thirds{1.0 / 3, 1.0 / 3, 1.0 / 3};
  CHECK(counts(split_layers(80, 3, thirds)) == std::vector<int>{27, 26, 27});
}

TEST_CASE("impossible splits are refused", "[distributed]") {
  CHECK(split_error(5, 6, {}) == ErrorCode::kInvalidArgument);        // more ranks than layers
  CHECK(split_error(5, 0, {}) == ErrorCode::kInvalidArgument);        // no rank
  CHECK(split_error(16, 2, {16}) == ErrorCode::kInvalidArgument);     // one value for two ranks
  CHECK(split_error(16, 2, {16, 0}) == ErrorCode::kInvalidArgument);  // a rank without layers
  CHECK(split_error(16, 2, {-1, 17}) == ErrorCode::kInvalidArgument);
  CHECK(split_error(16, 2, {0.01, 0.99}) == ErrorCode::kInvalidArgument);  // rounds to 0
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(split_error(16, 2, {nan, 1}) == ErrorCode::kInvalidArgument);
  CHECK(split_error(16, 2, {inf, 1}) == ErrorCode::kInvalidArgument);
  CHECK(testing::message_of([] {
          (void)split_layers(16, 2, std::vector<double>{16, 0});
        }).find("not positive") != std::string::npos);
}
