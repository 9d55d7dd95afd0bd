// The server in this process, driven by several HTTP clients at once: completions (whole and
// streamed), a stream the client drops half way, and /metrics read while they run; then stop().
// Written for ThreadSanitizer too (scripts/tsan.sh): the HTTP threads, the engine's worker and the
// model loader touch the same state. The endpoints' answers are tested in detail in
// tests/server/*.py; this checks that concurrent use ends well.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "llama3/server.hpp"
#include "support/test_data.hpp"

namespace {

using nlohmann::json;

struct HttpAnswer {
  int status = 0;    // 0: no answer
  std::string body;  // everything after the headers (chunked streams are left as sent)
};

// One request on its own connection ("Connection: close"), read to the end, or only to the first
// bytes of the body when `hang_up_early`. Plain sockets rather than cpp-httplib's client: that
// library is not built with ThreadSanitizer, and its lazily built statics look like races to it.
HttpAnswer http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body = {}, bool hang_up_early = false) {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return answer;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return answer;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Connection: close\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string received;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
    const std::size_t header_end = received.find("\r\n\r\n");
    if (hang_up_early && header_end != std::string::npos && received.size() > header_end + 4) {
      break;
    }
  }
  ::close(fd);
  const std::size_t header_end = received.find("\r\n\r\n");
  if (received.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) return answer;
  answer.status = std::stoi(received.substr(9, 3));
  answer.body = received.substr(header_end + 4);
  return answer;
}

std::string completion_body(int i, bool stream) {
  return json{{"prompt", "Once upon a time"},
              {"max_tokens", 12 + i},
              {"temperature", 0},
              {"stream", stream}}
      .dump();
}

}  // namespace

TEST_CASE("the server answers clients on several threads and stops cleanly",
          "[server][concurrency][data]") {
  llama3::ServerOptions options;
  options.model_path = llama3::testing::require_data_file("stories260K.gguf").string();
  options.port = 0;
  options.n_parallel = 2;
  options.n_threads = 1;
  options.max_queue = 16;
  options.shutdown_seconds = 5.0;
  llama3::Server server(options);
  server.start();
  const int port = server.port();
  for (int i = 0; i < 3000 && !server.ready() && server.load_error().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(server.load_error().empty());
  REQUIRE(server.ready());

  // (Catch2's assertions are not thread-safe: the clients record what they saw.)
  constexpr int kClients = 4;
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> bodies(kClients);
  std::atomic<bool> dropped_stream_started{false};
  std::atomic<bool> clients_done{false};
  std::atomic<int> metrics_failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const HttpAnswer answer =
          http_request(port, "POST", "/v1/completions", completion_body(i, i % 2 == 1));
      statuses[static_cast<std::size_t>(i)] = answer.status;
      bodies[static_cast<std::size_t>(i)] = answer.body;
    });
  }
  threads.emplace_back([&] {
    // Reads a long stream's first bytes, then hangs up: the server must cancel it.
    const std::string body = json{
        {"prompt", "Tom had a dog"},
        {"max_tokens", 500},
        {"temperature", 0},
        {"stream", true}}.dump();
    dropped_stream_started =
        http_request(port, "POST", "/v1/completions", body, true).status == 200;
  });
  std::thread watcher([&] {
    while (!clients_done.load()) {
      if (http_request(port, "GET", "/metrics").status != 200) ++metrics_failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& thread : threads) thread.join();
  clients_done = true;
  watcher.join();

  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i, bodies[static_cast<std::size_t>(i)].substr(0, 200));
    CHECK(statuses[static_cast<std::size_t>(i)] == 200);
    if (i % 2 == 0) {
      const json response = json::parse(bodies[static_cast<std::size_t>(i)]);
      CHECK(response["usage"]["completion_tokens"].get<int>() >= 1);
    } else {
      CHECK(bodies[static_cast<std::size_t>(i)].find("data: [DONE]") != std::string::npos);
    }
  }
  CHECK(dropped_stream_started.load());
  CHECK(metrics_failures.load() == 0);
  server.stop();
  server.wait();
}
