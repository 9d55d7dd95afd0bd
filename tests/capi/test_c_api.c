/* ABI guards of llama3.h, in C: version, status names, NULL handles, struct_size, buffer-too-small,
 * out-of-range ids, decode past the context, cancelled loads and decodes, damaged state, chat
 * encoding, the log callback, quantize/convert (cancel, refusals) and LoRA adapters. Every misuse
 * must return its documented code and never crash.
 *
 *   test_c_api TINY_MODEL.gguf VOCAB.gguf     (exits 77 = skipped when VOCAB.gguf is missing) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_expect.h"
#include "llama3.h"

static int progress_calls = 0;
static int cancel_progress(float fraction, void* user_data) {
  (void)fraction;
  (void)user_data;
  ++progress_calls;
  return 1; /* cancel */
}

static int abort_after = 0;
static int count_then_abort(void* user_data) {
  int* calls = (int*)user_data;
  return ++*calls > abort_after;
}

static int log_messages = 0;
static void count_log(int32_t level, const char* message, void* user_data) {
  (void)level;
  (void)user_data;
  if (message != NULL && message[0] != '\0') ++log_messages;
}

static void test_version_and_names(void) {
  EXPECT(llama3_version() == LLAMA3_VERSION_NUMBER);
  EXPECT(strcmp(llama3_version_string(), LLAMA3_VERSION_STRING) == 0);
  EXPECT(strcmp(llama3_status_name(LLAMA3_OK), "ok") == 0);
  EXPECT(strcmp(llama3_status_name(LLAMA3_ERR_CONTEXT_FULL), "context_full") == 0);
  EXPECT(strcmp(llama3_status_name(LLAMA3_ERR_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
  EXPECT(strcmp(llama3_status_name((llama3_status)99), "unknown") == 0);
  EXPECT(strcmp(llama3_status_name((llama3_status)-1), "unknown") == 0);
}

static void test_null_handles(void) {
  int32_t value = 0;
  size_t size = 0;
  llama3_token token = 0;
  const llama3_token* token_view = NULL;
  const float* logits = NULL;
  llama3_model* model = NULL;
  llama3_session* session = NULL;
  llama3_tokenizer* tokenizer = NULL;
  llama3_sampler* sampler = NULL;
  float row[4] = {0, 1, 2, 3};

  llama3_model_free(NULL);
  llama3_tokenizer_free(NULL);
  llama3_session_free(NULL);
  llama3_sampler_free(NULL);

  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_model_load(NULL, NULL, &model));
  EXPECT(strlen(llama3_last_error_message()) > 0);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_model_load("x.gguf", NULL, NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_model_n_vocab(NULL, &value));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_model_tokenizer(NULL, &tokenizer));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_tokenize(NULL, "a", 1, 0, NULL, 0, &size));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_detokenize(NULL, &token, 1, 0, NULL, 0, &size));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_create(NULL, NULL, &session));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_decode(NULL, &token, 1));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_logits(NULL, &logits, &size));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_n_past(NULL, &value));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_reset(NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_truncate(NULL, 0));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_tokens(NULL, &token_view, &size));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_state_size(NULL, &size));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_load_state(NULL, row, sizeof(row)));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_generate(NULL, &token, 1, NULL, NULL, NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_sample(NULL, row, 4, &token));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_accept(NULL, 0));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_reset(NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, (llama3_model_params_init)(NULL));
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(NULL, &sampler));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_sample(sampler, NULL, 4, &token));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_sample(sampler, row, 0, &token));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_accept(sampler, -1));
  llama3_sampler_free(sampler);
}

static void test_struct_sizes(const char* model_path) {
  llama3_model_params params;
  llama3_model* model = NULL;
  llama3_sampler_params sampler_params;
  llama3_sampler* sampler = NULL;

  EXPECT_STATUS(LLAMA3_OK, llama3_model_params_init(&params));
  EXPECT(params.struct_size == sizeof(params) && params.use_mmap == 1 && params.progress == NULL);
  params.struct_size = 0;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_model_load(model_path, &params, &model));
  params.struct_size = sizeof(params) + 8;
  EXPECT_STATUS(LLAMA3_ERR_UNSUPPORTED, llama3_model_load(model_path, &params, &model));
  EXPECT(model == NULL);

  /* An older caller whose struct ends after use_mmap: the progress fields are not read, so the
   * cancelling callback left in them is never called. */
  params.struct_size = offsetof(llama3_model_params, progress);
  params.progress = cancel_progress;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, &params, &model));
  llama3_model_free(model);
  model = NULL;

  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&sampler_params));
  sampler_params.struct_size = 0;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_create(&sampler_params, &sampler));
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&sampler_params));
  sampler_params.top_p = 2.0f;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_create(&sampler_params, &sampler));
  EXPECT(strstr(llama3_last_error_message(), "top_p") != NULL);
  EXPECT(sampler == NULL);
}

static void test_load_errors(const char* model_path) {
  llama3_model_params params;
  llama3_model* model = NULL;
  EXPECT_STATUS(LLAMA3_ERR_IO, llama3_model_load("/nonexistent/model.gguf", NULL, &model));
  EXPECT(strstr(llama3_last_error_message(), "/nonexistent/model.gguf") != NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_model_params_init(&params));
  params.progress = cancel_progress;
  EXPECT_STATUS(LLAMA3_ERR_CANCELLED, llama3_model_load(model_path, &params, &model));
  EXPECT(progress_calls >= 1);
  EXPECT(model == NULL);
}

