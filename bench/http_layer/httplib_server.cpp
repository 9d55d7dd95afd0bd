// The HTTP-layer probe on cpp-httplib, with the thread model `llama3 serve` uses (a pool thread per
// connection). Usage: http_layer_httplib PORT [THREADS=16]
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "chat_reply.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: http_layer_httplib PORT [THREADS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 16;
  httplib::Server server;
  server.set_tcp_nodelay(true);  // as `llama3 serve`: small SSE events go out at once
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  server.Post("/v1/chat/completions", [](const httplib::Request& req, httplib::Response& res) {
    auto reply = std::make_shared<http_layer::ChatReply>(http_layer::chat_reply(req.body));
    if (!reply->stream) return res.set_content(reply->body, "application/json");
    res.set_chunked_content_provider("text/event-stream",
                                     [reply](std::size_t, httplib::DataSink& sink) {
                                       for (const auto& event : reply->events) {
                                         if (!sink.write(event.data(), event.size())) return false;
                                       }
                                       sink.done();
                                       return true;
                                     });
  });
  if (!server.listen("127.0.0.1", port)) {
    std::fprintf(stderr, "http_layer_httplib: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  return 0;
}
