// POST /v1/moderations in OpenAI's shape, answered by the --guard model.
#include "server/http_routes.hpp"
#include "server/json_fields.hpp"

namespace llama3::server {

void register_moderation_routes(httplib::Server& http, ServerState& state) {
  http.Post("/v1/moderations", [&state](const httplib::Request& request,
                                        httplib::Response& response) {
    guarded(state, response, [&] {
      ++state.metrics.requests_other;
      require_ready(state);
      if (!state.guard) {
        throw ApiError(501, "invalid_request_error",
                       "moderation needs a Llama Guard model: start the server with --guard FILE",
                       {}, "not_implemented");
      }
      const nlohmann::json body = parse_body(request.body);
      const auto input = body.find("input");
      std::vector<std::string> texts;
      if (input != body.end() && input->is_string()) {
        texts.push_back(input->get<std::string>());
      } else if (input != body.end() && input->is_array() && !input->empty() &&
                 input->size() <= 32) {
        for (const nlohmann::json& item : *input) {
          if (!item.is_string()) break;
          texts.push_back(item.get<std::string>());
        }
      }
      if (texts.empty() || (input->is_array() && texts.size() != input->size())) {
        throw bad_request("'input' must be a string or an array of 1 to 32 strings", "input");
      }
      nlohmann::json results = nlohmann::json::array();
      for (const std::string& text : texts) {
        const ChatTurn turn{"user", text};
        results.push_back(
            moderation_result(state.guard->classify({&turn, 1}), state.guard->policy()));
      }
      send_json(response, {{"id", "modr-" + std::to_string(state.metrics.requests_other.load())},
                           {"model", state.guard->model_id()},
                           {"results", results}});
    });
  });
}

}  // namespace llama3::server
