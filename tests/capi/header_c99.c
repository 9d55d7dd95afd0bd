/* Compiled by the capi_header_c99 test with -std=c99 -Wall -Wextra -Wpedantic -Werror: llama3.h
 * must stay pure C99. Touches every type so a broken declaration cannot hide. */
#include "llama3.h"

int main(void) {
  llama3_model_params model_params;
  llama3_session_params session_params;
  llama3_sampler_params sampler_params;
  llama3_generate_params generate_params;
  llama3_generate_result generate_result;
  llama3_chat_params chat_params;
  llama3_chat_message message = {"user", "hi"};
  llama3_logit_bias bias = {0, 0.0f};
  llama3_status status = LLAMA3_OK;
  (void)model_params;
  (void)session_params;
  (void)sampler_params;
  (void)generate_params;
  (void)generate_result;
  (void)chat_params;
  (void)message;
  (void)bias;
  return (int)status;
}