static void test_session_misuse(const char* model_path) {
  llama3_model* model = NULL;
  llama3_session* session = NULL;
  llama3_session_params params;
  llama3_token tokens[200];
  const float* logits = NULL;
  size_t n_logits = 0, state_size = 0;
  int32_t n_vocab = 0, n_past = -1;
  unsigned char garbage[64];
  int abort_calls = 0;
  const llama3_token* context_ids = NULL;
  size_t n_context_ids = 0;
  size_t i;

  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_model_n_vocab(model, &n_vocab));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_params_init(&params));
  params.n_ctx = 150;
  params.n_threads = 1;
  params.kv_cache_type = 7;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_create(model, &params, &session));
  params.kv_cache_type = LLAMA3_KV_CACHE_F32;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &session));
  llama3_model_free(model); /* the session keeps the weights alive */

  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(logits == NULL && n_logits == 0);
  for (i = 0; i < 200; ++i) tokens[i] = (llama3_token)(i % 100);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_decode(session, tokens, 0));
  tokens[3] = n_vocab;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_decode(session, tokens, 5));
  tokens[3] = -1;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_decode(session, tokens, 5));
  tokens[3] = 3;
  EXPECT_STATUS(LLAMA3_ERR_CONTEXT_FULL, llama3_session_decode(session, tokens, 151));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 0);

  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 140));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(logits != NULL && n_logits == (size_t)n_vocab && isfinite(logits[0]));
  EXPECT_STATUS(LLAMA3_ERR_CONTEXT_FULL, llama3_session_decode(session, tokens, 11));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 10));
  EXPECT_STATUS(LLAMA3_ERR_CONTEXT_FULL, llama3_session_decode(session, tokens, 1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 150);

  /* State: buffer too small reports the size; damaged bytes are refused. */
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_session_save_state(session, garbage, sizeof(garbage), &state_size));
  EXPECT(state_size > sizeof(garbage));
  memset(garbage, 0x5a, sizeof(garbage));
  EXPECT_STATUS(LLAMA3_ERR_BAD_FORMAT,
                llama3_session_load_state(session, garbage, sizeof(garbage)));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_load_state(session, NULL, 4));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 150);

  /* Truncate: out of range changes nothing; in range keeps the first ids and clears the logits. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_truncate(session, 151));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_truncate(session, -1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_tokens(session, &context_ids, &n_context_ids));
  EXPECT(n_context_ids == 150 && context_ids[139] == tokens[139] && context_ids[149] == tokens[9]);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_truncate(session, 100));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 100);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_tokens(session, &context_ids, &n_context_ids));
  EXPECT(n_context_ids == 100 && context_ids[99] == tokens[99]);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(logits == NULL && n_logits == 0);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_tokens(session, NULL, &n_context_ids));

  /* Shift: out of range changes nothing; in range drops the positions and their ids. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_shift_context(session, 10, 91));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_shift_context(session, 10, 0));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_shift_context(NULL, 1, 1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_shift_context(session, 10, 40));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 60);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_tokens(session, &context_ids, &n_context_ids));
  EXPECT(n_context_ids == 60 && context_ids[9] == tokens[9] && context_ids[10] == tokens[50]);
  llama3_session_free(session);

  /* Abort: a 140-token prefill runs in 64-token batches; aborting before the second batch fails
   * the decode and leaves the context empty. */
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  params.abort_callback = count_then_abort;
  params.abort_user_data = &abort_calls;
  abort_after = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &session));
  EXPECT_STATUS(LLAMA3_ERR_CANCELLED, llama3_session_decode(session, tokens, 140));
  EXPECT(abort_calls == 2);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_n_past(session, &n_past));
  EXPECT(n_past == 0);
  abort_after = 1000;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 140));
  llama3_session_free(session);
  llama3_model_free(model);
}

/* A q8_0 KV cache: sessions and engines take it; its saved state loads into a q8_0 session and is
 * refused, naming both types, by an f16 one. */
