/*
 * llama3.h — the stable C ABI of the llama3 library (pure C99).
 *
 * Stability promise (see docs/c-api.md):
 *   - A function, type, constant or struct field never changes meaning once released. New
 *     behaviour gets new names; nothing is removed before a major version.
 *   - Params/result structs begin with `size_t struct_size`. New fields are only ever appended.
 *     Callers fill defaults with the matching *_params_init(&params): a macro that passes
 *     sizeof(params) as the caller's header declares it to *_params_init_sized, which writes only
 *     that many bytes and sets struct_size to it. The library reads and writes only the fields
 *     that struct_size covers, so programs built against an older header keep working. (The
 *     function *_params_init itself, for callers that cannot use the macro such as other
 *     languages' FFI, fills the struct as it was first released; FFI callers that know their
 *     struct's size should call *_params_init_sized.)
 *   - Every exported C symbol starts with `llama3_`. libllama3.so also exports the C++ API
 *     (namespace llama3, include/llama3/); everything else in the shared library is hidden.
 *
 * Conventions:
 *   - Functions that can fail return llama3_status (numerically the same codes as the C++
 *     llama3::ErrorCode) and hand back results through out-parameters, which are left untouched on
 *     failure unless stated otherwise. On failure, llama3_last_error_message() describes it (naming
 *     the file, key, tensor or argument at fault) until the next failing call on the same thread.
 *   - Functions that cannot fail (version, names, *_free) return their value directly.
 *   - *_free(NULL) is a no-op. No C++ exception ever crosses this ABI.
 *   - Callbacks return int: nonzero means "stop" (cancel the load, abort the decode, stop the
 *     generation). Callbacks must not unwind (no longjmp, no C++ exceptions, no Rust panics).
 *   - Strings are UTF-8. Output text buffers follow snprintf: the length without the terminating
 *     NUL is reported, and the buffer needs one more byte for the NUL.
 *   - "buffer too small": functions that fill a caller buffer return LLAMA3_ERR_BUFFER_TOO_SMALL,
 *     write nothing, and report the required count; pass capacity 0 (buffer may be NULL) to ask.
 */
#ifndef LLAMA3_H
#define LLAMA3_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(LLAMA3_BUILDING_LIBRARY)
#define LLAMA3_API __declspec(dllexport)
#else
#define LLAMA3_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define LLAMA3_API __attribute__((visibility("default")))
#else
#define LLAMA3_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Version. Thread-safe.
 * ------------------------------------------------------------------------------------------- */
#define LLAMA3_VERSION_MAJOR 0
#define LLAMA3_VERSION_MINOR 1
#define LLAMA3_VERSION_PATCH 0
#define LLAMA3_VERSION_NUMBER \
  (LLAMA3_VERSION_MAJOR * 10000 + LLAMA3_VERSION_MINOR * 100 + LLAMA3_VERSION_PATCH)
#define LLAMA3_VERSION_STRING "0.1.0"

/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH; compare with LLAMA3_VERSION_NUMBER
 * to check that the header matches the library loaded at run time. */
LLAMA3_API uint32_t llama3_version(void);
/* "MAJOR.MINOR.PATCH" of the library loaded at run time. Static storage. */
LLAMA3_API const char* llama3_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors. Thread-safe; the last-error message is per thread.
 * ------------------------------------------------------------------------------------------- */
typedef enum llama3_status {
  LLAMA3_OK = 0,
  LLAMA3_ERR_INVALID_ARGUMENT = 1, /* out of range or inconsistent argument, NULL handle */
  LLAMA3_ERR_IO = 2,               /* a file could not be opened, mapped, read or written */
  LLAMA3_ERR_BAD_FORMAT = 3,       /* a file's (or state buffer's) bytes are malformed */
  LLAMA3_ERR_UNSUPPORTED = 4,      /* well-formed but not runnable here; struct_size too large */
  LLAMA3_ERR_OUT_OF_MEMORY = 5,
  LLAMA3_ERR_CONTEXT_FULL = 6,     /* a decode would go past the session's context window */
  LLAMA3_ERR_CANCELLED = 7,        /* a progress or abort callback asked to stop */
  LLAMA3_ERR_BLOCKED = 8,          /* a safety filter refused the input or stopped the output */
  LLAMA3_ERR_INTERNAL = 9,         /* a bug in this library */
  LLAMA3_ERR_BUFFER_TOO_SMALL = 10 /* the required size was reported through the out-parameter */
} llama3_status;

/* Short stable name of a status ("bad_format"); "unknown" for a value this library does not know.
 * Static storage. */
LLAMA3_API const char* llama3_status_name(llama3_status status);
/* Message of the last failing call on this thread ("" if none). Valid until the next llama3_ call
 * on this thread. */
LLAMA3_API const char* llama3_last_error_message(void);

/* ---------------------------------------------------------------------------------------------
 * Logging. The callback is process-wide: set it before other threads use the library (setting it
 * is atomic, but a message already being delivered may still reach the previous callback). It may
 * be called from any thread that calls into the library, concurrently.
 * ------------------------------------------------------------------------------------------- */
typedef enum llama3_log_level {
  LLAMA3_LOG_DEBUG = 0,
  LLAMA3_LOG_INFO = 1,
  LLAMA3_LOG_WARN = 2,
  LLAMA3_LOG_ERROR = 3
} llama3_log_level;

/* `message` is NUL-terminated, without a trailing newline, valid only during the call. */
typedef void (*llama3_log_callback)(int32_t level, const char* message, void* user_data);

/* NULL callback (the default) silences the library. Messages below `min_level` are not delivered.
 * Failing calls are logged at LLAMA3_LOG_DEBUG with their status and message; a loaded model at
 * LLAMA3_LOG_INFO; what the library changed on the caller's behalf (a thread count above the
 * machine's hardware threads, clamped to them) at LLAMA3_LOG_WARN. */
LLAMA3_API llama3_status llama3_set_log_callback(llama3_log_callback callback, int32_t min_level,
                                                 void* user_data);

/* ---------------------------------------------------------------------------------------------
 * Opaque handles.
 * ------------------------------------------------------------------------------------------- */
