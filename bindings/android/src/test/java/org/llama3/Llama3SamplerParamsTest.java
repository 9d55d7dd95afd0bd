package org.llama3;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Llama3SamplerParams through JNI, run by ctest (jni_sampler_params): every field arrives in the C
 * struct unchanged, a new object holds the C defaults, and generation follows the settings
 * (greedy, logit bias, grammar, a rejected value).
 */
public final class Llama3SamplerParamsTest {
  private static int failures = 0;

  private static void check(boolean condition, String what) {
    if (!condition) {
      System.err.println("FAILED: " + what);
      ++failures;
    }
  }

  private static double[] read(Llama3SamplerParams params, long[] longs, int[] tokens,
      float[] values) {
    return SamplerParamsProbe.read(params, longs, tokens, values);
  }

  /** Every field set to a value unlike its default arrives in the C struct. */
  private static void checkFieldsArrive(Llama3Grammar grammar, long grammarHandle) {
    check(SamplerParamsProbe.unknownFieldBytes() == 0,
        "llama3_sampler_params has fields after `grammar` that Llama3SamplerParams lacks");
    Llama3SamplerParams params = new Llama3SamplerParams()
        .temperature(0.25f).topK(7).topP(0.5f).minP(0.125f).repeatPenalty(1.5f)
        .frequencyPenalty(0.75f).presencePenalty(-0.5f).penaltyLastN(-1)
        .seed(0xFEDCBA9876543210L)  // above 2^63 as unsigned: all 64 bits must cross
        .logitBias(3, Float.NEGATIVE_INFINITY).logitBias(5, 2.5f).logitBias(3, -1.0f)
        .grammar(grammar);
    long[] longs = new long[2];
    int[] tokens = new int[2];
    float[] values = new float[2];
    double[] c = read(params, longs, tokens, values);
    check(c[SamplerParamsProbe.STRUCT_SIZE] > 0, "struct_size is set");
    check(c[SamplerParamsProbe.TEMPERATURE] == 0.25, "temperature " + c[SamplerParamsProbe.TEMPERATURE]);
    check(c[SamplerParamsProbe.TOP_K] == 7, "top_k " + c[SamplerParamsProbe.TOP_K]);
    check(c[SamplerParamsProbe.TOP_P] == 0.5, "top_p " + c[SamplerParamsProbe.TOP_P]);
    check(c[SamplerParamsProbe.MIN_P] == 0.125, "min_p " + c[SamplerParamsProbe.MIN_P]);
    check(c[SamplerParamsProbe.REPEAT_PENALTY] == 1.5, "repeat_penalty");
    check(c[SamplerParamsProbe.FREQUENCY_PENALTY] == 0.75, "frequency_penalty");
    check(c[SamplerParamsProbe.PRESENCE_PENALTY] == -0.5, "presence_penalty");
    check(c[SamplerParamsProbe.PENALTY_LAST_N] == -1, "penalty_last_n");
    check(longs[0] == 0xFEDCBA9876543210L, "seed " + Long.toHexString(longs[0]));
    check(longs[1] == grammarHandle && grammarHandle != 0, "grammar is the Llama3Grammar's handle");
    // Token 3's second bias replaced its first; the order is the order of first mention.
    check(c[SamplerParamsProbe.N_LOGIT_BIAS] == 2, "n_logit_bias " + c[SamplerParamsProbe.N_LOGIT_BIAS]);
    check(Arrays.equals(tokens, new int[] {3, 5}), "logit_bias tokens " + Arrays.toString(tokens));
    check(Arrays.equals(values, new float[] {-1.0f, 2.5f}), "logit_bias values " + Arrays.toString(values));

    params.clearLogitBias().grammar(null).seed(-1L);
    c = read(params, longs, new int[0], new float[0]);
    check(c[SamplerParamsProbe.N_LOGIT_BIAS] == 0, "clearLogitBias leaves no bias");
    check(longs[1] == 0, "no grammar: NULL");
    check(longs[0] == -1L, "seed 2^64-1");
  }

  /** A new object holds the C defaults, which reach the C struct as they were. */
  private static void checkDefaults() {
    double[] c = SamplerParamsProbe.defaults();
    Llama3SamplerParams params = new Llama3SamplerParams();
    check(params.temperature() == (float) c[SamplerParamsProbe.TEMPERATURE], "default temperature");
    check(params.topK() == (int) c[SamplerParamsProbe.TOP_K], "default top_k");
    check(params.topP() == (float) c[SamplerParamsProbe.TOP_P], "default top_p");
    check(params.minP() == (float) c[SamplerParamsProbe.MIN_P], "default min_p");
    check(params.repeatPenalty() == (float) c[SamplerParamsProbe.REPEAT_PENALTY], "default repeat_penalty");
    check(params.penaltyLastN() == (int) c[SamplerParamsProbe.PENALTY_LAST_N], "default penalty_last_n");
    check(params.logitBiasTokens().length == 0 && params.grammar() == null, "no bias, no grammar");
    double[] read = read(params, new long[2], new int[0], new float[0]);
    check(Arrays.equals(read, c), "defaults round trip: " + Arrays.toString(read) + " vs " + Arrays.toString(c));
  }