static void test_q8_0_kv_cache(const char* model_path) {
  llama3_model* model = NULL;
  llama3_session* q8 = NULL;
  llama3_session* restored = NULL;
  llama3_session* f16 = NULL;
  llama3_engine* engine = NULL;
  llama3_session_params params;
  llama3_engine_params engine_params;
  llama3_request_id id = 0;
  llama3_token tokens[12];
  unsigned char* state = NULL;
  size_t state_size = 0, n_logits = 0, i;
  const float* logits = NULL;
  float expected = 0.0f;
  int32_t request_state = -1;

  for (i = 0; i < 12; ++i) tokens[i] = (llama3_token)(i * 13 % 100);
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_params_init(&params));
  params.n_ctx = 32;
  params.n_threads = 1;
  params.kv_cache_type = LLAMA3_KV_CACHE_Q8_0;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &q8));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &restored));
  params.kv_cache_type = LLAMA3_KV_CACHE_F16;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &f16));

  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(q8, tokens, 11));
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL, llama3_session_save_state(q8, NULL, 0, &state_size));
  state = (unsigned char*)malloc(state_size);
  EXPECT(state != NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_save_state(q8, state, state_size, &state_size));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(q8, tokens + 11, 1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(q8, &logits, &n_logits));
  EXPECT(n_logits > 0 && isfinite(logits[0]));
  expected = logits[0];

  EXPECT_STATUS(LLAMA3_OK, llama3_session_load_state(restored, state, state_size));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(restored, tokens + 11, 1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(restored, &logits, &n_logits));
  EXPECT(logits[0] == expected);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_load_state(f16, state, state_size));
  EXPECT(strstr(llama3_last_error_message(), "q8_0") != NULL &&
         strstr(llama3_last_error_message(), "f16") != NULL);
  free(state);
  llama3_session_free(q8);
  llama3_session_free(restored);
  llama3_session_free(f16);

  EXPECT_STATUS(LLAMA3_OK, llama3_engine_params_init(&engine_params));
  engine_params.n_threads = 1;
  engine_params.n_ctx = 64;
  for (i = 0; i < 2; ++i) { /* the compact types in an engine's pool */
    engine_params.kv_cache_type = i == 0 ? LLAMA3_KV_CACHE_Q8_0 : LLAMA3_KV_CACHE_BF16;
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, &engine_params, &engine));
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, tokens, 12, NULL, NULL, &id));
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, NULL, &request_state));
    EXPECT(request_state == LLAMA3_REQUEST_FINISHED);
    llama3_engine_free(engine);
  }
  engine_params.kv_cache_type = 4;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_engine_create(model, &engine_params, &engine));
  EXPECT(strstr(llama3_last_error_message(), "kv_cache_type 4") != NULL);
  llama3_model_free(model);
}

static void test_engine(const char* model_path) {
  llama3_model* model = NULL;
  llama3_engine* engine = NULL;
  llama3_engine_params params;
  llama3_generate_params generate;
  llama3_generate_result result;
  llama3_request_id ids[3] = {0, 0, 0}, unknown = 987654;
  llama3_token tokens[80];
  char text[8];
  size_t length = 0, i;
  int32_t state = -1;

  llama3_engine_free(NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, (llama3_engine_params_init)(NULL));
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_params_init(&params));
  params.n_threads = 1;
  params.n_ctx = 64;
  params.when_pool_full = 9;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_engine_create(model, &params, &engine));
  params.when_pool_full = LLAMA3_POOL_FULL_WAIT;
  params.struct_size = sizeof(params) + 8;
  EXPECT_STATUS(LLAMA3_ERR_UNSUPPORTED, llama3_engine_create(model, &params, &engine));
  params.struct_size = sizeof(params);
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, &params, &engine));
  llama3_model_free(model); /* the engine keeps the weights alive */

  for (i = 0; i < 80; ++i) tokens[i] = (llama3_token)(i * 7 % 100);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_engine_submit(engine, tokens, 0, NULL, NULL, &ids[0]));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_engine_submit(engine, tokens, 10, NULL, NULL, NULL));
  EXPECT_STATUS(LLAMA3_ERR_CONTEXT_FULL,
                llama3_engine_submit(engine, tokens, 65, NULL, NULL, &ids[0]));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_engine_cancel(engine, unknown));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_engine_poll(engine, unknown, text, sizeof(text), &length, &state));

  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&generate));
  generate.context_shift = 1; /* sessions only */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_engine_submit(engine, tokens, 10, NULL, &generate, &ids[0]));
  generate.context_shift = 0;
  for (i = 0; i < 3; ++i) {
    /* The last runs until its context is full unless the cancel below ends it first. */
    generate.max_tokens = i < 2 ? 5 + (int32_t)i : 1000;
    EXPECT_STATUS(LLAMA3_OK,
                  llama3_engine_submit(engine, tokens, 10 + 10 * i, NULL, &generate, &ids[i]));
  }
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_cancel(engine, ids[2]));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_poll(engine, ids[0], text, sizeof(text), &length, &state));
  EXPECT(state >= LLAMA3_REQUEST_QUEUED && state <= LLAMA3_REQUEST_FINISHED);
  for (i = 0; i < 3; ++i) {
    memset(&result, 0, sizeof(result));
    result.struct_size = sizeof(result);
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, ids[i], &result, &state));
    if (i < 2) {
      EXPECT(state == LLAMA3_REQUEST_FINISHED);
      EXPECT(result.n_generated_tokens == 5 + (int32_t)i);
      EXPECT(result.n_prompt_tokens == 10 + 10 * (int32_t)i);
    } else {
      EXPECT(state == LLAMA3_REQUEST_CANCELLED || state == LLAMA3_REQUEST_FINISHED);
    }
  }
  /* A waited-for request is forgotten. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_engine_wait(engine, ids[0], NULL, NULL));
  llama3_engine_free(engine);
}

static void test_tokenizer_and_chat(const char* vocab_path) {
  llama3_tokenizer* tokenizer = NULL;
  llama3_token tokens[64];
  llama3_token bad = 1000000;
  size_t n = 0, length = 0;
  char text[64];
  llama3_chat_message dialog[2];
  llama3_chat_params chat;
  const char* hello = "Hello, world!";

  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_load(vocab_path, &tokenizer));
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_tokenize(tokenizer, hello, strlen(hello), 0, NULL, 0, &n));
  EXPECT(n == 4); /* "Hello" "," " world" "!" */
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_tokenize(tokenizer, hello, strlen(hello), 0, tokens, 2, &n));
  EXPECT(n == 4);
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(tokenizer, hello, strlen(hello), LLAMA3_TOKENIZE_ADD_BOS,
                                           tokens, 64, &n));
  EXPECT(n == 5 && tokens[0] == 128000 && tokens[1] == 9906);
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_detokenize(tokenizer, tokens + 1, 4, 0, text, 13, &length));
  EXPECT(length == 13); /* 13 bytes + NUL do not fit in 13 */
  EXPECT_STATUS(LLAMA3_OK, llama3_detokenize(tokenizer, tokens + 1, 4, 0, text, 14, &length));
  EXPECT(length == 13 && strcmp(text, hello) == 0);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_detokenize(tokenizer, &bad, 1, 0, text, sizeof(text), &length));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_token_piece(tokenizer, -5, 0, text, sizeof(text), &length));
  EXPECT_STATUS(LLAMA3_OK, llama3_token_piece(tokenizer, 128009, LLAMA3_DETOKENIZE_RENDER_SPECIAL,
                                              text, sizeof(text), &length));
  EXPECT(strcmp(text, "<|eot_id|>") == 0);
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(tokenizer, "<|eot_id|>", 10,
                                           LLAMA3_TOKENIZE_PARSE_SPECIAL, tokens, 64, &n));
  EXPECT(n == 1 && tokens[0] == 128009);

  dialog[0].role = "system";
  dialog[0].content = "Be brief.";
  dialog[1].role = "user";
  dialog[1].content = "Hi";
  EXPECT_STATUS(LLAMA3_OK, llama3_chat_params_init(&chat));
  chat.style = LLAMA3_CHAT_STYLE_LLAMA30;
  EXPECT_STATUS(LLAMA3_OK, llama3_chat_encode(tokenizer, dialog, 2, &chat, tokens, 64, &n));
  /* <|begin_of_text|> <|start_header_id|> system <|end_header_id|> "\n\n" Be brief . <|eot_id|> */
  EXPECT(n > 10 && tokens[0] == 128000 && tokens[1] == 128006 && tokens[n - 1] == 271);
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_chat_encode(tokenizer, dialog, 2, &chat, tokens, 3, &length));
  EXPECT(length == n);
  dialog[1].role = "robot";
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode(tokenizer, dialog, 2, &chat, tokens, 64, &n));
  EXPECT(strstr(llama3_last_error_message(), "robot") != NULL);
  chat.style = 5;
  dialog[1].role = "user";
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode(tokenizer, dialog, 2, &chat, tokens, 64, &n));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode_message(tokenizer, &dialog[1], 0, &chat, tokens, 64, &n));
  llama3_tokenizer_free(tokenizer);
}

