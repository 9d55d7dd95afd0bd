// Typed reads of one field of a request object. Absent or null fields are nullopt; a field of the
// wrong type or out of range is ApiError 400 naming it ("'temperature' must be a number in
// [0, 2]"), so a client's mistake is never replaced by a default.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace llama3::server {

std::optional<double> number_field(const nlohmann::json& object, const char* name, double min,
                                   double max);
std::optional<std::int64_t> integer_field(const nlohmann::json& object, const char* name,
                                          std::int64_t min, std::int64_t max);
std::optional<bool> bool_field(const nlohmann::json& object, const char* name);
std::optional<std::string> string_field(const nlohmann::json& object, const char* name);
// The field when it is present and of `type` (an object or array), else nullopt; another type is
// 400.
const nlohmann::json* object_field(const nlohmann::json& object, const char* name);
const nlohmann::json* array_field(const nlohmann::json& object, const char* name);

// Text of JSON for an error message or a log line: invalid UTF-8 replaced, never throws.
std::string dump_json(const nlohmann::json& value);

}  // namespace llama3::server
