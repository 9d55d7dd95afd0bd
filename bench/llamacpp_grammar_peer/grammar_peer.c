// Per-token time of llama.cpp's GBNF grammar sampler, by grammar_bench's protocol:
//   llamacpp_grammar_peer --vocab VOCAB.gguf [--steps N] [--warmup-walks N] [-o json] FILE.gbnf...
// VOCAB.gguf is any GGUF with the Llama 3 vocabulary; only the vocabulary is loaded
// (vocab_only). For each grammar (named after its file): the time of llama_sampler_init_grammar
// (parse + start stacks; llama.cpp precomputes nothing over the vocabulary) and of one
// llama_sampler_apply over all n_vocab candidates per token (p50 / p99 / max), along uniform
// random walks through the grammar after warm-up walks. Apply is what llama.cpp's grammar sampler
// does per token: it decodes every candidate's piece and sets the logit of each rejected candidate
// to -INFINITY in the llama_token_data_array. Every candidate enters with logit 0 (the value does
// not change the work: apply looks at every candidate whatever its logit), refilled untimed before
// each call. The walk picks uniformly among the candidates whose logit is not -INFINITY, accepts
// the pick, and ends when it picks an end-of-generation token (allowed only where the output is
// complete) or after 400 tokens; the sampler is then reset (llama_sampler_reset re-parses the
// grammar, untimed). Built and run by bench/compare_grammar_llamacpp.sh.
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

enum { kMaxWalkTokens = 400 };  // as grammar_bench: a walk that never closes still ends

typedef struct Result {
  char name[64];
  const char* error;  // why there is no result, or NULL
  double init_ms, first_apply_us, p50_us, p99_us, max_us;
  double cpu_p99_us, cpu_max_us;  // the thread's CPU time: unaffected by preemption
  double mean_allowed;            // allowed candidates per measured step
  size_t measured, walks;
} Result;

