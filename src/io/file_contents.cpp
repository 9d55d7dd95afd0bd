#include "io/file_contents.hpp"

#include <fstream>
#include <sstream>

#include "llama3/error.hpp"

namespace llama3::io {

std::string read_file_contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path.string() + ": cannot open");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::kIo, path.string() + ": read failed");
  return std::move(content).str();
}

}  // namespace llama3::io
