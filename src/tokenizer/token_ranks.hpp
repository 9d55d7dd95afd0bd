// The BPE rank table: byte string -> rank (= token id for Llama 3). An open-addressing hash table
// over one contiguous blob of token bytes, so a lookup touches one 8-byte slot and the candidate's
// bytes, with no per-token allocation. Byte pairs, the most frequent lookups during merging, have
// their own direct table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llama3::detail {

class TokenRanks {
 public:
  static constexpr std::int32_t kNone = -1;

  TokenRanks() = default;
  // token_bytes[rank] are the bytes of the token with that rank; an empty entry has no bytes (a
  // special token) and is never found. A byte string listed twice keeps its lower rank.
  explicit TokenRanks(const std::vector<std::string>& token_bytes);

  std::int32_t find(const char* data, std::size_t length) const;
  std::int32_t find(std::string_view bytes) const { return find(bytes.data(), bytes.size()); }
  std::int32_t find_pair(unsigned char first, unsigned char second) const {
    return pair_rank_[(static_cast<std::size_t>(first) << 8) | second];
  }
  std::int32_t find_byte(unsigned char byte) const { return byte_rank_[byte]; }

  // No token is longer than this, so longer byte strings need no lookup.
  std::size_t max_length() const { return max_length_; }
  std::size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  std::string_view bytes_of(std::int32_t rank) const {
    return std::string_view(blob_).substr(offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
  }

 private:
  struct Slot {
    std::uint32_t hash = 0;
    std::int32_t rank = kNone;  // kNone: empty
  };
  std::string blob_;                    // all token bytes, in rank order
  std::vector<std::uint32_t> offsets_;  // [size + 1]: token r is blob_[offsets_[r], offsets_[r+1])
  std::vector<Slot> slots_;             // power-of-two size, at most half full
  std::uint32_t mask_ = 0;
  std::size_t max_length_ = 0;
  std::vector<std::int32_t> pair_rank_ =
      std::vector<std::int32_t>(65536, kNone);  // [first<<8|second]
  std::vector<std::int32_t> byte_rank_ = std::vector<std::int32_t>(256, kNone);
};

}  // namespace llama3::detail
