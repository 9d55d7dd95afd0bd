/* safety_filters.c — a chat answer under the library's safety filters, through the C ABI.
 *
 *   safety_filters_c CHAT_MODEL.gguf [QUESTION]
 *
 * The answer streams to stdout while three checks watch it (docs/c-api.md, "Safety filters"):
 * blocked phrases on the question and the answer, the insecure-code scanner on the answer's code,
 * and, with a Llama Guard model, a Guard (not used here; see llama3_guard_create). A block ends
 * the call with LLAMA3_ERR_BLOCKED; the result says which filter, the message why. */
#include <stdio.h>
#include <string.h>

#include "llama3.h"

#define CHECK(call)                                                                          \
  do {                                                                                       \
    llama3_status status_ = (call);                                                          \
    if (status_ != LLAMA3_OK) {                                                              \
      fprintf(stderr, "%s: %s\n", llama3_status_name(status_), llama3_last_error_message()); \
      return 1;                                                                              \
    }                                                                                        \
  } while (0)

static int print_piece(const char* piece, size_t length, void* user_data) {
  (void)user_data;
  fwrite(piece, 1, length, stdout);
  fflush(stdout);
  return 0;
}

static const char* filter_name(int32_t filter) {
  switch (filter) {
    case LLAMA3_FILTER_BLOCKED_PHRASES:
      return "blocked_phrases";
    case LLAMA3_FILTER_GUARD:
      return "guard";
    case LLAMA3_FILTER_CODE_SCANNER:
      return "code_scanner";
    default:
      return "none";
  }
}

int main(int argc, char** argv) {
  const char* question = argc > 2 ? argv[2] : "Show me how to copy a string in C.";
  const char* blocked[] = {"password", "api key"};
  llama3_model* model = NULL;
  llama3_tokenizer* tokenizer = NULL;
  llama3_session* session = NULL;
  llama3_sampler* sampler = NULL;
  llama3_code_scanner* scanner = NULL;
  llama3_sampler_params sampling;
  llama3_generate_params params;
  llama3_generate_result result;
  llama3_chat_message message;
  llama3_token prompt[512];
  size_t n_prompt = 0;
  llama3_status status;

  if (argc < 2) {
    fprintf(stderr, "usage: %s CHAT_MODEL.gguf [QUESTION]\n", argv[0]);
    return 2;
  }
  CHECK(llama3_model_load(argv[1], NULL, &model));
  CHECK(llama3_model_tokenizer(model, &tokenizer));
  message.role = "user";
  message.content = question;
  CHECK(llama3_chat_encode(tokenizer, &message, 1, NULL, prompt, 512, &n_prompt));
  CHECK(llama3_code_scanner_create(NULL, &scanner)); /* the built-in rules */
  CHECK(llama3_session_create(model, NULL, &session));
  CHECK(llama3_sampler_params_init(&sampling));
  sampling.temperature = 0.0f;
  CHECK(llama3_sampler_create(&sampling, &sampler));

  CHECK(llama3_generate_params_init(&params));
  params.max_tokens = 64;
  params.on_piece = print_piece;
  params.code_scanner = scanner;
  params.blocked_phrases = blocked;
  params.n_blocked_phrases = 2;
  memset(&result, 0, sizeof result);
  result.struct_size = sizeof result;
  status = llama3_session_generate(session, prompt, n_prompt, sampler, &params, &result);
  printf("\n");
  if (status == LLAMA3_ERR_BLOCKED) {
    /* What was printed before a block of the answer was let through; a real application would
     * retract it (LLAMA3_STOP_FILTERED) or show nothing (LLAMA3_STOP_BLOCKED). */
    printf("blocked by %s (%s): %s\n", filter_name(result.filter),
           result.stop_reason == LLAMA3_STOP_BLOCKED ? "prompt" : "answer",
           llama3_last_error_message());
  } else if (status != LLAMA3_OK) {
    fprintf(stderr, "%s: %s\n", llama3_status_name(status), llama3_last_error_message());
    return 1;
  } else {
    printf("answered: %d tokens\n", result.n_generated_tokens);
  }
  llama3_sampler_free(sampler);
  llama3_session_free(session);
  llama3_code_scanner_free(scanner);
  llama3_tokenizer_free(tokenizer);
  llama3_model_free(model);
  return 0;
}
