/* Structured output through the C ABI: grammars (GBNF, JSON Schema, regex) on sampler params with
 * clear errors, tool definitions in the chat prompt, parse_tool_calls, and generated tokens'
 * logprobs checked against a log-softmax computed here from the session's logits.
 *
 *   test_c_structured STORIES260K.gguf TINY_LLAMA31.gguf   (exits 77 when a file is missing)
 * (TINY_LLAMA31: the Llama 3 vocabulary with 3.1's token names, for tool-call turns.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_expect.h"
#include "llama3.h"

/* Generates from BOS with `grammar` at temperature 1 and returns the text without the blanks a
 * JSON grammar allows around the value (static buffer). */
static char generated_text[4096];
static size_t text_length = 0;
static int append_piece(const char* piece, size_t length, void* user_data) {
  (void)user_data;
  if (text_length + length < sizeof(generated_text)) {
    memcpy(generated_text + text_length, piece, length);
    text_length += length;
    generated_text[text_length] = '\0';
  }
  return 0;
}

static const char* generate_with(llama3_model* model, llama3_tokenizer* tokenizer,
                                 const llama3_grammar* grammar, uint64_t seed,
                                 int32_t* out_stop_reason) {
  llama3_sampler_params sampling;
  llama3_sampler* sampler = NULL;
  llama3_session* session = NULL;
  llama3_generate_params params;
  llama3_generate_result result;
  llama3_token bos = 0;
  llama3_sampler_params_init(&sampling);
  sampling.temperature = 1.0f;
  sampling.top_p = 1.0f;
  sampling.seed = seed;
  sampling.grammar = grammar;
  text_length = 0;
  generated_text[0] = '\0';
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampling, &sampler));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &session));
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_bos(tokenizer, &bos));
  llama3_generate_params_init(&params);
  params.max_tokens = 120;
  params.on_piece = append_piece;
  memset(&result, 0, sizeof(result));
  result.struct_size = sizeof(result);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_generate(session, &bos, 1, sampler, &params, &result));
  *out_stop_reason = result.stop_reason;
  llama3_session_free(session);
  llama3_sampler_free(sampler);
  while (text_length > 0 && strchr(" \t\r\n", generated_text[text_length - 1]) != NULL) {
    generated_text[--text_length] = '\0';
  }
  return generated_text + strspn(generated_text, " \t\r\n");
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}
static int is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

static void test_grammars(llama3_model* model, llama3_tokenizer* tokenizer) {
  llama3_grammar* grammar = NULL;
  llama3_sampler_params sampling;
  llama3_sampler* sampler = NULL;
  const char* text;
  int32_t stop = -1;
  uint64_t seed;

  /* Errors carry a status and a message naming what is wrong. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_grammar_from_gbnf(tokenizer, "root ::= \"a\" (", &grammar));
  EXPECT(strstr(llama3_last_error_message(), "line 1") != NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_grammar_from_gbnf(tokenizer, "root ::= undefined-rule", &grammar));
  EXPECT(strstr(llama3_last_error_message(), "undefined-rule") != NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_grammar_from_json_schema(
                    tokenizer, "{\"type\": \"number\", \"multipleOf\": 2}", &grammar));
  EXPECT(strstr(llama3_last_error_message(), "multipleOf") != NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_grammar_from_json_schema(tokenizer, "{not json", &grammar));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_grammar_from_regex(tokenizer, "(a", &grammar));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_grammar_from_gbnf(NULL, "root ::= \"a\"", &grammar));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_grammar_from_gbnf(tokenizer, NULL, &grammar));
  EXPECT(grammar == NULL);
  llama3_grammar_free(NULL);

  /* A JSON Schema enum: every sampled output is exactly one of the three JSON strings. */
  EXPECT_STATUS(LLAMA3_OK, llama3_grammar_from_json_schema(
                               tokenizer, "{\"enum\": [\"red\", \"green\", \"blue\"]}", &grammar));
  for (seed = 1; seed <= 5; ++seed) {
    text = generate_with(model, tokenizer, grammar, seed, &stop);
    EXPECT(stop == LLAMA3_STOP_END_OF_GENERATION);
    if (strcmp(text, "\"red\"") != 0 && strcmp(text, "\"green\"") != 0 &&
        strcmp(text, "\"blue\"") != 0) {
      fprintf(stderr, "seed %d: not one of the enum's values: '%s'\n", (int)seed, text);
      ++failures;
    }
  }
  /* A sampler keeps the grammar alive after llama3_grammar_free; a forbidden token is refused. */
  llama3_sampler_params_init(&sampling);
  sampling.grammar = grammar;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampling, &sampler));
  llama3_grammar_free(grammar);
  {
    llama3_token letter_r = -1;
    size_t n = 0;
    EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(tokenizer, "r", 1, 0, &letter_r, 1, &n));
    EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_accept(sampler, letter_r));
  }
  llama3_sampler_free(sampler);

  /* GBNF and a regular expression: outputs of a checkable shape. */
  EXPECT_STATUS(LLAMA3_OK, llama3_grammar_from_gbnf(tokenizer, "root ::= \"id-\" [0-9] [0-9] [0-9]",
                                                    &grammar));
  text = generate_with(model, tokenizer, grammar, 3, &stop);
  EXPECT(stop == LLAMA3_STOP_END_OF_GENERATION);
  EXPECT(strlen(text) == 6 && strncmp(text, "id-", 3) == 0 && is_digit(text[3]) &&
         is_digit(text[4]) && is_digit(text[5]));
  llama3_grammar_free(grammar);
  EXPECT_STATUS(LLAMA3_OK, llama3_grammar_from_regex(tokenizer, "[a-z]{2,4}-[0-9]{2}", &grammar));
  text = generate_with(model, tokenizer, grammar, 4, &stop);
  {
    size_t n_letters = 0;
    while (is_lower(text[n_letters])) ++n_letters;
    EXPECT(n_letters >= 2 && n_letters <= 4 && text[n_letters] == '-' &&
           is_digit(text[n_letters + 1]) && is_digit(text[n_letters + 2]) &&
           text[n_letters + 3] == '\0');
  }
  llama3_grammar_free(grammar);
}

