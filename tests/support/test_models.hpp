// Random-weight test models, written by the project's own tools/make_test_model program.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "support/test_data.hpp"

namespace llama3::testing {

// Writes a model with `make_test_model ARGS` and returns its path. The folder is per process: ctest
// runs test cases as parallel processes, and they must not write the same file at once.
inline std::filesystem::path make_test_model(const std::string& args, const std::string& file_name) {
  // Removed when the test process ends.
  struct ProcessDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("llama3-test-models-" + std::to_string(::getpid()));
    ~ProcessDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ProcessDir dir;
  const auto path = dir.path / file_name;
  std::filesystem::create_directories(path.parent_path());
  const std::string command = (bin_dir() / "make_test_model").string() + " --out " + path.string() +
                              " " + args + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("make_test_model failed: " + command);
  }
  return path;
}

}  // namespace llama3::testing
