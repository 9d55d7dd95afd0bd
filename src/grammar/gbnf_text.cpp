// GBNF spelling helpers.
#include "grammar/gbnf_text.hpp"

#include <cstdio>

namespace llama3::grammar {

std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

std::string gbnf_escape(std::uint32_t cp) {
  char buffer[16];
  if (cp < 0x100) {
    std::snprintf(buffer, sizeof buffer, "\\x%02X", cp);
  } else if (cp < 0x10000) {
    std::snprintf(buffer, sizeof buffer, "\\u%04X", cp);
  } else {
    std::snprintf(buffer, sizeof buffer, "\\U%08X", cp);
  }
  return buffer;
}

std::string gbnf_literal(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b == 0x7F) {
      out += gbnf_escape(b);
    } else {
      out += c;  // UTF-8 passes through as it is
    }
  }
  return out + "\"";
}

std::string gbnf_class(const std::vector<CodePointRange>& ranges) {
  std::string out = "[";
  for (const auto& r : ranges) {
    out += gbnf_escape(r.first);
    if (r.last != r.first) {
      out += '-';
      out += gbnf_escape(r.last);
    }
  }
  return out + "]";
}

}  // namespace llama3::grammar
