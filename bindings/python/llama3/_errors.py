"""Exception classes of llama3: one per code of the shared llama3::ErrorCode / llama3_status enum."""


class Error(Exception):
    """Base class of every llama3 error. ``code`` is the numeric code shared with the C ABI."""

    code = -1

    def __init__(self, message: str = "", code: int = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(Error, ValueError):
    """An argument was out of range or inconsistent (code 1)."""
    code = 1


class IoError(Error, OSError):
    """A file could not be opened, mapped, read or written (code 2)."""
    code = 2


class BadFormatError(Error):
    """A file's (or a state's) bytes are malformed, truncated or inconsistent (code 3)."""
    code = 3


class UnsupportedError(Error):
    """Well-formed, but not something this library runs (code 4)."""
    code = 4


class OutOfMemoryError(Error, MemoryError):
    """Out of memory (code 5)."""
    code = 5


class ContextFullError(Error):
    """A decode would go past the session's context window (code 6)."""
    code = 6


class CancelledError(Error):
    """A progress or abort callback asked to stop (code 7)."""
    code = 7


class BlockedError(Error):
    """A safety filter refused the input or stopped the output (code 8).

    Raised by iterating Session.generate() (and so by complete() and the create_*completion
    calls) when a filter of its guard=, code_scanner= or blocked_phrases= blocked:

      reason: the filter's reason ('blocked phrase: "xyz" in the prompt', "llama guard: unsafe S1
        (P(unsafe)=0.97)", "code scanner: BLOCK: CWE-120 c.strcpy ...").
      filter: "blocked_phrases", "guard" or "code_scanner" (None when not known).
      stop_reason: "blocked" (the prompt was refused before any decode) or "filtered" (the answer
        was stopped; the pieces yielded before it were allowed through).
    """
    code = 8

    def __init__(self, message: str = "", code: int = None, *, reason: str = None,
                 filter: str = None, stop_reason: str = None):  # noqa: A002 (the field's name)
        super().__init__(message, code)
        self.reason = reason if reason is not None else message
        self.filter = filter
        self.stop_reason = stop_reason


class InternalError(Error):
    """A bug in this library (code 9)."""
    code = 9


class BufferTooSmallError(Error):
    """A caller buffer cannot hold the result (code 10; C ABI only)."""
    code = 10


ERROR_CLASSES = {cls.code: cls for cls in (
    InvalidArgumentError, IoError, BadFormatError, UnsupportedError, OutOfMemoryError,
    ContextFullError, CancelledError, BlockedError, InternalError, BufferTooSmallError)}
