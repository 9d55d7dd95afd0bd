/* JNI glue of org.llama3.Llama3Model / Llama3Session over the C ABI (llama3.h). Handles travel as
 * jlong; every failing status becomes a thrown org.llama3.Llama3Exception(code, message). Text
 * crosses as UTF-8 byte arrays (Java's modified UTF-8 would mangle characters outside the BMP). */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "llama3.h"
#include "sampler_params.h"

static jintArray to_int_array(JNIEnv* env, const llama3_token* tokens, size_t n) {
  jintArray result = (*env)->NewIntArray(env, (jsize)n);
  if (result != NULL) (*env)->SetIntArrayRegion(env, result, 0, (jsize)n, (const jint*)tokens);
  return result;
}

/* Copies a Java int[] to a malloc'ed token array (*n set); NULL on failure (exception pending). */
static llama3_token* from_int_array(JNIEnv* env, jintArray ids, size_t* n) {
  llama3_token* tokens;
  *n = ids ? (size_t)(*env)->GetArrayLength(env, ids) : 0;
  tokens = malloc((*n ? *n : 1) * sizeof(llama3_token));
  if (tokens == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  if (*n) (*env)->GetIntArrayRegion(env, ids, 0, (jsize)*n, (jint*)tokens);
  return tokens;
}

/* ---- Llama3Model ---- */

JNIEXPORT jstring JNICALL Java_org_llama3_Llama3Model_version(JNIEnv* env, jclass cls) {
  (void)cls;
  return (*env)->NewStringUTF(env, llama3_version_string());
}

JNIEXPORT jlong JNICALL Java_org_llama3_Llama3Model_nativeLoad(JNIEnv* env, jclass cls,
                                                               jstring path) {
  llama3_model* model = NULL;
  const char* cpath;
  llama3_status status;
  (void)cls;
  if (path == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "path is null");
    return 0;
  }
  cpath = (*env)->GetStringUTFChars(env, path, NULL);
  if (cpath == NULL) return 0;
  status = llama3_model_load(cpath, NULL, &model);
  (*env)->ReleaseStringUTFChars(env, path, cpath);
  if (llama3_jni_failed(env, status)) return 0;
  return (jlong)(intptr_t)model;
}

JNIEXPORT jlong JNICALL Java_org_llama3_Llama3Model_nativeTokenizer(JNIEnv* env, jclass cls,
                                                                    jlong model) {
  llama3_tokenizer* tokenizer = NULL;
  (void)env;
  (void)cls;
  /* A model without a tokenizer is fine here; the Java side reports it when one is needed. */
  if (llama3_model_tokenizer((const llama3_model*)(intptr_t)model, &tokenizer) != LLAMA3_OK)
    return 0;
  return (jlong)(intptr_t)tokenizer;
}

JNIEXPORT void JNICALL Java_org_llama3_Llama3Model_nativeFree(JNIEnv* env, jclass cls, jlong model,
                                                              jlong tokenizer) {
  (void)env;
  (void)cls;
  llama3_tokenizer_free((llama3_tokenizer*)(intptr_t)tokenizer);
  llama3_model_free((llama3_model*)(intptr_t)model);
}

JNIEXPORT jint JNICALL Java_org_llama3_Llama3Model_nativeNVocab(JNIEnv* env, jclass cls,
                                                                jlong model) {
  int32_t n = 0;
  (void)cls;
  llama3_jni_failed(env, llama3_model_n_vocab((const llama3_model*)(intptr_t)model, &n));
  return n;
}

JNIEXPORT jintArray JNICALL Java_org_llama3_Llama3Model_nativeTokenize(JNIEnv* env, jclass cls,
                                                                       jlong tokenizer,
                                                                       jbyteArray text,
                                                                       jboolean add_bos,
                                                                       jboolean parse_special) {
  const llama3_tokenizer* tok = (const llama3_tokenizer*)(intptr_t)tokenizer;
  uint32_t flags = (add_bos ? LLAMA3_TOKENIZE_ADD_BOS : 0u) |
                   (parse_special ? LLAMA3_TOKENIZE_PARSE_SPECIAL : 0u);
  jsize length = (*env)->GetArrayLength(env, text);
  jbyte* bytes = (*env)->GetByteArrayElements(env, text, NULL);
  size_t n = 0;
  llama3_token* tokens = NULL;
  jintArray result = NULL;
  llama3_status status;
  (void)cls;
  if (bytes == NULL) return NULL;
  status = llama3_tokenize(tok, (const char*)bytes, (size_t)length, flags, NULL, 0, &n);
  if (status == LLAMA3_ERR_BUFFER_TOO_SMALL || status == LLAMA3_OK) {
    tokens = malloc((n ? n : 1) * sizeof(llama3_token));
    status = tokens ? llama3_tokenize(tok, (const char*)bytes, (size_t)length, flags, tokens, n, &n)
                    : LLAMA3_ERR_OUT_OF_MEMORY;
  }
  if (!llama3_jni_failed(env, status)) result = to_int_array(env, tokens, n);
  free(tokens);
  (*env)->ReleaseByteArrayElements(env, text, bytes, JNI_ABORT);
  return result;
}

