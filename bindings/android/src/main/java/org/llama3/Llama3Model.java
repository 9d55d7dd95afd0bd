package org.llama3;

import java.nio.charset.StandardCharsets;

/**
 * A loaded Llama model (GGUF) with its tokenizer. Immutable and safe to share between threads;
 * sessions keep the weights alive after {@link #close()}.
 *
 * <pre>{@code
 * try (Llama3Model model = Llama3Model.load(path);
 *      Llama3Session session = model.newSession(0, 0)) {
 *   int[] prompt = model.tokenize("Once upon a time", true, true);
 *   session.generate(prompt, 0.8f, 42, 64, piece -> { System.out.print(piece); return true; });
 * }
 * }</pre>
 */
public final class Llama3Model implements AutoCloseable {
  static {
    System.loadLibrary("llama3_jni");
  }

  private long model;      // llama3_model*
  private long tokenizer;  // llama3_tokenizer* (0 when the file has none)

  private Llama3Model(long model, long tokenizer) {
    this.model = model;
    this.tokenizer = tokenizer;
  }

  /** Loads a GGUF file; throws Llama3Exception (IO, BAD_FORMAT, ...). */
  public static Llama3Model load(String path) {
    long model = nativeLoad(path);
    return new Llama3Model(model, nativeTokenizer(model));
  }

  /** The library version at run time, "MAJOR.MINOR.PATCH". */
  public static native String version();

  public int nVocab() {
    return nativeNVocab(handle());
  }

  /** Text to token ids. */
  public int[] tokenize(String text, boolean addBos, boolean parseSpecial) {
    return nativeTokenize(tokenizerHandle(), text.getBytes(StandardCharsets.UTF_8), addBos,
        parseSpecial);
  }

  /** Token ids to text (invalid UTF-8 becomes U+FFFD). */
  public String detokenize(int[] ids) {
    return new String(nativeDetokenize(tokenizerHandle(), ids), StandardCharsets.UTF_8);
  }

  /** A dialog (roles: system, user, assistant, ipython) in the Llama 3 chat format. */
  public int[] encodeDialog(String[] roles, String[] contents) {
    if (roles.length != contents.length) {
      throw new Llama3Exception(Llama3Exception.INVALID_ARGUMENT, "roles and contents differ in length");
    }
    return nativeEncodeDialog(tokenizerHandle(), roles, contents);
  }

  /** A grammar in GBNF (llama.cpp's notation, start rule "root"); INVALID_ARGUMENT names the spot. */
  public Llama3Grammar grammarFromGbnf(String gbnf) {
    return new Llama3Grammar(nativeGrammar(tokenizerHandle(), GRAMMAR_GBNF, utf8(gbnf)));
  }

  /** A grammar from a JSON Schema given as JSON text ("{}" allows any JSON value). */
  public Llama3Grammar grammarFromJsonSchema(String schema) {
    return new Llama3Grammar(nativeGrammar(tokenizerHandle(), GRAMMAR_JSON_SCHEMA, utf8(schema)));
  }

  /** A grammar from a regular expression the whole output must match. */
  public Llama3Grammar grammarFromRegex(String pattern) {
    return new Llama3Grammar(nativeGrammar(tokenizerHandle(), GRAMMAR_REGEX, utf8(pattern)));
  }

  /** A new session; nCtx 0 = the model's context (capped at 4096), nThreads 0 = all cores. */
  public Llama3Session newSession(int nCtx, int nThreads) {
    return new Llama3Session(Llama3Session.nativeCreate(handle(), nCtx, nThreads));
  }

  @Override
  public synchronized void close() {
    nativeFree(model, tokenizer);
    model = 0;
    tokenizer = 0;
  }

  private long handle() {
    if (model == 0) throw new Llama3Exception(Llama3Exception.INVALID_ARGUMENT, "the model is closed");
    return model;
  }

  private static byte[] utf8(String text) {
    return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
  }

  private long tokenizerHandle() {
    handle();
    if (tokenizer == 0) {
      throw new Llama3Exception(Llama3Exception.INVALID_ARGUMENT, "the model has no tokenizer");
    }
    return tokenizer;
  }

  // The kinds of grammar source nativeGrammar compiles.
  private static final int GRAMMAR_GBNF = 0, GRAMMAR_JSON_SCHEMA = 1, GRAMMAR_REGEX = 2;

  private static native long nativeLoad(String path);
  private static native long nativeTokenizer(long model);
  private static native void nativeFree(long model, long tokenizer);
  private static native int nativeNVocab(long model);
  private static native int[] nativeTokenize(long tokenizer, byte[] text, boolean addBos, boolean parseSpecial);
  private static native byte[] nativeDetokenize(long tokenizer, int[] ids);
  private static native int[] nativeEncodeDialog(long tokenizer, String[] roles, String[] contents);
  private static native long nativeGrammar(long tokenizer, int kind, byte[] source);
}
