"""llama3: Llama 3 models on CPUs (Python binding of the llama3 C++ library).

Example:
    >>> import llama3
    >>> with llama3.Model("stories260K.gguf") as model:
    ...     session = model.session()
    ...     for piece in session.generate("Once upon a time", max_tokens=32):
    ...         print(piece, end="")
"""
from ._errors import (BadFormatError, BlockedError, BufferTooSmallError, CancelledError,
                      ContextFullError, Error, InternalError, InvalidArgumentError, IoError,
                      OutOfMemoryError, UnsupportedError)
from ._llama3 import (CodeScanner, Engine, EngineRequest, GenerationStream, Grammar, Guard,
                      KvCacheType, LoraAdapter, Model, Sampler, Session, Tokenizer, __version__,
                      convert_hf_to_gguf, error_code_name, merge_lora, parse_tool_calls,
                      quantize_gguf, reset_log_handler, set_log_handler)
from ._llama3 import HAS_MPI
from ._completion import Completion  # also adds Session.complete and Model.create_*completion

# The MPI pipeline exists only in builds made with it (docs/distributed.md).
if HAS_MPI:
    from ._llama3 import Pipeline, abort_mpi_job, mpi_launched

__all__ = [
    "Model", "Tokenizer", "Session", "Sampler", "Grammar", "GenerationStream", "KvCacheType",
    "Completion",
    "Engine", "EngineRequest", "CodeScanner", "Guard", "LoraAdapter", "merge_lora",
    "Error", "InvalidArgumentError", "IoError", "BadFormatError", "UnsupportedError",
    "OutOfMemoryError", "ContextFullError", "CancelledError", "BlockedError", "InternalError",
    "BufferTooSmallError", "error_code_name", "parse_tool_calls", "convert_hf_to_gguf",
    "quantize_gguf", "set_log_handler", "reset_log_handler", "__version__", "HAS_MPI",
]
if HAS_MPI:
    __all__ += ["Pipeline", "abort_mpi_job", "mpi_launched"]
