// GBNF for the decimal integers within optional bounds, in JSON's spelling (no leading zeros,
// "-" for negatives, no "-0").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace llama3::grammar {

std::string integer_range_gbnf(std::optional<std::int64_t> lo, std::optional<std::int64_t> hi);

}  // namespace llama3::grammar
