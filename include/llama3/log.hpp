// The library's log sink: where it reports what it changed on the caller's behalf (a thread count
// above the machine's, clamped). Process-wide, the one piece of mutable global state the library
// keeps; the C ABI's llama3_set_log_callback routes it to its callback.
#pragma once

#include <functional>
#include <string_view>

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Called on whichever thread logs, possibly on several at once; `message` has no trailing newline
// and is valid only during the call.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the handler; safe to call from any thread (a message being delivered may still reach
// the previous one). An empty handler silences the library. The default writes warnings and errors
// to stderr as "llama3: warning: <message>".
void set_log_handler(LogHandler handler);
// Restores the default handler (stderr).
void reset_log_handler();

// Delivers a message to the current handler.
void log_message(LogLevel level, std::string_view message);

}  // namespace llama3

#pragma GCC visibility pop
