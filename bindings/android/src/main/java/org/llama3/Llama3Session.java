package org.llama3;

import java.nio.charset.StandardCharsets;

/** One conversation (KV cache, position, logits). Use from one thread at a time. */
public final class Llama3Session implements AutoCloseable {
  /** Receives each piece of generated text; return false to stop. */
  public interface PieceListener {
    boolean onPiece(String piece);
  }

  private long session;  // llama3_session*

  Llama3Session(long session) {
    this.session = session;
  }

  /** Runs ids after those in the context; returns a copy of the last logits [n_vocab]. */
  public float[] decode(int[] ids) {
    return nativeDecode(handle(), ids);
  }

  /**
   * Feeds the prompt, then samples (temperature, seed; other settings are the library's defaults)
   * until an end-of-generation token, maxTokens, the listener or a full context.
   *
   * @return the whole generated text
   */
  public String generate(int[] prompt, float temperature, long seed, int maxTokens,
      PieceListener listener) {
    return generate(prompt, new Llama3SamplerParams().temperature(temperature).seed(seed),
        maxTokens, listener);
  }

  /**
   * Feeds the prompt, then samples with every setting of {@code sampling} until an
   * end-of-generation token, maxTokens, the listener or a full context (with a grammar, also
   * where the grammar allows nothing more).
   *
   * @return the whole generated text
   */
  public String generate(int[] prompt, Llama3SamplerParams sampling, int maxTokens,
      PieceListener listener) {
    if (sampling == null) {
      throw new Llama3Exception(Llama3Exception.INVALID_ARGUMENT, "sampling is null");
    }
    StringBuilder text = new StringBuilder();
    nativeGenerate(handle(), prompt, sampling, maxTokens, bytes -> {
      String piece = new String(bytes, StandardCharsets.UTF_8);
      text.append(piece);
      return listener == null || listener.onPiece(piece);
    });
    return text.toString();
  }

  public int nPast() {
    return nativeNPast(handle());
  }

  public byte[] saveState() {
    return nativeSaveState(handle());
  }

  public void loadState(byte[] state) {
    nativeLoadState(handle(), state);
  }

  @Override
  public synchronized void close() {
    nativeFree(session);
    session = 0;
  }

  private long handle() {
    if (session == 0) throw new Llama3Exception(Llama3Exception.INVALID_ARGUMENT, "the session is closed");
    return session;
  }

  interface BytesListener {
    boolean onPiece(byte[] piece);
  }

  static native long nativeCreate(long model, int nCtx, int nThreads);
  private static native void nativeFree(long session);
  private static native float[] nativeDecode(long session, int[] ids);
  private static native void nativeGenerate(long session, int[] prompt,
      Llama3SamplerParams sampling, int maxTokens, BytesListener listener);
  private static native int nativeNPast(long session);
  private static native byte[] nativeSaveState(long session);
  private static native void nativeLoadState(long session, byte[] state);
}
