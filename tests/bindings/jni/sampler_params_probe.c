/* Test-only JNI library (libllama3_jni_probe.so) behind org.llama3.SamplerParamsProbe: it runs the
 * JNI layer's own reader (bindings/android/jni/sampler_params.c) on a Llama3SamplerParams and hands
 * back the llama3_sampler_params it filled, field by field, so the Java test can check that every
 * setting arrives in the C struct unchanged. */
#include <jni.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "errors.h"
#include "llama3.h"
#include "sampler_params.h"

/* The C struct's scalar fields as doubles (every value is exact in a double): struct_size,
 * temperature, top_k, top_p, min_p, repeat_penalty, frequency_penalty, presence_penalty,
 * penalty_last_n, n_logit_bias. */
static jdoubleArray scalars(JNIEnv* env, const llama3_sampler_params* p) {
  const jdouble values[] = {(jdouble)p->struct_size,
                            p->temperature,
                            p->top_k,
                            p->top_p,
                            p->min_p,
                            p->repeat_penalty,
                            p->frequency_penalty,
                            p->presence_penalty,
                            p->penalty_last_n,
                            (jdouble)p->n_logit_bias};
  const jsize n = (jsize)(sizeof(values) / sizeof(values[0]));
  jdoubleArray result = (*env)->NewDoubleArray(env, n);
  if (result != NULL) (*env)->SetDoubleArrayRegion(env, result, 0, n, values);
  return result;
}

/* Reads params as Llama3Session.generate does; returns the scalars, and the seed, the grammar
 * handle and the logit biases through the Java arrays given (each of the right length). */
JNIEXPORT jdoubleArray JNICALL Java_org_llama3_SamplerParamsProbe_read(JNIEnv* env, jclass cls,
                                                                       jobject params,
                                                                       jlongArray seed_and_grammar,
                                                                       jintArray bias_tokens,
                                                                       jfloatArray bias_values) {
  llama3_sampler_params p;
  llama3_logit_bias* bias = NULL;
  jdoubleArray result;
  jlong longs[2];
  size_t i;
  (void)cls;
  if (llama3_jni_read_sampler_params(env, params, &p, &bias)) return NULL;
  longs[0] = (jlong)p.seed;
  longs[1] = (jlong)(intptr_t)p.grammar;
  (*env)->SetLongArrayRegion(env, seed_and_grammar, 0, 2, longs);
  for (i = 0; i < p.n_logit_bias && !(*env)->ExceptionCheck(env); ++i) {
    jint token = p.logit_bias[i].token;
    jfloat value = p.logit_bias[i].bias;
    (*env)->SetIntArrayRegion(env, bias_tokens, (jsize)i, 1, &token);
    (*env)->SetFloatArrayRegion(env, bias_values, (jsize)i, 1, &value);
  }
  result = (*env)->ExceptionCheck(env) ? NULL : scalars(env, &p);
  free(bias);
  return result;
}

/* llama3_sampler_params_init's values, in read()'s order. */
JNIEXPORT jdoubleArray JNICALL Java_org_llama3_SamplerParamsProbe_defaults(JNIEnv* env,
                                                                           jclass cls) {
  llama3_sampler_params p;
  (void)cls;
  if (llama3_jni_failed(env, llama3_sampler_params_init(&p))) return NULL;
  return scalars(env, &p);
}

/* Bytes of llama3_sampler_params after its last field the JNI layer knows (grammar): nonzero when
 * the C ABI grew a field that Llama3SamplerParams does not carry yet. */
JNIEXPORT jint JNICALL Java_org_llama3_SamplerParamsProbe_unknownFieldBytes(JNIEnv* env,
                                                                            jclass cls) {
  (void)env;
  (void)cls;
  return (jint)(sizeof(llama3_sampler_params) -
                (offsetof(llama3_sampler_params, grammar) + sizeof(const llama3_grammar*)));
}
