// The chat page `llama3 serve` answers GET / with: src/server/web/chat.html, compiled into the
// library at build time (cmake/embed_text.cmake), so the server needs no file beside the binary.
#pragma once

#include <string_view>

namespace llama3::server {

// The page's bytes, UTF-8 HTML with inline style and script; serve as "text/html; charset=utf-8".
std::string_view chat_page_html();

}  // namespace llama3::server
