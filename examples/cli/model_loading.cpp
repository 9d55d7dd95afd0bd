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

SessionOptions session_options_from(const Options& options) {
  SessionOptions session_options;
  session_options.n_threads = options.get_int("--threads", 0);
  session_options.n_ctx = options.get_int("--ctx", 0);
  return session_options;
}

SamplerParams sampler_params_from(const Options& options, const Model& model) {
  SamplerParams params = default_sampler_params(model);
  params.temperature = options.get_float("--temp", params.temperature);
  params.top_k = options.get_int("--top-k", params.top_k);
  params.top_p = options.get_float("--top-p", params.top_p);
  params.min_p = options.get_float("--min-p", params.min_p);
  params.seed = options.get_u64("--seed", params.seed);
  return params;
}

}  // namespace llama3::cli