  private static String generate(Llama3Model model, Llama3SamplerParams params, int n) {
    try (Llama3Session session = model.newSession(128, 1)) {
      return session.generate(model.tokenize("Once upon a time", true, true), params, n, null);
    }
  }

  /** Generation follows the settings. */
  private static void checkGeneration(Llama3Model model) {
    Llama3SamplerParams greedy = new Llama3SamplerParams().temperature(0);
    String first = generate(model, greedy, 1);
    String again = generate(model, new Llama3SamplerParams().temperature(0).seed(99), 1);
    check(!first.isEmpty() && first.equals(again), "greedy ignores the seed: '" + first + "'");
    int mostLikely;
    try (Llama3Session session = model.newSession(128, 1)) {
      float[] logits = session.decode(model.tokenize("Once upon a time", true, true));
      mostLikely = 0;
      for (int i = 1; i < logits.length; ++i) {
        if (logits[i] > logits[mostLikely]) mostLikely = i;
      }
    }
    String banned = generate(model, greedy.logitBias(mostLikely, Float.NEGATIVE_INFINITY), 1);
    check(!banned.equals(first), "the banned greedy token is not generated: '" + banned + "'");

    try (Llama3Grammar digits = model.grammarFromRegex("[0-9]{3}")) {
      String text = generate(model, new Llama3SamplerParams().seed(5).grammar(digits), 16);
      check(text.matches("[0-9]{3}"), "regex grammar: '" + text + "'");
    }
    try (Llama3Grammar yes = model.grammarFromGbnf("root ::= \"yes\" | \"no\"")) {
      String text = generate(model, new Llama3SamplerParams().grammar(yes), 16);
      check(text.equals("yes") || text.equals("no"), "GBNF grammar: '" + text + "'");
    }
    try (Llama3Grammar schema = model.grammarFromJsonSchema("{\"type\": \"boolean\"}")) {
      String text = generate(model, new Llama3SamplerParams().grammar(schema), 16);
      // JSON allows whitespace around the value.
      check(text.strip().equals("true") || text.strip().equals("false"),
          "JSON Schema grammar: '" + text + "'");
    }
    Llama3Grammar closed = model.grammarFromRegex("a");
    closed.close();
    try {
      generate(model, new Llama3SamplerParams().grammar(closed), 4);
      check(false, "a closed grammar is refused");
    } catch (Llama3Exception e) {
      check(e.code() == Llama3Exception.INVALID_ARGUMENT, "closed grammar: INVALID_ARGUMENT");
    }
    try {
      model.grammarFromGbnf("root ::= \"unterminated");
      check(false, "a broken grammar throws");
    } catch (Llama3Exception e) {
      check(e.code() == Llama3Exception.INVALID_ARGUMENT, "broken GBNF: INVALID_ARGUMENT");
    }
    try {
      generate(model, new Llama3SamplerParams().topP(2.0f), 4);
      check(false, "top_p 2 is refused");
    } catch (Llama3Exception e) {
      check(e.code() == Llama3Exception.INVALID_ARGUMENT && e.getMessage().contains("top_p"),
          "top_p 2: INVALID_ARGUMENT naming top_p, got " + e.getMessage());
    }
  }

  public static void main(String[] args) throws Exception {
    Path modelPath = Path.of(System.getenv().getOrDefault("LLAMA3_TEST_MODEL", ""));
    if (!Files.exists(modelPath)) {
      System.err.println("skipped: missing " + modelPath);
      System.exit(77);
    }
    checkDefaults();
    try (Llama3Model model = Llama3Model.load(modelPath.toString())) {
      try (Llama3Grammar grammar = model.grammarFromRegex("[a-z]+")) {
        checkFieldsArrive(grammar, grammarHandle(grammar));
      }
      checkGeneration(model);
    }
    if (failures > 0) {
      System.err.println(failures + " failures");
      System.exit(1);
    }
    System.out.println("all Llama3SamplerParams checks passed");
  }

  private static long grammarHandle(Llama3Grammar grammar) throws Exception {
    java.lang.reflect.Field field = Llama3Grammar.class.getDeclaredField("grammar");
    field.setAccessible(true);
    return field.getLong(grammar);
  }
}
