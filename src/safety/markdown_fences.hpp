// Finds the fenced code blocks (``` or ~~~, CommonMark style) of a Markdown text, such as a model's
// streamed answer, so that each can be scanned with its fence's language tag.
#pragma once

#include <string_view>
#include <vector>

namespace llama3::safety {

struct FencedBlock {
  std::string_view info;     // first word of the info string ("python"), empty when none
  std::string_view content;  // the lines between the fences, a view into the Markdown text
  int first_line = 0;        // 1-based line of the Markdown text where `content` starts
};

// Blocks in order. An opening fence without a closing one runs to the end of the text (an answer
// still being streamed). Fences may be indented by up to three spaces, as in CommonMark.
std::vector<FencedBlock> find_fenced_blocks(std::string_view markdown);

}  // namespace llama3::safety
