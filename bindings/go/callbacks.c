// C side of the Go callbacks: passes a cgo.Handle through the C ABI's void* user_data and points
// the callback at the exported Go trampoline.
#include <stdint.h>

#include "_cgo_export.h"
#include "llama3.h"

static int piece_trampoline(const char* piece, size_t length, void* user_data) {
  return goPieceCallback((char*)piece, length, (uintptr_t)user_data);
}

llama3_status llama3go_generate(llama3_session* session, const llama3_token* prompt,
                                size_t n_prompt, llama3_sampler* sampler,
                                llama3_generate_params* params, llama3_generate_result* result,
                                uintptr_t handle) {
  params->on_piece = piece_trampoline;
  params->user_data = (void*)handle;
  return llama3_session_generate(session, prompt, n_prompt, sampler, params, result);
}
