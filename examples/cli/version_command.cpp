#include <cstdio>

#include "commands.hpp"
#include "llama3/version.hpp"

namespace llama3::cli {

int run_version(Args) {
  std::printf("llama3 %s\n", kVersionString);
  return 0;
}

}  // namespace llama3::cli
