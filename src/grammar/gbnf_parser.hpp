// Reads GBNF, llama.cpp's grammar notation, into a GrammarIr:
//   rule ::= alternative | alternative      # comment
//   items: "literal"  [a-z0-9_]  [^"\\]  .  rule-name  ( group )
//   postfix: *  +  ?  {m}  {m,}  {m,n}
//   escapes (in literals and classes): \n \r \t \\ \" \' \[ \] \- \/ \xHH \uHHHH \UHHHHHHHH
// A rule may continue over several lines; it ends where the next "name ::=" begins. Errors
// (Error(kInvalidArgument)) give the line and column.
#pragma once

#include <string_view>

#include "grammar/grammar_ir.hpp"

namespace llama3::grammar {

inline constexpr int kMaxGbnfNesting = 200;  // parentheses inside parentheses

GrammarIr parse_gbnf(std::string_view text, std::string_view root = "root");

}  // namespace llama3::grammar
