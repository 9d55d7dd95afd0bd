#include "tokenizer/token_ranks.hpp"

#include <algorithm>
#include <cstring>

#include "llama3/error.hpp"

namespace llama3::detail {
namespace {

std::uint64_t load_bytes(const char* data, std::size_t n) {  // n <= 8, little-endian order
  std::uint64_t value = 0;
  std::memcpy(&value, data, n);
  return value;
}

// A multiply-xorshift hash over 8-byte words: tokens are short (mean ~7 bytes), so one or two
// rounds.
std::uint32_t hash_bytes(const char* data, std::size_t length) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (length * 0xFF51AFD7ED558CCDull);
  while (length >= 8) {
    h = (h ^ load_bytes(data, 8)) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    data += 8;
    length -= 8;
  }
  if (length > 0) {
    h = (h ^ load_bytes(data, length)) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return static_cast<std::uint32_t>(h >> 32);
}

}  // namespace

TokenRanks::TokenRanks(const std::vector<std::string>& token_bytes) {
  std::size_t total = 0;
  for (const auto& bytes : token_bytes) total += bytes.size();
  if (total >= UINT32_MAX || token_bytes.size() >= INT32_MAX / 4) {
    throw Error(ErrorCode::kBadFormat, "tokenizer: vocabulary too large");
  }
  blob_.reserve(total);
  offsets_.reserve(token_bytes.size() + 1);
  for (const auto& bytes : token_bytes) {
    offsets_.push_back(static_cast<std::uint32_t>(blob_.size()));
    blob_ += bytes;
    max_length_ = std::max(max_length_, bytes.size());
  }
  offsets_.push_back(static_cast<std::uint32_t>(blob_.size()));

  std::size_t capacity = 16;
  while (capacity < token_bytes.size() * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = static_cast<std::uint32_t>(capacity - 1);
  for (std::size_t rank = 0; rank < token_bytes.size(); ++rank) {
    const auto& bytes = token_bytes[rank];
    if (bytes.empty() || find(bytes) != kNone)
      continue;  // no bytes, or a duplicate: lower rank wins
    const std::uint32_t hash = hash_bytes(bytes.data(), bytes.size());
    std::uint32_t index = hash & mask_;
    while (slots_[index].rank != kNone) index = (index + 1) & mask_;
    slots_[index] = Slot{hash, static_cast<std::int32_t>(rank)};
    if (bytes.size() == 1)
      byte_rank_[static_cast<unsigned char>(bytes[0])] = static_cast<std::int32_t>(rank);
    if (bytes.size() == 2) {
      pair_rank_[(static_cast<std::size_t>(static_cast<unsigned char>(bytes[0])) << 8) |
                 static_cast<unsigned char>(bytes[1])] = static_cast<std::int32_t>(rank);
    }
  }
}

std::int32_t TokenRanks::find(const char* data, std::size_t length) const {
  if (slots_.empty() || length > max_length_) return kNone;
  const std::uint32_t hash = hash_bytes(data, length);
  for (std::uint32_t index = hash & mask_;; index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    if (slot.rank == kNone) return kNone;
    if (slot.hash != hash) continue;
    const std::uint32_t begin = offsets_[slot.rank];
    if (offsets_[slot.rank + 1] - begin == length &&
        std::memcmp(blob_.data() + begin, data, length) == 0) {
      return slot.rank;
    }
  }
}

}  // namespace llama3::detail
