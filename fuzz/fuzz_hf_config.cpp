// A Hugging Face checkpoint's JSON files: config.json, generation_config.json and the chat
// template field of tokenizer_config.json. The same bytes go to each parser.
#include "fuzz_support.hpp"
#include "io/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  const std::string_view json = fuzz::as_text(data, size);
  fuzz::reject_only_with_clear_errors([&] { (void)io::parse_hf_config(json, "config.json"); });
  fuzz::reject_only_with_clear_errors(
      [&] { (void)io::parse_hf_generation_config(json, "generation_config.json"); });
  fuzz::reject_only_with_clear_errors(
      [&] { (void)io::parse_hf_chat_template(json, "tokenizer_config.json"); });
  return 0;
}