static double now_us(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

// splitmix64: a small seeded generator, the same on every platform.
static uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

// The same nearest-rank percentile as grammar_bench; sorts `values`.
static double percentile(double* values, size_t n, double p) {
  if (n == 0) return 0.0;
  qsort(values, n, sizeof *values, compare_doubles);
  size_t index = (size_t)ceil(p * (double)n);
  index = index == 0 ? 0 : index - 1;
  return values[index < n ? index : n - 1];
}

static char* read_file(const char* path) {
  FILE* file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  const long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char* text = malloc((size_t)size + 1);
  if (text && fread(text, 1, (size_t)size, file) != (size_t)size) {
    free(text);
    text = NULL;
  }
  if (text) text[size] = '\0';
  fclose(file);
  return text;
}

static void schema_name(const char* path, char* name, size_t size) {
  const char* base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(name, size, "%s", base);
  char* dot = strrchr(name, '.');
  if (dot && strcmp(dot, ".gbnf") == 0) *dot = '\0';
}

static void measure_grammar(const struct llama_vocab* vocab, const char* gbnf, int warmup_walks,
                            int steps, Result* result) {
  const int n_vocab = llama_vocab_n_tokens(vocab);
  double start = now_us(CLOCK_MONOTONIC);
  struct llama_sampler* sampler = llama_sampler_init_grammar(vocab, gbnf, "root");
  result->init_ms = (now_us(CLOCK_MONOTONIC) - start) / 1e3;
  if (!sampler) {
    result->error = "llama_sampler_init_grammar refused the grammar";  // its parser logs why
    return;
  }
  llama_token_data* candidates = malloc((size_t)n_vocab * sizeof *candidates);  // [n_vocab]
  llama_token* allowed = malloc((size_t)n_vocab * sizeof *allowed);             // [n_allowed]
  double* times = malloc((size_t)steps * sizeof *times);                        // [steps]
  double* cpu_times = malloc((size_t)steps * sizeof *cpu_times);                // [steps]
  double allowed_sum = 0;
  size_t measured = 0, step = 0;
  uint64_t rng = 1234;
  int walk = 0;
  for (; measured < (size_t)steps; ++walk) {
    if (walk > 0) llama_sampler_reset(sampler);
    for (int token = 0; token < kMaxWalkTokens && measured < (size_t)steps; ++token, ++step) {
      for (int id = 0; id < n_vocab; ++id) {
        candidates[id] = (llama_token_data){.id = id, .logit = 0.0f, .p = 0.0f};
      }
      llama_token_data_array array = {
          .data = candidates, .size = (size_t)n_vocab, .selected = -1, .sorted = false};
      start = now_us(CLOCK_MONOTONIC);
      const double cpu_start = now_us(CLOCK_THREAD_CPUTIME_ID);
      llama_sampler_apply(sampler, &array);
      const double cpu_us = now_us(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
      const double us = now_us(CLOCK_MONOTONIC) - start;
      if (step == 0) result->first_apply_us = us;  // the first call after init
      size_t n_allowed = 0;
      for (size_t i = 0; i < array.size; ++i) {
        if (array.data[i].logit != -INFINITY) allowed[n_allowed++] = array.data[i].id;
      }
      if (walk >= warmup_walks) {
        times[measured] = us;
        cpu_times[measured] = cpu_us;
        allowed_sum += (double)n_allowed;
        ++measured;
      }
      if (n_allowed == 0) break;
      const llama_token pick = allowed[next_random(&rng) % n_allowed];
      if (llama_vocab_is_eog(vocab, pick)) break;  // the output is complete and the walk stops
      llama_sampler_accept(sampler, pick);
    }
  }
  result->walks = (size_t)walk;
  result->measured = measured;
  result->mean_allowed = measured ? allowed_sum / (double)measured : 0;
  result->p50_us = percentile(times, measured, 0.50);
  result->p99_us = percentile(times, measured, 0.99);
  result->max_us = percentile(times, measured, 1.0);
  result->cpu_p99_us = percentile(cpu_times, measured, 0.99);
  result->cpu_max_us = percentile(cpu_times, measured, 1.0);
  free(cpu_times);
  free(times);
  free(allowed);
  free(candidates);
  llama_sampler_free(sampler);
}

static void quiet_log(enum ggml_log_level level, const char* text, void* user_data) {
  (void)user_data;
  if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);  // a grammar parse error, say
}

static int usage(void) {
  fprintf(stderr,
          "usage: llamacpp_grammar_peer --vocab VOCAB.gguf [--steps N] [--warmup-walks N] "
          "[-o json] FILE.gbnf...\n");
  return 2;
}

int main(int argc, char** argv) {
  const char* vocab_path = NULL;
  int steps = 1000, warmup_walks = 200, json = 0, first_grammar = argc;
  for (int i = 1; i < argc; ++i) {
    const int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--vocab") == 0 && has_value)
      vocab_path = argv[++i];
    else if (strcmp(argv[i], "--steps") == 0 && has_value)
      steps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--warmup-walks") == 0 && has_value)
      warmup_walks = atoi(argv[++i]);
    else if (strcmp(argv[i], "-o") == 0 && has_value)
      json = strcmp(argv[++i], "json") == 0;
    else if (argv[i][0] == '-')
      return usage();
    else {
      first_grammar = i;
      break;
    }
  }
  if (!vocab_path || first_grammar == argc || steps <= 0) return usage();
  llama_log_set(quiet_log, NULL);
  llama_backend_init();
  struct llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  double start = now_us(CLOCK_MONOTONIC);
  struct llama_model* model = llama_model_load_from_file(vocab_path, params);
  const double vocabulary_ms = (now_us(CLOCK_MONOTONIC) - start) / 1e3;
  if (!model) {
    fprintf(stderr, "llamacpp_grammar_peer: %s: llama.cpp could not load it\n", vocab_path);
    return 1;
  }
  const struct llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_results = argc - first_grammar;
  Result* results = calloc((size_t)n_results, sizeof *results);
  for (int r = 0; r < n_results; ++r) {
    const char* path = argv[first_grammar + r];
    schema_name(path, results[r].name, sizeof results[r].name);
    char* gbnf = read_file(path);
    if (!gbnf) {
      results[r].error = "cannot read the file";
      continue;
    }
    measure_grammar(vocab, gbnf, warmup_walks, steps, &results[r]);
    free(gbnf);
  }
  if (json) {
    printf(
        "{\"peer\": \"llama.cpp grammar sampler\", \"n_vocab\": %d, \"vocabulary_ms\": %.3f, "
        "\"schemas\": [",
        llama_vocab_n_tokens(vocab), vocabulary_ms);
    for (int r = 0; r < n_results; ++r) {
      const Result* x = &results[r];
      printf("%s{\"schema\": \"%s\"", r ? ", " : "", x->name);
      if (x->error) {
        printf(", \"error\": \"%s\"}", x->error);
        continue;
      }
      printf(
          ", \"init_ms\": %.3f, \"first_apply_us\": %.1f, \"apply_p50_us\": %.1f, "
          "\"apply_p99_us\": %.1f, \"apply_max_us\": %.1f, \"apply_cpu_p99_us\": %.1f, "
          "\"apply_cpu_max_us\": %.1f, \"mean_allowed\": %.1f, \"measured_steps\": %zu, "
          "\"walks\": %zu}",
          x->init_ms, x->first_apply_us, x->p50_us, x->p99_us, x->max_us, x->cpu_p99_us,
          x->cpu_max_us, x->mean_allowed, x->measured, x->walks);
    }
    printf("]}\n");
  } else {
    printf(
        "vocabulary: %d tokens; llama.cpp loaded it (vocab_only) in %.1f ms\n"
        "init: llama_sampler_init_grammar; apply: one llama_sampler_apply over all %d "
        "candidates, after %d warm-up walks, wall clock and (cpu) the thread's CPU time\n",
        llama_vocab_n_tokens(vocab), vocabulary_ms, llama_vocab_n_tokens(vocab), warmup_walks);
    printf("%-10s %9s %15s %10s %10s %10s %12s %12s %10s %8s %6s\n", "schema", "init ms",
           "first apply us", "p50 us", "p99 us", "max us", "cpu p99 us", "cpu max us", "allowed",
           "steps", "walks");
    for (int r = 0; r < n_results; ++r) {
      const Result* x = &results[r];
      if (x->error) {
        printf("%-10s error: %s\n", x->name, x->error);
        continue;
      }
      printf("%-10s %9.2f %15.1f %10.1f %10.1f %10.1f %12.1f %12.1f %10.1f %8zu %6zu\n", x->name,
             x->init_ms, x->first_apply_us, x->p50_us, x->p99_us, x->max_us, x->cpu_p99_us,
             x->cpu_max_us, x->mean_allowed, x->measured, x->walks);
    }
  }
  free(results);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
