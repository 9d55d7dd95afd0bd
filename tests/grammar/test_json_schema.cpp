// JSON Schema to GBNF: each supported keyword shapes the accepted documents; unsupported keywords
// are errors naming them.
#include <catch2/catch.hpp>

#include "grammar/grammar_test_support.hpp"
#include "grammar/integer_range.hpp"
#include "grammar/json_schema.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"

using namespace llama3;
using testing::matches;

namespace {
std::shared_ptr<const grammar::GrammarIr> schema(std::string_view text) {
  return testing::gbnf(grammar::json_schema_to_gbnf(text));
}
std::string error_of(std::string_view text) {
  try {
    testing::hostile_input("grammar", [&] { return grammar::json_schema_to_gbnf(text); });
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInvalidArgument);
    return error.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("JSON Schema {} accepts any JSON value", "[grammar]") {
  const auto g = schema("{}");
  CHECK(matches(g, R"({"a": [1, 2.5e3, "x\n\u00e9", true, null], "b": {}})"));
  CHECK(matches(g, "-0.5"));
  CHECK(matches(g, "\"日本\""));
  CHECK_FALSE(matches(g, "{'a': 1}"));
  CHECK_FALSE(matches(g, "[1,]"));
  CHECK_FALSE(matches(g, "01"));
  CHECK_FALSE(matches(g, "\"a\x01\""));
}

TEST_CASE("JSON Schema objects: required, optional and additional properties", "[grammar]") {
  const auto g = schema(R"({"type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"]})");
  CHECK(matches(g, R"({"name": "Ann"})"));
  CHECK(matches(g, R"({"name": "Ann", "age": 31, "tags": ["a", "b"]})"));
  CHECK(matches(g, R"({"name":"Ann","tags":[]})"));
  CHECK_FALSE(matches(g, R"({"age": 31})"));
  CHECK_FALSE(matches(g, R"({"name": "Ann", "other": 1})"));
  CHECK_FALSE(matches(g, R"({"name": "Ann", "age": "31"})"));
  const auto optional = schema(R"({"properties": {"a": {"type": "null"}, "b": {"type": "null"}}})");
  CHECK(matches(optional, "{}"));
  CHECK(matches(optional, R"({"b": null})"));
  CHECK_FALSE(matches(optional, R"({, "b": null})"));
  const auto extra = schema(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
  CHECK(matches(extra, R"({"x": 1, "y": 2})"));
  CHECK_FALSE(matches(extra, R"({"x": "1"})"));
}

TEST_CASE("JSON Schema enum, const, anyOf, $ref and recursion", "[grammar]") {
  const auto g = schema(R"({"$defs": {
      "node": {"type": "object", "properties": {
        "kind": {"enum": ["leaf", "pair", 3]},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
        "required": ["kind"]}},
    "anyOf": [{"$ref": "#/$defs/node"}, {"const": {"x": [1]}}]})");
  CHECK(matches(g, R"({"kind": "leaf"})"));
  CHECK(matches(g, R"({"kind": 3, "children": [{"kind": "pair", "children": []}]})"));
  CHECK(matches(g, R"({"x":[1]})"));
  CHECK_FALSE(matches(g, R"({"kind": "tree"})"));
  CHECK_FALSE(matches(g, R"({"kind": "leaf", "children": [{"kind":3},{"kind":3},{"kind":3}]})"));
}

TEST_CASE("JSON Schema arrays, string lengths, patterns and formats", "[grammar]") {
  const auto arrays = schema(R"({"type": "array", "items": {"type": "boolean"},
                                 "minItems": 2, "maxItems": 3})");
  CHECK_FALSE(matches(arrays, "[true]"));
  CHECK(matches(arrays, "[true, false]"));
  CHECK(matches(arrays, "[true,false,true]"));
  CHECK_FALSE(matches(arrays, "[true,false,true,true]"));
  const auto lengths = schema(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  CHECK(matches(lengths, R"("ab")"));
  CHECK(matches(lengths, R"("a\"é")"));
  CHECK_FALSE(matches(lengths, R"("a")"));
  CHECK_FALSE(matches(lengths, R"("abcd")"));
  const auto pattern = schema(R"({"type": "string", "pattern": "^[A-Z]{2}-\\d+$"})");
  CHECK(matches(pattern, R"("AB-12")"));
  CHECK_FALSE(matches(pattern, R"("ab-12")"));
  const auto search = schema(R"({"type": "string", "pattern": "id"})");
  CHECK(matches(search, R"("my id here")"));
  CHECK_FALSE(matches(search, R"("nothing")"));
  const auto date_time = schema(R"({"type": "string", "format": "date-time"})");
  CHECK(matches(date_time, R"("2024-02-29T23:59:01Z")"));
  CHECK(matches(date_time, R"("2024-02-29T23:59:01.5+01:00")"));
  CHECK_FALSE(matches(date_time, R"("2024-13-01T00:00:00Z")"));
  const auto uuid = schema(R"({"type": "string", "format": "uuid"})");
  CHECK(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  const auto ipv4 = schema(R"({"type": "string", "format": "ipv4"})");
  CHECK(matches(ipv4, R"("192.168.0.255")"));
  CHECK_FALSE(matches(ipv4, R"("256.1.1.1")"));
}

TEST_CASE("JSON Schema integer bounds give exactly the integers in range", "[grammar]") {
  const auto check_range = [](std::optional<std::int64_t> lo, std::optional<std::int64_t> hi) {
    const auto g = testing::gbnf("root ::= " + grammar::integer_range_gbnf(lo, hi));
    for (std::int64_t v = -1200; v <= 1200; ++v) {
      const bool inside = (!lo || v >= *lo) && (!hi || v <= *hi);
      INFO("range [" << (lo ? std::to_string(*lo) : "-inf") << ", "
                     << (hi ? std::to_string(*hi) : "inf") << "], value " << v);
      CHECK(matches(g, std::to_string(v)) == inside);
    }
    CHECK_FALSE(matches(g, "-0"));
    CHECK_FALSE(matches(g, "007"));
  };
  check_range(0, std::nullopt);
  check_range(1, 100);
  check_range(-37, 512);
  check_range(std::nullopt, -5);
  check_range(-999, -10);
  check_range(7, 7);
  check_range(95, 1005);
  const auto g = schema(R"({"type": "integer", "exclusiveMinimum": 0, "maximum": 10})");
  CHECK_FALSE(matches(g, "0"));
  CHECK(matches(g, "10"));
}

TEST_CASE("JSON Schema: unsupported keywords and bad schemas are errors naming them",
          "[grammar][hostile]") {
  CHECK_THAT(error_of(R"({"type": "string", "contentEncoding": "base64"})"),
             Catch::Contains("'contentEncoding' is not supported"));
  CHECK_THAT(error_of(R"({"type": "number", "minimum": 0})"),
             Catch::Contains("'minimum' is not supported"));
  CHECK_THAT(error_of(R"({"properties": {"a": {"type": "array", "uniqueItems": true}}})"),
             Catch::Contains("/properties/a") && Catch::Contains("'uniqueItems'"));
  CHECK_THAT(error_of(R"({"$ref": "#/$defs/missing"})"), Catch::Contains("does not resolve"));
  CHECK_THAT(error_of(R"({"$ref": "https://example.com/s.json"})"),
             Catch::Contains("only local references"));
  CHECK_THAT(error_of(R"({"type": "strin"})"), Catch::Contains("unknown type 'strin'"));
  CHECK_THAT(error_of(R"({"type": "string", "format": "hostname"})"),
             Catch::Contains("format 'hostname'"));
  CHECK_THAT(error_of("{\"type\": "), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of("false"), Catch::Contains("allows no value"));
  CHECK_THAT(error_of(R"({"required": ["x"]})"), Catch::Contains("'x' is not in 'properties'"));
  CHECK_THAT(error_of(R"({"type": "array", "minItems": 3, "maxItems": 1})"),
             Catch::Contains("maxItems < minItems"));
  std::string deep;
  for (int i = 0; i < 150; ++i) deep += R"({"type": "array", "items": )";
  deep += "{}" + std::string(150, '}');
  CHECK_THAT(error_of(deep), Catch::Contains("schemas nested deeper than 100 levels"));
}
