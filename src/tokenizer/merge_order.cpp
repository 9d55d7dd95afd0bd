#include "tokenizer/merge_order.hpp"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "llama3/error.hpp"

namespace llama3::detail {
namespace {

[[noreturn]] void refuse(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kUnsupported,
              origin + ": " + what +
                  "; only vocabularies whose merge order is the token id order (tiktoken-style, "
                  "as Llama 3's) are supported");
}

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

void check_merges_follow_ids(const std::vector<std::string>& merges,
                             const std::vector<std::string>& token_text,
                             const std::vector<bool>& mergeable, const std::string& origin) {
  std::unordered_map<std::string_view, std::size_t> id_of;
  id_of.reserve(token_text.size());
  for (std::size_t id = 0; id < token_text.size(); ++id) {
    if (mergeable[id]) id_of.emplace(token_text[id], id);
  }

  std::unordered_set<std::string_view> listed;
  listed.reserve(merges.size());
  std::size_t previous_id = 0;
  std::string joined;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& merge = merges[rank];
    const auto space = merge.find(' ');
    if (space == std::string::npos) refuse(origin, "merge '" + merge + "' is not \"left right\"");
    joined.assign(merge, 0, space);
    joined.append(merge, space + 1);
    const auto made = id_of.find(joined);
    if (made == id_of.end()) {
      refuse(origin, "merge " + std::to_string(rank) + " '" + merge + "' makes '" + joined +
                         "', which is not a token");
    }
    if (made->second < previous_id) {
      refuse(origin, "merge " + std::to_string(rank) + " '" + merge + "' makes id " +
                         std::to_string(made->second) + " after a merge that made id " +
                         std::to_string(previous_id));
    }
    previous_id = made->second;
    listed.insert(merge);
  }

  // (2): each way of cutting a token into two tokens must be a listed merge.
  std::string pair;
  for (std::size_t id = 0; id < token_text.size(); ++id) {
    if (!mergeable[id]) continue;
    const std::string& text = token_text[id];
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
      if (is_utf8_continuation(text[cut])) continue;
      const std::string_view left(text.data(), cut);
      const std::string_view right(text.data() + cut, text.size() - cut);
      if (!id_of.count(left) || !id_of.count(right)) continue;
      pair.assign(left);
      pair += ' ';
      pair.append(right);
      if (!listed.count(pair)) {
        refuse(origin, "token " + std::to_string(id) + " '" + text + "' is '" + std::string(left) +
                           "' + '" + std::string(right) + "', but no merge lists that pair");
      }
    }
  }
}

std::vector<std::string> merges_from_ranks(const std::vector<std::string>& token_text,
                                           const std::vector<bool>& mergeable) {
  std::unordered_map<std::string_view, std::size_t> id_of;
  id_of.reserve(token_text.size());
  for (std::size_t id = 0; id < token_text.size(); ++id) {
    if (mergeable[id]) id_of.emplace(token_text[id], id);
  }
  // (made, left, right) for every cut of a token into two tokens, in the order above.
  std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> found;
  for (std::size_t id = 0; id < token_text.size(); ++id) {
    if (!mergeable[id]) continue;
    const std::string& text = token_text[id];
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
      if (is_utf8_continuation(text[cut])) continue;
      const auto left = id_of.find(std::string_view(text.data(), cut));
      const auto right = id_of.find(std::string_view(text.data() + cut, text.size() - cut));
      if (left != id_of.end() && right != id_of.end()) {
        found.emplace_back(id, left->second, right->second);
      }
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> merges;
  merges.reserve(found.size());
  for (const auto& [made, left, right] : found) {
    merges.push_back(token_text[left] + ' ' + token_text[right]);
  }
  return merges;
}

}  // namespace llama3::detail
