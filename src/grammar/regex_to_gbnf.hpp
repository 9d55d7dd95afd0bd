// A regular-expression subset compiled to a GBNF expression. Supported: literals, '.', classes
// [a-z] [^...] with ranges, the escapes \d \w \s \D \W \S \n \r \t \xHH \uHHHH and escaped
// punctuation, groups ( ) and (?: ), alternation |, quantifiers * + ? {m} {m,} {m,n}, and ^ / $ at
// the very ends (the whole output always has to match). Anything else (backreferences,
// lookaround, lazy quantifiers, \b, inline flags) is an error naming it.
#pragma once

#include <string>
#include <string_view>

namespace llama3::grammar {

enum class RegexTarget {
  kText,        // the bytes of the output itself
  kJsonString,  // the inside of a JSON string: characters that JSON must escape are spelled
                // escaped, and classes never produce a raw '"', '\' or control character
};

// A GBNF expression (no rule name) matching exactly the strings the pattern matches.
std::string regex_to_gbnf_expression(std::string_view pattern, RegexTarget target);

// A complete grammar: "root ::= <expression>".
std::string regex_to_gbnf(std::string_view pattern);

}  // namespace llama3::grammar
