// parse_tool_calls on golden model outputs in every Llama 3.1/3.2 call format, and on malformed
// outputs, which must come back as text with no call. (Rendering tool definitions is compared with
// the official templates in tests/python/upstream/test_chat_templates.py.)
#include <catch2/catch.hpp>
#include <string>

#include "llama3/chat.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"
#include "tokenizer/llama3_vocab.hpp"

using llama3::parse_tool_calls;
using llama3::ToolCall;

namespace {

std::vector<std::pair<std::string, std::string>> calls_of(std::string_view answer) {
  const auto parsed = parse_tool_calls(answer);
  if (!parsed.tool_calls.empty()) CHECK(parsed.content.empty());
  std::vector<std::pair<std::string, std::string>> out;
  for (const ToolCall& call : parsed.tool_calls) out.emplace_back(call.name, call.arguments);
  return out;
}

using Calls = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("JSON tool calls: one, several, with <|python_tag|> and end tokens", "[chat][tools]") {
  CHECK(calls_of(R"({"name": "get_weather", "parameters": {"city": "Paris", "days": 3}})") ==
        Calls{{"get_weather", R"({"city":"Paris","days":3})"}});
  CHECK(calls_of("  {\"name\": \"f\", \"arguments\": {}}<|eot_id|>") == Calls{{"f", "{}"}});
  CHECK(
      calls_of("<|python_tag|>{\"name\": \"f\", \"parameters\": {\"s\": \"a}b\\\"\"}}<|eom_id|>") ==
      Calls{{"f", R"({"s":"a}b\""})"}});
  CHECK(calls_of("{\"name\": \"a\", \"parameters\": {\"x\": [1, {\"y\": null}]}}; "
                 "{\"name\": \"b\", \"parameters\": {}}\n{\"name\": \"c\", \"parameters\": "
                 "{\"z\": \"日本\"}}") ==
        Calls{{"a", R"({"x":[1,{"y":null}]})"}, {"b", "{}"}, {"c", R"({"z":"日本"})"}});
}

TEST_CASE("Llama 3.2 pythonic call lists", "[chat][tools]") {
  CHECK(calls_of(R"([get_weather(city="San Francisco", unit='celsius'), get_time()])") ==
        Calls{{"get_weather", R"({"city":"San Francisco","unit":"celsius"})"}, {"get_time", "{}"}});
  CHECK(calls_of("[f(n=-1.5e3, ok=True, none=None, xs=[1, 'a'], d={'k': False}, s=\"q\\\"\")]") ==
        Calls{{"f",
               R"({"n":-1500.0,"ok":true,"none":null,"xs":[1,"a"],"d":{"k":false},"s":"q\""})"}});
  CHECK(calls_of("<|python_tag|>[search.web(q=\"x\")]<|eom_id|>") ==
        Calls{{"search.web", R"({"q":"x"})"}});
}

TEST_CASE("Llama 3.1 built-in tools and code_interpreter after <|python_tag|>", "[chat][tools]") {
  CHECK(calls_of(R"(<|python_tag|>brave_search.call(query="weather in Menlo Park")<|eom_id|>)") ==
        Calls{{"brave_search", R"({"query":"weather in Menlo Park"})"}});
  CHECK(calls_of("<|python_tag|>wolfram_alpha.call(query=\"solve x^2 = 4\")") ==
        Calls{{"wolfram_alpha", R"({"query":"solve x^2 = 4"})"}});
  CHECK(calls_of("<|python_tag|>import math\nprint(math.sqrt(2))<|eom_id|>") ==
        Calls{{"code_interpreter", R"j({"code":"import math\nprint(math.sqrt(2))"})j"}});
}

TEST_CASE("malformed or plain answers stay text, never a guessed call", "[chat][tools]") {
  const std::vector<std::string> answers = {
      "The weather in Paris is sunny.",
      "",
      "{\"name\": \"f\", \"parameters\": {\"x\": 1}",         // unclosed
      "{\"name\": \"f\", \"parameters\": \"x\"}",             // parameters not an object
      "{\"name\": 3, \"parameters\": {}}",                    // name not a string
      "{\"name\": \"f\"}",                                    // no parameters
      "{\"name\": \"f\", \"parameters\": {}, \"extra\": 1}",  // unknown key
      "{\"name\": \"f\", \"parameters\": {}} and some text",  // trailing prose
      "Sure! {\"name\": \"f\", \"parameters\": {}}",          // leading prose
      "[get_weather(city=\"Paris\")",                         // unclosed list
      "[get_weather(\"Paris\")]",                             // positional argument
      "[get_weather(city=Paris)]",                            // bare word value
      "[1, 2, 3]",                                            // a list, not calls
      "brave_search.call(query=\"x\")",                       // built-in call without the tag
      "{\"name\": \"f\", \"parameters\": {}};{",              // a broken second call
      "{\"name\": \"f\", \"parameters\": {\"x\": 1e}}",       // invalid number
      std::string("{\"name\": \"f\", \"parameters\": {\"x\": \"\xff\xfe\"}}"),  // invalid UTF-8
      std::string("[f(x=\"\xff\")]"),  // invalid UTF-8 in a pythonic string
      std::string(10000, '['),         // deep nesting
      std::string(10000, '{'),
  };
  for (const std::string& answer : answers) {
    INFO(answer.substr(0, 80));
    llama3::ParsedReply parsed;
    REQUIRE_NOTHROW(
        parsed = llama3::testing::hostile_input("chat", [&] { return parse_tool_calls(answer); }));
    CHECK(parsed.tool_calls.empty());
    CHECK(parsed.content == answer);
  }
  // A tagged answer that is not a recognised call is code for code_interpreter, as Meta
  // specifies.
  CHECK(calls_of("<|python_tag|>brave_search.call(query=\"x\"")[0].first == "code_interpreter");
  CHECK(parse_tool_calls("<|python_tag|><|eom_id|>").tool_calls.empty());
}

TEST_CASE("tool definitions render in the user message or the system block",
          "[chat][tools][data]") {
  const auto& tok = llama3::testing::llama3_tokenizer();
  llama3::ChatOptions options;
  options.style = llama3::ChatStyle::kLlama31;
  options.tools = {R"({"type": "function", "function": {"name": "f", "parameters": {}}})"};
  const llama3::Dialog dialog{{llama3::Role::kUser, " What? "}};
  const std::string in_user =
      tok.decode(llama3::ChatFormat(tok, options).encode_dialog_prompt(dialog), true);
  CHECK(in_user.find("Environment: ipython\nCutting Knowledge Date") != std::string::npos);
  CHECK(in_user.find("<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions") !=
        std::string::npos);
  CHECK(in_user.find("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"f\","
                     "\n        \"parameters\": {}\n    }\n}\n\nWhat?<|eot_id|>") !=
        std::string::npos);
  options.tools_in_user_message = false;
  const std::string in_system =
      tok.decode(llama3::ChatFormat(tok, options).encode_dialog_prompt(dialog), true);
  CHECK(in_system.find("You have access to the following functions.") != std::string::npos);
  CHECK(in_system.find("<|start_header_id|>user<|end_header_id|>\n\nWhat?<|eot_id|>") !=
        std::string::npos);

  options.tools_in_user_message = true;
  using llama3::testing::hostile_input;
  CHECK_THROWS_AS(
      hostile_input("chat",
                    [&] { return llama3::ChatFormat(tok, options).encode_dialog_prompt({}); }),
      llama3::Error);
  options.tools = {"{not json"};
  CHECK_THROWS_AS(
      hostile_input("chat",
                    [&] { return llama3::ChatFormat(tok, options).encode_dialog_prompt(dialog); }),
      llama3::Error);
}
