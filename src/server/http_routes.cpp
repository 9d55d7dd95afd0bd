#include "server/http_routes.hpp"

#include "server/auth.hpp"
#include "server/json_fields.hpp"

namespace llama3::server {
namespace {

// The error object for failures the HTTP library answers itself (no route, body too large, a
// request it could not read).
ApiError library_error(int status, const std::string& path, const ServerState& state) {
  switch (status) {
    case 404:
      return ApiError(404, "invalid_request_error", "no endpoint " + path, {}, "not_found");
    case 405:
      return ApiError(405, "invalid_request_error", "method not allowed on " + path);
    case 413:
      return ApiError(413, "invalid_request_error",
                      "the request body is larger than the limit of " +
                          std::to_string(state.options.max_body_bytes) + " bytes",
                      {}, "request_too_large");
    default:
      return ApiError(status, status >= 500 ? "server_error" : "invalid_request_error",
                      "the request could not be served (HTTP " + std::to_string(status) + ")");
  }
}

}  // namespace

void send_json(httplib::Response& response, const nlohmann::json& body) {
  response.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& response, const ApiError& error, ServerState& state) {
  ++state.metrics.requests_failed;
  response.status = error.status();
  if (error.retry_after > 0) {
    response.set_header("Retry-After", std::to_string(error.retry_after));
  }
  send_json(response, error_body(error));
}

void require_ready(const ServerState& state) {
  if (!state.ready) {
    ApiError error(503, "server_error", "the model is loading", {}, "loading");
    error.retry_after = 1;
    throw error;
  }
}

void register_routes(httplib::Server& http, ServerState& state) {
  http.set_pre_routing_handler(
      [&state](const httplib::Request& request, httplib::Response& response) {
        if (is_public_path(request.method, request.path) ||
            authorized(request.get_header_value("Authorization"), state.options.api_keys)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        send_error(response,
                   ApiError(401, "invalid_request_error",
                            "Incorrect or missing API key: send \"Authorization: Bearer KEY\"", {},
                            "invalid_api_key"),
                   state);
        return httplib::Server::HandlerResponse::Handled;
      });
  http.set_error_handler([&state](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty() || response.is_chunked_content_provider_) return;
    const int status = response.status;
    send_error(response, library_error(status, request.path, state), state);
    response.status = status;
  });
  http.set_exception_handler(
      [&state](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        send_error(response, ApiError(500, "server_error", "internal error"), state);
      });
  register_completion_routes(http, state);
  register_info_routes(http, state);
  register_moderation_routes(http, state);
  register_web_routes(http, state);
}

}  // namespace llama3::server