typedef int32_t llama3_token;
typedef struct llama3_model llama3_model;         /* immutable weights + config + tokenizer */
typedef struct llama3_tokenizer llama3_tokenizer; /* immutable vocabulary */
typedef struct llama3_session llama3_session;     /* one conversation: KV cache, position, logits */
typedef struct llama3_sampler llama3_sampler;     /* a seeded sampling chain with history */
typedef struct llama3_lora llama3_lora;           /* an immutable LoRA adapter for one model */
typedef struct llama3_code_scanner llama3_code_scanner; /* immutable insecure-code rules */
typedef struct llama3_guard llama3_guard;               /* a Llama Guard classifier */

/* ---------------------------------------------------------------------------------------------
 * Model. A loaded model is immutable: every function taking `const llama3_model*` is safe to call
 * from many threads at once. Sessions and tokenizers keep the weights alive, so a model may be
 * freed while they are still in use.
 * ------------------------------------------------------------------------------------------- */

/* Called with the fraction loaded (0..1); return nonzero to cancel (load then fails with
 * LLAMA3_ERR_CANCELLED). Runs on the loading thread. */
typedef int (*llama3_progress_callback)(float fraction, void* user_data);

typedef struct llama3_model_params {
  size_t struct_size;
  int32_t use_mmap;                  /* nonzero (default): map the file; 0: read it into memory */
  llama3_progress_callback progress; /* NULL (default): no progress reports */
  void* progress_user_data;
} llama3_model_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_model_params_init_sized(llama3_model_params* params,
                                                        size_t struct_size);
LLAMA3_API llama3_status(llama3_model_params_init)(llama3_model_params* params);
#define llama3_model_params_init(params) llama3_model_params_init_sized((params), sizeof(*(params)))
/* Loads a GGUF file. `params` may be NULL (defaults). */
LLAMA3_API llama3_status llama3_model_load(const char* path, const llama3_model_params* params,
                                           llama3_model** out_model);
LLAMA3_API void llama3_model_free(llama3_model* model);

LLAMA3_API llama3_status llama3_model_n_vocab(const llama3_model* model, int32_t* out);
/* The context length the model was trained for. */
LLAMA3_API llama3_status llama3_model_context_length(const llama3_model* model, int32_t* out);
LLAMA3_API llama3_status llama3_model_n_params(const llama3_model* model, uint64_t* out);
/* Metadata value as text ("" when absent), e.g. "general.name", "tokenizer.chat_template". */
LLAMA3_API llama3_status llama3_model_metadata(const llama3_model* model, const char* key,
                                               char* buffer, size_t capacity, size_t* out_length);
/* A new tokenizer handle sharing the model's vocabulary (free it with llama3_tokenizer_free).
 * LLAMA3_ERR_INVALID_ARGUMENT when the file carries no tokenizer. */
LLAMA3_API llama3_status llama3_model_tokenizer(const llama3_model* model,
                                                llama3_tokenizer** out_tokenizer);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer and chat format. Immutable: safe to use from many threads at once.
 * ------------------------------------------------------------------------------------------- */

/* Loads tokenizer.json, tokenizer.model (tiktoken) or the tokenizer of a .gguf file. */
LLAMA3_API llama3_status llama3_tokenizer_load(const char* path, llama3_tokenizer** out_tokenizer);
LLAMA3_API void llama3_tokenizer_free(llama3_tokenizer* tokenizer);

LLAMA3_API llama3_status llama3_tokenizer_vocab_size(const llama3_tokenizer* tokenizer,
                                                     size_t* out);
/* -1 when the vocabulary has none. */
LLAMA3_API llama3_status llama3_tokenizer_bos(const llama3_tokenizer* tokenizer, llama3_token* out);
LLAMA3_API llama3_status llama3_tokenizer_eos(const llama3_tokenizer* tokenizer, llama3_token* out);
/* *out = 1 for an end-of-generation token (<|eot_id|>, <|eom_id|>, <|end_of_text|>, EOS), else 0.
 */
LLAMA3_API llama3_status llama3_tokenizer_is_end_of_generation(const llama3_tokenizer* tokenizer,
                                                               llama3_token token, int32_t* out);

/* Flags of llama3_tokenize (or-ed). */
#define LLAMA3_TOKENIZE_ADD_BOS 1u       /* prepend BOS (never twice) */
#define LLAMA3_TOKENIZE_ADD_EOS 2u       /* append EOS */
#define LLAMA3_TOKENIZE_PARSE_SPECIAL 4u /* match special-token text such as "<|eot_id|>" */
/* Flags of llama3_detokenize and llama3_token_piece. */
#define LLAMA3_DETOKENIZE_RENDER_SPECIAL 1u /* render control tokens as their text */

/* Text (`text_length` bytes; need not be NUL-terminated) -> ids. On success *out_n_tokens is the
 * count written; when `capacity` is too small, returns LLAMA3_ERR_BUFFER_TOO_SMALL with the count
 * needed in *out_n_tokens. */
LLAMA3_API llama3_status llama3_tokenize(const llama3_tokenizer* tokenizer, const char* text,
                                         size_t text_length, uint32_t flags, llama3_token* tokens,
                                         size_t capacity, size_t* out_n_tokens);
/* Ids -> text bytes, NUL-terminated; *out_length excludes the NUL (capacity must be >= length + 1).
 * LLAMA3_ERR_INVALID_ARGUMENT for an id outside the vocabulary. */
LLAMA3_API llama3_status llama3_detokenize(const llama3_tokenizer* tokenizer,
                                           const llama3_token* tokens, size_t n_tokens,
                                           uint32_t flags, char* text, size_t capacity,
                                           size_t* out_length);
/* The raw bytes of one token (possibly part of a UTF-8 character), as llama3_detokenize. */
LLAMA3_API llama3_status llama3_token_piece(const llama3_tokenizer* tokenizer, llama3_token token,
                                            uint32_t flags, char* text, size_t capacity,
                                            size_t* out_length);

typedef struct llama3_chat_message {
  const char* role;    /* "system", "user", "assistant" or "ipython" */
  const char* content; /* plain text; special-token text in it is never parsed */
} llama3_chat_message;

#define LLAMA3_CHAT_STYLE_AUTO (-1) /* detect from chat_template / the vocabulary */
#define LLAMA3_CHAT_STYLE_LLAMA30 0 /* Llama 3 / Llama Guard 2: no default system block */
#define LLAMA3_CHAT_STYLE_LLAMA31 1 /* Llama 3.1+: system block with dates */

