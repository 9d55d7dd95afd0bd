/* structured_output.c — JSON mode, tool calling and logprobs through the C ABI (llama3.h).
 *
 *   structured_output_c CHAT_MODEL.gguf      (a Llama 3.1+ instruct model)
 *
 * 1. JSON mode: a grammar compiled from a JSON Schema, set on the sampler's params.
 * 2. Tool calling: the tool's definition in the chat prompt (llama3_chat_params.tools), the answer
 *    constrained to a call of it, read back as JSON with llama3_parse_tool_calls.
 * 3. Logprobs: each generated token's log-probability and its best alternative. */
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

static char text[4096];
static size_t text_length = 0;
static int collect(const char* piece, size_t length, void* user_data) {
  (void)user_data;
  if (text_length + length < sizeof(text)) {
    memcpy(text + text_length, piece, length);
    text_length += length;
    text[text_length] = '\0';
  }
  return 0;
}

static const char* weather_tool =
    "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
    "\"Current weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": "
    "{\"city\": {\"type\": \"string\", \"maxLength\": 24}}, \"required\": [\"city\"]}}}";
static const char* weather_call =
    "{\"type\": \"object\", \"properties\": {\"name\": {\"const\": \"get_weather\"}, "
    "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", "
    "\"maxLength\": 24}}, \"required\": [\"city\"]}}, \"required\": [\"name\", \"parameters\"]}";

int main(int argc, char** argv) {
  llama3_model* model = NULL;
  llama3_tokenizer* tokenizer = NULL;
  llama3_session* session = NULL;
  llama3_grammar* grammar = NULL;
  llama3_sampler* sampler = NULL;
  llama3_sampler_params sampling;
  llama3_generate_params generate;
  llama3_generate_result result;
  llama3_chat_params chat;
  llama3_chat_message message;
  llama3_token prompt[2048];
  llama3_token_logprob token, best;
  size_t n_prompt = 0, n_best = 0, i;
  char calls[1024];
  size_t calls_length = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s CHAT_MODEL.gguf\n", argv[0]);
    return 2;
  }
  CHECK(llama3_model_load(argv[1], NULL, &model));
  CHECK(llama3_model_tokenizer(model, &tokenizer));
  CHECK(llama3_session_create(model, NULL, &session));
  llama3_generate_params_init(&generate);
  generate.max_tokens = 128;
  generate.on_piece = collect;
  result.struct_size = sizeof(result);

  /* 1. JSON mode. */
  CHECK(llama3_grammar_from_json_schema(
      tokenizer,
      "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"maxLength\": 16},"
      " \"age\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 150}},"
      " \"required\": [\"name\", \"age\"]}",
      &grammar));
  llama3_sampler_params_init(&sampling);
  sampling.seed = 1;
  sampling.grammar = grammar;
  CHECK(llama3_sampler_create(&sampling, &sampler));
  llama3_grammar_free(grammar); /* the sampler keeps it */
  message.role = "user";
  message.content = "Invent a person. Answer in JSON.";
  CHECK(llama3_chat_encode(tokenizer, &message, 1, NULL, prompt, 2048, &n_prompt));
  CHECK(llama3_session_generate(session, prompt, n_prompt, sampler, &generate, &result));
  printf("json: %s\n", text);
  llama3_sampler_free(sampler);

  /* 2. Tool calling. */
  CHECK(llama3_grammar_from_json_schema(tokenizer, weather_call, &grammar));
  sampling.grammar = grammar;
  CHECK(llama3_sampler_create(&sampling, &sampler));
  llama3_grammar_free(grammar);
  llama3_chat_params_init(&chat);
  chat.tools = &weather_tool;
  chat.n_tools = 1;
  message.content = "What is the weather in Paris?";
  CHECK(llama3_chat_encode(tokenizer, &message, 1, &chat, prompt, 2048, &n_prompt));
  text_length = 0;
  CHECK(llama3_session_generate(session, prompt, n_prompt, sampler, &generate, &result));
  CHECK(llama3_parse_tool_calls(text, text_length, calls, sizeof(calls), &calls_length));
  printf("calls: %s\n", calls); /* {"content":"","tool_calls":[{"name":"get_weather",...}]} */
  llama3_sampler_free(sampler);

  /* 3. Logprobs (no grammar). */
  sampling.grammar = NULL;
  CHECK(llama3_sampler_create(&sampling, &sampler));
  generate.max_tokens = 4;
  generate.logprobs = 1;
  generate.top_logprobs = 1;
  CHECK(llama3_session_reset(session));
  CHECK(llama3_session_generate(session, prompt, n_prompt, sampler, &generate, &result));
  for (i = 0; i < (size_t)result.n_generated_tokens; ++i) {
    CHECK(llama3_session_logprob(session, i, &token, &best, 1, &n_best));
    printf("token %d logprob %.3f (best: %d %.3f)\n", (int)token.token, token.logprob,
           (int)best.token, best.logprob);
  }
  llama3_sampler_free(sampler);
  llama3_session_free(session);
  llama3_tokenizer_free(tokenizer);
  llama3_model_free(model);
  return 0;
}
