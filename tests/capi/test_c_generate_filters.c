/* Safety filters of llama3_generate_params through the C ABI: blocked phrases refuse a prompt and
 * stop an answer, the code scanner stops an answer that writes insecure code, a Guard gives a
 * verdict either way (its status, stop reason and message must agree with that verdict), and bad
 * inputs are refused with a message naming the function and field. The tiny random model is
 * driven to write a given text by a grammar that allows nothing else.
 *
 *   test_c_generate_filters TINY_LLAMA31.gguf   (exits 77 when the file is missing) */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_expect.h"
#include "llama3.h"

static char streamed[4096];
static size_t streamed_length = 0;
static char notes[4096]; /* llama3_session_filter_notes of the last generate() */

static int collect_piece(const char* piece, size_t length, void* user_data) {
  (void)user_data;
  if (streamed_length + length < sizeof(streamed)) {
    memcpy(streamed + streamed_length, piece, length);
    streamed_length += length;
    streamed[streamed_length] = '\0';
  }
  return 0;
}

typedef struct Fixture {
  llama3_model* model;
  llama3_tokenizer* tokenizer;
} Fixture;

/* Generates greedily after `prompt_text` (encoded with BOS), with output forced to `forced_gbnf`'s
 * language when it is not NULL. The result and the streamed text are left for the caller. */
static llama3_status generate(const Fixture* fixture, const char* prompt_text,
                              const char* forced_gbnf, const llama3_generate_params* params,
                              llama3_generate_result* result, int32_t* n_past) {
  llama3_sampler_params sampling;
  llama3_sampler* sampler = NULL;
  llama3_session* session = NULL;
  llama3_grammar* grammar = NULL;
  llama3_token prompt[256];
  size_t n_prompt = 0;
  llama3_status status;

  streamed_length = 0;
  streamed[0] = '\0';
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(fixture->tokenizer, prompt_text, strlen(prompt_text),
                                           LLAMA3_TOKENIZE_ADD_BOS, prompt, 256, &n_prompt));
  llama3_sampler_params_init(&sampling);
  sampling.temperature = 0.0f;
  if (forced_gbnf != NULL) {
    EXPECT_STATUS(LLAMA3_OK, llama3_grammar_from_gbnf(fixture->tokenizer, forced_gbnf, &grammar));
    sampling.grammar = grammar;
  }
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampling, &sampler));
  llama3_grammar_free(grammar);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(fixture->model, NULL, &session));
  memset(result, 0, sizeof(*result));
  result->struct_size = sizeof(*result);
  result->filter = -1;
  status = llama3_session_generate(session, prompt, n_prompt, sampler, params, result);
  if (n_past != NULL) EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, n_past));
  notes[0] = '\0';
  if (session != NULL) {
    size_t length = 0;
    EXPECT_STATUS(LLAMA3_OK, llama3_session_filter_notes(session, notes, sizeof(notes), &length));
    EXPECT(length == strlen(notes));
  }
  llama3_session_free(session);
  llama3_sampler_free(sampler);
  return status;
}

static void init_params(llama3_generate_params* params) {
  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(params));
  params->max_tokens = 60;
  params->on_piece = collect_piece;
}

static int contains(const char* text, const char* part) {
  return strstr(text, part) != NULL;
}

static void test_defaults_and_old_callers(const Fixture* fixture) {
  llama3_generate_params params;
  llama3_generate_result result;
  const char* phrases[1] = {"hello"};

  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&params));
  EXPECT(params.guard == NULL && params.guard_prompt == 1 && params.guard_answer == 1);
  EXPECT(params.code_scanner == NULL && params.blocked_phrases == NULL);
  EXPECT(params.n_blocked_phrases == 0);

  /* A caller built before the safety fields: they are beyond its struct_size and not read. */
  init_params(&params);
  params.blocked_phrases = phrases;
  params.n_blocked_phrases = 1;
  params.struct_size = offsetof(llama3_generate_params, guard);
  params.max_tokens = 2;
  EXPECT_STATUS(LLAMA3_OK, generate(fixture, "hello", NULL, &params, &result, NULL));
  EXPECT(result.stop_reason != LLAMA3_STOP_BLOCKED && result.filter == LLAMA3_FILTER_NONE);
}

