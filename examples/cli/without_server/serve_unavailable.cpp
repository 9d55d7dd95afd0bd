// `llama3 serve` in a build without the HTTP server (src/CMakeLists.txt builds llama3_server only
// when it finds cpp-httplib for the target, which a cross build may lack): the command stays in the
// table and says why it cannot run, instead of the tool failing to link.
#include <cstdio>

#include "../commands.hpp"

namespace llama3::cli {

int run_serve(Args) {
  std::fprintf(stderr,
               "llama3 serve: error: this build has no HTTP server (cpp-httplib was not found for "
               "its target when it was configured)\n");
  return 1;
}

}  // namespace llama3::cli
