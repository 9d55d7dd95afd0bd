#include "safety/markdown_fences.hpp"

namespace llama3::safety {

namespace {

struct Fence {
  char marker = 0;
  std::size_t length = 0;
  std::string_view rest;  // what follows the fence characters on its line
};

// The fence that opens `line`, if any: up to three spaces, then three or more ` or ~.
bool parse_fence(std::string_view line, Fence& fence) {
  std::size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return false;
  const char marker = line[i];
  std::size_t j = i;
  while (j < line.size() && line[j] == marker) ++j;
  if (j - i < 3) return false;
  fence = {marker, j - i, line.substr(j)};
  // A backtick fence's info string may not contain backticks (that would be inline code).
  return marker != '`' || fence.rest.find('`') == std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view first_word(std::string_view text) {
  text = trim(text);
  std::size_t end = 0;
  while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '{' &&
         text[end] != ',') {
    ++end;
  }
  return text.substr(0, end);
}

}  // namespace

std::vector<FencedBlock> find_fenced_blocks(std::string_view markdown) {
  std::vector<FencedBlock> blocks;
  bool inside = false;
  Fence open;
  std::size_t content_start = 0;
  int content_line = 0;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < markdown.size()) {
    const auto newline = markdown.find('\n', pos);
    const std::size_t line_end = newline == std::string_view::npos ? markdown.size() : newline;
    const std::size_t next = newline == std::string_view::npos ? markdown.size() : newline + 1;
    const std::string_view line = markdown.substr(pos, line_end - pos);
    ++line_number;
    Fence fence;
    if (!inside && parse_fence(line, fence)) {
      inside = true;
      open = fence;
      content_start = next;
      content_line = line_number + 1;
      blocks.push_back({first_word(fence.rest), {}, content_line});
    } else if (inside && parse_fence(line, fence) && fence.marker == open.marker &&
               fence.length >= open.length && trim(fence.rest).empty()) {
      inside = false;
      blocks.back().content = markdown.substr(content_start, pos - content_start);
    }
    pos = next;
  }
  if (inside) blocks.back().content = markdown.substr(content_start);
  return blocks;
}

}  // namespace llama3::safety
