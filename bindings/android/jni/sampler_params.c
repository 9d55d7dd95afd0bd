/* Llama3SamplerParams <-> llama3_sampler_params (see sampler_params.h). The Java field names are
 * camelCase versions of the C ones; a field missing on the Java side leaves NoSuchFieldError
 * pending. */
#include "sampler_params.h"

#include <stdint.h>
#include <stdlib.h>

#include "errors.h"

struct sampler_fields {
  jfieldID temperature, top_k, top_p, min_p, repeat_penalty, frequency_penalty, presence_penalty,
      penalty_last_n, seed, logit_bias_tokens, logit_bias_values, grammar;
};

/* Returns nonzero (NoSuchFieldError pending) when a field is missing. */
static int find_fields(JNIEnv* env, jobject params, struct sampler_fields* f) {
  jclass cls = (*env)->GetObjectClass(env, params);
#define LLAMA3_FIND(member, name, signature) \
  if ((f->member = (*env)->GetFieldID(env, cls, name, signature)) == NULL) return 1
  LLAMA3_FIND(temperature, "temperature", "F");
  LLAMA3_FIND(top_k, "topK", "I");
  LLAMA3_FIND(top_p, "topP", "F");
  LLAMA3_FIND(min_p, "minP", "F");
  LLAMA3_FIND(repeat_penalty, "repeatPenalty", "F");
  LLAMA3_FIND(frequency_penalty, "frequencyPenalty", "F");
  LLAMA3_FIND(presence_penalty, "presencePenalty", "F");
  LLAMA3_FIND(penalty_last_n, "penaltyLastN", "I");
  LLAMA3_FIND(seed, "seed", "J");
  LLAMA3_FIND(logit_bias_tokens, "logitBiasTokens", "[I");
  LLAMA3_FIND(logit_bias_values, "logitBiasValues", "[F");
  LLAMA3_FIND(grammar, "grammar", "Lorg/llama3/Llama3Grammar;");
#undef LLAMA3_FIND
  return 0;
}

/* The logit biases: two arrays of one length on the Java side, one array of pairs in C. */
static int read_logit_bias(JNIEnv* env, jobject params, const struct sampler_fields* f,
                           llama3_sampler_params* out, llama3_logit_bias** bias) {
  jintArray tokens = (jintArray)(*env)->GetObjectField(env, params, f->logit_bias_tokens);
  jfloatArray values = (jfloatArray)(*env)->GetObjectField(env, params, f->logit_bias_values);
  jsize n = tokens ? (*env)->GetArrayLength(env, tokens) : 0, i;
  jint* token_ids;
  jfloat* biases;
  if ((values ? (*env)->GetArrayLength(env, values) : 0) != n) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT,
                             "logit bias: the token and value arrays differ in length");
    return 1;
  }
  if (n == 0) return 0;
  *bias = malloc((size_t)n * sizeof(llama3_logit_bias));
  if (*bias == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_OUT_OF_MEMORY, "out of memory");
    return 1;
  }
  token_ids = (*env)->GetIntArrayElements(env, tokens, NULL);
  biases = token_ids ? (*env)->GetFloatArrayElements(env, values, NULL) : NULL;
  if (biases == NULL) {
    if (token_ids) (*env)->ReleaseIntArrayElements(env, tokens, token_ids, JNI_ABORT);
    free(*bias);
    *bias = NULL;
    return 1;
  }
  for (i = 0; i < n; ++i) {
    (*bias)[i].token = token_ids[i];
    (*bias)[i].bias = biases[i];
  }
  (*env)->ReleaseFloatArrayElements(env, values, biases, JNI_ABORT);
  (*env)->ReleaseIntArrayElements(env, tokens, token_ids, JNI_ABORT);
  out->logit_bias = *bias;
  out->n_logit_bias = (size_t)n;
  return 0;
}

/* The grammar's handle, borrowed from the Llama3Grammar object (NULL field: no grammar). */
static int read_grammar(JNIEnv* env, jobject params, const struct sampler_fields* f,
                        llama3_sampler_params* out) {
  jobject grammar = (*env)->GetObjectField(env, params, f->grammar);
  jfieldID handle_field;
  jlong handle;
  if (grammar == NULL) return 0;
  handle_field = (*env)->GetFieldID(env, (*env)->GetObjectClass(env, grammar), "grammar", "J");
  if (handle_field == NULL) return 1;
  handle = (*env)->GetLongField(env, grammar, handle_field);
  if (handle == 0) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "the grammar is closed");
    return 1;
  }
  out->grammar = (const llama3_grammar*)(intptr_t)handle;
  return 0;
}

int llama3_jni_read_sampler_params(JNIEnv* env, jobject params, llama3_sampler_params* out,
                                   llama3_logit_bias** bias) {
  struct sampler_fields f;
  *bias = NULL;
  if (params == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "sampler params are null");
    return 1;
  }
  if (find_fields(env, params, &f)) return 1;
  llama3_sampler_params_init(out);
  out->temperature = (*env)->GetFloatField(env, params, f.temperature);
  out->top_k = (*env)->GetIntField(env, params, f.top_k);
  out->top_p = (*env)->GetFloatField(env, params, f.top_p);
  out->min_p = (*env)->GetFloatField(env, params, f.min_p);
  out->repeat_penalty = (*env)->GetFloatField(env, params, f.repeat_penalty);
  out->frequency_penalty = (*env)->GetFloatField(env, params, f.frequency_penalty);
  out->presence_penalty = (*env)->GetFloatField(env, params, f.presence_penalty);
  out->penalty_last_n = (*env)->GetIntField(env, params, f.penalty_last_n);
  out->seed = (uint64_t)(*env)->GetLongField(env, params, f.seed); /* Java's long holds the bits */
  if (read_logit_bias(env, params, &f, out, bias)) return 1;
  if (read_grammar(env, params, &f, out)) {
    free(*bias);
    *bias = NULL;
    return 1;
  }
  return 0;
}

int llama3_jni_write_sampler_params(JNIEnv* env, jobject params, const llama3_sampler_params* in) {
  struct sampler_fields f;
  if (find_fields(env, params, &f)) return 1;
  (*env)->SetFloatField(env, params, f.temperature, in->temperature);
  (*env)->SetIntField(env, params, f.top_k, in->top_k);
  (*env)->SetFloatField(env, params, f.top_p, in->top_p);
  (*env)->SetFloatField(env, params, f.min_p, in->min_p);
  (*env)->SetFloatField(env, params, f.repeat_penalty, in->repeat_penalty);
  (*env)->SetFloatField(env, params, f.frequency_penalty, in->frequency_penalty);
  (*env)->SetFloatField(env, params, f.presence_penalty, in->presence_penalty);
  (*env)->SetIntField(env, params, f.penalty_last_n, in->penalty_last_n);
  (*env)->SetLongField(env, params, f.seed, (jlong)in->seed);
  return 0;
}
