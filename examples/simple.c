/* simple.c — the whole C ABI lifecycle in one short program: load a model, tokenize a prompt,
 * generate with a seeded sampler while streaming pieces, then save the session state, restore it
 * into a second session and check that both continue identically.
 *
 *   simple MODEL.gguf [PROMPT] [N_TOKENS] [SEED] [TEMPERATURE]
 *
 * Prints the prompt and the generated text (as `llama3 generate` does), then a newline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama3.h"

#define CHECK(call)                                                              \
  do {                                                                           \
    llama3_status status_ = (call);                                              \
    if (status_ != LLAMA3_OK) {                                                  \
      fprintf(stderr, "%s failed: %s: %s\n", #call, llama3_status_name(status_), \
              llama3_last_error_message());                                      \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static int print_piece(const char* piece, size_t length, void* user_data) {
  (void)user_data;
  fwrite(piece, 1, length, stdout);
  return 0; /* keep going */
}

struct text {
  char data[4096];
  size_t length;
};

static int collect_piece(const char* piece, size_t length, void* user_data) {
  struct text* text = (struct text*)user_data;
  if (text->length + length >= sizeof(text->data)) return 1; /* stop: buffer full */
  memcpy(text->data + text->length, piece, length);
  text->length += length;
  text->data[text->length] = '\0';
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS] [SEED] [TEMPERATURE]\n", argv[0]);
    return 2;
  }
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  const int n_tokens = argc > 3 ? atoi(argv[3]) : 64;
  const unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 42;
  const float temperature = argc > 5 ? (float)atof(argv[5]) : 0.8f;

  if (llama3_version() != LLAMA3_VERSION_NUMBER) {
    fprintf(stderr, "header %s but library %s\n", LLAMA3_VERSION_STRING, llama3_version_string());
    return 1;
  }

  llama3_model* model = NULL;
  CHECK(llama3_model_load(argv[1], NULL, &model));
  llama3_tokenizer* tokenizer = NULL;
  CHECK(llama3_model_tokenizer(model, &tokenizer));

  /* Ask for the size first, then tokenize into a buffer of that size. */
  const uint32_t flags = LLAMA3_TOKENIZE_ADD_BOS | LLAMA3_TOKENIZE_PARSE_SPECIAL;
  size_t n_prompt = 0;
  llama3_status status =
      llama3_tokenize(tokenizer, prompt, strlen(prompt), flags, NULL, 0, &n_prompt);
  if (status != LLAMA3_ERR_BUFFER_TOO_SMALL) CHECK(status);
  llama3_token* tokens = malloc(n_prompt * sizeof(llama3_token));
  CHECK(llama3_tokenize(tokenizer, prompt, strlen(prompt), flags, tokens, n_prompt, &n_prompt));

  llama3_session* session = NULL;
  CHECK(llama3_session_create(model, NULL, &session));
  llama3_sampler_params sampler_params;
  CHECK(llama3_sampler_params_init(&sampler_params));
  sampler_params.seed = seed;
  sampler_params.temperature = temperature;
  llama3_sampler* sampler = NULL;
  CHECK(llama3_sampler_create(&sampler_params, &sampler));

  llama3_generate_params generate;
  CHECK(llama3_generate_params_init(&generate));
  generate.max_tokens = n_tokens;
  generate.on_piece = print_piece;
  printf("%s", prompt);
  CHECK(llama3_session_generate(session, tokens, n_prompt, sampler, &generate, NULL));
  printf("\n");

  /* Snapshot the session, restore it into a second one: both must continue with the same text. */
  size_t state_size = 0;
  CHECK(llama3_session_state_size(session, &state_size));
  void* state = malloc(state_size);
  CHECK(llama3_session_save_state(session, state, state_size, &state_size));
  llama3_session* restored = NULL;
  CHECK(llama3_session_create(model, NULL, &restored));
  CHECK(llama3_session_load_state(restored, state, state_size));

  struct text first = {{0}, 0}, second = {{0}, 0};
  generate.max_tokens = 8;
  generate.on_piece = collect_piece;
  generate.user_data = &first;
  CHECK(llama3_sampler_params_init(&sampler_params));
  sampler_params.seed = 7;
  llama3_sampler* continue_a = NULL;
  llama3_sampler* continue_b = NULL;
  CHECK(llama3_sampler_create(&sampler_params, &continue_a));
  CHECK(llama3_sampler_create(&sampler_params, &continue_b));
  CHECK(llama3_session_generate(session, NULL, 0, continue_a, &generate, NULL));
  generate.user_data = &second;
  CHECK(llama3_session_generate(restored, NULL, 0, continue_b, &generate, NULL));
  const int same =
      first.length == second.length && memcmp(first.data, second.data, first.length) == 0;
  if (!same) fprintf(stderr, "restored session diverged: '%s' vs '%s'\n", first.data, second.data);

  llama3_sampler_free(continue_b);
  llama3_sampler_free(continue_a);
  llama3_session_free(restored);
  free(state);
  llama3_sampler_free(sampler);
  llama3_session_free(session);
  free(tokens);
  llama3_tokenizer_free(tokenizer);
  llama3_model_free(model);
  return same ? 0 : 1;
}
