// Integer ranges as digit patterns: split by digit count, then by leading digit.
#include "grammar/integer_range.hpp"

#include "grammar/gbnf_text.hpp"

#include <string>
#include <vector>

namespace llama3::grammar {
namespace {

std::string digit_class(char lo, char hi) {
  if (lo == hi) return std::string("\"") + lo + "\"";
  return std::string("[") + lo + "-" + hi + "]";
}

// Digit strings of equal length from x to y (inclusive, x <= y).
std::string same_length(const std::string& x, const std::string& y) {
  if (x.size() == 1) return digit_class(x[0], y[0]);
  const std::string x_rest = x.substr(1), y_rest = y.substr(1);
  if (x[0] == y[0]) return digit_class(x[0], x[0]) + " " + same_length(x_rest, y_rest);
  const std::size_t n = x_rest.size();
  std::vector<std::string> parts;
  parts.push_back(digit_class(x[0], x[0]) + " (" + same_length(x_rest, std::string(n, '9')) + ")");
  if (x[0] + 1 <= y[0] - 1) {
    parts.push_back(digit_class(static_cast<char>(x[0] + 1), static_cast<char>(y[0] - 1)) +
                    " [0-9]{" + std::to_string(n) + "}");
  }
  parts.push_back(digit_class(y[0], y[0]) + " (" + same_length(std::string(n, '0'), y_rest) + ")");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " | ") + p;
  return "(" + out + ")";
}

// Non-negative integers from a to b (b absent: unbounded), canonical spelling.
std::string non_negative(std::uint64_t a, std::optional<std::uint64_t> b) {
  std::vector<std::string> parts;
  const std::string a_text = std::to_string(a);
  const std::size_t max_digits = b ? std::to_string(*b).size() : a_text.size();
  for (std::size_t digits = a_text.size(); digits <= max_digits; ++digits) {
    const std::string smallest = digits == 1 ? "0" : concat({"1", std::string(digits - 1, '0')});
    const std::string largest(digits, '9');
    const std::string from = digits == a_text.size() ? a_text : smallest;
    const std::string to = (b && digits == max_digits) ? std::to_string(*b) : largest;
    if (from.size() == to.size() && from <= to)
      parts.push_back(concat({"(", same_length(from, to), ")"}));
  }
  if (!b) {
    // Any longer number.
    parts.push_back("[1-9] [0-9]{" + std::to_string(a_text.size()) + ",}");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " | ") + p;
  return "(" + out + ")";
}

}  // namespace

std::string integer_range_gbnf(std::optional<std::int64_t> lo, std::optional<std::int64_t> hi) {
  std::vector<std::string> parts;
  // Negative part: -(magnitudes from max(1, -hi) to -lo).
  if (!lo || *lo < 0) {
    const std::uint64_t from = (hi && *hi < 0) ? static_cast<std::uint64_t>(-*hi) : 1;
    std::optional<std::uint64_t> to;
    if (lo) to = static_cast<std::uint64_t>(-*lo);
    parts.push_back("\"-\" " + non_negative(from, to));
  }
  if (!hi || *hi >= 0) {
    const std::uint64_t from = (lo && *lo > 0) ? static_cast<std::uint64_t>(*lo) : 0;
    std::optional<std::uint64_t> to;
    if (hi) to = static_cast<std::uint64_t>(*hi);
    parts.push_back(non_negative(from, to));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " | ") + p;
  return out;
}

}  // namespace llama3::grammar
