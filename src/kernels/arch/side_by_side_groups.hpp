// How the one-token kernels walk a thread's groups: the range is cut into kStreams equal parts read
// side by side (kStreams long memory streams in flight, independent accumulator chains), and the
// remainder one group at a time.
#pragma once

#include <cstddef>
#include <type_traits>

namespace llama3::kernels {

// Calls body(groups) with `const std::size_t (&groups)[N]`, N = kStreams or 1 for the remainder;
// body reads N as std::extent_v of its argument's type (see streams_of).
template <std::size_t kStreams, typename Body>
inline void for_groups_side_by_side(std::size_t group_begin, std::size_t group_end, Body&& body) {
  const std::size_t part = (group_end - group_begin) / kStreams;
  for (std::size_t i = 0; i < part; ++i) {
    std::size_t groups[kStreams];
    for (std::size_t s = 0; s < kStreams; ++s) groups[s] = group_begin + s * part + i;
    body(static_cast<const std::size_t(&)[kStreams]>(groups));
  }
  for (std::size_t g = group_begin + kStreams * part; g < group_end; ++g) {
    const std::size_t groups[1] = {g};
    body(groups);
  }
}

// N of the groups array a for_groups_side_by_side body was given.
template <typename Groups>
inline constexpr std::size_t streams_of = std::extent_v<std::remove_cvref_t<Groups>>;

}  // namespace llama3::kernels