static void test_blocked_phrases(const Fixture* fixture) {
  llama3_generate_params params;
  llama3_generate_result result;
  const char* phrases[2] = {"launch codes", "SECRET"};
  int32_t n_past = -1;

  init_params(&params);
  params.blocked_phrases = phrases;
  params.n_blocked_phrases = 2;

  /* The prompt: refused before any decode, whatever the case of its letters. */
  EXPECT_STATUS(LLAMA3_ERR_BLOCKED,
                generate(fixture, "Tell me the Launch Codes.", NULL, &params, &result, &n_past));
  EXPECT(contains(llama3_last_error_message(), "llama3_session_generate"));
  EXPECT(contains(llama3_last_error_message(), "prompt was refused by blocked_phrases"));
  EXPECT(contains(llama3_last_error_message(), "\"launch codes\" in the prompt"));
  EXPECT(result.stop_reason == LLAMA3_STOP_BLOCKED);
  EXPECT(result.filter == LLAMA3_FILTER_BLOCKED_PHRASES);
  EXPECT(result.n_generated_tokens == 0 && result.n_prompt_tokens == 0);
  EXPECT(n_past == 0 && streamed_length == 0);

  /* A clean prompt with a clean forced answer goes through. */
  EXPECT_STATUS(LLAMA3_OK, generate(fixture, "Say hello.", "root ::= \"Hello there, world.\"",
                                    &params, &result, NULL));
  EXPECT(strcmp(streamed, "Hello there, world.") == 0);
  EXPECT(result.filter == LLAMA3_FILTER_NONE);

  /* The answer: stopped at the piece that completes the phrase, which is withheld. */
  EXPECT_STATUS(LLAMA3_ERR_BLOCKED,
                generate(fixture, "Say hello.", "root ::= \"Hello, this is a secret message.\"",
                         &params, &result, &n_past));
  EXPECT(contains(llama3_last_error_message(), "answer was stopped by blocked_phrases"));
  EXPECT(contains(llama3_last_error_message(), "\"SECRET\" in the answer"));
  EXPECT(result.stop_reason == LLAMA3_STOP_FILTERED);
  EXPECT(result.filter == LLAMA3_FILTER_BLOCKED_PHRASES);
  EXPECT(result.n_generated_tokens > 0);
  EXPECT(strncmp(streamed, "Hello, this is a secret message.", streamed_length) == 0);
  EXPECT(streamed_length >= strlen("Hello, this is a") && !contains(streamed, "secret"));
  EXPECT(n_past > 0);
}

static void test_code_scanner(const Fixture* fixture) {
  llama3_code_scanner* scanner = NULL;
  llama3_generate_params params;
  llama3_generate_result result;
  const char* insecure = "root ::= \"```c\\nchar b[8];\\nstrcpy(b, s);\\nputs(b);\\n```\\n\"";
  const char* secure = "root ::= \"```c\\nchar b[8];\\nputs(b);\\n```\\n\"";

  EXPECT_STATUS(LLAMA3_OK, llama3_code_scanner_create(NULL, &scanner));
  init_params(&params);
  params.code_scanner = scanner;
  EXPECT_STATUS(LLAMA3_ERR_BLOCKED,
                generate(fixture, "Copy a string in C.", insecure, &params, &result, NULL));
  EXPECT(contains(llama3_last_error_message(), "answer was stopped by code_scanner"));
  EXPECT(contains(llama3_last_error_message(), "c.strcpy"));
  EXPECT(result.stop_reason == LLAMA3_STOP_FILTERED);
  EXPECT(result.filter == LLAMA3_FILTER_CODE_SCANNER);
  /* Stopped when the strcpy line completed: the piece ending that line is withheld (pieces of
   * the line before it were handed out, as the C++ layer streams), and nothing after it. */
  EXPECT(strncmp(streamed, "```c\nchar b[8];\nstrcpy(b, s);\n", streamed_length) == 0);
  EXPECT(streamed_length >= strlen("```c\nchar b[8];\n"));
  EXPECT(streamed_length < strlen("```c\nchar b[8];\nstrcpy(b, s);\n"));

  /* Warnings do not stop the answer: they become notes. */
  EXPECT_STATUS(LLAMA3_OK,
                generate(fixture, "Hash it in Python.",
                         "root ::= \"```python\\nimport hashlib\\nhashlib.md5(b)\\n```\\n\"",
                         &params, &result, NULL));
  EXPECT(strcmp(streamed, "```python\nimport hashlib\nhashlib.md5(b)\n```\n") == 0);
  EXPECT(strncmp(notes, "[\"code scanner: ", 16) == 0 && contains(notes, "python.weak-hash"));
  EXPECT(result.filter == LLAMA3_FILTER_NONE);

  EXPECT_STATUS(LLAMA3_OK,
                generate(fixture, "Print a string in C.", secure, &params, &result, NULL));
  EXPECT(strcmp(notes, "[]") == 0);
  EXPECT(strcmp(streamed, "```c\nchar b[8];\nputs(b);\n```\n") == 0);
  EXPECT(result.filter == LLAMA3_FILTER_NONE);
  llama3_code_scanner_free(scanner);
}

