// The embedded chat page is the committed file, byte for byte, and stays self-contained.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "server/web/chat_page.hpp"

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("the embedded chat page equals src/server/web/chat.html byte for byte", "[server]") {
  const std::string file =
      read_file(std::filesystem::path(LLAMA3_SOURCE_DIR) / "src/server/web/chat.html");
  const std::string_view embedded = llama3::server::chat_page_html();
  REQUIRE(!file.empty());
  CHECK(embedded.size() == file.size());
  CHECK(embedded == file);
}

TEST_CASE("the chat page loads nothing from another host", "[server]") {
  const std::string_view page = llama3::server::chat_page_html();
  // No CDN script or stylesheet, no web font: every URL the page uses is a path on its own server.
  CHECK(page.find("http://") == std::string_view::npos);
  CHECK(page.find("https://") == std::string_view::npos);
  CHECK(page.find("//cdn") == std::string_view::npos);
  CHECK(page.find("@import") == std::string_view::npos);
  CHECK(page.find("@font-face") == std::string_view::npos);
  CHECK(page.find("<script src") == std::string_view::npos);
  CHECK(page.find("<link") == std::string_view::npos);
  // It streams from the OpenAI endpoint.
  CHECK(page.find("/v1/chat/completions") != std::string_view::npos);
  CHECK(page.find("stream: true") != std::string_view::npos);
}