typedef struct llama3_chat_params {
  size_t struct_size;
  int32_t style;                 /* LLAMA3_CHAT_STYLE_*; default AUTO */
  int32_t add_generation_prompt; /* nonzero (default): end with the open assistant header */
  const char* chat_template;     /* used for style detection only; NULL (default): none */
  const char* today_date;        /* 3.1+ system block date; NULL (default): "26 Jul 2024" */
  /* Tool calling (3.1+). Custom tool definitions, each a JSON object text such as
   * {"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}},
   * rendered as Meta's templates do (LLAMA3_ERR_INVALID_ARGUMENT for invalid JSON). Default none.
   */
  const char* const* tools;
  size_t n_tools;
  int32_t tools_in_user_message; /* nonzero (default): definitions in the first user message */
  int32_t ipython_environment; /* nonzero: "Environment: ipython" line; default 0 (tools set it) */
  const char* const* builtin_tools; /* "brave_search", "wolfram_alpha", ...; default none */
  size_t n_builtin_tools;
  /* NULL (default) or [n_messages]: nonzero marks that assistant message as a tool call the model
   * made (rendered <|python_tag|> content <|eom_id|>); answer it with an "ipython" message. */
  const int32_t* message_is_tool_call;
} llama3_chat_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_chat_params_init_sized(llama3_chat_params* params,
                                                       size_t struct_size);
LLAMA3_API llama3_status(llama3_chat_params_init)(llama3_chat_params* params);
#define llama3_chat_params_init(params) llama3_chat_params_init_sized((params), sizeof(*(params)))
/* A dialog -> ids in the Llama 3 chat format (<|begin_of_text|> first). `params` may be NULL.
 * Buffer rules as llama3_tokenize. */
LLAMA3_API llama3_status llama3_chat_encode(const llama3_tokenizer* tokenizer,
                                            const llama3_chat_message* messages, size_t n_messages,
                                            const llama3_chat_params* params, llama3_token* tokens,
                                            size_t capacity, size_t* out_n_tokens);

/* One message alone: its header, its content and its end token (<|eot_id|>, or <|eom_id|> for a
 * tool call when is_tool_call is nonzero), without <|begin_of_text|> or the 3.1 system block, so a
 * chat front end that keeps a session can append the new turn instead of re-encoding the dialog.
 * `params` (may be NULL) selects the style. Buffer rules as llama3_tokenize. */
LLAMA3_API llama3_status llama3_chat_encode_message(
    const llama3_tokenizer* tokenizer, const llama3_chat_message* message, int32_t is_tool_call,
    const llama3_chat_params* params, llama3_token* tokens, size_t capacity, size_t* out_n_tokens);
/* The header that opens a turn of `role` (e.g. "assistant" before generating its answer). */
LLAMA3_API llama3_status llama3_chat_encode_header(const llama3_tokenizer* tokenizer,
                                                   const char* role,
                                                   const llama3_chat_params* params,
                                                   llama3_token* tokens, size_t capacity,
                                                   size_t* out_n_tokens);

/* Reads the tool calls in an assistant answer (decoded with LLAMA3_DETOKENIZE_RENDER_SPECIAL; a
 * trailing <|eom_id|> / <|eot_id|> is ignored): JSON {"name", "parameters"} calls (several
 * separated by ';' or newlines), Llama 3.2's pythonic list [f(a=1)], built-in `name.call(...)` and
 * <|python_tag|> code. Writes a JSON object (buffer rules as llama3_detokenize, in bytes):
 *   {"content": "...", "tool_calls": [{"name": "...", "arguments": {...}}, ...]}
 * A malformed answer is never guessed into a call: it comes back as content with no calls. */
LLAMA3_API llama3_status llama3_parse_tool_calls(const char* answer, size_t answer_length,
                                                 char* json, size_t capacity, size_t* out_length);

/* ---------------------------------------------------------------------------------------------
 * Grammars (structured output). A grammar is compiled once against a tokenizer's vocabulary and
 * may then be shared by any number of samplers and engine requests, on any threads (it is
 * immutable; the token masks it caches are shared). The vocabulary's byte trie is built on the
 * first grammar compiled for a tokenizer handle and reused for the next ones.
 * ------------------------------------------------------------------------------------------- */
typedef struct llama3_grammar llama3_grammar;

/* GBNF text (llama.cpp's notation), start rule "root". LLAMA3_ERR_INVALID_ARGUMENT with the line
 * and column (or the rule) at fault in llama3_last_error_message(). */
LLAMA3_API llama3_status llama3_grammar_from_gbnf(const llama3_tokenizer* tokenizer,
                                                  const char* gbnf, llama3_grammar** out_grammar);
/* A JSON Schema as JSON text; "{}" allows any JSON value. A keyword the library does not enforce
 * is LLAMA3_ERR_INVALID_ARGUMENT naming it. */
LLAMA3_API llama3_status llama3_grammar_from_json_schema(const llama3_tokenizer* tokenizer,
                                                         const char* schema,
                                                         llama3_grammar** out_grammar);
/* A regular expression the whole output must match. */
LLAMA3_API llama3_status llama3_grammar_from_regex(const llama3_tokenizer* tokenizer,
                                                   const char* pattern,
                                                   llama3_grammar** out_grammar);
/* Samplers made with the grammar keep it alive: it may be freed once they are created. */
LLAMA3_API void llama3_grammar_free(llama3_grammar* grammar);

/* ---------------------------------------------------------------------------------------------
 * Sampler. One sampler must not be used by two threads at once; different samplers are
 * independent.
 * ------------------------------------------------------------------------------------------- */
typedef struct llama3_logit_bias {
  llama3_token token;
  float bias; /* added to the token's logit; -INFINITY bans it */
} llama3_logit_bias;