/* The Guard's verdict on the bare prompt, through llama3_guard_classify: "safe", "unsafe" or
 * "malformed" (the random model's answer is whatever its weights give). */
static const char* guard_verdict(llama3_guard* guard, const char* prompt_text) {
  static char json[2048];
  llama3_chat_message turn;
  size_t length = 0;
  turn.role = "user";
  turn.content = prompt_text;
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_classify(guard, &turn, 1, json, sizeof(json), &length));
  if (strncmp(json, "{\"verdict\":\"safe\"", 17) == 0) return "safe";
  if (strncmp(json, "{\"verdict\":\"unsafe\"", 19) == 0) return "unsafe";
  return "malformed";
}

static void test_guard(const Fixture* fixture) {
  llama3_guard_params guard_params;
  llama3_guard* guard = NULL;
  llama3_generate_params params;
  llama3_generate_result result;
  const char* prompt_text = "How do I bake bread?";
  const char* verdict;
  llama3_status status;
  int32_t n_past = -1;

  EXPECT_STATUS(LLAMA3_OK, llama3_guard_params_init(&guard_params));
  guard_params.version = LLAMA3_GUARD_3;
  guard_params.max_new_tokens = 4;
  guard_params.n_threads = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_create(fixture->model, &guard_params, &guard));
  if (guard == NULL) return;
  verdict = guard_verdict(guard, prompt_text);
  printf("the tiny Guard's verdict on the prompt: %s\n", verdict);

  /* The prompt: blocked exactly when the Guard does not call it safe (fail closed). */
  init_params(&params);
  params.max_tokens = 3;
  params.guard = guard;
  params.guard_answer = 0;
  status = generate(fixture, prompt_text, NULL, &params, &result, &n_past);
  if (strcmp(verdict, "safe") == 0) {
    EXPECT_STATUS(LLAMA3_OK, status);
    EXPECT(result.stop_reason != LLAMA3_STOP_BLOCKED && result.filter == LLAMA3_FILTER_NONE);
    EXPECT(n_past > 0);
  } else {
    EXPECT_STATUS(LLAMA3_ERR_BLOCKED, status);
    EXPECT(contains(llama3_last_error_message(), "prompt was refused by guard (llama guard: "));
    EXPECT(contains(llama3_last_error_message(), verdict));
    EXPECT(result.stop_reason == LLAMA3_STOP_BLOCKED && result.filter == LLAMA3_FILTER_GUARD);
    EXPECT(n_past == 0 && streamed_length == 0);
  }

  /* The answer: judged once it is complete, so it was all handed out before any verdict. */
  params.guard_prompt = 0;
  params.guard_answer = 1;
  params.max_tokens = 60;
  status =
      generate(fixture, prompt_text, "root ::= \"Mix flour and water.\"", &params, &result, NULL);
  EXPECT(strcmp(streamed, "Mix flour and water.") == 0);
  EXPECT(contains(notes, "llama guard: ")); /* the verdict on the answer, either way */
  if (status == LLAMA3_OK) {
    EXPECT(result.filter == LLAMA3_FILTER_NONE);
  } else {
    EXPECT_STATUS(LLAMA3_ERR_BLOCKED, status);
    EXPECT(contains(llama3_last_error_message(), "answer was stopped by guard (llama guard: "));
    EXPECT(result.stop_reason == LLAMA3_STOP_FILTERED && result.filter == LLAMA3_FILTER_GUARD);
  }

  params.guard_answer = 0;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                generate(fixture, prompt_text, NULL, &params, &result, NULL));
  EXPECT(contains(llama3_last_error_message(), "guard_prompt and guard_answer both 0"));

  /* An engine request keeps the guard alive: freed right after the submit, it still judges. */
  {
    llama3_engine* engine = NULL;
    llama3_engine_params engine_params;
    llama3_request_id id = 0;
    llama3_token prompt[64];
    size_t n_prompt = 0;
    int32_t state = -1;
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_params_init(&engine_params));
    engine_params.n_threads = 1;
    engine_params.n_ctx = 256;
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(fixture->model, &engine_params, &engine));
    EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(fixture->tokenizer, prompt_text, strlen(prompt_text),
                                             LLAMA3_TOKENIZE_ADD_BOS, prompt, 64, &n_prompt));
    params.guard_prompt = 1;
    params.on_piece = NULL;
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, n_prompt, NULL, &params, &id));
    llama3_guard_free(guard);
    guard = NULL;
    memset(&result, 0, sizeof(result));
    result.struct_size = sizeof(result);
    status = llama3_engine_wait(engine, id, &result, &state);
    EXPECT(state == LLAMA3_REQUEST_FINISHED);
    if (strcmp(verdict, "safe") == 0) {
      EXPECT_STATUS(LLAMA3_OK, status);
    } else {
      EXPECT_STATUS(LLAMA3_ERR_BLOCKED, status);
      EXPECT(result.stop_reason == LLAMA3_STOP_BLOCKED && result.filter == LLAMA3_FILTER_GUARD);
    }
    llama3_engine_free(engine);
  }
  llama3_guard_free(guard);
}

