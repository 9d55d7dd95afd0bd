// The JSON Schemas of bench/grammar_bench.cpp, shared with the token-mask tests so that every
// schema measured is also checked: nested objects, enums, bounded arrays, anyOf, $ref, strings
// with a pattern, and any JSON value.
#pragma once

namespace llama3::testing {

struct NamedSchema {
  const char* name;
  const char* schema;
};

inline constexpr NamedSchema kBenchmarkSchemas[] = {
    {"nested", R"({"type": "object", "properties": {
      "user": {"type": "object", "properties": {
          "name": {"type": "string", "maxLength": 10},
          "age": {"type": "integer", "minimum": 0, "maximum": 120}},
        "required": ["name", "age"]},
      "active": {"type": "boolean"}}, "required": ["user", "active"]})"},
    {"enums", R"({"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]},
      "size": {"enum": [1, 2.5, null, "XL"]}}, "required": ["color", "size"]})"},
    {"arrays", R"({"type": "array", "minItems": 1, "maxItems": 5,
      "items": {"type": "integer", "minimum": -50, "maximum": 50}})"},
    {"anyof",
     R"({"anyOf": [{"type": "string", "maxLength": 8}, {"type": "integer", "minimum": 1000},
      {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}]})"},
    {"ref", R"({"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"},
      "y": {"type": "integer"}}, "required": ["x", "y"]}}, "type": "object",
      "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}},
      "required": ["from", "to"]})"},
    {"strings", R"({"type": "object", "properties": {"text": {"type": "string"},
      "label": {"type": "string", "pattern": "^(é|ü|日本)+\"?[a-z]{0,3}$"}},
      "required": ["text", "label"]})"},
    {"any-json", "{}"},
};

}  // namespace llama3::testing
