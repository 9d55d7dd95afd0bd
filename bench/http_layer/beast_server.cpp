// The HTTP-layer probe on Boost.Beast: synchronous reads and writes on a thread per connection,
// the same thread model as the cpp-httplib probe, so the two differ in the library only.
// Usage: http_layer_beast PORT
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "chat_reply.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

void answer(tcp::socket& socket, const http::request<http::string_body>& request) {
  const auto plain = [&](http::status status, std::string body, const char* type) {
    http::response<http::string_body> response{status, request.version()};
    response.set(http::field::content_type, type);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    http::write(socket, response);
  };
  if (request.method() == http::verb::get && request.target() == "/health") {
    return plain(http::status::ok, "{\"status\":\"ok\"}", "application/json");
  }
  if (request.method() != http::verb::post || request.target() != "/v1/chat/completions") {
    return plain(http::status::not_found, "{}", "application/json");
  }
  const http_layer::ChatReply reply = http_layer::chat_reply(request.body());
  if (!reply.stream) return plain(http::status::ok, reply.body, "application/json");
  http::response<http::empty_body> head{http::status::ok, request.version()};
  head.set(http::field::content_type, "text/event-stream");
  head.keep_alive(request.keep_alive());
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  http::write_header(socket, serializer);
  for (const auto& event : reply.events) asio::write(socket, http::make_chunk(asio::buffer(event)));
  asio::write(socket, http::make_chunk_last());
}

void serve_connection(tcp::socket socket) {
  try {
    socket.set_option(tcp::no_delay(true));  // as the cpp-httplib probe
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      http::read(socket, buffer, request);
      answer(socket, request);
      if (!request.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // The client closed the connection (or sent garbage): this connection ends, the server goes on.
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: http_layer_beast PORT\n");
    return 2;
  }
  try {
    asio::io_context context{1};
    tcp::acceptor acceptor{
        context,
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))}};
    for (;;) std::thread(serve_connection, acceptor.accept()).detach();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "http_layer_beast: %s\n", error.what());
    return 1;
  }
}