/* A front end that keeps its session appends turns: the whole dialog's prompt must equal the
 * first message's prompt, then each later message alone, then the open assistant header. */
static void test_chat_turn_by_turn(const char* vocab_path) {
  llama3_tokenizer* tokenizer = NULL;
  llama3_token whole[128], first[128], turn[64], header[16];
  size_t n_whole = 0, n_first = 0, n_turn = 0, n_header = 0;
  llama3_chat_message dialog[3];
  llama3_chat_params chat;
  int style;
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenizer_load(vocab_path, &tokenizer));
  dialog[0].role = "system";
  dialog[0].content = "Be brief.";
  dialog[1].role = "user";
  dialog[1].content = "Hi";
  dialog[2].role = "assistant";
  dialog[2].content = "Hello!";
  for (style = LLAMA3_CHAT_STYLE_LLAMA30; style <= LLAMA3_CHAT_STYLE_LLAMA31; ++style) {
    EXPECT_STATUS(LLAMA3_OK, llama3_chat_params_init(&chat));
    chat.style = style;
    EXPECT_STATUS(LLAMA3_OK, llama3_chat_encode(tokenizer, dialog, 3, &chat, whole, 128, &n_whole));
    chat.add_generation_prompt = 0;
    EXPECT_STATUS(LLAMA3_OK, llama3_chat_encode(tokenizer, dialog, 2, &chat, first, 128, &n_first));
    EXPECT_STATUS(LLAMA3_OK,
                  llama3_chat_encode_message(tokenizer, &dialog[2], 0, &chat, turn, 64, &n_turn));
    EXPECT_STATUS(LLAMA3_OK,
                  llama3_chat_encode_header(tokenizer, "assistant", &chat, header, 16, &n_header));
    EXPECT(n_turn > 0 && turn[0] != 128000); /* no <|begin_of_text|> */
    /* <|start_header_id|> assistant <|end_header_id|> "\n\n" */
    EXPECT(n_header == 4 && header[0] == 128006 && header[3] == 271);
    EXPECT(n_first + n_turn + n_header == n_whole);
    if (n_first + n_turn + n_header == n_whole) {
      EXPECT(memcmp(whole, first, n_first * sizeof(llama3_token)) == 0);
      EXPECT(memcmp(whole + n_first, turn, n_turn * sizeof(llama3_token)) == 0);
      EXPECT(memcmp(whole + n_first + n_turn, header, n_header * sizeof(llama3_token)) == 0);
    }
  }
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_chat_encode_message(tokenizer, &dialog[2], 0, NULL, turn, 1, &n_turn));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode_header(tokenizer, "robot", NULL, header, 16, &n_header));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_chat_encode_message(tokenizer, NULL, 0, NULL, turn, 64, &n_turn));
  llama3_tokenizer_free(tokenizer);
}

