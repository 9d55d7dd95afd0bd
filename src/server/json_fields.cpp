#include "server/json_fields.hpp"

#include <cmath>

#include "server/api_error.hpp"

namespace llama3::server {
namespace {

const nlohmann::json* find(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// "'name' " + what, built by appending (g++ 12's -Wrestrict misfires on chains of operator+ over a
// literal).
ApiError field_error(const char* name, const std::string& what) {
  std::string message = "'";
  message.append(name).append("' ").append(what);
  return bad_request(message, name);
}

std::string range_text(double min, double max) {
  const auto number = [](double x) {
    std::string text = std::to_string(x);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  };
  return "[" + number(min) + ", " + number(max) + "]";
}

}  // namespace

std::optional<double> number_field(const nlohmann::json& object, const char* name, double min,
                                   double max) {
  const nlohmann::json* value = find(object, name);
  if (!value) return std::nullopt;
  if (!value->is_number()) {
    throw field_error(name, "must be a number");
  }
  const double x = value->get<double>();
  if (!std::isfinite(x) || x < min || x > max) {
    throw field_error(name, "must be a number in " + range_text(min, max));
  }
  return x;
}

std::optional<std::int64_t> integer_field(const nlohmann::json& object, const char* name,
                                          std::int64_t min, std::int64_t max) {
  const nlohmann::json* value = find(object, name);
  if (!value) return std::nullopt;
  std::string range = "[";
  range.append(std::to_string(min)).append(", ").append(std::to_string(max)).append("]");
  if (!value->is_number_integer()) {
    throw field_error(name, "must be an integer in " + range);
  }
  // An unsigned value beyond int64 (nlohmann keeps it as uint64) is out of range, not wrapped.
  if (value->is_number_unsigned() &&
      value->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw field_error(name, "must be an integer in " + range);
  }
  const auto x = value->get<std::int64_t>();
  if (x < min || x > max) {
    throw field_error(name, "must be an integer in " + range);
  }
  return x;
}

std::optional<bool> bool_field(const nlohmann::json& object, const char* name) {
  const nlohmann::json* value = find(object, name);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw field_error(name, "must be a boolean");
  return value->get<bool>();
}

std::optional<std::string> string_field(const nlohmann::json& object, const char* name) {
  const nlohmann::json* value = find(object, name);
  if (!value) return std::nullopt;
  if (!value->is_string()) throw field_error(name, "must be a string");
  return value->get<std::string>();
}

const nlohmann::json* object_field(const nlohmann::json& object, const char* name) {
  const nlohmann::json* value = find(object, name);
  if (value && !value->is_object()) {
    throw field_error(name, "must be an object");
  }
  return value;
}

const nlohmann::json* array_field(const nlohmann::json& object, const char* name) {
  const nlohmann::json* value = find(object, name);
  if (value && !value->is_array()) {
    throw field_error(name, "must be an array");
  }
  return value;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace llama3::server