/* Engine requests take a grammar through their sampler params too: every answer of a batch of
 * requests is one of the enum's values. Each request's pieces go to its own buffer (on_piece runs
 * on the engine's thread; each buffer is read only after llama3_engine_wait). */
struct answer_buffer {
  char text[256];
  size_t length;
};
static int append_answer(const char* piece, size_t length, void* user_data) {
  struct answer_buffer* answer = (struct answer_buffer*)user_data;
  if (answer->length + length < sizeof(answer->text)) {
    memcpy(answer->text + answer->length, piece, length);
    answer->length += length;
    answer->text[answer->length] = '\0';
  }
  return 0;
}

static void test_engine_grammar(llama3_model* model, llama3_tokenizer* tokenizer) {
  llama3_engine* engine = NULL;
  llama3_grammar* grammar = NULL;
  llama3_sampler_params sampling;
  llama3_generate_params generate;
  llama3_generate_result result;
  llama3_request_id ids[4];
  struct answer_buffer answers[4];
  llama3_token bos = 0;
  size_t i;
  int32_t state = -1;
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_bos(tokenizer, &bos));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, NULL, &engine));
  EXPECT_STATUS(LLAMA3_OK, llama3_grammar_from_json_schema(
                               tokenizer, "{\"enum\": [\"yes\", \"no\"]}", &grammar));
  llama3_sampler_params_init(&sampling);
  sampling.temperature = 1.0f;
  sampling.top_p = 1.0f;
  sampling.grammar = grammar;
  llama3_generate_params_init(&generate);
  generate.max_tokens = 40;
  generate.on_piece = append_answer;
  for (i = 0; i < 4; ++i) {
    answers[i].length = 0;
    answers[i].text[0] = '\0';
    sampling.seed = 100 + i;
    generate.user_data = &answers[i];
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, &bos, 1, &sampling, &generate, &ids[i]));
  }
  llama3_grammar_free(grammar); /* the requests keep it */
  for (i = 0; i < 4; ++i) {
    const char* text = answers[i].text;
    size_t length;
    memset(&result, 0, sizeof(result));
    result.struct_size = sizeof(result);
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, ids[i], &result, &state));
    EXPECT(state == LLAMA3_REQUEST_FINISHED);
    EXPECT(result.stop_reason == LLAMA3_STOP_END_OF_GENERATION);
    text += strspn(text, " \t\r\n");
    length = strcspn(text, " \t\r\n");
    if (!((length == 5 && strncmp(text, "\"yes\"", 5) == 0) ||
          (length == 4 && strncmp(text, "\"no\"", 4) == 0)) ||
        text[length + strspn(text + length, " \t\r\n")] != '\0') {
      fprintf(stderr, "engine request %d: not one of the enum's values: '%s'\n", (int)i,
              answers[i].text);
      ++failures;
    }
  }
  llama3_engine_free(engine);
}

