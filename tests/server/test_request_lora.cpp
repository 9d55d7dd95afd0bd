// A request's "lora" field (docs/server.md): which of the server's --lora adapters it runs with,
// at which scales; bad fields are 400s naming it. End to end in tests/server/test_lora.py.
#include <catch2/catch.hpp>

#include "server/api_error.hpp"
#include "server/openai_request.hpp"
#include "support/hostile_input.hpp"
#include "support/stories_model.hpp"

namespace llama3::server {
namespace {

CompletionRequest parse_with_lora(const nlohmann::json& lora, int n_adapters) {
  ModelContext context;
  context.model = &testing::stories_model();
  context.n_ctx = 64;
  context.n_adapters = n_adapters;
  nlohmann::json body = {{"prompt", {1, 2, 3}}, {"max_tokens", 1}};
  if (!lora.is_null()) body["lora"] = lora;
  return parse_completion_request(body, context);
}

}  // namespace

TEST_CASE("a request's lora field picks the server's adapters by id and scale", "[server][lora]") {
  CHECK_FALSE(parse_with_lora(nullptr, 2).lora.has_value());  // absent: the server's own
  const auto none = parse_with_lora(nlohmann::json::array(), 2);
  REQUIRE(none.lora.has_value());
  CHECK(none.lora->empty());  // []: the base model
  const auto two = parse_with_lora(
      nlohmann::json::array({{{"id", 1}, {"scale", 0.5}}, {{"id", 0}, {"scale", nullptr}}}), 2);
  REQUIRE(two.lora.has_value());
  REQUIRE(two.lora->size() == 2);
  CHECK((*two.lora)[0].id == 1);
  CHECK((*two.lora)[0].scale == 0.5f);
  CHECK((*two.lora)[1].id == 0);
  CHECK((*two.lora)[1].scale == 1.0f);  // default
  CHECK(parse_with_lora(nlohmann::json::array({{{"id", 0}, {"scale", -2}}}), 1).lora->at(0).scale ==
        -2.0f);
}

TEST_CASE("bad lora fields are 400s naming the field", "[server][lora]") {
  const nlohmann::json bad[] = {
      nlohmann::json::array({{{"id", 2}}}),                  // no such adapter
      nlohmann::json::array({{{"id", -1}}}),                 //
      nlohmann::json::array({{{"id", "0"}}}),                // not an integer
      nlohmann::json::array({{{"id", 0.5}}}),                //
      nlohmann::json::array({{{"scale", 1}}}),               // no id
      nlohmann::json::array({{{"id", 0}, {"scale", "x"}}}),  // not a number
      nlohmann::json::array({{{"id", 0}, {"scale", 1e9}}}),  // out of range
      nlohmann::json::array({{{"id", 0}}, {{"id", 0}}}),     // twice
      nlohmann::json::array({0}),                            // not an object
      nlohmann::json{{"id", 0}},                             // not a list
      nlohmann::json("0"),                                   //
  };
  for (const auto& lora : bad) {
    CAPTURE(lora.dump());
    try {
      testing::hostile_input<ApiError>("server_request", [&] { parse_with_lora(lora, 2); });
      FAIL("accepted");
    } catch (const ApiError& error) {
      CHECK(error.status() == 400);
      CHECK(error.param() == "lora");
    }
  }
  // A server without adapters says how to get some.
  try {
    parse_with_lora(nlohmann::json::array({{{"id", 0}}}), 0);
    FAIL("accepted");
  } catch (const ApiError& error) {
    CHECK_THAT(error.what(), Catch::Contains("--lora"));
  }
}

}  // namespace llama3::server
