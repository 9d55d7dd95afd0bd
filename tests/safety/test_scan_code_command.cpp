// The `llama3 scan-code` command's exit status is its contract with scripts: 1 on BLOCK, 0
// otherwise, 2 on usage errors.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_data.hpp"

namespace {
int run(const std::string& arguments) {
  const auto tool = llama3::testing::bin_dir() / "llama3";
  REQUIRE(std::filesystem::exists(tool));
  const int status =
      std::system((tool.string() + " scan-code " + arguments + " >/dev/null 2>&1").c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}
}  // namespace

TEST_CASE("llama3 scan-code exits 1 on BLOCK, 0 otherwise, 2 on usage errors", "[safety]") {
  const auto dir = llama3::testing::scratch_dir("scan-code-command");
  std::ofstream(dir / "bad.c") << "int main(void) { char b[8]; gets(b); }\n";
  std::ofstream(dir / "warn.py") << "import pickle\nobj = pickle.loads(blob)\n";
  std::ofstream(dir / "ok.txt") << "// gets(b);\nint x = 1;\n";
  std::ofstream(dir / "answer.md") << "Try this:\n```c\ngets(b);\n```\n";
  CHECK(run((dir / "bad.c").string()) == 1);
  CHECK(run("--json " + (dir / "bad.c").string()) == 1);
  CHECK(run((dir / "warn.py").string()) == 0);
  CHECK(run("-l c " + (dir / "ok.txt").string()) == 0);
  CHECK(run((dir / "answer.md").string()) == 1);
  CHECK(run("-l python " + (dir / "bad.c").string()) == 0);  // gets( is not a Python rule
  CHECK(run("") == 2);
  CHECK(run("-l cobol " + (dir / "bad.c").string()) == 2);
  CHECK(run("--frobnicate " + (dir / "bad.c").string()) == 2);
  CHECK(run((dir / "missing.c").string()) == 2);
}
