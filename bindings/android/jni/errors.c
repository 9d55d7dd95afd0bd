/* Llama3Exception from C ABI statuses (see errors.h). */
#include "errors.h"

void llama3_jni_throw_message(JNIEnv* env, int code, const char* text) {
  jclass cls = (*env)->FindClass(env, "org/llama3/Llama3Exception");
  jmethodID ctor = cls ? (*env)->GetMethodID(env, cls, "<init>", "(ILjava/lang/String;)V") : NULL;
  jstring message = ctor ? (*env)->NewStringUTF(env, text) : NULL;
  if (message != NULL) {
    jobject error = (*env)->NewObject(env, cls, ctor, (jint)code, message);
    if (error != NULL) (*env)->Throw(env, (jthrowable)error);
  }
}

void llama3_jni_throw_status(JNIEnv* env, llama3_status status) {
  llama3_jni_throw_message(env, (int)status, llama3_last_error_message());
}

int llama3_jni_failed(JNIEnv* env, llama3_status status) {
  if (status == LLAMA3_OK) return 0;
  llama3_jni_throw_status(env, status);
  return 1;
}
