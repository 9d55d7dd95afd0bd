#include <cstdio>

#include "command_line.hpp"
#include "commands.hpp"
#include "llama3/version.hpp"

namespace llama3::cli {

int run_version(Args args) {
  const auto app = make_command_app("version", "Print the library version.");
  if (!parse_command_line(*app, args)) return 0;
  std::printf("llama3 %s\n", kVersionString);
  return 0;
}

}  // namespace llama3::cli
