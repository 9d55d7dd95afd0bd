// OutputFile: a file appears under its name only when complete; failures (an exception, a full
// disk, kill -9) leave the old file and nothing else; links are written through; FIFOs, devices
// and folders are refused; an output that is an input is refused.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "io/output_file.hpp"
#include "support/child_process.hpp"
#include "support/error_code.hpp"
#include "support/test_data.hpp"

using namespace llama3;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void write_and_commit(const fs::path& path, const std::string& text) {
  io::OutputFile out(path);
  out.write(std::as_bytes(std::span(text)));
  out.commit();
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("an output file replaces the old one only on commit", "[io]") {
  const auto dir = testing::scratch_dir("output-file-commit");
  const auto path = dir / "out.bin";
  write_text(path, "old");
  {
    io::OutputFile out(path);
    const std::string text = "new, never committed";
    out.write(std::as_bytes(std::span(text)));
    CHECK(read_text(path) == "old");
  }  // destroyed without commit(), as when an exception unwinds
  CHECK(read_text(path) == "old");
  CHECK(names_in(dir) == std::vector<std::string>{"out.bin"});

  ::chmod(path.c_str(), 0640);
  write_and_commit(path, "new");
  CHECK(read_text(path) == "new");
  CHECK(names_in(dir) == std::vector<std::string>{"out.bin"});
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);  // the replaced file's permissions are kept

  write_and_commit(dir / "fresh.bin", "fresh");
  CHECK(read_text(dir / "fresh.bin") == "fresh");
}

TEST_CASE("an output path that is a symbolic link is written through", "[io]") {
  const auto dir = testing::scratch_dir("output-file-link");
  fs::create_directories(dir / "real");
  write_text(dir / "real" / "target.bin", "old");
  fs::create_symlink("real/target.bin", dir / "link.bin");
  write_and_commit(dir / "link.bin", "new");
  CHECK(fs::is_symlink(dir / "link.bin"));
  CHECK(read_text(dir / "real" / "target.bin") == "new");
  CHECK(names_in(dir / "real") == std::vector<std::string>{"target.bin"});

  fs::create_symlink("real/nothing.bin", dir / "dangling.bin");
  CHECK_THAT(testing::message_of([&] { io::OutputFile out(dir / "dangling.bin"); }),
             Catch::Contains("symbolic link to a file that does not exist"));
  CHECK_FALSE(fs::exists(dir / "real" / "nothing.bin"));
}

TEST_CASE("a FIFO, a device or a folder is never replaced", "[io]") {
  const auto dir = testing::scratch_dir("output-file-special");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  fs::create_directories(dir / "folder");
  CHECK(testing::code_of([&] { io::OutputFile out(dir / "fifo"); }) == ErrorCode::kInvalidArgument);
  CHECK(fs::is_fifo(dir / "fifo"));
  CHECK_THAT(testing::message_of([&] { io::OutputFile out(dir / "folder"); }),
             Catch::Contains("is a folder; refusing to replace it"));
  // As root, replacing /dev/null would break the whole machine.
  CHECK_THAT(testing::message_of([&] { io::OutputFile out("/dev/null"); }),
             Catch::Contains("/dev/null is a character device; refusing to replace it"));
  CHECK(fs::is_character_file("/dev/null"));
  CHECK(names_in(dir) == std::vector<std::string>{"fifo", "folder"});
}

TEST_CASE("an output that is an input is refused, through links too", "[io]") {
  const auto dir = testing::scratch_dir("output-file-input");
  write_text(dir / "in.bin", "input");
  fs::create_symlink("in.bin", dir / "link.bin");
  fs::create_hard_link(dir / "in.bin", dir / "hard.bin");
  const fs::path inputs[] = {dir / "in.bin"};
  for (const char* name : {"in.bin", "link.bin", "hard.bin"}) {
    INFO(name);
    CHECK_THAT(testing::message_of([&] { io::refuse_to_overwrite_inputs(dir / name, inputs); }),
               Catch::Contains("is the input"));
  }
  CHECK_NOTHROW(io::refuse_to_overwrite_inputs(dir / "other.bin", inputs));
  CHECK(read_text(dir / "in.bin") == "input");
}

TEST_CASE("a full disk fails the write and leaves the old file and nothing else", "[io]") {
  // RLIMIT_FSIZE makes write() fail (EFBIG) past the limit, as a full disk does (ENOSPC), without
  // needing a small file system. It is set in a child process so the test runner keeps its own.
  const auto dir = testing::scratch_dir("output-file-full");
  const auto path = dir / "out.bin";
  write_text(path, "old");
  const int status = testing::run_in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const std::string message = testing::message_of([&] {
      io::OutputFile out(path);
      out.write_zeros(1 << 20);
      out.commit();
    });
    if (message.find("write failed: File too large") == std::string::npos) ::_exit(2);
  });
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_text(path) == "old");
  CHECK(names_in(dir) == std::vector<std::string>{"out.bin"});
}

TEST_CASE("kill -9 while writing leaves the old file and no temporary file", "[io]") {
  const auto dir = testing::scratch_dir("output-file-kill");
  const auto path = dir / "out.bin";
  write_text(path, "old");
  const int status = testing::run_in_child([&] {
    io::OutputFile out(path);
    out.write_zeros(1 << 20);
    ::raise(SIGKILL);
  });
  CHECK(WIFSIGNALED(status));
  CHECK(read_text(path) == "old");
  CHECK(names_in(dir) == std::vector<std::string>{"out.bin"});
}
