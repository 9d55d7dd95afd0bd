// API keys (--api-key, --api-key-file): a request must send "Authorization: Bearer KEY" with one of
// them. Compared in constant time, so response timing does not reveal how much of a key matched.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llama3::server {

// Whether `authorization` (the header's value, may be empty) carries one of `keys`. With no keys
// configured every request passes.
bool authorized(std::string_view authorization, const std::vector<std::string>& keys);

// Paths served without a key: the health probe (load balancers carry no key) and the web page
// (which asks the user for the key itself).
bool is_public_path(std::string_view method, std::string_view path);

}  // namespace llama3::server
