#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "llama3/log.hpp"

namespace llama3 {
namespace {

void write_to_stderr(LogLevel level, std::string_view message) {
  if (level < LogLevel::kWarning) return;
  const char* label = level == LogLevel::kWarning ? "warning" : "error";
  std::fprintf(stderr, "llama3: %s: %.*s\n", label, static_cast<int>(message.size()),
               message.data());
}

// The handler is shared, so that a message being delivered keeps it alive while another thread
// replaces it.
struct LogSink {
  std::mutex mutex;
  std::shared_ptr<const LogHandler> handler = std::make_shared<const LogHandler>(write_to_stderr);
};

LogSink& sink() {
  static LogSink instance;  // constructed on first use, so static initializers may log
  return instance;
}

}  // namespace

void set_log_handler(LogHandler handler) {
  auto replacement = std::make_shared<const LogHandler>(std::move(handler));
  std::lock_guard lock(sink().mutex);
  sink().handler = std::move(replacement);
}

void reset_log_handler() {
  set_log_handler(write_to_stderr);
}

void log_message(LogLevel level, std::string_view message) {
  std::shared_ptr<const LogHandler> handler;
  {
    std::lock_guard lock(sink().mutex);
    handler = sink().handler;
  }
  if (*handler) (*handler)(level, message);
}

}  // namespace llama3
