/* org.llama3.Llama3SamplerParams <-> llama3_sampler_params, field by field. */
#ifndef LLAMA3_JNI_SAMPLER_PARAMS_H
#define LLAMA3_JNI_SAMPLER_PARAMS_H

#include <jni.h>

#include "llama3.h"

/* Reads every setting of a Llama3SamplerParams into *out (which it initialises first). *bias gets
 * a malloc'ed array that out->logit_bias points into (NULL without biases): free it once the
 * sampler is made. out->grammar borrows the Llama3Grammar's handle. Returns 0, or nonzero with a
 * Java exception pending (params null, bias arrays of different lengths, a closed grammar). */
int llama3_jni_read_sampler_params(JNIEnv* env, jobject params, llama3_sampler_params* out,
                                   llama3_logit_bias** bias);

/* Writes the scalar settings of *in (not the biases or the grammar) into a Llama3SamplerParams.
 * Returns 0, or nonzero with a Java exception pending. */
int llama3_jni_write_sampler_params(JNIEnv* env, jobject params, const llama3_sampler_params* in);

#endif
