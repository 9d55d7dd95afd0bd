// The probes' command lines: positional numbers, each with a default when left out.
#pragma once

#include <cstddef>
#include <cstdlib>

namespace llama3::bench {

// argv[index] as a count, or `fallback` when there are fewer arguments.
inline std::size_t positional_count(int argc, char** argv, int index, std::size_t fallback) {
  return argc > index ? std::strtoul(argv[index], nullptr, 10) : fallback;
}

}  // namespace llama3::bench
