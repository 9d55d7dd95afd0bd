// Reading a whole (small) file: configs, tokenizer files, chat templates.
#pragma once

#include <filesystem>
#include <string>

namespace llama3::io {

// The whole file as bytes (kIo naming the path on failure).
std::string read_file_contents(const std::filesystem::path& path);

}  // namespace llama3::io
