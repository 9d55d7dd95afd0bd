// Runs part of a test in a forked child, for what must not touch the test runner itself: a
// resource limit, a SIGKILL halfway through a write. Returns the child's wait status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

namespace llama3::testing {

// The child exits 0 when `body` returns, 1 when it throws; `body` may also end it (raise, _exit).
inline int run_in_child(const std::function<void()>& body) {
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    try {
      body();
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) throw std::runtime_error("waitpid failed");
  return status;
}

}  // namespace llama3::testing
