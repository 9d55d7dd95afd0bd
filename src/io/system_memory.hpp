// How much memory this process can still allocate, so work that needs more fails before it starts
// with a message naming both numbers (a session's KV cache, a model read into memory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace llama3::io {

// MemAvailable + SwapFree from /proc/meminfo, lowered to the cgroup's memory.max - memory.current
// when that is smaller. Nothing when neither can be read.
std::optional<std::uint64_t> available_memory_bytes();

// "12.34 GiB", for messages.
std::string gib_text(std::uint64_t bytes);

}  // namespace llama3::io
