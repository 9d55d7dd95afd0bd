// Copies GGUF metadata values from a file being read into a GgufWriter, keeping each value's type
// (a quantizer must hand llama.cpp the same keys it read: counts as u32, ids as i32, ...).
#pragma once

#include <string>

#include "io/gguf.hpp"

namespace llama3::io {

// Throws kUnsupported naming the key for an array of bools (no Llama key uses one).
void copy_gguf_value(GgufWriter& writer, const std::string& key, const GgufValue& value);

}  // namespace llama3::io
