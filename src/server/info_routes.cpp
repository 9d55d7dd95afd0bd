// GET /health, GET /metrics, GET /v1/models, POST /tokenize, POST /detokenize.
#include "server/http_routes.hpp"
#include "server/json_fields.hpp"

namespace llama3::server {
namespace {

nlohmann::json model_entry(const ServerState& state) {
  return {{"id", state.context.model_id},
          {"object", "model"},
          {"created", 0},
          {"owned_by", "llama3"},
          {"meta",
           {{"n_ctx", state.context.n_ctx},
            {"n_vocab", state.model->config().n_vocab},
            {"n_params", state.model->n_params()}}}};
}

// llama.cpp's /tokenize shape: {"content": text, "add_special": bool, "parse_special": bool,
// "with_pieces": bool} -> {"tokens": [ids]} or [{"id", "piece"}].
nlohmann::json tokenize(const ServerState& state, const nlohmann::json& body) {
  const auto content = string_field(body, "content");
  if (!content) throw bad_request("'content' (a string) is required", "content");
  EncodeOptions options;
  options.add_bos = bool_field(body, "add_special").value_or(false);
  options.parse_special = bool_field(body, "parse_special").value_or(true);
  const bool with_pieces = bool_field(body, "with_pieces").value_or(false);
  const Tokenizer& tokenizer = state.model->tokenizer();
  nlohmann::json tokens = nlohmann::json::array();
  for (const TokenId id : tokenizer.encode(*content, options)) {
    if (with_pieces) {
      tokens.push_back({{"id", id}, {"piece", tokenizer.piece(id, true)}});
    } else {
      tokens.push_back(id);
    }
  }
  return {{"tokens", tokens}};
}

nlohmann::json detokenize(const ServerState& state, const nlohmann::json& body) {
  const nlohmann::json* tokens = array_field(body, "tokens");
  if (!tokens) throw bad_request("'tokens' (an array of token ids) is required", "tokens");
  const auto n_vocab = static_cast<std::int64_t>(state.model->config().n_vocab);
  std::vector<TokenId> ids;
  for (const nlohmann::json& id : *tokens) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() >= n_vocab) {
      throw bad_request("'tokens' must hold token ids in [0, " + std::to_string(n_vocab) + ")",
                        "tokens");
    }
    ids.push_back(static_cast<TokenId>(id.get<std::int64_t>()));
  }
  return {{"content", state.model->tokenizer().decode(ids, true)}};
}

}  // namespace

void register_info_routes(httplib::Server& http, ServerState& state) {
  http.Get("/health", [&state](const httplib::Request&, httplib::Response& response) {
    guarded(state, response, [&] {
      require_ready(state);
      send_json(response, {{"status", "ok"}});
    });
  });
  http.Get("/metrics", [&state](const httplib::Request&, httplib::Response& response) {
    guarded(state, response, [&] {
      ++state.metrics.requests_other;
      const GateState gate{state.options.n_parallel, state.gate.busy(), state.gate.waiting()};
      std::optional<EngineStats> stats;
      if (state.ready) stats = state.engine->stats();
      response.set_content(render_metrics(state.metrics, gate, stats ? &*stats : nullptr),
                           "text/plain; version=0.0.4");
    });
  });
  http.Get("/v1/models", [&state](const httplib::Request&, httplib::Response& response) {
    guarded(state, response, [&] {
      ++state.metrics.requests_other;
      require_ready(state);
      send_json(response, {{"object", "list"}, {"data", {model_entry(state)}}});
    });
  });
  http.Get(R"(/v1/models/(.+))",
           [&state](const httplib::Request& request, httplib::Response& response) {
             guarded(state, response, [&] {
               ++state.metrics.requests_other;
               require_ready(state);
               check_model_name({{"model", request.matches[1].str()}}, state.context);
               send_json(response, model_entry(state));
             });
           });
  http.Post("/tokenize", [&state](const httplib::Request& request, httplib::Response& response) {
    guarded(state, response, [&] {
      ++state.metrics.requests_other;
      require_ready(state);
      send_json(response, tokenize(state, parse_body(request.body)));
    });
  });
  http.Post("/detokenize", [&state](const httplib::Request& request, httplib::Response& response) {
    guarded(state, response, [&] {
      ++state.metrics.requests_other;
      require_ready(state);
      send_json(response, detokenize(state, parse_body(request.body)));
    });
  });
}

}  // namespace llama3::server
