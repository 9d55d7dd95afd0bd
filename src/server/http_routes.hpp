// The server's route table: every endpoint, the API-key check, the body limit and the error
// handler that gives every failure OpenAI's error object. The HTTP library (cpp-httplib) is named
// only in src/server.
#pragma once

#include <httplib.h>

#include "llama3/error.hpp"
#include "server/api_error.hpp"
#include "server/server_state.hpp"

namespace llama3::server {

void register_routes(httplib::Server& http, ServerState& state);

// Endpoint groups, each in its own file.
void register_completion_routes(httplib::Server& http, ServerState& state);
void register_info_routes(httplib::Server& http, ServerState& state);
void register_moderation_routes(httplib::Server& http, ServerState& state);
// GET / (the embedded web page): the one place the page is plugged in (web_routes.cpp).
void register_web_routes(httplib::Server& http, ServerState& state);

// Writes `error` as the response (status, OpenAI error object, Retry-After when set) and counts
// it.
void send_error(httplib::Response& response, const ApiError& error, ServerState& state);
void send_json(httplib::Response& response, const nlohmann::json& body);

// 503 while the model loads.
void require_ready(const ServerState& state);

// Runs `handler`, turning an ApiError or any other exception into the error response: the one
// try/catch every handler runs in.
template <typename Handler>
void guarded(ServerState& state, httplib::Response& response, Handler&& handler) {
  try {
    handler();
  } catch (const ApiError& error) {
    send_error(response, error, state);
  } catch (const Error& error) {
    // The library's own checks (a prompt token outside the vocabulary, sampling out of range)
    // are the client's mistake; anything else is ours.
    const bool client =
        error.code() == ErrorCode::kInvalidArgument || error.code() == ErrorCode::kContextFull;
    send_error(response,
               client
                   ? bad_request(error.what())
                   : ApiError(500, "server_error", error.what(), {}, error_code_name(error.code())),
               state);
  } catch (const std::exception& error) {
    send_error(response, ApiError(500, "server_error", error.what()), state);
  }
}

}  // namespace llama3::server
