// The C ABI of include/llama3/convert.hpp: convert and quantize model files.
#include <cstdio>
#include <string>
#include <vector>

#include "c_api_support.hpp"
#include "llama3/convert.hpp"

using llama3::capi::guarded;

namespace {

// `keep_types`: a NULL type (or NULL params) means "each tensor's own type" (merge), not an error.
llama3::ConvertOptions options_from(const llama3_convert_params* params, const char* function,
                                    bool keep_types = false) {
  llama3_convert_params p{};
  llama3_convert_params_init(&p);
  if (keep_types) p.type = nullptr;
  if (params != nullptr) {
    llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
    LLAMA3_READ_FIELD(p, params, type);
    LLAMA3_READ_FIELD(p, params, n_threads);
    LLAMA3_READ_FIELD(p, params, progress);
    LLAMA3_READ_FIELD(p, params, progress_user_data);
  }
  llama3::capi::require(keep_types || p.type != nullptr, function, "params->type is NULL");
  llama3::capi::require(p.n_threads >= 0, function, "params->n_threads is negative");
  llama3::ConvertOptions options;
  options.type = p.type != nullptr ? p.type : "";
  options.n_threads = p.n_threads;
  if (p.progress != nullptr) {
    options.progress = [callback = p.progress,
                        user_data = p.progress_user_data](const llama3::ConvertProgress& progress) {
      const std::string name(progress.tensor);
      return callback(progress.tensors_done, progress.tensors_total, name.c_str(), user_data) == 0;
    };
  }
  return options;
}

void log_result(const char* out_path, const llama3::ConvertResult& result) {
  for (const auto& warning : result.warnings) llama3::capi::log(LLAMA3_LOG_WARN, warning);
  for (const auto& type : result.types) {
    char line[160];
    std::snprintf(line, sizeof line, "%s: %d tensors of %s, %.2f MiB, relative RMSE %.6f", out_path,
                  type.tensors, type.type.c_str(), static_cast<double>(type.bytes) / (1 << 20),
                  type.relative_rmse);
    llama3::capi::log(LLAMA3_LOG_INFO, line);
  }
}

using Conversion = llama3::ConvertResult (*)(const std::filesystem::path&,
                                             const std::filesystem::path&,
                                             const llama3::ConvertOptions&);

llama3_status run(const char* function, Conversion conversion, const char* in_path,
                  const char* out_path, const llama3_convert_params* params) {
  return guarded(function, [&] {
    llama3::capi::require(in_path != nullptr, function, "the input path is NULL");
    llama3::capi::require(out_path != nullptr, function, "out_path is NULL");
    const auto options = options_from(params, function);
    log_result(out_path, conversion(in_path, out_path, options));
    return LLAMA3_OK;
  });
}

}  // namespace

llama3_status llama3_convert_params_init_sized(llama3_convert_params* params, size_t struct_size) {
  return guarded(__func__, [&] {
    llama3_convert_params full{};
    full.type = "f16";
    llama3::capi::write_defaults(params, struct_size, full, "llama3_convert_params_init");
    return LLAMA3_OK;
  });
}

// For callers of the symbol itself (FFI, or programs built before the sized form): the
// struct as first released.
llama3_status(llama3_convert_params_init)(llama3_convert_params* params) {
  return llama3_convert_params_init_sized(params, sizeof(llama3_convert_params));
}

llama3_status llama3_convert_hf_to_gguf(const char* hf_folder, const char* out_path,
                                        const llama3_convert_params* params) {
  return run(__func__, &llama3::convert_hf_to_gguf, hf_folder, out_path, params);
}

llama3_status llama3_quantize_gguf(const char* in_path, const char* out_path,
                                   const llama3_convert_params* params) {
  return run(__func__, &llama3::quantize_gguf, in_path, out_path, params);
}

llama3_status llama3_merge_lora(const char* base_gguf, const char* const* adapter_paths,
                                const float* scales, size_t n_adapters, const char* out_path,
                                const llama3_convert_params* params) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(base_gguf != nullptr);
    LLAMA3_REQUIRE(out_path != nullptr);
    LLAMA3_REQUIRE(adapter_paths != nullptr || n_adapters == 0);
    std::vector<llama3::LoraFile> adapters;
    for (size_t i = 0; i < n_adapters; ++i) {
      LLAMA3_REQUIRE(adapter_paths[i] != nullptr);
      adapters.push_back({adapter_paths[i], scales != nullptr ? scales[i] : 1.0f});
    }
    const auto options = options_from(params, function, /*keep_types=*/true);
    log_result(out_path, llama3::merge_lora(base_gguf, adapters, out_path, options));
    return LLAMA3_OK;
  });
}
