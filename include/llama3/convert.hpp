// Converting and quantizing model files: a Hugging Face Llama folder to GGUF, and a GGUF model to
// another weight type or mix. Both stream one tensor at a time (memory stays near one tensor, not a
// model) and never leave a partial file: the output appears under its name only once it is
// complete and flushed, an existing file is replaced in one step, and on any error or cancellation
// the old file is untouched and no temporary file remains.
//
// Refused before any work (llama3::Error, kInvalidArgument): an output that is one of the inputs
// (also through symbolic or hard links), and an existing output that is not a regular file (a FIFO,
// a device, a folder). A symbolic link as output is written through: the file it names is replaced.
// Refused as the work meets them (kBadFormat, naming the tensor): weights that disagree with
// config.json, and NaN or infinite weights.
//
// Thread-safety: each call is independent; the callbacks run on the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llama3/lora.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

struct ConvertProgress {
  std::size_t tensors_done = 0;  // tensors written so far
  std::size_t tensors_total = 0;
  std::string_view tensor;  // the tensor about to be written ("" once all are done)
};

struct ConvertOptions {
  // The output weight type or mix: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k,
  // or q4_k_m / q5_k_m (Q6_K for output.weight and for attn_v/ffn_down in the first and last eighth
  // of the layers and every third layer between). 1-D tensors stay F32.
  std::string type = "f16";
  int n_threads = 0;  // 0: one per hardware thread
  // Called before each tensor and once at the end; return false to cancel (kCancelled).
  std::function<bool(const ConvertProgress&)> progress;
};

// The error a conversion introduced, per output type: relative RMSE = sqrt(sum (q - x)^2 / sum x^2)
// over every weight written in that type (0 for tensors copied as they were).
struct ConvertedType {
  std::string type;  // as GGUF spells it: "q4_K", "f16"
  int tensors = 0;
  std::uint64_t bytes = 0;
  double relative_rmse = 0.0;
};

struct ConvertResult {
  std::vector<ConvertedType> types;
  // Things the caller should tell its user (no tokenizer.json; an already quantized input).
  std::vector<std::string> warnings;
};

// config.json, model.safetensors (or shards with model.safetensors.index.json), optionally
// tokenizer.json, tokenizer_config.json (chat template, eos) and generation_config.json, to a
// GGUF file in llama.cpp's conventions (llama.* keys, the gpt2/llama-bpe tokenizer, q/k rows in
// Meta's order, rope_freqs.weight for Llama 3.1 rope scaling). A Meta checkpoint folder
// (params.json, consolidated.NN.pth shards, optionally tokenizer.model; docs/meta-checkpoints.md)
// is converted the same way; its merges come from the tokenizer.model ranks.
ConvertResult convert_hf_to_gguf(const std::filesystem::path& hf_folder,
                                 const std::filesystem::path& out_gguf,
                                 const ConvertOptions& options = {});

// Rewrites a GGUF model's weights in options.type, copying all metadata. Already quantized inputs
// are dequantized first (with a warning: the result carries both errors).
ConvertResult quantize_gguf(const std::filesystem::path& in_gguf,
                            const std::filesystem::path& out_gguf,
                            const ConvertOptions& options = {});

// Writes `base_gguf` with the adapters merged into its weights: W' = W + Σ scale·(alpha/r)·B·A for
// every target matrix, computed in f32 from the dequantized base and written in options.type, or
// in each tensor's own type when options.type is empty, which `llama3 export-lora` passes by
// default (ConvertOptions' own default is f16). A quantized target is rounded again after the merge
// (a warning says so). Tensors no adapter touches are copied as they are unless options.type asks
// for another type. Adapters are checked as
// LoraAdapter::load checks them, before any work.
ConvertResult merge_lora(const std::filesystem::path& base_gguf,
                         const std::vector<LoraFile>& adapters,
                         const std::filesystem::path& out_gguf, const ConvertOptions& options = {});

}  // namespace llama3

#pragma GCC visibility pop
