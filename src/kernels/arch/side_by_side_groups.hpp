// How the kernels walk their work. One token: a thread's groups are cut into kStreams equal parts
// read side by side (kStreams long memory streams in flight, independent accumulator chains), the
// remainder one group at a time. Several tokens: register tiles of kTile tokens, then one tile of
// the remaining count (or, for the plain kernels, the last two tiles evened out), each with the
// count as a compile-time constant.
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

// Calls body(std::integral_constant<std::size_t, N>{}, t0) for N = the largest of 1..kMax equal
// to n (n <= kMax).
template <std::size_t kMax, typename Body>
inline void with_token_count(std::size_t n, std::size_t t0, Body&& body) {
  if (n == kMax) return body(std::integral_constant<std::size_t, kMax>{}, t0);
  if constexpr (kMax > 1) with_token_count<kMax - 1>(n, t0, body);
}

// Tokens [t0, t0 + n) as tiles of kTile and one shorter tile: body(tile_size_constant, first).
template <std::size_t kTile, typename Body>
inline void for_token_tiles(std::size_t t0, std::size_t n, Body&& body) {
  for (; n >= kTile; n -= kTile, t0 += kTile)
    body(std::integral_constant<std::size_t, kTile>{}, t0);
  if (n > 0) with_token_count<kTile - 1>(n, t0, body);
}

// As for_token_tiles, but when a short rest follows full tiles, the last full tile and the rest
// share their tokens evenly (7 with kTile 6: 4 + 3, not 6 + 1). Each tile walks the same weights,
// and a one- or two-token tile keeps too few accumulator chains to feed the FMA units. The plain
// (f16/bf16/f32) kernels gain from it; the integer-block kernels measured slower with it, so they
// keep for_token_tiles.
template <std::size_t kTile, typename Body>
inline void for_balanced_token_tiles(std::size_t t0, std::size_t n, Body&& body) {
  for (; n >= 2 * kTile || n == kTile; n -= kTile, t0 += kTile)
    body(std::integral_constant<std::size_t, kTile>{}, t0);
  if (n > kTile) {
    const std::size_t first = (n + 1) / 2;  // <= kTile, as n < 2 * kTile
    with_token_count<kTile>(first, t0, body);
    t0 += first;
    n -= first;
  }
  if (n > 0) with_token_count<kTile>(n, t0, body);
}

}  // namespace llama3::kernels