/* The logits of every position of one batch equal decoding the tokens one by one, bit for bit. */
static void test_all_position_logits(const char* model_path) {
  llama3_model* model = NULL;
  llama3_session* batch = NULL;
  llama3_session* single = NULL;
  const llama3_token tokens[5] = {1, 20, 30, 40, 50};
  const float* all = NULL;
  const float* row = NULL;
  size_t n_all = 0, n_row = 0, t;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &batch));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &single));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode_all_logits(batch, tokens, 5, &all, &n_all));
  for (t = 0; t < 5; ++t) {
    EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(single, &tokens[t], 1));
    EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(single, &row, &n_row));
    EXPECT(n_all == 5 * n_row);
    if (n_all == 5 * n_row) EXPECT(memcmp(all + t * n_row, row, n_row * sizeof(float)) == 0);
  }
  /* llama3_session_logits then gives the batch's last row. */
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(batch, &row, &n_row));
  EXPECT(row != NULL && memcmp(all + 4 * n_row, row, n_row * sizeof(float)) == 0);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_decode_all_logits(batch, tokens, 5, NULL, &n_all));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_session_decode_all_logits(NULL, tokens, 5, &all, &n_all));
  llama3_session_free(single);
  llama3_session_free(batch);
  llama3_model_free(model);
}

static void test_log_callback(void) {
  llama3_model* model = NULL;
  EXPECT_STATUS(LLAMA3_OK, llama3_set_log_callback(count_log, LLAMA3_LOG_DEBUG, NULL));
  EXPECT_STATUS(LLAMA3_ERR_IO, llama3_model_load("/nonexistent/model.gguf", NULL, &model));
  EXPECT(log_messages >= 1);
  EXPECT_STATUS(LLAMA3_OK, llama3_set_log_callback(NULL, LLAMA3_LOG_DEBUG, NULL));
  log_messages = 0;
  EXPECT_STATUS(LLAMA3_ERR_IO, llama3_model_load("/nonexistent/model.gguf", NULL, &model));
  EXPECT(log_messages == 0);
}

static size_t convert_reports = 0;
static int count_convert_progress(size_t done, size_t total, const char* name, void* user_data) {
  (void)total;
  (void)name;
  ++convert_reports;
  return user_data != NULL && done >= *(const size_t*)user_data; /* stop at the given count */
}

static void test_quantize_and_convert(const char* model_path) {
  char out_path[4096];
  llama3_convert_params params;
  llama3_model* model = NULL;
  int32_t n_vocab = 0;
  size_t stop_at = 1;
  snprintf(out_path, sizeof out_path, "%s.c-api-q4_0.gguf", model_path);
  remove(out_path);

  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, (llama3_convert_params_init)(NULL));
  EXPECT_STATUS(LLAMA3_OK, llama3_convert_params_init(&params));
  EXPECT(params.struct_size == sizeof(params) && strcmp(params.type, "f16") == 0 &&
         params.n_threads == 0 && params.progress == NULL);
  params.type = "q4_0";
  params.progress = count_convert_progress;
  EXPECT_STATUS(LLAMA3_OK, llama3_quantize_gguf(model_path, out_path, &params));
  EXPECT(convert_reports >= 2);
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(out_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_model_n_vocab(model, &n_vocab));
  EXPECT(n_vocab > 0);
  llama3_model_free(model);

  /* Cancelled: the file written above stays as it was (it still loads). */
  params.progress_user_data = &stop_at;
  EXPECT_STATUS(LLAMA3_ERR_CANCELLED, llama3_quantize_gguf(model_path, out_path, &params));
  model = NULL;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(out_path, NULL, &model));
  llama3_model_free(model);

  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(model_path, model_path, NULL));
  EXPECT(strstr(llama3_last_error_message(), "is the input") != NULL);
  params.progress = NULL;
  params.type = "q3_xs";
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(model_path, out_path, &params));
  params.type = NULL;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(model_path, out_path, &params));
  params.type = "q8_0";
  params.struct_size = 0;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(model_path, out_path, &params));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(NULL, out_path, NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_quantize_gguf(model_path, "/dev/null", NULL));
  EXPECT_STATUS(LLAMA3_ERR_IO, llama3_convert_hf_to_gguf("/nonexistent/hf", out_path, NULL));
  remove(out_path);
}

/* A program built against an older llama3.h has shorter params structs. Its *_params_init must
 * write no byte past them: here each struct sits in a buffer whose tail past the older size is a
 * guard pattern, and init through the sized form with that size, and through the exported
 * function itself (the struct as first released), must leave the guard untouched. */
static int guard_intact(const unsigned char* bytes, size_t from, size_t to) {
  size_t i;
  for (i = from; i < to; ++i) {
    if (bytes[i] != 0xAB) return 0;
  }
  return 1;
}

/* Greedy generation with prompt lookup gives the plain context, reports its figures, and a caller
 * whose struct ends before the speculative fields gets plain decoding (the bytes there unread). */
