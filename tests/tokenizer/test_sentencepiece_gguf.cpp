// The SentencePiece tokenizer of a real GGUF file (stories260K.gguf) against token ids from
// llama.cpp, and lossless round trips over TinyStories text.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "io/gguf.hpp"
#include "support/test_data.hpp"
#include "tokenizer/sentencepiece.hpp"

using namespace llama3;

namespace {

Tokenizer load_stories_tokenizer() {
  const auto gguf = io::GgufFile::open(llama3::testing::require_data_file("stories260K.gguf"));
  return detail::TokenizerAccess::make(detail::make_sentencepiece_from_gguf(gguf));
}

std::string read_text(const std::string& name) {
  std::ifstream in(llama3::testing::require_data_file(name), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("stories260K tokenizer reads the GGUF vocabulary facts", "[tokenizer][data]") {
  const auto tok = load_stories_tokenizer();
  CHECK(tok.family() == Tokenizer::Family::kSentencePiece);
  CHECK(tok.vocab_size() == 512);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.add_bos_by_default());
  CHECK(tok.is_end_of_generation(2));
  CHECK(tok.kind(13) == TokenKind::kByte);  // <0x0A>
  CHECK(tok.piece(13) == "\n");
}

TEST_CASE("stories260K tokenizer matches llama.cpp's token ids", "[tokenizer][data]") {
  // Expected ids printed by llama.cpp v0.5.0 (prebuilt libraries of
  // @node-llama-cpp/linux-x64@3.22.1) through a small program over llama.h (`peer_logits
  // stories260K.gguf PROMPT_FILE OUT 1 0`), i.e. add BOS, no special-token parsing.
  const auto tok = load_stories_tokenizer();
  const EncodeOptions with_bos{.add_bos = true};
  CHECK(tok.encode("Once upon a time", with_bos) == std::vector<TokenId>{1, 403, 407, 261, 378});
  CHECK(tok.encode("Lily and Tom went to the park. They saw a big, red ball!", with_bos) ==
        std::vector<TokenId>{1,   317, 269, 274, 287, 263, 377, 267, 265, 282, 295, 433,
                             426, 342, 394, 261, 370, 432, 352, 266, 268, 388, 443});
  // "é", "€" and "\n" are not tokens: byte fallback (<0x0A> is 13).
  CHECK(tok.encode("The caf\xC3\xA9 costs \xE2\x82\xAC"
                   "5\n\nBye  now",
                   with_bos) == std::vector<TokenId>{1,   291, 280, 412, 431, 485, 280,
                                                     414, 356, 419, 410, 503, 480, 13,
                                                     13,  445, 422, 411, 410, 297, 327});
  CHECK(tok.encode(" leading space and \"quotes\"", with_bos) ==
        std::vector<TokenId>{1, 410, 278, 411, 380, 299, 262, 427, 412, 331, 269, 313, 456, 425,
                             309, 406, 436});
}

TEST_CASE("stories260K tokenizer matches llama.cpp over 3000 bytes of TinyStories",
          "[tokenizer][data]") {
  // llama.cpp (as above) encoded the file's first 3000 bytes (all ASCII) with BOS into 1519 ids;
  // their hash h = h * 31 + id (mod 2^64) was computed from its printed ids.
  const auto tok = load_stories_tokenizer();
  const std::string text = read_text("tinystories_valid_excerpt.txt").substr(0, 3000);
  const auto ids = tok.encode(text, {.add_bos = true});
  std::uint64_t hash = 0;
  for (TokenId id : ids) hash = hash * 31 + static_cast<std::uint64_t>(id);
  CHECK(ids.size() == 1519);
  CHECK(std::vector<TokenId>(ids.begin(), ids.begin() + 8) ==
        std::vector<TokenId>{1, 353, 331, 407, 261, 378, 383, 286});
  CHECK(hash == 0x9333c4d7dbf0eac2ULL);
}

TEST_CASE("stories260K tokenizer round-trips TinyStories text", "[tokenizer][data]") {
  const auto tok = load_stories_tokenizer();
  const std::string text = read_text("tinystories_valid_excerpt.txt");
  REQUIRE(text.size() > 1000);
  const auto ids = tok.encode(text, {.add_bos = true});
  CHECK(ids.size() < text.size() * 2 / 3);  // merges happened: far fewer tokens than bytes
  CHECK(tok.decode(ids) == text);

  std::istringstream lines(text);
  int n_lines = 0;
  for (std::string line; std::getline(lines, line); ++n_lines) {
    INFO("line " << n_lines);
    REQUIRE(tok.decode(tok.encode(line)) == line);
  }
  CHECK(n_lines > 10);
}
