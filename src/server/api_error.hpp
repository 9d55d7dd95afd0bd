// Errors a request can end in, each answered with OpenAI's error object:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// and the HTTP status OpenAI's clients map to their exception classes (400 BadRequestError,
// 401 AuthenticationError, 404 NotFoundError, 413, 429 RateLimitError, 503).
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace llama3::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, const std::string& message, std::string param = {},
           std::string code = {})
      : std::runtime_error(message),
        status_(status),
        type_(std::move(type)),
        param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // Seconds a client should wait before retrying (429/503), 0 when not set.
  int retry_after = 0;

 private:
  int status_;
  std::string type_, param_, code_;
};

// 400 invalid_request_error naming the field at fault.
ApiError bad_request(const std::string& message, const std::string& param = {});

nlohmann::json error_body(const ApiError& error);

}  // namespace llama3::server
