// Tokenizer::load: picks the loader by the file's content, not its name.
#include <fstream>

#include "io/file_contents.hpp"
#include "io/gguf.hpp"
#include "llama3/error.hpp"
#include "llama3/tokenizer.hpp"
#include "tokenizer/gguf_vocab.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3 {

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  const std::string origin = path.string();
  {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (in.read(magic, 4) && std::string_view(magic, 4) == "GGUF") {
      // Metadata only: a model file's tensors stay mapped, never read.
      auto impl = detail::make_tokenizer_from_gguf(io::GgufFile::open(path));
      if (!impl) {
        throw Error(ErrorCode::kBadFormat,
                    origin + ": has no tokenizer (no tokenizer.ggml.model key)");
      }
      return detail::TokenizerAccess::make(std::move(impl));
    }
  }
  const std::string content = io::read_file_contents(path);
  const std::size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && content[first] == '{') {
    return detail::TokenizerAccess::make(detail::parse_tokenizer_json(content, origin));
  }
  return detail::TokenizerAccess::make(detail::parse_tiktoken_model(content, origin));
}

}  // namespace llama3
