// The generic half of Tokenizer: special-token matching, BOS/EOS, decoding and UTF-8-safe
// streaming.
#include "llama3/tokenizer.hpp"

#include <algorithm>
#include <array>

#include "llama3/error.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace llama3 {
namespace detail {

TokenizerImpl::TokenizerImpl(VocabInfo info) : info_(std::move(info)) {
  if (info_.kinds.size() != info_.token_text.size()) {
    throw Error(ErrorCode::kBadFormat, "tokenizer: token kinds and token texts differ in count");
  }
  std::sort(info_.end_of_generation.begin(), info_.end_of_generation.end());
  info_.end_of_generation.erase(
      std::unique(info_.end_of_generation.begin(), info_.end_of_generation.end()),
      info_.end_of_generation.end());
  id_of_text_.reserve(info_.token_text.size());
  for (std::size_t id = 0; id < info_.token_text.size(); ++id) {
    id_of_text_.emplace(info_.token_text[id], static_cast<TokenId>(id));  // keeps the first
  }
  for (std::size_t id = 0; id < info_.kinds.size(); ++id) {
    const TokenKind kind = info_.kinds[id];
    if ((kind == TokenKind::kControl || kind == TokenKind::kUserDefined) &&
        !info_.token_text[id].empty()) {
      matchable_special_ids_.push_back(static_cast<TokenId>(id));
    }
  }
  // Longest first, so "<|eot_id|>" can never lose to a shorter token that is its prefix.
  std::stable_sort(matchable_special_ids_.begin(), matchable_special_ids_.end(),
                   [this](TokenId a, TokenId b) {
                     return info_.token_text[a].size() > info_.token_text[b].size();
                   });
}

std::optional<TokenId> TokenizerImpl::find_text(std::string_view text) const {
  const auto it = id_of_text_.find(text);
  if (it == id_of_text_.end()) return std::nullopt;
  return it->second;
}

}  // namespace detail

namespace {

// Length of the UTF-8 sequence a lead byte announces; 0 for a continuation or invalid byte.
int utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

// Number of bytes at the end of `bytes` that form the beginning of a character still incomplete.
std::size_t incomplete_utf8_tail(const std::string& bytes) {
  const std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    const auto byte = static_cast<unsigned char>(bytes[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const int expected = utf8_sequence_length(byte);
    return (expected > static_cast<int>(back)) ? back : 0;
  }
  return 0;  // only continuation bytes: invalid, pass them through rather than hold them forever
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl) : impl_(std::move(impl)) {
  if (!impl_) throw Error(ErrorCode::kInvalidArgument, "Tokenizer: null implementation");
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const auto& info = impl_->info();
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);

  if (!options.parse_special) {
    impl_->encode_plain(text, /*at_text_start=*/true, ids);
  } else {
    const auto& specials = impl_->matchable_special_ids();
    std::array<bool, 256> is_first_byte{};
    for (TokenId id : specials)
      is_first_byte[static_cast<unsigned char>(info.token_text[id][0])] = true;

    std::size_t segment_start = 0;
    bool at_text_start = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
      TokenId matched = -1;
      if (is_first_byte[static_cast<unsigned char>(text[pos])]) {
        for (TokenId id : specials) {
          if (text.substr(pos).starts_with(info.token_text[id])) {
            matched = id;
            break;
          }
        }
      }
      if (matched < 0) {
        ++pos;
        continue;
      }
      if (pos > segment_start) {
        impl_->encode_plain(text.substr(segment_start, pos - segment_start), at_text_start, ids);
      }
      at_text_start = false;
      ids.push_back(matched);
      pos += info.token_text[matched].size();
      segment_start = pos;
    }
    if (segment_start < text.size()) {
      impl_->encode_plain(text.substr(segment_start), at_text_start, ids);
    }
  }

  if (options.add_bos && info.bos >= 0 && (ids.empty() || ids.front() != info.bos)) {
    ids.insert(ids.begin(), info.bos);
  }
  if (options.add_eos && info.eos >= 0) ids.push_back(info.eos);
  return ids;
}

std::string Tokenizer::piece(TokenId id, bool render_special) const {
  const auto& info = impl_->info();
  if (id < 0 || static_cast<std::size_t>(id) >= info.token_text.size()) {
    throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) +
                                                 " is outside the vocabulary of " +
                                                 std::to_string(info.token_text.size()));
  }
  switch (info.kinds[id]) {
    case TokenKind::kControl:
    case TokenKind::kUnused:
    case TokenKind::kUnknown:
      return render_special ? info.token_text[id] : std::string();
    case TokenKind::kUserDefined:
      return info.token_text[id];
    case TokenKind::kNormal:
    case TokenKind::kByte:
      break;
  }
  return impl_->token_bytes(id);
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
  std::string text;
  bool at_start = true;
  for (TokenId id : ids) {
    std::string bytes = piece(id, render_special);
    if (at_start && !bytes.empty()) {
      if (impl_->strips_leading_space() && bytes.front() == ' ') bytes.erase(0, 1);
      at_start = false;
    }
    text += bytes;
  }
  return text;
}

Tokenizer::Family Tokenizer::family() const {
  return impl_->family();
}
std::size_t Tokenizer::vocab_size() const {
  return impl_->info().token_text.size();
}

TokenKind Tokenizer::kind(TokenId id) const {
  const auto& info = impl_->info();
  if (id < 0 || static_cast<std::size_t>(id) >= info.kinds.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "token id " + std::to_string(id) + " is outside the vocabulary");
  }
  return info.kinds[id];
}

TokenId Tokenizer::bos_id() const {
  return impl_->info().bos;
}
TokenId Tokenizer::eos_id() const {
  return impl_->info().eos;
}
bool Tokenizer::add_bos_by_default() const {
  return impl_->info().add_bos;
}

const std::vector<TokenId>& Tokenizer::end_of_generation_ids() const {
  return impl_->info().end_of_generation;
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
  const auto& eog = impl_->info().end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), id);
}

std::optional<TokenId> Tokenizer::find(std::string_view text) const {
  return impl_->find_text(text);
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special, bool at_text_start)
    : tokenizer_(&tokenizer), render_special_(render_special), at_start_(at_text_start) {}

std::string StreamDecoder::push(TokenId id) {
  std::string bytes = tokenizer_->piece(id, render_special_);
  if (at_start_ && !bytes.empty()) {
    if (detail::TokenizerAccess::impl(*tokenizer_).strips_leading_space() && bytes.front() == ' ')
      bytes.erase(0, 1);
    at_start_ = false;
  }
  pending_ += bytes;
  const std::size_t hold = incomplete_utf8_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace llama3
