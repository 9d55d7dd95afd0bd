package org.llama3;

/** A failure reported by the llama3 library; {@link #code()} is the shared status code. */
public class Llama3Exception extends RuntimeException {
  public static final int INVALID_ARGUMENT = 1, IO = 2, BAD_FORMAT = 3, UNSUPPORTED = 4,
      OUT_OF_MEMORY = 5, CONTEXT_FULL = 6, CANCELLED = 7, BLOCKED = 8, INTERNAL = 9,
      BUFFER_TOO_SMALL = 10;

  private static final long serialVersionUID = 1L;

  private final int code;

  public Llama3Exception(int code, String message) {
    super(message);
    this.code = code;
  }

  public int code() {
    return code;
  }
}