JNIEXPORT jbyteArray JNICALL Java_org_llama3_Llama3Model_nativeDetokenize(JNIEnv* env, jclass cls,
                                                                          jlong tokenizer,
                                                                          jintArray ids) {
  const llama3_tokenizer* tok = (const llama3_tokenizer*)(intptr_t)tokenizer;
  size_t n = 0, length = 0;
  llama3_token* tokens = from_int_array(env, ids, &n);
  char* text = NULL;
  jbyteArray result = NULL;
  llama3_status status;
  (void)cls;
  if (tokens == NULL) return NULL;
  status = llama3_detokenize(tok, tokens, n, 0, NULL, 0, &length);
  if (status == LLAMA3_ERR_BUFFER_TOO_SMALL || status == LLAMA3_OK) {
    text = malloc(length + 1);
    status = text ? llama3_detokenize(tok, tokens, n, 0, text, length + 1, &length)
                  : LLAMA3_ERR_OUT_OF_MEMORY;
  }
  if (!llama3_jni_failed(env, status)) {
    result = (*env)->NewByteArray(env, (jsize)length);
    if (result) (*env)->SetByteArrayRegion(env, result, 0, (jsize)length, (const jbyte*)text);
  }
  free(text);
  free(tokens);
  return result;
}

JNIEXPORT jintArray JNICALL Java_org_llama3_Llama3Model_nativeEncodeDialog(JNIEnv* env, jclass cls,
                                                                           jlong tokenizer,
                                                                           jobjectArray roles,
                                                                           jobjectArray contents) {
  const llama3_tokenizer* tok = (const llama3_tokenizer*)(intptr_t)tokenizer;
  jsize count = (*env)->GetArrayLength(env, roles), i;
  llama3_chat_message* messages = calloc((size_t)(count ? count : 1), sizeof(llama3_chat_message));
  jstring* strings = calloc((size_t)(count ? count : 1) * 2, sizeof(jstring));
  llama3_token* tokens = NULL;
  size_t n = 0;
  jintArray result = NULL;
  llama3_status status = LLAMA3_OK;
  (void)cls;
  if (messages == NULL || strings == NULL) status = LLAMA3_ERR_OUT_OF_MEMORY;
  for (i = 0; i < count && status == LLAMA3_OK; ++i) {
    strings[2 * i] = (jstring)(*env)->GetObjectArrayElement(env, roles, i);
    strings[2 * i + 1] = (jstring)(*env)->GetObjectArrayElement(env, contents, i);
    if (strings[2 * i] == NULL || strings[2 * i + 1] == NULL) {
      llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "null role or content");
      goto done;
    }
    messages[i].role = (*env)->GetStringUTFChars(env, strings[2 * i], NULL);
    messages[i].content = (*env)->GetStringUTFChars(env, strings[2 * i + 1], NULL);
  }
  if (status == LLAMA3_OK) {
    status = llama3_chat_encode(tok, messages, (size_t)count, NULL, NULL, 0, &n);
    if (status == LLAMA3_ERR_BUFFER_TOO_SMALL || status == LLAMA3_OK) {
      tokens = malloc((n ? n : 1) * sizeof(llama3_token));
      status = tokens ? llama3_chat_encode(tok, messages, (size_t)count, NULL, tokens, n, &n)
                      : LLAMA3_ERR_OUT_OF_MEMORY;
    }
  }
  if (!llama3_jni_failed(env, status)) result = to_int_array(env, tokens, n);
done:
  for (i = 0; messages && strings && i < count; ++i) {
    if (messages[i].role) (*env)->ReleaseStringUTFChars(env, strings[2 * i], messages[i].role);
    if (messages[i].content) {
      (*env)->ReleaseStringUTFChars(env, strings[2 * i + 1], messages[i].content);
    }
  }
  free(tokens);
  free(strings);
  free(messages);
  return result;
}

/* ---- Llama3Session ---- */

JNIEXPORT jlong JNICALL Java_org_llama3_Llama3Session_nativeCreate(JNIEnv* env, jclass cls,
                                                                   jlong model, jint n_ctx,
                                                                   jint n_threads) {
  llama3_session_params params;
  llama3_session* session = NULL;
  (void)cls;
  llama3_session_params_init(&params);
  params.n_ctx = n_ctx;
  params.n_threads = n_threads;
  if (llama3_jni_failed(
          env, llama3_session_create((const llama3_model*)(intptr_t)model, &params, &session))) {
    return 0;
  }
  return (jlong)(intptr_t)session;
}

JNIEXPORT void JNICALL Java_org_llama3_Llama3Session_nativeFree(JNIEnv* env, jclass cls,
                                                                jlong session) {
  (void)env;
  (void)cls;
  llama3_session_free((llama3_session*)(intptr_t)session);
}

