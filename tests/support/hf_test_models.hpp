// Random-weight Hugging Face folders written by tools/make_test_model --hf, beside the GGUF ones of
// test_models.hpp (same seed, same weights).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "support/test_data.hpp"

namespace llama3::testing {

// A per-process folder (ctest runs test cases as parallel processes), removed at exit.
inline const std::filesystem::path& hf_process_dir() {
  struct ProcessDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("llama3-test-hf-" + std::to_string(::getpid()));
    ~ProcessDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ProcessDir dir;
  return dir.path;
}

// Runs a program from the build's bin folder with `args`; throws when it fails.
inline void run_program(const std::string& program, const std::string& args) {
  const std::string command = (bin_dir() / program).string() + " " + args + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error(program + " failed: " + command);
  }
}

// `make_test_model --hf DIR ARGS`; returns DIR.
inline std::filesystem::path make_test_hf_model(const std::string& args, const std::string& name) {
  const auto dir = hf_process_dir() / name;
  std::filesystem::create_directories(dir.parent_path());
  run_program("make_test_model", "--hf " + dir.string() + " " + args);
  return dir;
}

// `make_test_model --out FILE ARGS`; returns FILE.
inline std::filesystem::path make_test_gguf_model(const std::string& args,
                                                  const std::string& name) {
  const auto path = hf_process_dir() / name;
  std::filesystem::create_directories(path.parent_path());
  run_program("make_test_model", "--out " + path.string() + " " + args);
  return path;
}

}  // namespace llama3::testing