/* log(softmax(row))[id] from the definition, in double. */
static double reference_logprob(const float* row, size_t n, llama3_token id) {
  double sum = 0.0;
  size_t i;
  for (i = 0; i < n; ++i) sum += exp((double)row[i]);
  return log(exp((double)row[id]) / sum);
}

static void test_logprobs(llama3_model* model, llama3_tokenizer* tokenizer) {
  llama3_sampler_params sampling;
  llama3_sampler* sampler = NULL;
  llama3_session* session = NULL;
  llama3_session* check = NULL;
  llama3_generate_params params;
  llama3_generate_result result;
  llama3_token prompt[1];
  llama3_token generated[16];
  llama3_token_logprob token, top[4];
  size_t n_top = 0, i, k;
  const float* logits = NULL;
  size_t n_logits = 0;

  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_bos(tokenizer, &prompt[0]));
  llama3_sampler_params_init(&sampling);
  sampling.temperature = 1.0f;
  sampling.seed = 9;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampling, &sampler));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &session));
  llama3_generate_params_init(&params);
  params.max_tokens = 16;
  params.logprobs = 1;
  params.top_logprobs = 3;
  memset(&result, 0, sizeof(result));
  result.struct_size = sizeof(result);
  /* Not asked for yet. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_logprob(session, 0, &token, NULL, 0, NULL));
  params.top_logprobs = LLAMA3_MAX_TOP_LOGPROBS + 1;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_generate(session, prompt, 1, sampler, &params, &result));
  params.top_logprobs = 3;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_generate(session, prompt, 1, sampler, &params, &result));
  EXPECT(result.n_generated_tokens > 0 && result.n_generated_tokens <= 16);

  /* A fresh session decodes the same tokens; the logits before token i give its logprob. */
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &check));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(check, prompt, 1));
  for (i = 0; i < (size_t)result.n_generated_tokens; ++i) {
    EXPECT_STATUS(LLAMA3_OK, llama3_session_logprob(session, i, &token, top, 4, &n_top));
    generated[i] = token.token;
    EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(check, &logits, &n_logits));
    EXPECT(fabs(token.logprob - reference_logprob(logits, n_logits, token.token)) < 1e-4);
    EXPECT(n_top == 3);
    for (k = 0; k < n_top; ++k) {
      size_t j, n_higher = 0;
      EXPECT(fabs(top[k].logprob - reference_logprob(logits, n_logits, top[k].token)) < 1e-4);
      /* The k-th most likely: exactly k tokens have a larger logit (no ties in a trained model). */
      for (j = 0; j < n_logits; ++j) n_higher += logits[j] > logits[top[k].token];
      EXPECT(n_higher == k);
    }
    EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(check, &generated[i], 1));
  }
  EXPECT_STATUS(
      LLAMA3_ERR_INVALID_ARGUMENT,
      llama3_session_logprob(session, (size_t)result.n_generated_tokens, &token, NULL, 0, NULL));
  /* top_capacity bounds what is written. */
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logprob(session, 0, &token, top, 1, &n_top));
  EXPECT(n_top == 1);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_reset(session));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_logprob(session, 0, &token, NULL, 0, NULL));
  llama3_session_free(check);
  llama3_session_free(session);
  llama3_sampler_free(sampler);
}