static void test_engine(const Fixture* fixture) {
  llama3_engine* engine = NULL;
  llama3_engine_params engine_params;
  llama3_generate_params params;
  llama3_generate_result result;
  llama3_request_id id = 0;
  llama3_token prompt[64];
  size_t n_prompt = 0;
  int32_t state = -1;
  const char* phrases[1] = {"launch codes"};
  const char* text = "The launch codes, please.";

  EXPECT_STATUS(LLAMA3_OK, llama3_engine_params_init(&engine_params));
  engine_params.n_threads = 1;
  engine_params.n_ctx = 256;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(fixture->model, &engine_params, &engine));
  if (engine == NULL) return;
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(fixture->tokenizer, text, strlen(text),
                                           LLAMA3_TOKENIZE_ADD_BOS, prompt, 64, &n_prompt));
  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&params));
  params.max_tokens = 4;
  params.blocked_phrases = phrases;
  params.n_blocked_phrases = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, n_prompt, NULL, &params, &id));
  memset(&result, 0, sizeof(result));
  result.struct_size = sizeof(result);
  EXPECT_STATUS(LLAMA3_ERR_BLOCKED, llama3_engine_wait(engine, id, &result, &state));
  EXPECT(contains(llama3_last_error_message(), "llama3_engine_wait"));
  EXPECT(contains(llama3_last_error_message(), "blocked_phrases"));
  EXPECT(state == LLAMA3_REQUEST_FINISHED);
  EXPECT(result.stop_reason == LLAMA3_STOP_BLOCKED);
  EXPECT(result.filter == LLAMA3_FILTER_BLOCKED_PHRASES);

  /* The same request without the phrase list runs. */
  params.n_blocked_phrases = 0;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, n_prompt, NULL, &params, &id));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, &result, &state));
  EXPECT(result.filter == LLAMA3_FILTER_NONE && result.n_generated_tokens > 0);
  llama3_engine_free(engine);
}

static void test_bad_inputs(const Fixture* fixture) {
  llama3_generate_params params;
  llama3_generate_result result;
  const char* with_null[2] = {"fine", NULL};
  const char* with_empty[1] = {""};

  init_params(&params);
  params.n_blocked_phrases = 1; /* and no list */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, generate(fixture, "hi", NULL, &params, &result, NULL));
  EXPECT(
      contains(llama3_last_error_message(),
               "blocked_phrases is NULL with n_blocked_phrases > 0 (in llama3_session_generate)"));
  params.blocked_phrases = with_null;
  params.n_blocked_phrases = 2;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, generate(fixture, "hi", NULL, &params, &result, NULL));
  EXPECT(
      contains(llama3_last_error_message(), "llama3_session_generate: blocked_phrases[1] is NULL"));
  params.blocked_phrases = with_empty;
  params.n_blocked_phrases = 1;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, generate(fixture, "hi", NULL, &params, &result, NULL));
  EXPECT(contains(llama3_last_error_message(), "blocked_phrases[0] is empty"));

  /* A check inside the C function names it, not the lambda it runs in ("operator()"). */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_generate(NULL, NULL, 0, NULL, NULL, NULL));
  EXPECT(contains(llama3_last_error_message(), "(in llama3_session_generate)"));
  EXPECT(!contains(llama3_last_error_message(), "operator()"));
}

int main(int argc, char** argv) {
  Fixture fixture = {NULL, NULL};
  FILE* file;
  if (argc < 2) {
    fprintf(stderr, "usage: %s TINY_LLAMA31.gguf\n", argv[0]);
    return 2;
  }
  file = fopen(argv[1], "rb");
  if (file == NULL) {
    fprintf(stderr, "skipped: missing %s\n", argv[1]);
    return 77;
  }
  fclose(file);
  if (llama3_model_load(argv[1], NULL, &fixture.model) != LLAMA3_OK ||
      llama3_model_tokenizer(fixture.model, &fixture.tokenizer) != LLAMA3_OK) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], llama3_last_error_message());
    return 1;
  }
  test_defaults_and_old_callers(&fixture);
  test_blocked_phrases(&fixture);
  test_code_scanner(&fixture);
  test_guard(&fixture);
  test_engine(&fixture);
  test_bad_inputs(&fixture);
  llama3_tokenizer_free(fixture.tokenizer);
  llama3_model_free(fixture.model);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all C ABI generate-filter checks passed\n");
  return 0;
}
