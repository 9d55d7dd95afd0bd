package org.llama3;

import java.util.Arrays;

/**
 * Every setting of the sampling chain (the C ABI's {@code llama3_sampler_params}, field by field).
 * A new object holds the library's defaults; the setters return {@code this}, so settings chain:
 *
 * <pre>{@code
 * Llama3SamplerParams sampling = new Llama3SamplerParams()
 *     .temperature(0.7f).topK(40).topP(0.9f).repeatPenalty(1.1f).seed(42)
 *     .logitBias(model.tokenize(" the", false, false)[0], Float.NEGATIVE_INFINITY);
 * session.generate(prompt, sampling, 64, piece -> { System.out.print(piece); return true; });
 * }</pre>
 *
 * Values are checked when a sampler is made from them (generate throws INVALID_ARGUMENT naming the
 * field). Not thread-safe; the sampler copies everything, so the object may change afterwards.
 */
public final class Llama3SamplerParams {
  static {
    System.loadLibrary("llama3_jni");
  }

  // The JNI layer reads and writes these fields by name (jni/sampler_params.c).
  private float temperature;
  private int topK;
  private float topP;
  private float minP;
  private float repeatPenalty;
  private float frequencyPenalty;
  private float presencePenalty;
  private int penaltyLastN;
  private long seed;
  private int[] logitBiasTokens = new int[0];
  private float[] logitBiasValues = new float[0];
  private Llama3Grammar grammar;

  /** The library's defaults (llama3_sampler_params_init). */
  public Llama3SamplerParams() {
    nativeDefaults(this);
  }

  /** Default 0.6; 0 or less samples greedily (the most likely token). */
  public Llama3SamplerParams temperature(float value) {
    temperature = value;
    return this;
  }

  /** Keeps the k most likely tokens; default 0 (off). */
  public Llama3SamplerParams topK(int value) {
    topK = value;
    return this;
  }

  /** Nucleus sampling; default 0.9, 1 is off. */
  public Llama3SamplerParams topP(float value) {
    topP = value;
    return this;
  }

  /** Drops tokens below minP times the most likely one's probability; default 0 (off). */
  public Llama3SamplerParams minP(float value) {
    minP = value;
    return this;
  }

  /** Divides the logits of recent tokens (positive ones; multiplies negative ones); default 1 (off). */
  public Llama3SamplerParams repeatPenalty(float value) {
    repeatPenalty = value;
    return this;
  }

  /** Subtracted from a recent token's logit once per occurrence; default 0. */
  public Llama3SamplerParams frequencyPenalty(float value) {
    frequencyPenalty = value;
    return this;
  }

  /** Subtracted once from the logit of any recent token; default 0. */
  public Llama3SamplerParams presencePenalty(float value) {
    presencePenalty = value;
    return this;
  }

  /** How many recent tokens the penalties look at; default 64, 0 off, -1 the whole history. */
  public Llama3SamplerParams penaltyLastN(int value) {
    penaltyLastN = value;
    return this;
  }

  /** The generator's seed, an unsigned 64-bit value in Java's long; same seed, same tokens. */
  public Llama3SamplerParams seed(long value) {
    seed = value;
    return this;
  }

  /** Adds bias to the token's logit (replacing an earlier bias for it); -infinity bans it. */
  public Llama3SamplerParams logitBias(int token, float bias) {
    for (int i = 0; i < logitBiasTokens.length; ++i) {
      if (logitBiasTokens[i] == token) {
        logitBiasValues[i] = bias;
        return this;
      }
    }
    logitBiasTokens = Arrays.copyOf(logitBiasTokens, logitBiasTokens.length + 1);
    logitBiasValues = Arrays.copyOf(logitBiasValues, logitBiasValues.length + 1);
    logitBiasTokens[logitBiasTokens.length - 1] = token;
    logitBiasValues[logitBiasValues.length - 1] = bias;
    return this;
  }

  /** Forgets every logit bias. */
  public Llama3SamplerParams clearLogitBias() {
    logitBiasTokens = new int[0];
    logitBiasValues = new float[0];
    return this;
  }

  /**
   * Structured output: the output must match the grammar (null: free text, the default). The
   * grammar must stay open until a sampler has been made from these settings.
   */
  public Llama3SamplerParams grammar(Llama3Grammar value) {
    grammar = value;
    return this;
  }

  public float temperature() {
    return temperature;
  }

  public int topK() {
    return topK;
  }

  public float topP() {
    return topP;
  }

  public float minP() {
    return minP;
  }

  public float repeatPenalty() {
    return repeatPenalty;
  }

  public float frequencyPenalty() {
    return frequencyPenalty;
  }

  public float presencePenalty() {
    return presencePenalty;
  }

  public int penaltyLastN() {
    return penaltyLastN;
  }

  public long seed() {
    return seed;
  }

  /** The biased tokens, in the order they were added (a copy). */
  public int[] logitBiasTokens() {
    return logitBiasTokens.clone();
  }

  /** The biases of {@link #logitBiasTokens()}, index for index (a copy). */
  public float[] logitBiasValues() {
    return logitBiasValues.clone();
  }

  public Llama3Grammar grammar() {
    return grammar;
  }

  private static native void nativeDefaults(Llama3SamplerParams params);
}
