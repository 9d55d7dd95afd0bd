// Random-weight test models, written by the project's own tools/make_test_model program.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/test_data.hpp"

namespace llama3::testing {

// Writes (once per process and argument set) a model with `make_test_model ARGS` and returns its path.
inline std::filesystem::path make_test_model(const std::string& args, const std::string& file_name) {
  const auto path = std::filesystem::temp_directory_path() / ("llama3-test-models") / file_name;
  std::filesystem::create_directories(path.parent_path());
  const std::string command = (bin_dir() / "make_test_model").string() + " --out " + path.string() +
                              " " + args + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("make_test_model failed: " + command);
  }
  return path;
}

}  // namespace llama3::testing
