#include "tokenizer/gguf_vocab.hpp"

#include <string>

#include "llama3/error.hpp"
#include "tokenizer/sentencepiece.hpp"

namespace llama3::detail {

std::shared_ptr<const TokenizerImpl> make_tokenizer_from_gguf(const io::GgufFile& gguf) {
  const auto* model = gguf.find("tokenizer.ggml.model");
  if (!model) return nullptr;
  const std::string name(model->as_string("tokenizer.ggml.model"));
  if (name == "llama") return make_sentencepiece_from_gguf(gguf);
  throw Error(ErrorCode::kUnsupported,
              gguf.name() + ": tokenizer.ggml.model '" + name + "' is not supported");
}

}  // namespace llama3::detail
