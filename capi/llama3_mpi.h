/* llama3_mpi.h: the MPI pipeline (one model's layers split across the ranks of an MPI job) in the C
 * ABI. Include it after llama3.h and link libllama3_mpi.so instead of libllama3.so: that library
 * is libllama3 with the pipeline and MPI linked in (the whole llama3.h ABI, plus the functions
 * below), so that libllama3.so itself never needs MPI. Built when CMake finds MPI (LLAMA3_MPI).
 *
 * Every rank of the job creates its pipeline with the same path and parameters (collective). Rank 0
 * then decodes, generates or creates an engine over it (the llama3_engine_* calls of llama3.h work
 * on that engine); every other rank calls llama3_pipeline_serve, which returns when rank 0 frees
 * its pipeline. Results are bit-identical to one process. docs/distributed.md has the whole story.
 *
 *   llama3_mpi_init();                                 // or MPI_Init_thread by the program
 *   llama3_pipeline* pipeline;
 *   llama3_pipeline_create(path, NULL, &pipeline);     // every rank
 *   if (llama3_pipeline_rank(pipeline) != 0) llama3_pipeline_serve(pipeline);
 *   else { llama3_pipeline_engine_create(pipeline, NULL, &engine); ...; llama3_engine_free(engine);
 * } llama3_pipeline_free(pipeline); llama3_mpi_finalize();
 */
#ifndef LLAMA3_MPI_H
#define LLAMA3_MPI_H

#include "llama3.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llama3_pipeline llama3_pipeline;

/* Whether this process was started by an MPI launcher (mpirun, mpiexec, a PMIx or Slurm launch). */
LLAMA3_API int32_t llama3_mpi_launched(void);
/* MPI_Init_thread (MPI_THREAD_SERIALIZED) unless MPI is already running; once per process. */
LLAMA3_API llama3_status llama3_mpi_init(void);
/* MPI_Finalize, when llama3_mpi_init started MPI; free every pipeline first. */
LLAMA3_API llama3_status llama3_mpi_finalize(void);
/* Ends every rank of the job (MPI_Abort): the way out after a rank stopped answering. */
LLAMA3_API void llama3_mpi_abort(int32_t exit_code);

typedef struct llama3_pipeline_params {
  size_t struct_size;
  int32_t n_ctx;         /* default 0: the model's, capped at 4096 */
  int32_t n_threads;     /* default 0: one per hardware thread of the rank's machine */
  int32_t kv_cache_type; /* LLAMA3_KV_CACHE_*; default F16 */
  const double* split;   /* n_split values, one per rank: layer counts or shares; NULL: even */
  size_t n_split;
  int32_t micro_batch;      /* prompt rows per message between ranks; default 0: picked */
  double timeout_seconds;   /* how long rank 0 waits for an answer; default 300 */
  int32_t use_communicator; /* nonzero: `communicator` below; default 0: MPI_COMM_WORLD */
  int32_t communicator;     /* a communicator as its Fortran handle (MPI_Comm_c2f) */
} llama3_pipeline_params;

LLAMA3_API llama3_status llama3_pipeline_params_init_sized(llama3_pipeline_params* params,
                                                           size_t struct_size);
#define llama3_pipeline_params_init(params) \
  llama3_pipeline_params_init_sized((params), sizeof(*(params)))

/* Collective: every rank calls it with the same path and parameters; each maps its own layers, then
 * the ranks compare the model, tokenizer and parameters (LLAMA3_ERR_INVALID_ARGUMENT on every rank
 * when they differ, naming the rank and what). MPI must be running. `params` may be NULL. */
LLAMA3_API llama3_status llama3_pipeline_create(const char* path,
                                                const llama3_pipeline_params* params,
                                                llama3_pipeline** out_pipeline);
/* Rank 0: releases the other ranks from llama3_pipeline_serve. Free engines made from it first.
 * NULL is a no-op. */
LLAMA3_API void llama3_pipeline_free(llama3_pipeline* pipeline);

