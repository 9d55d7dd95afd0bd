// The vocabulary files other than GGUF: Hugging Face tokenizer.json and Meta's tokenizer.model
// (tiktoken ranks). The first byte chooses the parser, so one corpus holds seeds of both.
#include "fuzz_support.hpp"
#include "tokenizer/vocab_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  if (size == 0) return 0;
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    fuzz::reject_only_with_clear_errors(
        [&] { (void)detail::parse_tokenizer_json(text, "tokenizer.json"); });
  } else {
    fuzz::reject_only_with_clear_errors(
        [&] { (void)detail::parse_tiktoken_model(text, "tokenizer.model"); });
  }
  return 0;
}
