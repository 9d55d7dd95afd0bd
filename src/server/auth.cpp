#include "server/auth.hpp"

namespace llama3::server {
namespace {

bool equal_constant_time(std::string_view a, std::string_view b) {
  // The length is not secret (keys are chosen by the operator); the content is.
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

}  // namespace

bool authorized(std::string_view authorization, const std::vector<std::string>& keys) {
  if (keys.empty()) return true;
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.substr(0, kScheme.size()) != kScheme) return false;
  const std::string_view given = authorization.substr(kScheme.size());
  bool match = false;
  for (const std::string& key : keys) match |= equal_constant_time(given, key);
  return match;
}

bool is_public_path(std::string_view method, std::string_view path) {
  return method == "GET" && (path == "/health" || path == "/");
}

}  // namespace llama3::server