static void generate_greedy(llama3_model* model, const llama3_generate_params* generate,
                            llama3_token* context, size_t* n_context,
                            llama3_generate_result* result, llama3_status expected) {
  llama3_session_params params;
  llama3_session* session = NULL;
  llama3_sampler_params sampler_params;
  llama3_sampler* sampler = NULL;
  llama3_token prompt[24];
  const llama3_token* ids = NULL;
  size_t i;
  for (i = 0; i < 24; ++i) prompt[i] = (llama3_token)(((i % 12) * 37 + 11) % 512); /* repeats */
  EXPECT_STATUS(LLAMA3_OK, llama3_session_params_init(&params));
  params.n_ctx = 96;
  params.n_threads = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &params, &session));
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&sampler_params));
  sampler_params.temperature = 0.0f;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampler_params, &sampler));
  EXPECT_STATUS(expected, llama3_session_generate(session, prompt, 24, sampler, generate, result));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_tokens(session, &ids, n_context));
  for (i = 0; i < *n_context && i < 96; ++i) context[i] = ids[i];
  llama3_sampler_free(sampler);
  llama3_session_free(session);
}

static void test_speculative(const char* model_path) {
  llama3_model* model = NULL;
  llama3_generate_params generate;
  llama3_generate_result plain_result, result;
  llama3_token plain[96], speculative[96];
  size_t n_plain = 0, n_speculative = 0;

  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&generate));
  EXPECT(generate.draft_model == NULL && generate.lookup_ngram == 0 && generate.draft_max == 8);
  generate.max_tokens = 40;
  plain_result.struct_size = sizeof plain_result;
  generate_greedy(model, &generate, plain, &n_plain, &plain_result, LLAMA3_OK);
  EXPECT(plain_result.n_drafted == 0 && plain_result.n_target_passes == 0);

  generate.lookup_ngram = 3;
  generate.draft_max = 5;
  result.struct_size = sizeof result;
  generate_greedy(model, &generate, speculative, &n_speculative, &result, LLAMA3_OK);
  EXPECT(n_speculative == n_plain && memcmp(plain, speculative, n_plain * sizeof plain[0]) == 0);
  EXPECT(result.n_generated_tokens == plain_result.n_generated_tokens);
  EXPECT(result.n_target_passes > 0 && result.n_target_passes <= result.n_generated_tokens);
  EXPECT(result.n_draft_accepted >= 0 && result.n_draft_accepted <= result.n_drafted);

  generate.draft_model = model; /* and lookup: one or the other */
  generate_greedy(model, &generate, speculative, &n_speculative, &result,
                  LLAMA3_ERR_INVALID_ARGUMENT);
  generate.lookup_ngram = 0;
  generate.draft_max = 33;
  generate_greedy(model, &generate, speculative, &n_speculative, &result,
                  LLAMA3_ERR_INVALID_ARGUMENT);

  /* An older caller: the speculative fields are beyond its struct and not read. */
  generate.struct_size = offsetof(llama3_generate_params, draft_model);
  generate_greedy(model, &generate, speculative, &n_speculative, &result, LLAMA3_OK);
  EXPECT(result.n_drafted == 0 && n_speculative == n_plain);
  llama3_model_free(model);
}

/* Prompt lookup and a draft model in the engine: the same number of tokens as plain greedy
 * decoding, the counters filled, both at once refused at submit. */
static void test_engine_speculative(const char* model_path) {
  llama3_model* model = NULL;
  llama3_model* draft = NULL;
  llama3_engine* engine = NULL;
  llama3_engine_params params;
  llama3_sampler_params greedy;
  llama3_generate_params generate;
  llama3_generate_result plain, result;
  llama3_request_id id = 0;
  llama3_token prompt[24];
  int32_t state = -1;
  size_t i;

  for (i = 0; i < 24; ++i) prompt[i] = (llama3_token)(((i % 12) * 37 + 11) % 512); /* repeats */
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_params_init(&params));
  params.n_threads = 1;
  params.n_ctx = 96;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, &params, &engine));
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&greedy));
  greedy.temperature = 0.0f;
  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&generate));
  generate.max_tokens = 40;

  memset(&plain, 0, sizeof plain);
  plain.struct_size = sizeof plain;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, 24, &greedy, &generate, &id));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, &plain, &state));
  EXPECT(state == LLAMA3_REQUEST_FINISHED && plain.n_drafted == 0);

  generate.lookup_ngram = 3;
  generate.draft_max = 5;
  memset(&result, 0, sizeof result);
  result.struct_size = sizeof result;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, 24, &greedy, &generate, &id));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, &result, &state));
  EXPECT(state == LLAMA3_REQUEST_FINISHED);
  EXPECT(result.n_generated_tokens == plain.n_generated_tokens);
  EXPECT(result.stop_reason == plain.stop_reason);
  EXPECT(result.n_target_passes > 0 && result.n_target_passes <= result.n_generated_tokens);
  EXPECT(result.n_draft_accepted >= 0 && result.n_draft_accepted <= result.n_drafted);

  /* Both kinds at once are refused. */
  generate.draft_model = model;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_engine_submit(engine, prompt, 24, &greedy, &generate, &id));

  /* A draft model (the same weights: every draft agrees), whose handle is freed right after
   * submitting: the request keeps the weights itself. */
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &draft));
  generate.lookup_ngram = 0;
  generate.draft_model = draft;
  generate.draft_threads = 1;
  memset(&result, 0, sizeof result);
  result.struct_size = sizeof result;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, 24, &greedy, &generate, &id));
  llama3_model_free(draft);
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, &result, &state));
  EXPECT(state == LLAMA3_REQUEST_FINISHED);
  EXPECT(result.n_generated_tokens == plain.n_generated_tokens);
  EXPECT(result.stop_reason == plain.stop_reason);
  EXPECT(result.n_drafted > 0 && result.n_draft_accepted > 0);
  EXPECT(result.n_target_passes < result.n_generated_tokens);
  llama3_engine_free(engine);
  llama3_model_free(model);
}

