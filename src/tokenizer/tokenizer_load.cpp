// Tokenizer::load: picks the loader by the file's content, not its name.
#include <fstream>
#include <sstream>

#include "llama3/error.hpp"
#include "llama3/tokenizer.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3 {
namespace detail {

std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path.string() + ": cannot open");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::kIo, path.string() + ": read failed");
  return std::move(content).str();
}

}  // namespace detail

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  const std::string origin = path.string();
  const std::string content = detail::read_file_bytes(path);
  if (content.starts_with("GGUF")) {
    throw Error(ErrorCode::kUnsupported, origin + ": GGUF vocabularies are not supported yet");
  }
  const std::size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && content[first] == '{') {
    return Tokenizer(detail::parse_tokenizer_json(content, origin));
  }
  return Tokenizer(detail::parse_tiktoken_model(content, origin));
}

}  // namespace llama3
