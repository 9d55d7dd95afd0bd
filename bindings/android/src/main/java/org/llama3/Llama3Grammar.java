package org.llama3;

/**
 * A grammar the output must follow (structured output), compiled once for a model's vocabulary by
 * {@link Llama3Model#grammarFromGbnf}, {@link Llama3Model#grammarFromJsonSchema} or
 * {@link Llama3Model#grammarFromRegex}, and used through {@link Llama3SamplerParams#grammar}.
 * Immutable and safe to share between threads; samplers made with it keep it alive after
 * {@link #close()}.
 */
public final class Llama3Grammar implements AutoCloseable {
  static {
    System.loadLibrary("llama3_jni");
  }

  private long grammar;  // llama3_grammar* (read by jni/sampler_params.c)

  Llama3Grammar(long grammar) {
    this.grammar = grammar;
  }

  @Override
  public synchronized void close() {
    nativeFree(grammar);
    grammar = 0;
  }

  private static native void nativeFree(long grammar);
}
