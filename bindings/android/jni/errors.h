/* Failing statuses of the C ABI become thrown org.llama3.Llama3Exception(code, message). */
#ifndef LLAMA3_JNI_ERRORS_H
#define LLAMA3_JNI_ERRORS_H

#include <jni.h>

#include "llama3.h"

/* Throws Llama3Exception(status, llama3_last_error_message()). */
void llama3_jni_throw_status(JNIEnv* env, llama3_status status);
/* Throws Llama3Exception(code, text). */
void llama3_jni_throw_message(JNIEnv* env, int code, const char* text);
/* Returns nonzero (and throws) when status is not LLAMA3_OK. */
int llama3_jni_failed(JNIEnv* env, llama3_status status);

#endif
