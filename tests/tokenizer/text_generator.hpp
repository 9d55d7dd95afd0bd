// Random text that exercises every branch of Llama 3's split pattern: multilingual words, code,
// emoji and ZWJ sequences, digit runs (ASCII and other scripts' numbers), white space of every kind
// (tabs, \r\n, runs of spaces before letters and newlines, Unicode spaces), contractions in any
// case, and random code points (never surrogates). Deterministic for a seed, on every platform
// (std::mt19937_64 only drives integer choices). Used by the differential test and the benchmark.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

namespace llama3::testing {

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class TextGenerator {
 public:
  // accept_code_point filters the random code points (e.g. to those assigned in some Unicode
  // version).
  explicit TextGenerator(std::uint64_t seed,
                         std::function<bool(std::uint32_t)> accept_code_point = nullptr)
      : rng_(seed), accept_code_point_(std::move(accept_code_point)) {}

  // One string of roughly `atoms` random pieces.
  std::string text(int atoms) {
    std::string out;
    for (int i = 0; i < atoms; ++i) append_atom(out);
    return out;
  }

  // Text of at least `bytes` bytes, mostly natural-looking (words, code, numbers), like a real
  // corpus.
  std::string corpus(std::size_t bytes) {
    std::string out;
    out.reserve(bytes + 256);
    while (out.size() < bytes) {
      switch (pick(10)) {
        case 0:
          append_code(out);
          break;
        case 1:
          append_number(out);
          break;
        case 2:
          out += pick_of(kPunctuation);
          break;
        case 3:
          out += pick(4) == 0 ? "\n\n" : "\n";
          break;
        default:
          out += ' ';
          append_word(out);
          break;
      }
    }
    return out;
  }

 private:
  static constexpr std::array<std::string_view, 40> kWords = {
      "the",      "The",         "Hello",    "world",   "llama",      "tokenizer", "grabbed",
      "discards", "information", "Привет",   "мир",     "Москва",     "中文",      "镇",
      "日本語",   "ひらがな",    "カタカナ", "한국어",  "안녕하세요", "العربية",   "مرحبا",
      "हिन्दी",    "नमस्ते",        "ភាសាខ្មែរ", "Cửa",     "Việt",       "Tiếng",     "ελληνικά",
      "Ωμέγα",    "עברית",       "שלום",     "ภาษาไทย", "Ꙋ",          "naïve",     "façade",
      "straße",   "ÆØÅ",         "İstanbul", "ǅemal",   "ŉ"};
  static constexpr std::array<std::string_view, 24> kPunctuation = {
      ".", ",", "!", "?",  ";",  ":",  "...", "—", "–",  "(",  ")",  "[",
      "]", "{", "}", "\"", "«»", "“”", "#",   "@", "&&", "->", "::", "<|eot_id|>"};
  static constexpr std::array<std::string_view, 16> kEmoji = {"🦙",
                                                              "😀",
                                                              "👍🏽",
                                                              "👨‍👩‍👧‍👦",
                                                              "🏳️‍🌈",
                                                              "🇫🇷",
                                                              "❤️",
                                                              "🧑🏿‍💻",
                                                              "✈️",
                                                              "🤷‍♀️",
                                                              "©",
                                                              "™",
                                                              "⌚",
                                                              "🔥🔥🔥",
                                                              "👩🏻‍🤝‍👨🏾",
                                                              "🫠"};
  static constexpr std::array<std::string_view, 14> kCode = {
      "for (int i = 0; i < n; ++i) {\n\treturn x;\n}",
      "def f(x):\n    return x**2\n",
      "#include <vector>\r\n",
      "if (a != b && c) { y += 3; }",
      "std::vector<int> v{1, 2, 3};",
      "console.log(`${name}`);",
      "SELECT * FROM t WHERE id = 42;",
      "  \t// comment\n",
      "x = {'a': 1, \"b\": [2, 3]}",
      "fn main() -> Result<(), Box<dyn Error>> {",
      "$ ls -la | grep .cpp",
      "<div class=\"x\">&nbsp;</div>",
      "0x7FFF_FFFF",
      "a_b_c = __init__(self)"};
  static constexpr std::array<std::string_view, 22> kSpaces = {
      " ",      "  ",     "   ", "    ",   "\t",     "\t\t",    "\n",     "\n\n",
      "\r\n",   "\r",     " \n", "  \n  ", "\n ",    " \t ",    "\u00A0", "\u3000",
      "\u2009", "\u2028", "\v",  "\f",     "\n\n\n", "        "};
  static constexpr std::array<std::string_view, 14> kContractionTails = {
      "s", "S", "t", "T", "re", "RE", "rE", "ve", "Ve", "m", "M", "ll", "lL", "d"};
  static constexpr std::array<std::string_view, 12> kNumbers = {
      "٣٤٥", "１２３", "²³", "½", "Ⅻ", "৩", "๑๒", "①②", "𝟙𝟚", "〇", "፲", "3.14"};

  std::uint64_t pick(std::uint64_t n) { return rng_() % n; }
  template <typename Array>
  std::string_view pick_of(const Array& items) {
    return items[pick(items.size())];
  }

  void append_word(std::string& out) {
    out += pick_of(kWords);
    if (pick(8) == 0) {
      out += '\'';
      out += pick_of(kContractionTails);
    }
  }
  void append_code(std::string& out) { out += pick_of(kCode); }
  void append_number(std::string& out) {
    if (pick(3) == 0) {
      out += pick_of(kNumbers);
      return;
    }
    const auto digits = 1 + pick(pick(4) == 0 ? 30 : 6);
    for (std::uint64_t i = 0; i < digits; ++i) out += static_cast<char>('0' + pick(10));
  }
  void append_random_code_point(std::string& out) {
    std::uint32_t cp = random_code_point();
    while (accept_code_point_ && !accept_code_point_(cp)) cp = random_code_point();
    append_utf8(out, cp);
  }
  std::uint32_t random_code_point() {
    std::uint32_t cp;
    switch (pick(4)) {
      case 0:
        cp = static_cast<std::uint32_t>(pick(0x80));
        break;
      case 1:
        cp = static_cast<std::uint32_t>(0x80 + pick(0x800 - 0x80));
        break;
      case 2:
        cp = static_cast<std::uint32_t>(0x800 + pick(0x10000 - 0x800));
        break;
      default:
        cp = static_cast<std::uint32_t>(0x10000 + pick(0x110000 - 0x10000));
        break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x1000;  // no surrogates
    return cp;
  }

  void append_atom(std::string& out) {
    switch (pick(12)) {
      case 0:
      case 1:
        append_word(out);
        break;
      case 2:
        out += pick_of(kSpaces);
        break;
      case 3:
        out += pick_of(kSpaces);
        out += pick_of(kSpaces);
        break;
      case 4:
        append_number(out);
        break;
      case 5:
        out += pick_of(kPunctuation);
        break;
      case 6:
        out += pick_of(kEmoji);
        break;
      case 7:
        append_code(out);
        break;
      case 8:
        out += '\'';
        out += pick_of(kContractionTails);
        break;
      case 9:
        append_random_code_point(out);
        break;
      case 10:
        out.append(1 + pick(40), pick(2) ? ' ' : static_cast<char>('a' + pick(26)));
        break;
      default:
        out += ' ';
        append_word(out);
        break;
    }
  }

  std::mt19937_64 rng_;
  std::function<bool(std::uint32_t)> accept_code_point_;
};

}  // namespace llama3::testing