static void test_init_never_writes_past_an_older_struct(void) {
  union {
    llama3_sampler_params sampler;
    llama3_generate_params generate;
    llama3_chat_params chat;
    unsigned char bytes[512];
  } buffer;
  const size_t sampler_v1 = offsetof(llama3_sampler_params, grammar);
  const size_t generate_v1 = offsetof(llama3_generate_params, logprobs);
  const size_t chat_v1 = offsetof(llama3_chat_params, tools);

  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init_sized(&buffer.sampler, sampler_v1));
  EXPECT(buffer.sampler.struct_size == sampler_v1 && buffer.sampler.penalty_last_n == 64);
  EXPECT(guard_intact(buffer.bytes, sampler_v1, sizeof buffer.bytes));
  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_OK, (llama3_sampler_params_init)(&buffer.sampler));
  EXPECT(buffer.sampler.struct_size == sampler_v1);
  EXPECT(guard_intact(buffer.bytes, sampler_v1, sizeof buffer.bytes));

  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_OK, (llama3_generate_params_init)(&buffer.generate));
  EXPECT(buffer.generate.struct_size == generate_v1 && buffer.generate.max_tokens > 0);
  EXPECT(guard_intact(buffer.bytes, generate_v1, sizeof buffer.bytes));

  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_OK, (llama3_chat_params_init)(&buffer.chat));
  EXPECT(buffer.chat.struct_size == chat_v1 && buffer.chat.add_generation_prompt == 1);
  EXPECT(guard_intact(buffer.bytes, chat_v1, sizeof buffer.bytes));

  /* Through the macro, the whole struct of this header, with the new fields' defaults. */
  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&buffer.sampler));
  EXPECT(buffer.sampler.struct_size == sizeof(llama3_sampler_params));
  EXPECT(buffer.sampler.grammar == NULL);
  EXPECT(guard_intact(buffer.bytes, sizeof(llama3_sampler_params), sizeof buffer.bytes));

  /* A size the library cannot hold (newer header) or too small for struct_size is refused, and
   * nothing is written. */
  memset(buffer.bytes, 0xAB, sizeof buffer.bytes);
  EXPECT_STATUS(LLAMA3_ERR_UNSUPPORTED, llama3_sampler_params_init_sized(
                                            &buffer.sampler, sizeof(llama3_sampler_params) + 8));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_sampler_params_init_sized(&buffer.sampler, 2));
  EXPECT(guard_intact(buffer.bytes, 0, sizeof buffer.bytes));
}

/* A rank-4 PEFT adapter for the tiny model (dim 256, q 256, k/v 64, ffn 512, 2 layers), written by
 * hand: safetensors (u64 header length, JSON header, f32 data) with adapter_config.json beside it.
 * Returns 0 on success. */
