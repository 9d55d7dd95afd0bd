// Where tests find data files and the project's programs. A test that needs a data file which is
// not available exits with code 77, which ctest reports as "skipped" (SKIP_RETURN_CODE) — never a
// pass.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

namespace llama3::testing {

inline std::filesystem::path data_dir() {
  const char* dir = std::getenv("LLAMA3_DATA_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path(LLAMA3_SOURCE_DIR) / "build/data";
}

inline std::filesystem::path require_data_file(const std::string& name) {
  const auto path = data_dir() / name;
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "SKIPPED: test data file %s is not available (looked in %s)\n",
                 name.c_str(), data_dir().c_str());
    std::exit(77);
  }
  return path;
}

// The Python that runs reference scripts: $LLAMA3_TEST_PYTHON when set (the aarch64 suite under
// emulation points it at the host build's environment), else the one CMake chose for this test
// program (python3 on PATH for programs without one).
inline std::string test_python() {
  const char* python = std::getenv("LLAMA3_TEST_PYTHON");
  if (python != nullptr && *python != '\0') return python;
#ifdef LLAMA3_TEST_PYTHON
  return LLAMA3_TEST_PYTHON;
#else
  return "python3";
#endif
}

inline std::filesystem::path bin_dir() {
  const char* dir = std::getenv("LLAMA3_BIN_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path(LLAMA3_BIN_DIR);
}

// A fresh, empty directory for one test's files. Its name carries a hash of the build tree, so
// suites of several checkouts (worktrees, a CI clone) running at once never share a directory,
// while a rerun of the same tree reuses (and first empties) its own.
inline std::filesystem::path scratch_dir(const std::string& test_name) {
  char tree[17];
  std::snprintf(tree, sizeof tree, "%016zx", std::hash<std::string>{}(LLAMA3_BIN_DIR));
  auto dir = std::filesystem::temp_directory_path() /
             ("llama3-test-" + test_name + "-" + std::string(tree, 8));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace llama3::testing
