package org.llama3;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The JNI layer's test, run by ctest: generation equal to the C++ API's, errors, state, chat. */
public final class Llama3Test {
  private static int failures = 0;

  private static void check(boolean condition, String what) {
    if (!condition) {
      System.err.println("FAILED: " + what);
      ++failures;
    }
  }

  private static String env(String name) {
    String value = System.getenv(name);
    return value == null ? "" : value;
  }

  public static void main(String[] args) throws Exception {
    Path modelPath = Path.of(env("LLAMA3_TEST_MODEL"));
    Path referencePath = Path.of(env("LLAMA3_REFERENCE_TEXT"));
    if (!Files.exists(modelPath) || !Files.exists(referencePath)) {
      System.err.println("skipped: missing " + modelPath + " or " + referencePath);
      System.exit(77);
    }
    String prompt = env("LLAMA3_TEST_PROMPT");
    int nTokens = Integer.parseInt(env("LLAMA3_TEST_N_TOKENS"));
    long seed = Long.parseLong(env("LLAMA3_TEST_SEED"));
    float temperature = Float.parseFloat(env("LLAMA3_TEST_TEMPERATURE"));
    String reference = new String(Files.readAllBytes(referencePath), StandardCharsets.UTF_8);

    check(Llama3Model.version().equals("0.1.0"), "version");
    try (Llama3Model model = Llama3Model.load(modelPath.toString());
         Llama3Session session = model.newSession(0, 0)) {
      int[] ids = model.tokenize(prompt, true, true);
      StringBuilder streamed = new StringBuilder();
      String text = session.generate(ids, temperature, seed, nTokens, piece -> {
        streamed.append(piece);
        return true;
      });
      check((prompt + text + "\n").equals(reference), "generation equals the C++ API's: got '"
          + prompt + text + "' expected '" + reference + "'");
      check(streamed.toString().equals(text), "streamed pieces add up to the text");

      byte[] state = session.saveState();
      try (Llama3Session other = model.newSession(0, 1)) {
        other.loadState(state);
        check(other.nPast() == session.nPast(), "state round trip");
        // The restored session continues exactly as the saved one: the same next token gives the
        // same logits, bit for bit (the KV cache came back, not only the position).
        int[] next = {ids[ids.length - 1]};
        check(java.util.Arrays.equals(other.decode(next), session.decode(next)),
            "state round trip: the restored session's next logits equal the saved one's");
        try {
          other.loadState(new byte[16]);
          check(false, "damaged state is refused");
        } catch (Llama3Exception e) {
          check(e.code() == Llama3Exception.BAD_FORMAT, "damaged state: BAD_FORMAT");
        }
      }
      try (Llama3Session small = model.newSession(4, 1)) {
        small.decode(new int[] {1, 2, 3, 4, 5});
        check(false, "decode past the context throws");
      } catch (Llama3Exception e) {
        check(e.code() == Llama3Exception.CONTEXT_FULL, "CONTEXT_FULL, got " + e.code());
      }
      try (Llama3Session s = model.newSession(8, 1)) {
        s.decode(new int[] {model.nVocab()});
        check(false, "out-of-range id throws");
      } catch (Llama3Exception e) {
        check(e.code() == Llama3Exception.INVALID_ARGUMENT, "INVALID_ARGUMENT for a bad id");
      }
      check(model.detokenize(model.tokenize("Hello there", false, false)).equals("Hello there"),
          "tokenize/detokenize round trip");
    }
    try {
      Llama3Model.load("/nonexistent/model.gguf");
      check(false, "missing file throws");
    } catch (Llama3Exception e) {
      check(e.code() == Llama3Exception.IO && e.getMessage().contains("/nonexistent"), "IO error");
    }
    Path vocab = Path.of(env("LLAMA3_VOCAB"));
    Path tiny = Path.of(env("LLAMA3_TINY_LLAMA3_MODEL"));
    if (Files.exists(tiny)) {
      try (Llama3Model model = Llama3Model.load(tiny.toString())) {
        int[] ids = model.encodeDialog(new String[] {"user"}, new String[] {"Hi \uD83D\uDE00"});
        check(ids[0] == 128000 && ids[1] == 128006, "chat encoding starts with the headers");
      }
    }
    if (failures > 0) {
      System.err.println(failures + " failures");
      System.exit(1);
    }
    System.out.println("all JNI checks passed");
  }
}