static int write_tiny_adapter(const char* tensors_path, const char* config_path) {
  static const char* const modules[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                         "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                         "mlp.down_proj"};
  static const int outs[7] = {256, 64, 64, 256, 512, 512, 256};
  static const int ins[7] = {256, 256, 256, 256, 256, 256, 512};
  static char header[16384];
  size_t used = 0, offset = 0, length, i;
  int layer, m, half, n;
  unsigned char length_bytes[8];
  FILE* out;
  used += (size_t)snprintf(header + used, sizeof header - used, "{");
  for (layer = 0; layer < 2; ++layer) {
    for (m = 0; m < 7; ++m) {
      for (half = 0; half < 2; ++half) {
        const int rows = half ? outs[m] : 4, cols = half ? 4 : ins[m];
        const size_t bytes = (size_t)rows * (size_t)cols * 4;
        used += (size_t)snprintf(
            header + used, sizeof header - used,
            "%s\"base_model.model.model.layers.%d.%s.lora_%c.weight\":{\"dtype\":\"F32\","
            "\"shape\":[%d,%d],\"data_offsets\":[%lu,%lu]}",
            used > 1 ? "," : "", layer, modules[m], half ? 'B' : 'A', rows, cols,
            (unsigned long)offset, (unsigned long)(offset + bytes));
        offset += bytes;
      }
    }
  }
  used += (size_t)snprintf(header + used, sizeof header - used, "}");
  while (used % 8 != 0) header[used++] = ' ';
  out = fopen(tensors_path, "wb");
  if (out == NULL) return 1;
  length = used;
  for (i = 0; i < 8; ++i) length_bytes[i] = (unsigned char)(length >> (8 * i));
  fwrite(length_bytes, 1, 8, out);
  fwrite(header, 1, used, out);
  for (layer = 0; layer < 2; ++layer) {
    for (m = 0; m < 7; ++m) {
      for (half = 0; half < 2; ++half) {
        const int count = half ? outs[m] * 4 : 4 * ins[m];
        for (n = 0; n < count; ++n) {
          const float value = half ? 0.05f * (float)(n % 5 - 2) : 0.02f * (float)(n % 7 - 3);
          fwrite(&value, sizeof value, 1, out); /* little-endian hosts only, as the data files */
        }
      }
    }
  }
  fclose(out);
  out = fopen(config_path, "w");
  if (out == NULL) return 1;
  fputs("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8}", out);
  fclose(out);
  return 0;
}

static void test_lora(const char* model_path) {
  char tensors_path[4096], config_path[4096], merged_path[4096];
  const char* slash = strrchr(model_path, '/');
  const int dir_length = slash ? (int)(slash - model_path) : 1;
  llama3_model* model = NULL;
  llama3_session* session = NULL;
  llama3_lora* lora = NULL;
  llama3_engine* engine = NULL;
  llama3_generate_params generate;
  llama3_request_id id = 0;
  const float* logits = NULL;
  static float base[512];
  const float zero = 0.0f, not_a_number = NAN;
  const llama3_token tokens[4] = {1, 5, 9, 200};
  size_t n_logits = 0;
  int32_t rank = 0, state = -1;
  float scale = 0.0f;
  const char* adapter_path = tensors_path;
  snprintf(tensors_path, sizeof tensors_path, "%.*s/c-api-lora.safetensors", dir_length,
           slash ? model_path : ".");
  snprintf(config_path, sizeof config_path, "%.*s/adapter_config.json", dir_length,
           slash ? model_path : ".");
  snprintf(merged_path, sizeof merged_path, "%s.c-api-lora-merged.gguf", model_path);
  EXPECT(write_tiny_adapter(tensors_path, config_path) == 0);

  llama3_lora_free(NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_lora_load(NULL, tensors_path, &lora));
  EXPECT_STATUS(LLAMA3_ERR_IO, llama3_lora_load(model, "/nonexistent/adapter", &lora));
  EXPECT(lora == NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_lora_load(model, tensors_path, &lora));
  EXPECT_STATUS(LLAMA3_OK, llama3_lora_info(lora, &rank, &scale));
  EXPECT(rank == 4 && scale == 2.0f);

  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, NULL, &session));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 4));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(n_logits == 512);
  if (n_logits == 512) memcpy(base, logits, sizeof base);
  /* Scale 0 is the base bit for bit; scale 1 (NULL scales) changes the logits. */
  EXPECT_STATUS(LLAMA3_OK,
                llama3_session_set_adapters(session, (const llama3_lora* const*)&lora, &zero, 1));
  llama3_session_reset(session);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 4));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(n_logits == 512 && memcmp(base, logits, sizeof base) == 0);
  EXPECT_STATUS(LLAMA3_OK,
                llama3_session_set_adapters(session, (const llama3_lora* const*)&lora, NULL, 1));
  llama3_session_reset(session);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, tokens, 4));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  EXPECT(n_logits == 512 && memcmp(base, logits, sizeof base) != 0);
  EXPECT_STATUS(
      LLAMA3_ERR_INVALID_ARGUMENT,
      llama3_session_set_adapters(session, (const llama3_lora* const*)&lora, &not_a_number, 1));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_session_set_adapters(session, NULL, NULL, 1));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_set_adapters(session, NULL, NULL, 0));

  /* An engine request names its adapters in the generate params; a session's generate refuses
   * them. The request keeps the adapter alive after llama3_lora_free. */
  EXPECT_STATUS(LLAMA3_OK, llama3_generate_params_init(&generate));
  EXPECT(generate.adapters == NULL && generate.adapter_scales == NULL && generate.n_adapters == 0);
  generate.max_tokens = 3;
  generate.adapters = (const llama3_lora* const*)&lora;
  generate.n_adapters = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, NULL, &engine));
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, tokens, 4, NULL, &generate, &id));
  llama3_lora_free(lora);
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, id, NULL, &state));
  EXPECT(state == LLAMA3_REQUEST_FINISHED);
  llama3_engine_free(engine);
  llama3_session_free(session);
  llama3_model_free(model);

  /* Merged with each tensor's own type (NULL params). */
  remove(merged_path);
  EXPECT_STATUS(LLAMA3_OK,
                llama3_merge_lora(model_path, &adapter_path, NULL, 1, merged_path, NULL));
  model = NULL;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(merged_path, NULL, &model));
  llama3_model_free(model);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_merge_lora(model_path, NULL, NULL, 1, merged_path, NULL));
  remove(merged_path);
  remove(tensors_path);
  remove(config_path);
}

int main(int argc, char** argv) {
  FILE* vocab;
  if (argc < 3) {
    fprintf(stderr, "usage: %s TINY_MODEL.gguf VOCAB.gguf\n", argv[0]);
    return 2;
  }
  vocab = fopen(argv[2], "rb");
  if (vocab == NULL) {
    fprintf(stderr, "skipped: missing %s\n", argv[2]);
    return 77;
  }
  fclose(vocab);
  test_version_and_names();
  test_null_handles();
  test_struct_sizes(argv[1]);
  test_init_never_writes_past_an_older_struct();
  test_load_errors(argv[1]);
  test_session_misuse(argv[1]);
  test_engine(argv[1]);
  test_q8_0_kv_cache(argv[1]);
  test_lora(argv[1]);
  test_speculative(argv[1]);
  test_engine_speculative(argv[1]);
  test_tokenizer_and_chat(argv[2]);
  test_chat_turn_by_turn(argv[2]);
  test_all_position_logits(argv[1]);
  test_log_callback();
  test_quantize_and_convert(argv[1]);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all C ABI checks passed\n");
  return 0;
}
