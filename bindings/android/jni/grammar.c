/* JNI glue of org.llama3.Llama3Grammar and Llama3SamplerParams' defaults: the sampling side of the
 * Android layer (Llama3Session.generate reads the settings through sampler_params.h). */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>

#include "errors.h"
#include "llama3.h"
#include "sampler_params.h"

JNIEXPORT void JNICALL Java_org_llama3_Llama3SamplerParams_nativeDefaults(JNIEnv* env, jclass cls,
                                                                          jobject params) {
  llama3_sampler_params defaults;
  (void)cls;
  if (llama3_jni_failed(env, llama3_sampler_params_init(&defaults))) return;
  llama3_jni_write_sampler_params(env, params, &defaults);
}

/* The kinds of source, as Llama3Model's GRAMMAR_* constants number them. */
enum { kGrammarGbnf = 0, kGrammarJsonSchema = 1, kGrammarRegex = 2 };

/* The source arrives as UTF-8 bytes (JNI's modified UTF-8 would mangle characters outside the
 * BMP, which a schema's "const" or a regular expression may hold). */
JNIEXPORT jlong JNICALL Java_org_llama3_Llama3Model_nativeGrammar(JNIEnv* env, jclass cls,
                                                                  jlong tokenizer, jint kind,
                                                                  jbyteArray source) {
  const llama3_tokenizer* tok = (const llama3_tokenizer*)(intptr_t)tokenizer;
  llama3_grammar* grammar = NULL;
  llama3_status status;
  jsize length;
  char* text;
  (void)cls;
  if (source == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "the grammar's source is null");
    return 0;
  }
  length = (*env)->GetArrayLength(env, source);
  text = malloc((size_t)length + 1);
  if (text == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_OUT_OF_MEMORY, "out of memory");
    return 0;
  }
  (*env)->GetByteArrayRegion(env, source, 0, length, (jbyte*)text);
  text[length] = '\0';
  switch (kind) {
    case kGrammarGbnf:
      status = llama3_grammar_from_gbnf(tok, text, &grammar);
      break;
    case kGrammarJsonSchema:
      status = llama3_grammar_from_json_schema(tok, text, &grammar);
      break;
    case kGrammarRegex:
      status = llama3_grammar_from_regex(tok, text, &grammar);
      break;
    default:
      free(text);
      llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "unknown kind of grammar");
      return 0;
  }
  free(text);
  if (llama3_jni_failed(env, status)) return 0;
  return (jlong)(intptr_t)grammar;
}

JNIEXPORT void JNICALL Java_org_llama3_Llama3Grammar_nativeFree(JNIEnv* env, jclass cls,
                                                                jlong grammar) {
  (void)env;
  (void)cls;
  llama3_grammar_free((llama3_grammar*)(intptr_t)grammar);
}
