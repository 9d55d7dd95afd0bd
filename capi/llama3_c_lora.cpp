// The C ABI of include/llama3/lora.hpp: LoRA adapters and a session's choice of them.
#include "c_api_support.hpp"

using llama3::capi::guarded;

llama3_status llama3_lora_load(const llama3_model* model, const char* path,
                               llama3_lora** out_lora) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(model != nullptr);
    LLAMA3_REQUIRE(path != nullptr);
    LLAMA3_REQUIRE(out_lora != nullptr);
    *out_lora = nullptr;
    *out_lora = new llama3_lora{llama3::LoraAdapter::load(model->model, path)};
    return LLAMA3_OK;
  });
}

void llama3_lora_free(llama3_lora* lora) {
  delete lora;
}

llama3_status llama3_lora_info(const llama3_lora* lora, int32_t* out_rank, float* out_scale) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(lora != nullptr);
    if (out_rank != nullptr) *out_rank = lora->adapter.rank();
    if (out_scale != nullptr) *out_scale = lora->adapter.scale();
    return LLAMA3_OK;
  });
}

llama3_status llama3_session_set_adapters(llama3_session* session,
                                          const llama3_lora* const* adapters, const float* scales,
                                          size_t n_adapters) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(session != nullptr);
    session->session.set_adapters(
        llama3::capi::active_adapters(adapters, scales, n_adapters, function));
    return LLAMA3_OK;
  });
}
