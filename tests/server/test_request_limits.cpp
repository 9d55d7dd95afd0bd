// The server's request reading below HTTP: JSON bodies (hostile ones included), typed fields, API
// keys and the slot gate. The endpoints themselves are tested end to end in tests/server/*.py.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "llama3/server.hpp"
#include "server/api_error.hpp"
#include "server/auth.hpp"
#include "server/json_fields.hpp"
#include "server/openai_request.hpp"
#include "server/slot_gate.hpp"
#include "support/hostile_input.hpp"

namespace {

using llama3::server::ApiError;

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status();
  }
  return 200;
}

// status_of for one hostile piece of a request, counted for the rejection table.
int request_status_of(const std::function<void()>& read) {
  return status_of([&] { llama3::testing::hostile_input<ApiError>("server_request", read); });
}

}  // namespace

TEST_CASE("parse_body refuses malformed, non-object, deep and invalid UTF-8 JSON with 400",
          "[server]") {
  using llama3::server::parse_body;
  for (const std::string& text :
       {std::string("{"), std::string(""), std::string("[]"), std::string("5"),
        std::string(200, '[') + std::string(200, ']'), std::string("{\"a\": \"\xff\"}"),
        std::string("{\"a\": \"\\ud800\"}"), std::string("{\"a\": 1e400}")}) {
    CAPTURE(text.substr(0, 40));
    CHECK(request_status_of([&] { parse_body(text); }) == 400);
  }
  // Brackets inside strings do not count as nesting.
  const std::string in_string = "{\"a\": \"" + std::string(1000, '[') + "\"}";
  CHECK(parse_body(in_string)["a"].get<std::string>().size() == 1000);
  CHECK(parse_body("{\"a\": [[[[1]]]]}")["a"][0][0][0][0] == 1);
}

TEST_CASE("typed fields name the field and its range", "[server]") {
  using namespace llama3::server;
  const nlohmann::json body = {
      {"t", 3.0},  {"i", 1.5},     {"b", "yes"},   {"s", 1},
      {"ok", 0.5}, {"big", 1e300}, {"n", nullptr}, {"u", 18446744073709551615ull}};
  try {
    number_field(body, "t", 0, 2);
    FAIL("no error");
  } catch (const ApiError& e) {
    CHECK(std::string(e.what()) == "'t' must be a number in [0, 2]");
    CHECK(e.param() == "t");
    CHECK(e.status() == 400);
  }
  CHECK(request_status_of([&] { integer_field(body, "i", 0, 10); }) == 400);
  CHECK(request_status_of([&] { integer_field(body, "u", 0, 1 << 30); }) == 400);
  CHECK(request_status_of([&] { bool_field(body, "b"); }) == 400);
  CHECK(request_status_of([&] { string_field(body, "s"); }) == 400);
  CHECK(request_status_of([&] { number_field(body, "big", -1e9, 1e9); }) == 400);
  CHECK(number_field(body, "ok", 0, 1) == 0.5);
  CHECK_FALSE(number_field(body, "n", 0, 1).has_value());  // null: absent
  CHECK_FALSE(integer_field(body, "missing", 0, 1).has_value());
  const nlohmann::json error = error_body(bad_request("bad", "x"));
  CHECK(error["error"]["message"] == "bad");
  CHECK(error["error"]["type"] == "invalid_request_error");
  CHECK(error["error"]["param"] == "x");
  CHECK(error["error"]["code"].is_null());
}

TEST_CASE("API keys: Bearer scheme, any configured key, none configured lets all in", "[server]") {
  using llama3::server::authorized;
  const std::vector<std::string> keys = {"k1", "second-key"};
  CHECK(authorized("Bearer k1", keys));
  CHECK(authorized("Bearer second-key", keys));
  CHECK_FALSE(authorized("Bearer k2", keys));
  CHECK_FALSE(authorized("Bearer k1x", keys));
  CHECK_FALSE(authorized("k1", keys));
  CHECK_FALSE(authorized("", keys));
  CHECK_FALSE(authorized("Bearer ", keys));
  CHECK(authorized("", {}));
  CHECK(llama3::server::is_public_path("GET", "/health"));
  CHECK_FALSE(llama3::server::is_public_path("GET", "/metrics"));
  CHECK_FALSE(llama3::server::is_public_path("POST", "/health"));
}

TEST_CASE("slot gate: slots, a bounded wait in arrival order, 429 beyond, 503 on close",
          "[server][concurrency]") {
  using llama3::server::SlotGate;
  SlotGate gate(1, 1);
  std::optional<SlotGate::Slot> held(gate.acquire());
  CHECK(gate.busy() == 1);
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    SlotGate::Slot slot = gate.acquire();
    got = true;
  });
  while (gate.waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  try {
    gate.acquire();
    FAIL("no error");
  } catch (const ApiError& e) {
    CHECK(e.status() == 429);
    CHECK(e.retry_after >= 1);
  }
  CHECK_FALSE(got);
  held.reset();
  waiter.join();
  CHECK(got);
  CHECK(gate.busy() == 0);
  gate.close();
  CHECK(status_of([&] { gate.acquire(); }) == 503);
}

// Every slot and waiting request holds one of the HTTP pool's threads, which start up front: a
// queue bound in the tens of thousands would start that many threads.
TEST_CASE("server options bound the queue, and so the HTTP pool's threads", "[server]") {
  llama3::ServerOptions options;
  options.model_path = "unused.gguf";  // validation comes before any load
  options.max_queue = 4097;
  CHECK_THROWS_WITH(llama3::Server(options),
                    Catch::Matchers::Contains("max_queue must be in [0, 4096]"));
  options.max_queue = 4096;
  options.n_parallel = 1025;
  CHECK_THROWS_WITH(llama3::Server(options),
                    Catch::Matchers::Contains("n_parallel must be in [1, 1024]"));
}