static void test_tools(const char* model_path) {
  llama3_tokenizer* tokenizer = NULL;
  llama3_chat_message dialog[4];
  llama3_chat_params chat;
  llama3_token tokens[1024];
  size_t n = 0, length = 0;
  static char text[8192];
  const char* tools[1];
  const int32_t tool_call_flags[4] = {0, 1, 0, 0};
  char json[512];
  const char* call = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eom_id|>";
  const char* not_a_call = "{\"name\": \"get_weather\", \"parameters\": {\"city\": }";

  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_load(model_path, &tokenizer));
  tools[0] =
      "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
      "\"Current weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": "
      "{\"type\": \"string\"}}, \"required\": [\"city\"]}}}";
  dialog[0].role = "user";
  dialog[0].content = "Weather in Paris?";
  EXPECT_STATUS(LLAMA3_OK, llama3_chat_params_init(&chat));
  EXPECT(chat.tools_in_user_message == 1);
  chat.style = LLAMA3_CHAT_STYLE_LLAMA31;
  chat.tools = tools;
  chat.n_tools = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_chat_encode(tokenizer, dialog, 1, &chat, tokens, 1024, &n));
  EXPECT_STATUS(LLAMA3_OK, llama3_detokenize(tokenizer, tokens, n, LLAMA3_DETOKENIZE_RENDER_SPECIAL,
                                             text, sizeof(text), &length));
  EXPECT(strstr(text, "Environment: ipython") != NULL);
  EXPECT(strstr(text, "\"name\": \"get_weather\"") != NULL);
  EXPECT(strstr(text, "Weather in Paris?") != NULL);

  /* The call the model made and the tool's result, as the next turns. */
  dialog[1].role = "assistant";
  dialog[1].content = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}";
  dialog[2].role = "ipython";
  dialog[2].content = "{\"temperature\": 21}";
  chat.message_is_tool_call = tool_call_flags;
  EXPECT_STATUS(LLAMA3_OK, llama3_chat_encode(tokenizer, dialog, 3, &chat, tokens, 1024, &n));
  EXPECT_STATUS(LLAMA3_OK, llama3_detokenize(tokenizer, tokens, n, LLAMA3_DETOKENIZE_RENDER_SPECIAL,
                                             text, sizeof(text), &length));
  EXPECT(strstr(text, "<|python_tag|>{\"name\": \"get_weather\"") != NULL);
  EXPECT(strstr(text, "}}<|eom_id|>") != NULL);
  EXPECT(strstr(text, "<|start_header_id|>ipython<|end_header_id|>\n\n{\"temperature\": 21}") !=
         NULL);

  tools[0] = "{\"type\": \"function\","; /* not JSON */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode(tokenizer, dialog, 1, &chat, tokens, 1024, &n));
  chat.tools = NULL; /* with n_tools 1 */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode(tokenizer, dialog, 1, &chat, tokens, 1024, &n));
  llama3_tokenizer_free(tokenizer);

  /* The model's answer back as calls, as JSON. */
  EXPECT_STATUS(LLAMA3_OK,
                llama3_parse_tool_calls(call, strlen(call), json, sizeof(json), &length));
  EXPECT(strcmp(json,
                "{\"content\":\"\",\"tool_calls\":[{\"name\":\"get_weather\",\"arguments\":"
                "{\"city\":\"Paris\"}}]}") == 0);
  EXPECT(length == strlen(json));
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_parse_tool_calls(call, strlen(call), json, 10, &length));
  EXPECT(length > 10);
  /* A malformed call stays text (escaped as a JSON string), never a guessed call. */
  EXPECT_STATUS(LLAMA3_OK, llama3_parse_tool_calls(not_a_call, strlen(not_a_call), json,
                                                   sizeof(json), &length));
  EXPECT(strcmp(json,
                "{\"content\":\"{\\\"name\\\": \\\"get_weather\\\", \\\"parameters\\\": "
                "{\\\"city\\\": }\",\"tool_calls\":[]}") == 0);
  EXPECT_STATUS(LLAMA3_OK, llama3_parse_tool_calls("line\n\ttab", 9, json, sizeof(json), &length));
  EXPECT(strcmp(json, "{\"content\":\"line\\n\\ttab\",\"tool_calls\":[]}") == 0);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_parse_tool_calls(NULL, 3, json, 64, &length));
}

int main(int argc, char** argv) {
  llama3_model* model = NULL;
  llama3_tokenizer* tokenizer = NULL;
  FILE* file;
  int i;
  if (argc < 3) {
    fprintf(stderr, "usage: %s STORIES260K.gguf TINY_LLAMA31.gguf\n", argv[0]);
    return 2;
  }
  for (i = 1; i < 3; ++i) {
    file = fopen(argv[i], "rb");
    if (file == NULL) {
      fprintf(stderr, "skipped: missing %s\n", argv[i]);
      return 77;
    }
    fclose(file);
  }
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(argv[1], NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_model_tokenizer(model, &tokenizer));
  if (failures) return 1;
  test_grammars(model, tokenizer);
  test_engine_grammar(model, tokenizer);
  test_logprobs(model, tokenizer);
  llama3_tokenizer_free(tokenizer);
  llama3_model_free(model);
  test_tools(argv[2]);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all structured-output C ABI checks passed\n");
  return 0;
}