LLAMA3_API int32_t llama3_pipeline_rank(const llama3_pipeline* pipeline);
LLAMA3_API int32_t llama3_pipeline_n_ranks(const llama3_pipeline* pipeline);
/* Rank `rank`'s layers [*out_first, *out_last); LLAMA3_ERR_INVALID_ARGUMENT outside the job. */
LLAMA3_API llama3_status llama3_pipeline_layers(const llama3_pipeline* pipeline, int32_t rank,
                                                int32_t* out_first, int32_t* out_last);
/* The model's share on this rank: its tokenizer and configuration are whole (llama3_model_tokenizer
 * and the llama3_model_* queries work), its weights are only this rank's layers (a session or
 * engine on it is refused). Free it with llama3_model_free. */
LLAMA3_API llama3_status llama3_pipeline_model(const llama3_pipeline* pipeline,
                                               llama3_model** out_model);

/* Ranks other than 0: runs what rank 0 asks for until rank 0 frees its pipeline. */
LLAMA3_API llama3_status llama3_pipeline_serve(llama3_pipeline* pipeline);

/* Rank 0 only (LLAMA3_ERR_INVALID_ARGUMENT elsewhere), as the llama3_session_* calls of the same
 * names: the context runs through every rank. A rank that stops answering gives LLAMA3_ERR_IO
 * after timeout_seconds; the pipeline is then unusable (llama3_mpi_abort). */
LLAMA3_API llama3_status llama3_pipeline_decode(llama3_pipeline* pipeline,
                                                const llama3_token* tokens, size_t n_tokens);
LLAMA3_API llama3_status llama3_pipeline_decode_all_logits(llama3_pipeline* pipeline,
                                                           const llama3_token* tokens,
                                                           size_t n_tokens,
                                                           const float** out_logits,
                                                           size_t* out_n_floats);
/* The logits after the last decoded token, valid until the next call on the pipeline. */
LLAMA3_API llama3_status llama3_pipeline_logits(const llama3_pipeline* pipeline,
                                                const float** out_logits, size_t* out_n_logits);
/* As llama3_session_generate (params->n_adapters must be 0; logprobs are not kept). */
LLAMA3_API llama3_status llama3_pipeline_generate(llama3_pipeline* pipeline,
                                                  const llama3_token* prompt, size_t n_prompt,
                                                  llama3_sampler* sampler,
                                                  const llama3_generate_params* params,
                                                  llama3_generate_result* result);
LLAMA3_API llama3_status llama3_pipeline_n_past(const llama3_pipeline* pipeline,
                                                int32_t* out_n_past);
LLAMA3_API llama3_status llama3_pipeline_reset(llama3_pipeline* pipeline);
LLAMA3_API llama3_status llama3_pipeline_truncate(llama3_pipeline* pipeline, int32_t n_tokens);

/* Rank 0: an engine (llama3.h's llama3_engine_*) whose steps run through every rank; `params`
 * as for llama3_engine_create (n_threads is rank 0's; the other ranks keep the pipeline's threads
 * and take the KV type from rank 0). Requests with LoRA adapters are refused. Make no other rank-0
 * call on the pipeline while it lives, and free it (llama3_engine_free) before the pipeline. */
LLAMA3_API llama3_status llama3_pipeline_engine_create(llama3_pipeline* pipeline,
                                                       const llama3_engine_params* params,
                                                       llama3_engine** out_engine);

/* Whether a rank stopped answering (any thread). */
LLAMA3_API int32_t llama3_pipeline_failed(const llama3_pipeline* pipeline);

/* Rank 0: every rank's counters as JSON, {"ranks": [{"first_layer", "last_layer",
 * "compute_seconds", "wait_seconds", "messages_sent", "bytes_sent", "resident_bytes"}, ...],
 * "decode_calls", "decode_seconds"}, written NUL-terminated into `json` (capacity bytes; the
 * length without the NUL in *out_length, LLAMA3_ERR_BUFFER_TOO_SMALL when it does not fit); reset
 * nonzero zeroes the counters after reading. */
LLAMA3_API llama3_status llama3_pipeline_stats_json(llama3_pipeline* pipeline, int32_t reset,
                                                    char* json, size_t capacity,
                                                    size_t* out_length);

#ifdef __cplusplus
}
#endif

#endif /* LLAMA3_MPI_H */