typedef struct llama3_sampler_params {
  size_t struct_size;
  float temperature;                   /* default 0.6; <= 0: greedy */
  int32_t top_k;                       /* default 0 (off) */
  float top_p;                         /* default 0.9; 1: off */
  float min_p;                         /* default 0 (off) */
  float repeat_penalty;                /* default 1 (off) */
  float frequency_penalty;             /* default 0 */
  float presence_penalty;              /* default 0 */
  int32_t penalty_last_n;              /* default 64; 0 off, -1 whole history */
  uint64_t seed;                       /* default fixed (reproducible); same seed, same tokens */
  const llama3_logit_bias* logit_bias; /* copied at creation; default NULL */
  size_t n_logit_bias;
  /* Structured output: tokens the grammar forbids are masked before top-k, and end-of-generation
   * is allowed only where the output is complete. Default NULL. The sampler follows the output
   * through llama3_sampler_accept (so accept only generated tokens, never the prompt's, on a
   * sampler with a grammar; llama3_session_generate does this itself). */
  const llama3_grammar* grammar;
} llama3_sampler_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_sampler_params_init_sized(llama3_sampler_params* params,
                                                          size_t struct_size);
LLAMA3_API llama3_status(llama3_sampler_params_init)(llama3_sampler_params* params);
#define llama3_sampler_params_init(params) \
  llama3_sampler_params_init_sized((params), sizeof(*(params)))
/* `params` may be NULL (defaults). LLAMA3_ERR_INVALID_ARGUMENT names an out-of-range field. */
LLAMA3_API llama3_status llama3_sampler_create(const llama3_sampler_params* params,
                                               llama3_sampler** out_sampler);
LLAMA3_API void llama3_sampler_free(llama3_sampler* sampler);
/* Picks a token from one row of logits (n_logits = the model's n_vocab). Does not record it. */
LLAMA3_API llama3_status llama3_sampler_sample(llama3_sampler* sampler, const float* logits,
                                               size_t n_logits, llama3_token* out_token);
/* A token a draw could return, with its final probability (after temperature). */
typedef struct llama3_token_probability {
  llama3_token token;
  float probability;
} llama3_token_probability;
/* The tokens a draw from `logits` could return at this position (what survives bias, penalties,
 * the grammar, top-k, top-p and min-p), most likely first (ties: lowest id), with their final
 * probabilities (after temperature; they sum to 1); greedy gives the argmax with probability 1.
 * Writes the `capacity` most likely (`candidates` may be NULL when capacity is 0), *out_n their
 * count, and *out_n_total (may be NULL) the count of all of them. Advances no random state and
 * records nothing: a llama3_sampler_sample on the same logits then draws from exactly these. */
LLAMA3_API llama3_status llama3_sampler_candidates(llama3_sampler* sampler, const float* logits,
                                                   size_t n_logits,
                                                   llama3_token_probability* candidates,
                                                   size_t capacity, size_t* out_n,
                                                   size_t* out_n_total);
/* Records an emitted (or prompt) token for the penalties, and advances the grammar if any
 * (LLAMA3_ERR_INVALID_ARGUMENT, nothing recorded, when the grammar forbids the token). */
LLAMA3_API llama3_status llama3_sampler_accept(llama3_sampler* sampler, llama3_token token);
/* Forgets the history and rewinds the generator to the seed. */
LLAMA3_API llama3_status llama3_sampler_reset(llama3_sampler* sampler);

/* ---------------------------------------------------------------------------------------------
 * Session. A session is used by one thread at a time (calls on one session must not overlap);
 * different sessions, even of one model, may run on different threads at once. Exception: the
 * abort callback is called on the thread running the decode and may read state set by another
 * thread (make that state atomic).
 * ------------------------------------------------------------------------------------------- */

/* Asked before each batch of at most 64 tokens of a decode and before every generated token;
 * return nonzero to abort: the call fails with LLAMA3_ERR_CANCELLED and the interrupted decode
 * leaves the context as it was before it. */
typedef int (*llama3_abort_callback)(void* user_data);

#define LLAMA3_KV_CACHE_F16 0
#define LLAMA3_KV_CACHE_F32 1
/* Q8_0: blocks of 32 int8 values with one f16 scale (llama.cpp's Q8_0), about half of F16's memory
 * and reads; logits stay within 5e-2 of their scale of an F32 cache's (docs/kv-cache.md). */
#define LLAMA3_KV_CACHE_Q8_0 2
/* BF16: F16's memory with 8 mantissa bits instead of 11. On CPUs with AVX512-BF16 attention
 * multiplies in bf16, so prompts at depth run about 1.7x faster than with F16; logits stay within
 * 5e-2 of their scale of an F32 cache's (docs/kv-cache.md). */
#define LLAMA3_KV_CACHE_BF16 3

typedef struct llama3_session_params {
  size_t struct_size;
  int32_t n_ctx;                        /* default 0: the model's context length, capped at 4096 */
  int32_t n_threads;                    /* default 0: one per hardware thread */
  int32_t kv_cache_type;                /* LLAMA3_KV_CACHE_*; default F16 */
  llama3_abort_callback abort_callback; /* default NULL: never abort */
  void* abort_user_data;
} llama3_session_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_session_params_init_sized(llama3_session_params* params,
                                                          size_t struct_size);
LLAMA3_API llama3_status(llama3_session_params_init)(llama3_session_params* params);
#define llama3_session_params_init(params) \
  llama3_session_params_init_sized((params), sizeof(*(params)))
/* `params` may be NULL (defaults). */
LLAMA3_API llama3_status llama3_session_create(const llama3_model* model,
                                               const llama3_session_params* params,
                                               llama3_session** out_session);
LLAMA3_API void llama3_session_free(llama3_session* session);

/* Runs `tokens` after those already in the context (a prefill batch, or one decode step).
 * LLAMA3_ERR_CONTEXT_FULL (session unchanged) when they do not fit; LLAMA3_ERR_INVALID_ARGUMENT for
 * an id outside the vocabulary or n_tokens == 0. */
LLAMA3_API llama3_status llama3_session_decode(llama3_session* session, const llama3_token* tokens,
                                               size_t n_tokens);
/* As llama3_session_decode, and returns the logits of every position of the batch: [n_tokens x
 * n_vocab] floats, row t for tokens[t], owned by the session and valid until the next decode,
 * generate, reset, load_state or free of this session (*out_n_floats = n_tokens * n_vocab).
 * For scoring a text (perplexity, log-likelihood of a continuation) in one call. */
LLAMA3_API llama3_status llama3_session_decode_all_logits(llama3_session* session,
                                                          const llama3_token* tokens,
                                                          size_t n_tokens, const float** out_logits,
                                                          size_t* out_n_floats);
