package org.llama3;

/** The test-only native side (libllama3_jni_probe.so, tests/bindings/jni/sampler_params_probe.c). */
final class SamplerParamsProbe {
  static {
    System.loadLibrary("llama3_jni");
    System.loadLibrary("llama3_jni_probe");
  }

  // Indices of the values read() and defaults() return.
  static final int STRUCT_SIZE = 0, TEMPERATURE = 1, TOP_K = 2, TOP_P = 3, MIN_P = 4,
      REPEAT_PENALTY = 5, FREQUENCY_PENALTY = 6, PRESENCE_PENALTY = 7, PENALTY_LAST_N = 8,
      N_LOGIT_BIAS = 9;

  private SamplerParamsProbe() {}

  /** Reads params into a llama3_sampler_params as generate does; see the C file for the layout. */
  static native double[] read(Llama3SamplerParams params, long[] seedAndGrammar, int[] biasTokens,
      float[] biasValues);

  static native double[] defaults();

  static native int unknownFieldBytes();
}
