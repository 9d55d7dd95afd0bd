// GET /: the place the embedded web chat page is registered. Until the page is built in, the root
// answers with a short text naming the API and its documentation.
#include "server/http_routes.hpp"

namespace llama3::server {

void register_web_routes(httplib::Server& http, ServerState& state) {
  http.Get("/", [&state](const httplib::Request&, httplib::Response& response) {
    ++state.metrics.requests_other;
    response.set_content("llama3 server: an OpenAI-compatible API under /v1 (docs/server.md)\n",
                         "text/plain");
  });
}

}  // namespace llama3::server
