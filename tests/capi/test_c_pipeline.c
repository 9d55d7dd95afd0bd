/* The MPI pipeline through the C ABI (llama3_mpi.h), run by tests/distributed/mpirun_test.py's
 * `capi` case:
 *   test_c_pipeline MODEL alone      one process: llama3_session and llama3_engine on the model
 *   test_c_pipeline MODEL pipeline   under mpirun: every rank creates the pipeline; rank 0 does the
 *                                    same work through it while the others serve
 * Rank 0 (or the lone process) prints one line per result: a checksum of the prompt's logits, the
 * greedy generation's text and each engine request's text, which the caller compares between the
 * two runs. Misuse (a rank outside the job, calls before MPI runs) must fail cleanly. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_test_expect.h"
#include "llama3.h"
#include "llama3_mpi.h"

#define MAX_TOKENS 256
#define TEXT_CAPACITY 4096

static const char* const kPrompts[] = {"Once upon a time", "The dog ran", "Lily liked"};
enum { kNPrompts = 3 };

/* FNV-1a over the logits' bytes: equal logits give equal sums, bit for bit. */
static uint64_t checksum(const float* values, size_t n) {
  uint64_t hash = 1469598103934665603ull;
  const unsigned char* bytes = (const unsigned char*)values;
  size_t i;
  for (i = 0; i < n * sizeof(float); ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

typedef struct {
  char text[TEXT_CAPACITY];
  size_t length;
} text_sink;

static int collect(const char* piece, size_t length, void* user_data) {
  text_sink* sink = (text_sink*)user_data;
  if (sink->length + length < TEXT_CAPACITY) {
    memcpy(sink->text + sink->length, piece, length);
    sink->length += length;
    sink->text[sink->length] = '\0';
  }
  return 0; /* go on */
}

static size_t tokenize(const llama3_model* model, const char* text, llama3_token* ids) {
  llama3_tokenizer* tokenizer = NULL;
  size_t n = 0;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_tokenizer(model, &tokenizer));
  EXPECT_STATUS(LLAMA3_OK, llama3_tokenize(tokenizer, text, strlen(text), LLAMA3_TOKENIZE_ADD_BOS,
                                           ids, MAX_TOKENS, &n));
  llama3_tokenizer_free(tokenizer);
  return n;
}

/* Submits every prompt (greedy for even ones, seeded at temperature 0.9 for odd ones), then
 * prints each request's whole text. */
static void run_engine(llama3_engine* engine, const llama3_model* model) {
  llama3_request_id ids[kNPrompts];
  int i;
  for (i = 0; i < kNPrompts; ++i) {
    llama3_token prompt[MAX_TOKENS];
    const size_t n = tokenize(model, kPrompts[i], prompt);
    llama3_sampler_params sampling;
    llama3_generate_params params;
    llama3_sampler_params_init(&sampling);
    sampling.temperature = i % 2 == 0 ? 0.0f : 0.9f;
    sampling.seed = 100u + (uint64_t)i;
    llama3_generate_params_init(&params);
    params.max_tokens = 16;
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_submit(engine, prompt, n, &sampling, &params, &ids[i]));
  }
  for (i = 0; i < kNPrompts; ++i) {
    char text[TEXT_CAPACITY] = "";
    size_t length = 0;
    int32_t state = LLAMA3_REQUEST_QUEUED;
    llama3_generate_result result;
    memset(&result, 0, sizeof(result));
    result.struct_size = sizeof(result);
    /* Poll until the request ends, gathering its text (wait drops text not yet polled). */
    for (;;) {
      size_t piece = 0;
      const struct timespec pause = {0, 1000000};
      const llama3_status status =
          llama3_engine_poll(engine, ids[i], text + length, sizeof text - length, &piece, &state);
      EXPECT_STATUS(LLAMA3_OK, status);
      if (status != LLAMA3_OK) break;
      length += piece;
      if (state != LLAMA3_REQUEST_QUEUED && state != LLAMA3_REQUEST_RUNNING) break;
      nanosleep(&pause, NULL);
    }
    EXPECT_STATUS(LLAMA3_OK, llama3_engine_wait(engine, ids[i], &result, &state));
    EXPECT(state == LLAMA3_REQUEST_FINISHED);
    EXPECT(result.n_generated_tokens > 0);
    printf("engine %d: %d tokens: %s\n", i, result.n_generated_tokens, text);
  }
}

static void report_logits(const float* logits, size_t n_logits) {
  printf("logits: %zu values, checksum %016llx\n", n_logits,
         (unsigned long long)checksum(logits, n_logits));
}

static llama3_sampler* greedy_sampler(void) {
  llama3_sampler* sampler = NULL;
  llama3_sampler_params sampling;
  llama3_sampler_params_init(&sampling);
  sampling.temperature = 0.0f;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&sampling, &sampler));
  return sampler;
}

static void generate_params(llama3_generate_params* params, text_sink* sink) {
  llama3_generate_params_init(params);
  params->max_tokens = 12;
  params->on_piece = collect;
  params->user_data = sink;
}

