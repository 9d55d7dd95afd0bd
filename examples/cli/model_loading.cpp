#include "model_loading.hpp"

#include <cstdio>
#include <filesystem>

#include <unistd.h>

namespace llama3::cli {

Model load_model_from_options(const Options& options) {
  const auto given = options.get("-m");
  const std::string path = given ? *given : default_model_path();
  LoadOptions load;
  load.use_mmap = !options.has("--no-mmap");
  std::error_code ignored;
  const auto size = std::filesystem::file_size(path, ignored);
  // Only on a terminal: a redirected log should not fill with carriage-return frames.
  const bool show_progress = !ignored && size > (std::uintmax_t{64} << 20) && ::isatty(2) != 0;
  if (show_progress) {
    load.progress = [](float fraction) {
      constexpr int kWidth = 40;
      const int filled = static_cast<int>(fraction * kWidth);
      std::fprintf(stderr, "\rloading [%.*s%*s] %3d%%", filled,
                   "########################################", kWidth - filled, "",
                   static_cast<int>(fraction * 100.0f));
      std::fflush(stderr);
      return true;
    };
  }
  Model model = Model::load(path, load);
  if (show_progress) std::fprintf(stderr, "\n");
  return model;
}

}  // namespace llama3::cli
