// The Llama 3 tokenizer on arbitrary bytes. The first byte chooses the mode:
//   bit 0 clear: encode the rest and decode it again; byte-level BPE loses nothing, so the text
//                must come back exactly (with special-token text parsed when bit 1 is set, and then
//                rendered back).
//   bit 0 set:   decode the rest as little-endian 32-bit ids; an id outside the vocabulary must be
//                a clear error.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "llama3/tokenizer.hpp"

// Loads the shared data before the first input, so its time is not charged to that input (libFuzzer
// would report it as a slow unit).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)llama3::fuzz::llama3_tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  if (size == 0) return 0;
  const Tokenizer& tokenizer = llama3::fuzz::llama3_tokenizer();
  const std::uint8_t mode = data[0];
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  const bool special = (mode & 2) != 0;
  fuzz::reject_only_with_clear_errors([&] {
    if ((mode & 1) == 0) {
      EncodeOptions options;
      options.parse_special = special;
      const std::vector<TokenId> ids = tokenizer.encode(text, options);
      for (TokenId id : ids) {
        fuzz::require(id >= 0 && static_cast<std::size_t>(id) < tokenizer.vocab_size(),
                      "encode gives ids inside the vocabulary");
      }
      fuzz::require(tokenizer.decode(ids, special) == text, "decode(encode(text)) == text");
    } else {
      std::vector<TokenId> ids((size - 1) / sizeof(TokenId));
      if (!ids.empty()) std::memcpy(ids.data(), data + 1, ids.size() * sizeof(TokenId));
      (void)tokenizer.decode(ids, special);
    }
  });
  return 0;
}