/* The logits after the last decoded token, [n_vocab] floats owned by the session. The pointer is
 * valid until the next decode, generate, reset, load_state or free of this session. Before the
 * first decode: *out_logits = NULL, *out_n_logits = 0. */
LLAMA3_API llama3_status llama3_session_logits(const llama3_session* session,
                                               const float** out_logits, size_t* out_n_logits);
LLAMA3_API llama3_status llama3_session_n_past(const llama3_session* session, int32_t* out);
LLAMA3_API llama3_status llama3_session_n_ctx(const llama3_session* session, int32_t* out);
/* Forgets the context (n_past becomes 0). */
LLAMA3_API llama3_status llama3_session_reset(llama3_session* session);
/* Keeps the first n_tokens positions and drops the rest (0 <= n_tokens <= n_past, else
 * LLAMA3_ERR_INVALID_ARGUMENT and nothing changes). Dropping any position clears the logits:
 * decode at least one token before sampling again. */
LLAMA3_API llama3_status llama3_session_truncate(llama3_session* session, int32_t n_tokens);
/* Drops positions [n_keep, n_keep + n_discard) and moves the later ones down, re-rotating their
 * keys, so that the context has room again (0 <= n_keep, 0 < n_discard, n_keep + n_discard <=
 * n_past, else LLAMA3_ERR_INVALID_ARGUMENT and nothing changes). The logits of the last token stay.
 */
LLAMA3_API llama3_status llama3_session_shift_context(llama3_session* session, int32_t n_keep,
                                                      int32_t n_discard);
/* The ids in the context, [n_past], owned by the session and valid until its next change. *out_n
 * is 0 when the context came from a state that did not record its ids. */
LLAMA3_API llama3_status llama3_session_tokens(const llama3_session* session,
                                               const llama3_token** out_tokens, size_t* out_n);

/* ---------------------------------------------------------------------------------------------
 * LoRA adapters (docs/lora.md): low-rank updates W·x + scale·(alpha/r)·B·(A·x) of a model's
 * linear layers, from a PEFT or torchtune folder (adapter_config.json + adapter_model.safetensors,
 * torchtune's adapter_model.pt or PEFT's adapter_model.bin) or that tensor file, with PEFT's or
 * torchtune's tensor names. An adapter is loaded for one model
 * and is immutable: any number of sessions and engine requests on any thread may use it, and they
 * keep it alive, so llama3_lora_free may come before they end.
 * ------------------------------------------------------------------------------------------- */
/* LLAMA3_ERR_IO (unreadable), LLAMA3_ERR_BAD_FORMAT naming the tensor or key (a shape or rank
 * mismatch, a missing A or B, NaN/Inf, an unknown target), LLAMA3_ERR_UNSUPPORTED (DoRA,
 * per-module ranks, bias or embedding adapters). */
LLAMA3_API llama3_status llama3_lora_load(const llama3_model* model, const char* path,
                                          llama3_lora** out_lora);
/* NULL is a no-op. */
LLAMA3_API void llama3_lora_free(llama3_lora* lora);
/* The adapter's rank and its own scale (lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA). */
LLAMA3_API llama3_status llama3_lora_info(const llama3_lora* lora, int32_t* out_rank,
                                          float* out_scale);
/* Replaces the session's adapters from the next decode on; `scales` may be NULL (1 for each),
 * n_adapters 0 removes them (the base model, bit for bit, as is a scale of 0). The context
 * already decoded keeps what the earlier adapters computed: reset or truncate to recompute it.
 * LLAMA3_ERR_INVALID_ARGUMENT (nothing changed) for an adapter loaded for a model of another
 * shape or a scale that is not finite. */
LLAMA3_API llama3_status llama3_session_set_adapters(llama3_session* session,
                                                     const llama3_lora* const* adapters,
                                                     const float* scales, size_t n_adapters);

/* Called with each piece of generated text as soon as it is complete UTF-8 (`piece` is
 * NUL-terminated, `length` bytes, valid only during the call). Return nonzero to stop. */
typedef int (*llama3_piece_callback)(const char* piece, size_t length, void* user_data);

#define LLAMA3_STOP_END_OF_GENERATION 0 /* an end-of-generation token */
#define LLAMA3_STOP_MAX_TOKENS 1
#define LLAMA3_STOP_STOP_STRING 2
#define LLAMA3_STOP_CALLBACK 3 /* the piece callback returned nonzero */
#define LLAMA3_STOP_CONTEXT_FULL 4
#define LLAMA3_STOP_BLOCKED 5  /* a safety filter refused the prompt: nothing was decoded */
#define LLAMA3_STOP_FILTERED 6 /* a safety filter stopped the answer, or rejected it at the end */

/* The safety filter that ended a generation (llama3_generate_result.filter). */
#define LLAMA3_FILTER_NONE 0
#define LLAMA3_FILTER_BLOCKED_PHRASES 1 /* llama3_generate_params.blocked_phrases */
#define LLAMA3_FILTER_GUARD 2           /* llama3_generate_params.guard */
#define LLAMA3_FILTER_CODE_SCANNER 3    /* llama3_generate_params.code_scanner */

