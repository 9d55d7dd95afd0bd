// Meta's tokenizer.model (tiktoken ranks) -> Llama3VocabSpec.
#include <array>
#include <charconv>

#include "llama3/error.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3::detail {
namespace {

constexpr std::array<std::int8_t, 256> make_base64_values() {
  std::array<std::int8_t, 256> values{};
  for (auto& v : values) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i)
    values[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return values;
}
constexpr auto kBase64Values = make_base64_values();

// Standard base64 with '=' padding; false on any other character or a bad length.
bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::uint32_t bits = 0;
  int n_bits = 0;
  for (unsigned char c : text) {
    const int value = kBase64Values[c];
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out += static_cast<char>((bits >> n_bits) & 0xFF);
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<const Llama3BpeTokenizer> parse_tiktoken_model(std::string_view text,
                                                               const std::string& origin) {
  std::vector<std::string> bytes_by_rank;
  std::vector<bool> seen;
  std::string bytes;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto bad_line = [&](const std::string& why) {
      throw Error(ErrorCode::kBadFormat,
                  origin + ": line " + std::to_string(line_number) + ": " + why);
    };
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) bad_line("expected '<base64> <rank>'");
    if (!base64_decode(line.substr(0, space), bytes) || bytes.empty()) bad_line("bad base64 token");
    const std::string_view rank_text = line.substr(space + 1);
    std::uint32_t rank = 0;
    const auto [end, error] =
        std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (error != std::errc() || end != rank_text.data() + rank_text.size() || rank >= (1u << 24)) {
      bad_line("bad rank '" + std::string(rank_text) + "'");
    }
    if (rank >= bytes_by_rank.size()) {
      bytes_by_rank.resize(rank + 1);
      seen.resize(rank + 1, false);
    }
    if (seen[rank]) bad_line("rank " + std::to_string(rank) + " appears twice");
    seen[rank] = true;
    bytes_by_rank[rank] = bytes;
  }
  for (std::size_t rank = 0; rank < seen.size(); ++rank) {
    if (!seen[rank]) {
      throw Error(ErrorCode::kBadFormat, origin + ": no token has rank " + std::to_string(rank));
    }
  }
  if (bytes_by_rank.empty()) throw Error(ErrorCode::kBadFormat, origin + ": no ranks");

  Llama3VocabSpec spec;
  spec.origin = origin;
  spec.token_text.reserve(bytes_by_rank.size() + 256);
  for (const auto& token : bytes_by_rank) spec.token_text.push_back(byte_level_encode(token));
  spec.kinds.assign(bytes_by_rank.size(), TokenKind::kNormal);
  for (auto& name : llama3_special_token_names()) {
    spec.token_text.push_back(std::move(name));
    spec.kinds.push_back(TokenKind::kControl);
  }
  return make_llama3_bpe(std::move(spec));
}

}  // namespace llama3::detail