static int alone(const char* path) {
  llama3_model* model = NULL;
  llama3_session* session = NULL;
  llama3_sampler* greedy = NULL;
  llama3_session_params session_params;
  llama3_engine_params engine_params;
  llama3_engine* engine = NULL;
  llama3_generate_params params;
  llama3_token ids[MAX_TOKENS];
  const float* logits = NULL;
  size_t n_logits = 0;
  text_sink sink = {"", 0};
  size_t n;
  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(path, NULL, &model));
  if (model == NULL) return 1;
  n = tokenize(model, kPrompts[0], ids);
  llama3_session_params_init(&session_params);
  session_params.n_ctx = 256;
  session_params.n_threads = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_session_create(model, &session_params, &session));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_decode(session, ids, n));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_logits(session, &logits, &n_logits));
  greedy = greedy_sampler();
  generate_params(&params, &sink);
  /* Logits first: generate overwrites the session's buffer. */
  report_logits(logits, n_logits);
  EXPECT_STATUS(LLAMA3_OK, llama3_session_reset(session));
  EXPECT_STATUS(LLAMA3_OK, llama3_session_generate(session, ids, n, greedy, &params, NULL));
  printf("generate: %s\n", sink.text);
  llama3_engine_params_init(&engine_params);
  engine_params.n_ctx = 256;
  engine_params.n_threads = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_engine_create(model, &engine_params, &engine));
  if (engine != NULL) run_engine(engine, model);
  llama3_engine_free(engine);
  llama3_sampler_free(greedy);
  llama3_session_free(session);
  llama3_model_free(model);
  return failures == 0 ? 0 : 1;
}

static int pipeline_run(const char* path) {
  llama3_pipeline* pipeline = NULL;
  llama3_pipeline_params pipeline_params;
  llama3_pipeline_params_init(&pipeline_params);
  pipeline_params.n_ctx = 256;
  pipeline_params.n_threads = 1;

  /* Before MPI runs, creating a pipeline is refused with a message, not a crash. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_pipeline_create(path, &pipeline_params, &pipeline));
  EXPECT(pipeline == NULL);
  EXPECT(llama3_mpi_launched() == 1);
  EXPECT_STATUS(LLAMA3_OK, llama3_mpi_init());
  EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_create(path, &pipeline_params, &pipeline));
  if (pipeline == NULL) return 1;

  if (llama3_pipeline_rank(pipeline) != 0) {
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_serve(pipeline));
  } else {
    llama3_model* model = NULL;
    llama3_sampler* greedy = NULL;
    llama3_engine_params engine_params;
    llama3_engine* engine = NULL;
    llama3_generate_params params;
    llama3_token ids[MAX_TOKENS];
    const float* logits = NULL;
    size_t n_logits = 0;
    text_sink sink = {"", 0};
    int32_t first = -1, last = -1, n_past = 0, previous_last = 0, r;
    char stats[8192];
    size_t stats_length = 0;
    size_t n;
    const int32_t n_ranks = llama3_pipeline_n_ranks(pipeline);
    for (r = 0; r < n_ranks; ++r) {
      EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_layers(pipeline, r, &first, &last));
      EXPECT(first == previous_last && last > first);
      previous_last = last;
    }
    EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                  llama3_pipeline_layers(pipeline, n_ranks, &first, &last));
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_model(pipeline, &model));
    n = tokenize(model, kPrompts[0], ids);
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_decode(pipeline, ids, n));
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_n_past(pipeline, &n_past));
    EXPECT(n_past == (int32_t)n);
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_logits(pipeline, &logits, &n_logits));
    greedy = greedy_sampler();
    generate_params(&params, &sink);
    report_logits(logits, n_logits);
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_reset(pipeline));
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_generate(pipeline, ids, n, greedy, &params, NULL));
    printf("generate: %s\n", sink.text);
    EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                  llama3_pipeline_stats_json(pipeline, 0, stats, 8, &stats_length));
    EXPECT_STATUS(LLAMA3_OK,
                  llama3_pipeline_stats_json(pipeline, 1, stats, sizeof stats, &stats_length));
    EXPECT(strstr(stats, "\"ranks\":[{\"first_layer\":0") != NULL);
    EXPECT(llama3_pipeline_failed(pipeline) == 0);
    llama3_engine_params_init(&engine_params);
    engine_params.n_ctx = 256;
    EXPECT_STATUS(LLAMA3_OK, llama3_pipeline_engine_create(pipeline, &engine_params, &engine));
    if (engine != NULL) run_engine(engine, model);
    llama3_engine_free(engine);
    llama3_sampler_free(greedy);
    llama3_model_free(model);
  }
  llama3_pipeline_free(pipeline);
  EXPECT_STATUS(LLAMA3_OK, llama3_mpi_finalize());
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL alone|pipeline\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[2], "alone") == 0) return alone(argv[1]);
  return pipeline_run(argv[1]);
}