typedef struct llama3_generate_params {
  size_t struct_size;
  int32_t max_tokens;              /* default 256 */
  const char* const* stop_strings; /* default NULL; the text is cut before the first found */
  size_t n_stop_strings;
  llama3_piece_callback on_piece; /* default NULL */
  void* user_data;
  /* Nonzero: record each generated token's logprob (log-softmax of the model's raw logits, before
   * bias, penalties, grammar and temperature) with the top_logprobs most likely alternatives
   * (0..LLAMA3_MAX_TOP_LOGPROBS); read them with llama3_session_logprob. Default 0. Sessions
   * only: the engine ignores it. */
  int32_t logprobs;
  int32_t top_logprobs;
  /* Engine requests only (llama3_engine_submit): the LoRA adapters the request runs with, and
   * their scales (NULL: 1 for each); default NULL / 0. The arrays are read during the call only;
   * the request keeps the adapters alive. A session takes its adapters from
   * llama3_session_set_adapters instead: llama3_session_generate with n_adapters > 0 is
   * LLAMA3_ERR_INVALID_ARGUMENT. */
  const llama3_lora* const* adapters;
  const float* adapter_scales;
  size_t n_adapters;
  /* Speculative decoding (docs/speculative.md), for sessions and engine requests: either a draft
   * model with the same vocabulary and special tokens (default NULL), run with draft_threads
   * threads (0: one per hardware thread), or prompt lookup with n-grams of up to lookup_ngram
   * tokens (1..16; default 0: off), not both (LLAMA3_ERR_INVALID_ARGUMENT). draft_max (1..32,
   * default 8) tokens are proposed per step. Greedy output is the same as without it; sampled
   * output keeps the model's distribution. The draft model must outlive the call; an engine
   * request keeps its weights loaded itself until it ends, so the handle may be freed after
   * submitting, and drafts on the engine's threads (draft_threads is not used there). */
  const llama3_model* draft_model;
  int32_t draft_threads;
  int32_t lookup_ngram;
  int32_t draft_max;
  /* Safety filters (docs/c-api.md, "Safety filters"), for sessions and engine requests alike.
   * When one blocks, the call (llama3_session_generate, llama3_engine_wait) returns
   * LLAMA3_ERR_BLOCKED with a message naming the filter and its reason, and the result says
   * LLAMA3_STOP_BLOCKED (the prompt was refused before any decode) or LLAMA3_STOP_FILTERED (the
   * answer was stopped: the piece that tripped a mid-stream check is withheld, pieces before it
   * have been handed to on_piece; a check of the finished answer comes after all of it was).
   * The prompt is checked by blocked_phrases, then the guard; the answer by blocked_phrases and
   * the code scanner as it streams, then by the guard once it is complete.
   *
   * A Llama Guard classifier (default NULL) judging the prompt (guard_prompt, default 1) and the
   * finished answer (guard_answer, default 1; a guard with both 0 is LLAMA3_ERR_INVALID_ARGUMENT).
   * An unsafe or malformed verdict blocks. Calls that share a guard take turns on it; a generation
   * or request keeps it alive, so llama3_guard_free may come before it ends. */
  llama3_guard* guard;
  int32_t guard_prompt;
  int32_t guard_answer;
  /* The insecure-code scanner (default NULL): fenced code in the answer is scanned as each line
   * completes; a finding of error severity stops the answer. Read during the call only (the
   * generation or request keeps the rules it needs). */
  const llama3_code_scanner* code_scanner;
  /* Phrases that may appear in neither the prompt nor the answer, matched ASCII
   * case-insensitively (default NULL / 0; a NULL or empty phrase is LLAMA3_ERR_INVALID_ARGUMENT).
   * Read during the call only. */
  const char* const* blocked_phrases;
  size_t n_blocked_phrases;
  /* Context shift (sessions and pipelines; an engine request with it is
   * LLAMA3_ERR_INVALID_ARGUMENT): nonzero, when the context is full the older half of what follows
   * the first n_keep tokens is dropped (the later keys move down and are re-rotated) and
   * generation goes on; default 0: it stops with LLAMA3_STOP_CONTEXT_FULL. n_keep default 0 (a
   * BOS at position 0 stays in any case). */
  int32_t context_shift;
  int32_t n_keep;
} llama3_generate_params;

#define LLAMA3_MAX_TOP_LOGPROBS 20

typedef struct llama3_token_logprob {
  llama3_token token;
  float logprob; /* natural log */
} llama3_token_logprob;

typedef struct llama3_generate_result {
  size_t struct_size;  /* set by the caller (sizeof); only the covered fields are written */
  int32_t stop_reason; /* LLAMA3_STOP_* */
  int32_t n_prompt_tokens;
  int32_t n_generated_tokens;
  double prompt_seconds;
  double generate_seconds;
  int32_t n_cached_tokens; /* prompt tokens reused from the context (a BOS-led prompt) */
  /* Speculative decoding: tokens drafted, of those accepted, and the model's forward passes while
   * generating (all 0 without it). */
  int32_t n_drafted;
  int32_t n_draft_accepted;
  int32_t n_target_passes;
  int32_t filter; /* LLAMA3_FILTER_*: the safety filter behind LLAMA3_STOP_BLOCKED / _FILTERED */
} llama3_generate_result;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_generate_params_init_sized(llama3_generate_params* params,
                                                           size_t struct_size);
LLAMA3_API llama3_status(llama3_generate_params_init)(llama3_generate_params* params);
#define llama3_generate_params_init(params) \
  llama3_generate_params_init_sized((params), sizeof(*(params)))
/* Feeds `prompt` (may be empty to continue from the current logits), then samples with `sampler`
 * until an end-of-generation token, max_tokens, a stop string, the callback, a safety filter or a
 * full context. A prompt that begins with BOS is the whole context: the longest prefix it shares
 * with the session's tokens is kept and only the rest is decoded; any other prompt is appended.
 * `params` and `result` may be NULL. LLAMA3_ERR_BLOCKED when a safety filter blocked (see
 * llama3_generate_params.guard): `result` is filled all the same, and the session holds every
 * token decoded before the block (none for a refused prompt), so generation may go on from there.
 */
LLAMA3_API llama3_status llama3_session_generate(llama3_session* session,
                                                 const llama3_token* prompt, size_t n_prompt,
                                                 llama3_sampler* sampler,
                                                 const llama3_generate_params* params,
                                                 llama3_generate_result* result);

/* The logprobs of generated token `index` (0 <= index < n_generated_tokens) of the session's last
 * llama3_session_generate, which must have asked for them (else LLAMA3_ERR_INVALID_ARGUMENT).
 * *out_token gets the token and its logprob; `top` (may be NULL when top_capacity is 0) gets the
 * most likely tokens, highest first, up to top_capacity of them, and *out_n_top their count
 * (min(top_logprobs, top_capacity)). Valid until the session's next generate, reset or free. */
LLAMA3_API llama3_status llama3_session_logprob(const llama3_session* session, size_t index,
                                                llama3_token_logprob* out_token,
                                                llama3_token_logprob* top, size_t top_capacity,
                                                size_t* out_n_top);

/* The safety filters' notes from the session's last llama3_session_generate, as a JSON array of
 * strings (buffer rules as llama3_detokenize, in bytes): the code scanner's warnings and advice
 * ("code scanner: CWE-328 python.weak-hash (warning) at line 3: ..."), the Guard's verdict on the
 * answer ("llama guard: safe (P(unsafe)=0.02)"); "[]" when there are none. Valid until the
 * session's next generate, reset or free. */
