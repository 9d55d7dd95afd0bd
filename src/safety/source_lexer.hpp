// Blanks comments and string-literal contents out of source code, so that rule patterns see only
// code. Blanked bytes become spaces; newlines and every other offset stay where they were, so a
// match in a blanked view has the same line and column as in the original text.
#pragma once

#include <string>
#include <string_view>

#include "safety/languages.hpp"

namespace llama3::safety {

struct LexedSource {
  std::string code;  // comments and string contents blanked (the quotes themselves stay)
  std::string code_and_strings;  // only comments blanked
};

// Never fails: unterminated comments and strings run to the end of the text (or, for one-line
// strings, to the end of the line), so hostile input cannot make the views disagree in length.
LexedSource lex_source(std::string_view text, const LexSyntax& syntax);

}  // namespace llama3::safety
