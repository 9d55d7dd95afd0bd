// GET /: the embedded web chat page (src/server/web/chat.html, compiled in by
// cmake/embed_text.cmake). It is public like /health, so a browser can open it when an API key is
// set; the page then sends the key the user types with each API request.
#include "server/http_routes.hpp"
#include "server/web/chat_page.hpp"

namespace llama3::server {

void register_web_routes(httplib::Server& http, ServerState& state) {
  http.Get("/", [&state](const httplib::Request&, httplib::Response& response) {
    ++state.metrics.requests_other;
    const std::string_view page = chat_page_html();
    response.set_content(page.data(), page.size(), "text/html; charset=utf-8");
    // The page is self-contained: forbid it everything from other hosts and framing by them.
    response.set_header("Content-Security-Policy",
                        "default-src 'self'; script-src 'unsafe-inline'; "
                        "style-src 'unsafe-inline'; frame-ancestors 'none'");
    response.set_header("X-Content-Type-Options", "nosniff");
  });
}

}  // namespace llama3::server