LLAMA3_API llama3_status llama3_session_filter_notes(const llama3_session* session, char* json,
                                                     size_t capacity, size_t* out_length);

/* Session state (context keys/values, position, logits): versioned and checksummed bytes, loadable
 * into a session of the same model and KV cache type with at least as large a context. */
LLAMA3_API llama3_status llama3_session_state_size(const llama3_session* session, size_t* out_size);
/* Buffer rules as llama3_tokenize (in bytes). */
LLAMA3_API llama3_status llama3_session_save_state(const llama3_session* session, void* buffer,
                                                   size_t capacity, size_t* out_size);
/* LLAMA3_ERR_BAD_FORMAT for damaged bytes, LLAMA3_ERR_INVALID_ARGUMENT for another model's state;
 * the session is unchanged on failure. */
LLAMA3_API llama3_status llama3_session_load_state(llama3_session* session, const void* state,
                                                   size_t size);
LLAMA3_API llama3_status llama3_session_save_state_file(const llama3_session* session,
                                                        const char* path);
LLAMA3_API llama3_status llama3_session_load_state_file(llama3_session* session, const char* path);

/* ---------------------------------------------------------------------------------------------
 * Converting and quantizing model files. Each call is independent and may run on any thread; the
 * progress callback runs on the calling thread.
 *
 * The output appears under its name only once it is complete and flushed; on any failure or
 * cancellation an existing output is untouched and no temporary file remains. Refused before any
 * work (LLAMA3_ERR_INVALID_ARGUMENT): an output that is one of the inputs (also through links) and
 * an existing output that is not a regular file (FIFO, device, folder); a symbolic link as output
 * is written through. Weights that disagree with config.json, or NaN/infinite weights, are
 * LLAMA3_ERR_BAD_FORMAT naming the tensor. Warnings (an input already quantized, no tokenizer.json)
 * go to the log callback at LLAMA3_LOG_WARN; the per-type error at LLAMA3_LOG_INFO.
 * ------------------------------------------------------------------------------------------- */
/* Called before each tensor is written and once at the end (tensor_name ""); return nonzero to
 * cancel (LLAMA3_ERR_CANCELLED). */
typedef int (*llama3_convert_progress_callback)(size_t tensors_done, size_t tensors_total,
                                                const char* tensor_name, void* user_data);

typedef struct llama3_convert_params {
  size_t struct_size;
  /* Output type or mix: "f16" (default), "f32", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
   * "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m". The string is read during the call only. */
  const char* type;
  int32_t n_threads;                         /* 0 (default): one per hardware thread */
  llama3_convert_progress_callback progress; /* NULL (default): no reports */
  void* progress_user_data;
} llama3_convert_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_convert_params_init_sized(llama3_convert_params* params,
                                                          size_t struct_size);
LLAMA3_API llama3_status(llama3_convert_params_init)(llama3_convert_params* params);
#define llama3_convert_params_init(params) \
  llama3_convert_params_init_sized((params), sizeof(*(params)))
/* A Hugging Face Llama folder (config.json, *.safetensors, tokenizer.json, ...) to a GGUF file.
 * `params` may be NULL. */
LLAMA3_API llama3_status llama3_convert_hf_to_gguf(const char* hf_folder, const char* out_path,
                                                   const llama3_convert_params* params);
/* A GGUF model with its weights in params->type, all metadata copied. `params` may be NULL. */
LLAMA3_API llama3_status llama3_quantize_gguf(const char* in_path, const char* out_path,
                                              const llama3_convert_params* params);

/* A GGUF model with LoRA adapters merged into its weights (W + scale·(alpha/r)·B·A, computed in
 * f32), streamed tensor by tensor like llama3_quantize_gguf. `scales` may be NULL (1 for each).
 * The output type is params->type, or each tensor's own type when `params` is NULL or
 * params->type is NULL. */
LLAMA3_API llama3_status llama3_merge_lora(const char* base_gguf, const char* const* adapter_paths,
                                           const float* scales, size_t n_adapters,
                                           const char* out_path,
                                           const llama3_convert_params* params);

/* ---------------------------------------------------------------------------------------------
 * Engine: many generations at once over one model (batched steps, shared paged KV memory, prefix
 * cache). Every function may be called from any thread at any time; a worker thread owned by the
 * engine runs the steps, and a request's on_piece callback runs on that thread.
 * ------------------------------------------------------------------------------------------- */
typedef struct llama3_engine llama3_engine;
typedef uint64_t llama3_request_id;

#define LLAMA3_POOL_FULL_WAIT 0   /* a request waits in the queue for KV blocks */
#define LLAMA3_POOL_FULL_REFUSE 1 /* a request that finds too few blocks ends REFUSED */

#define LLAMA3_REQUEST_QUEUED 0
#define LLAMA3_REQUEST_RUNNING 1
#define LLAMA3_REQUEST_FINISHED 2  /* see llama3_generate_result.stop_reason */
#define LLAMA3_REQUEST_CANCELLED 3 /* llama3_engine_cancel ended it */
#define LLAMA3_REQUEST_REFUSED 4   /* the KV pool could not take its prompt */
#define LLAMA3_REQUEST_FAILED 5

typedef struct llama3_engine_params {
  size_t struct_size;
  int32_t n_threads;       /* default 0: one per hardware thread */
  int32_t n_ctx;           /* per sequence; default 0: the model's, capped at 4096 */
  int32_t kv_tokens;       /* KV pool size in positions; default 0: 4 sequences' context */
  int32_t max_step_tokens; /* rows per step (generating sequences + prompt chunks); default 256 */
  int32_t kv_cache_type;   /* LLAMA3_KV_CACHE_*; default F16 */
  int32_t when_pool_full;  /* LLAMA3_POOL_FULL_*; default WAIT */
  int32_t prefix_cache;    /* nonzero (default): reuse finished prompts' KV blocks */
} llama3_engine_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_engine_params_init_sized(llama3_engine_params* params,
                                                         size_t struct_size);
LLAMA3_API llama3_status(llama3_engine_params_init)(llama3_engine_params* params);
#define llama3_engine_params_init(params) \
  llama3_engine_params_init_sized((params), sizeof(*(params)))