JNIEXPORT jfloatArray JNICALL Java_org_llama3_Llama3Session_nativeDecode(JNIEnv* env, jclass cls,
                                                                         jlong session,
                                                                         jintArray ids) {
  llama3_session* s = (llama3_session*)(intptr_t)session;
  size_t n = 0, n_logits = 0;
  const float* logits = NULL;
  llama3_token* tokens = from_int_array(env, ids, &n);
  jfloatArray result = NULL;
  (void)cls;
  if (tokens == NULL) return NULL;
  if (!llama3_jni_failed(env, llama3_session_decode(s, tokens, n)) &&
      !llama3_jni_failed(env, llama3_session_logits(s, &logits, &n_logits))) {
    result = (*env)->NewFloatArray(env, (jsize)n_logits);
    if (result) (*env)->SetFloatArrayRegion(env, result, 0, (jsize)n_logits, logits);
  }
  free(tokens);
  return result;
}

struct piece_context {
  JNIEnv* env;
  jobject listener;
  jmethodID on_piece;
};

static int forward_piece(const char* piece, size_t length, void* user_data) {
  struct piece_context* context = (struct piece_context*)user_data;
  JNIEnv* env = context->env;
  jbyteArray bytes = (*env)->NewByteArray(env, (jsize)length);
  jboolean keep_going;
  if (bytes == NULL) return 1;
  (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)length, (const jbyte*)piece);
  keep_going = (*env)->CallBooleanMethod(env, context->listener, context->on_piece, bytes);
  (*env)->DeleteLocalRef(env, bytes);
  if ((*env)->ExceptionCheck(env)) return 1; /* the listener threw: stop, rethrown on return */
  return keep_going ? 0 : 1;
}

JNIEXPORT void JNICALL Java_org_llama3_Llama3Session_nativeGenerate(JNIEnv* env, jclass cls,
                                                                    jlong session, jintArray prompt,
                                                                    jobject sampling,
                                                                    jint max_tokens,
                                                                    jobject listener) {
  llama3_sampler_params sampler_params;
  llama3_logit_bias* logit_bias = NULL;
  llama3_sampler* sampler = NULL;
  llama3_generate_params params;
  struct piece_context context;
  size_t n = 0;
  llama3_token* tokens;
  llama3_status status;
  jclass listener_class = (*env)->GetObjectClass(env, listener);
  (void)cls;
  context.env = env;
  context.listener = listener;
  context.on_piece = (*env)->GetMethodID(env, listener_class, "onPiece", "([B)Z");
  if (context.on_piece == NULL) return;
  if (llama3_jni_read_sampler_params(env, sampling, &sampler_params, &logit_bias)) return;
  status = llama3_sampler_create(&sampler_params, &sampler);
  free(logit_bias); /* the sampler keeps a copy */
  if (llama3_jni_failed(env, status)) return;
  tokens = from_int_array(env, prompt, &n);
  if (tokens != NULL) {
    llama3_generate_params_init(&params);
    params.max_tokens = max_tokens;
    params.on_piece = forward_piece;
    params.user_data = &context;
    status = llama3_session_generate((llama3_session*)(intptr_t)session, tokens, n, sampler,
                                     &params, NULL);
    if (!(*env)->ExceptionCheck(env)) llama3_jni_failed(env, status);
  }
  llama3_sampler_free(sampler);
  free(tokens);
}

JNIEXPORT jint JNICALL Java_org_llama3_Llama3Session_nativeNPast(JNIEnv* env, jclass cls,
                                                                 jlong session) {
  int32_t n = 0;
  (void)cls;
  llama3_jni_failed(env, llama3_session_n_past((const llama3_session*)(intptr_t)session, &n));
  return n;
}

JNIEXPORT jbyteArray JNICALL Java_org_llama3_Llama3Session_nativeSaveState(JNIEnv* env, jclass cls,
                                                                           jlong session) {
  const llama3_session* s = (const llama3_session*)(intptr_t)session;
  size_t size = 0;
  void* buffer;
  jbyteArray result = NULL;
  (void)cls;
  if (llama3_jni_failed(env, llama3_session_state_size(s, &size))) return NULL;
  buffer = malloc(size ? size : 1);
  if (buffer == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  if (!llama3_jni_failed(env, llama3_session_save_state(s, buffer, size, &size))) {
    result = (*env)->NewByteArray(env, (jsize)size);
    if (result) (*env)->SetByteArrayRegion(env, result, 0, (jsize)size, (const jbyte*)buffer);
  }
  free(buffer);
  return result;
}

JNIEXPORT void JNICALL Java_org_llama3_Llama3Session_nativeLoadState(JNIEnv* env, jclass cls,
                                                                     jlong session,
                                                                     jbyteArray state) {
  jsize length;
  jbyte* bytes;
  (void)cls;
  if (state == NULL) {
    llama3_jni_throw_message(env, LLAMA3_ERR_INVALID_ARGUMENT, "state is null");
    return;
  }
  length = (*env)->GetArrayLength(env, state);
  bytes = (*env)->GetByteArrayElements(env, state, NULL);
  if (bytes == NULL) return;
  llama3_jni_failed(
      env, llama3_session_load_state((llama3_session*)(intptr_t)session, bytes, (size_t)length));
  (*env)->ReleaseByteArrayElements(env, state, bytes, JNI_ABORT);
}
