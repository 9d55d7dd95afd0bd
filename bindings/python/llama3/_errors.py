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
    """A safety filter refused the input or stopped the output (code 8)."""
    code = 8


class InternalError(Error):
    """A bug in this library (code 9)."""
    code = 9


class BufferTooSmallError(Error):
    """A caller buffer cannot hold the result (code 10; C ABI only)."""
    code = 10


ERROR_CLASSES = {cls.code: cls for cls in (
    InvalidArgumentError, IoError, BadFormatError, UnsupportedError, OutOfMemoryError,
    ContextFullError, CancelledError, BlockedError, InternalError, BufferTooSmallError)}