/* `params` may be NULL (defaults). The engine keeps the model's weights alive. */
LLAMA3_API llama3_status llama3_engine_create(const llama3_model* model,
                                              const llama3_engine_params* params,
                                              llama3_engine** out_engine);
/* Cancels every request and joins the worker thread. NULL is a no-op. */
LLAMA3_API void llama3_engine_free(llama3_engine* engine);

/* Queues a generation of `prompt` (at least one token) with its own sampler (`sampling` may be
 * NULL: defaults) and options (`params` may be NULL; on_piece runs on the engine's thread).
 * LLAMA3_ERR_INVALID_ARGUMENT for an empty prompt or an id outside the vocabulary;
 * LLAMA3_ERR_CONTEXT_FULL for a prompt longer than n_ctx. */
LLAMA3_API llama3_status llama3_engine_submit(llama3_engine* engine, const llama3_token* prompt,
                                              size_t n_prompt,
                                              const llama3_sampler_params* sampling,
                                              const llama3_generate_params* params,
                                              llama3_request_id* out_id);
/* Ends a queued or running request (CANCELLED); its KV blocks are freed at the next step. A
 * request that already ended is left as it is (still LLAMA3_OK). LLAMA3_ERR_INVALID_ARGUMENT for an
 * unknown id. */
LLAMA3_API llama3_status llama3_engine_cancel(llama3_engine* engine, llama3_request_id id);
/* Copies the text produced since the last poll into `buffer` (NUL-terminated; buffer rules as
 * llama3_tokenize, in bytes: on LLAMA3_ERR_BUFFER_TOO_SMALL nothing is consumed) and the request's
 * LLAMA3_REQUEST_* state into *out_state (may be NULL). */
LLAMA3_API llama3_status llama3_engine_poll(llama3_engine* engine, llama3_request_id id,
                                            char* buffer, size_t capacity, size_t* out_length,
                                            int32_t* out_state);
/* Blocks until the request has ended, fills `result` (may be NULL) and *out_state (may be NULL),
 * then forgets the request (its id becomes unknown). Text not yet polled is dropped.
 * LLAMA3_ERR_BLOCKED, with `result` and *out_state filled all the same, when a safety filter
 * blocked the request (see llama3_generate_params.guard). */
LLAMA3_API llama3_status llama3_engine_wait(llama3_engine* engine, llama3_request_id id,
                                            llama3_generate_result* result, int32_t* out_state);

/* ---------------------------------------------------------------------------------------------
 * Safety: the insecure-code scanner and the Llama Guard 2/3 classifier. Results are JSON text
 * (buffer rules as llama3_detokenize, in bytes).
 * ------------------------------------------------------------------------------------------- */
/* The rule set compiled into the library (rules_json NULL), or rules in the same JSON format
 * (LLAMA3_ERR_BAD_FORMAT naming the rule and field at fault). Immutable: one scanner may be used
 * from many threads at once. */
LLAMA3_API llama3_status llama3_code_scanner_create(const char* rules_json,
                                                    llama3_code_scanner** out_scanner);
LLAMA3_API void llama3_code_scanner_free(llama3_code_scanner* scanner);
/* Scans `code` written in `language` (a name or alias such as "c", "cpp", "py", "js", "rs"; NULL
 * or "" scans with every language's rules; an unknown name is LLAMA3_ERR_INVALID_ARGUMENT), or,
 * when `markdown` is nonzero, each fenced code block of a Markdown text with its fence's language
 * (language ignored). Writes
 *   {"treatment": "ignore"|"warn"|"block", "findings": [{"rule_id", "cwe_id", "severity",
 *    "language", "line", "column", "description", "matched_text"}, ...]} */
LLAMA3_API llama3_status llama3_code_scan(const llama3_code_scanner* scanner, const char* code,
                                          size_t length, const char* language, int32_t markdown,
                                          char* json, size_t capacity, size_t* out_length);

#define LLAMA3_GUARD_AUTO (-1) /* from the model's metadata (general.name, ...) */
#define LLAMA3_GUARD_2 2       /* Llama Guard 2 8B */
#define LLAMA3_GUARD_3 3       /* Llama Guard 3 8B */
#define LLAMA3_GUARD_3_1B 31   /* Llama Guard 3 1B */

typedef struct llama3_guard_params {
  size_t struct_size;
  int32_t version;        /* LLAMA3_GUARD_*; default AUTO */
  float threshold;        /* on P(unsafe) of the first generated token; default 0.5 */
  int32_t max_new_tokens; /* greedy tokens for the verdict text; default 20 */
  int32_t n_threads;      /* default 0: one per hardware thread */
  int32_t n_ctx;          /* default 0: the model's, capped at 4096 */
} llama3_guard_params;

/* Defaults (see "Stability promise" above: use the macro; it passes the caller's sizeof). */
LLAMA3_API llama3_status llama3_guard_params_init_sized(llama3_guard_params* params,
                                                        size_t struct_size);
LLAMA3_API llama3_status(llama3_guard_params_init)(llama3_guard_params* params);
#define llama3_guard_params_init(params) llama3_guard_params_init_sized((params), sizeof(*(params)))
/* A classifier over a loaded Llama Guard model (`params` may be NULL). LLAMA3_ERR_INVALID_ARGUMENT
 * when the version cannot be told from the metadata, or for a threshold outside [0, 1]. A guard is
 * used by one thread at a time; it keeps the model's weights alive. */
LLAMA3_API llama3_status llama3_guard_create(const llama3_model* model,
                                             const llama3_guard_params* params,
                                             llama3_guard** out_guard);
LLAMA3_API void llama3_guard_free(llama3_guard* guard);
/* Classifies the last turn of a conversation (roles "user" and "assistant"): as a prompt when it
 * is the user's, as a response when it is the assistant's. Writes
 *   {"verdict": "safe"|"unsafe"|"malformed", "categories": ["S1", ...], "unsafe_probability": p,
 *    "threshold_overrode_text": bool, "raw": "the model's text"}
 * A malformed verdict (the model wrote no valid answer) is reported, never guessed. */
LLAMA3_API llama3_status llama3_guard_classify(llama3_guard* guard,
                                               const llama3_chat_message* turns, size_t n_turns,
                                               char* json, size_t capacity, size_t* out_length);

#ifdef __cplusplus
}
#endif

#endif /* LLAMA3_H */
