"""Independent NumPy reference for the llama3 C++ library.

Written from ``docs/facts.md`` only and sharing no code with the C++ side, so that a bug in one is not
silently repeated in the other. Everything computes in float64: the reference is meant to be slow and
obviously right, and the C++ float32 results are compared against it with stated tolerances.

Modules (one job each):
- ``gguf``        read a GGUF v2/v3 file: metadata, tensor infos, raw tensor bytes (memory-mapped)
- ``gguf_writer`` write a small GGUF (F32 tensors) for self-tests that need no C++
- ``quants``      dequantize ggml block formats to float64, vectorised over whole tensors
- ``llama``       the llama-architecture forward pass (logits for every position)
- ``spm``         a llama.cpp-style SentencePiece tokenizer over a GGUF "llama" vocab
"""
