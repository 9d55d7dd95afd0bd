// POST /v1/chat/completions and POST /v1/completions: parse, screen the prompt (--guard), wait for
// a slot, run the request in the engine, then answer whole or as a server-sent-event stream.
#include <chrono>

#include "server/http_routes.hpp"
#include "server/json_fields.hpp"
#include "server/openai_response.hpp"

namespace llama3::server {
namespace {

using namespace std::chrono_literals;

// How long a stream may stay silent (queued, or prefilling a long prompt) before an SSE comment
// line is written: clients ignore it, and a failed write is how a vanished client is noticed.
constexpr auto kKeepAliveInterval = 1s;
constexpr auto kPollInterval = 100ms;
// How long a whole answer is awaited before its response switches to a chunked body (see
// answer_whole).
constexpr auto kWholeAnswerWait = 2s;

// One request from parsing to its last byte. Shared by the handler and the stream's content
// provider, which outlives the handler.
struct Job {
  ServerState& state;
  CompletionRequest request;
  ResponseHeader header;
  std::optional<SlotGate::Slot> slot;
  std::unique_ptr<GenerationStream> stream;
  std::string streamed_text;  // completions' echo offset and the tool-call hold-back
  std::vector<TokenLogprob> logprobs;
  bool prompt_blocked = false;

  Job(ServerState& s, CompletionRequest r)
      : state(s),
        request(std::move(r)),
        header(make_response_header(request.chat, s.context.model_id)) {}

  ~Job() {
    if (stream) {
      std::lock_guard<std::mutex> lock(state.in_flight_mutex);
      state.in_flight.erase(stream->id());
    }
  }

  void start() {
    if (state.guard && !request.guard_turns.empty() &&
        blocks(state.guard->classify(request.guard_turns))) {
      prompt_blocked = true;
      ++state.metrics.requests_filtered;
      return;
    }
    if (state.draining) {
      ApiError error(503, "server_error", "the server is shutting down", {}, "unavailable");
      error.retry_after = 5;
      throw error;
    }
    slot.emplace(state.gate.acquire());
    EngineRequest engine_request;
    engine_request.prompt = request.prompt;
    engine_request.sampling = request.sampling;
    engine_request.generate.max_tokens = request.max_tokens;
    engine_request.generate.stop_strings = request.stop;
    engine_request.generate.speculative = speculative_options(state);
    if (request.lora) {
      for (const auto& chosen : *request.lora) {
        engine_request.adapters.push_back(
            {state.adapters[static_cast<std::size_t>(chosen.id)].adapter, chosen.scale});
      }
    } else {
      engine_request.adapters = state.adapters;
    }
    state.metrics.prompt_tokens += request.prompt.size();
    stream = std::make_unique<GenerationStream>(*state.engine, std::move(engine_request),
                                                state.model->tokenizer(),
                                                request.logprobs ? request.top_logprobs : -1);
    std::lock_guard<std::mutex> lock(state.in_flight_mutex);
    state.in_flight.insert(stream->id());
  }

  Usage usage(const EngineResult* result) const {
    Usage usage;
    usage.prompt_tokens = prompt_blocked ? 0 : static_cast<int>(request.prompt.size());
    if (result) {
      usage.completion_tokens = static_cast<int>(result->generation.tokens.size());
      usage.cached_tokens = result->n_reused_prompt_tokens;
    }
    return usage;
  }

  // The end: counts, screens the answer, reads tool calls. `result` is null when the prompt was
  // blocked.
  FinalAnswer final_answer(const EngineResult* result) {
    FinalAnswer answer;
    answer.usage = usage(result);
    if (!result) {
      answer.finish_reason = "content_filter";
      return answer;
    }
    state.metrics.generated_tokens += result->generation.tokens.size();
    if (result->n_reused_prompt_tokens > 0) {
      ++state.metrics.prefix_cache_hits;
      state.metrics.prefix_cache_hit_tokens +=
          static_cast<std::uint64_t>(result->n_reused_prompt_tokens);
    }
    answer.content = result->generation.text;
    answer.finish_reason = finish_reason(*result);
    if (request.tools) {
      const std::string rendered = state.model->tokenizer().decode(result->generation.tokens, true);
      ParsedReply reply = parse_tool_calls(rendered);
      if (!reply.tool_calls.empty()) {
        answer.tool_calls = std::move(reply.tool_calls);
        answer.content.clear();
        answer.finish_reason = "tool_calls";
      }
    }
    if (state.guard && answer.tool_calls.empty() && !request.guard_turns.empty()) {
      std::vector<ChatTurn> turns = request.guard_turns;
      turns.push_back({"assistant", answer.content});
      if (blocks(state.guard->classify(turns))) answer.finish_reason = "content_filter";
    }
    if (answer.finish_reason == std::string("content_filter")) {
      ++state.metrics.requests_filtered;
      answer.content.clear();  // withheld (a stream has already sent it: the reason says so)
    }
    if (request.echo) answer.content = request.prompt_text + answer.content;
    return answer;
  }

  std::optional<nlohmann::json> logprobs_json_of(const std::vector<TokenLogprob>& entries,
                                                 std::size_t offset) const {
    if (!request.logprobs) return std::nullopt;
    return logprobs_json(request.chat, entries, state.model->tokenizer(), offset);
  }
};

// A request the engine could not run is an error, not an empty answer. (A stream has already sent
// its 200: it ends with the finish reason its text reached.)
void check_served(const EngineResult& result) {
  if (result.state == RequestState::kRefused) {
    ApiError error(503, "server_error", "the KV memory cannot hold this request: " + result.error,
                   {}, "kv_memory_full");
    error.retry_after = 1;
    throw error;
  }
  if (result.state == RequestState::kFailed) {
    throw ApiError(500, "server_error", "generation failed: " + result.error);
  }
}

// Takes what the stream has produced (log-probabilities are kept for the answer); true once it
// has ended.
bool collect(Job& job, std::chrono::milliseconds timeout) {
  if (!job.stream) return true;
  StreamUpdate update = job.stream->next(timeout);
  for (auto& entry : update.logprobs) job.logprobs.push_back(std::move(entry));
  return update.ended;
}

// The whole answer of an ended request (throws ApiError when the engine could not run it).
nlohmann::json whole_answer(Job& job) {
  std::optional<EngineResult> result;
  if (job.stream) {
    result = job.stream->finish();
    check_served(*result);
  }
  FinalAnswer answer = job.final_answer(result ? &*result : nullptr);
  if (result && job.request.logprobs) {
    // A stop string may have cut the last tokens' text: keep one entry per generated token.
    std::vector<TokenLogprob> entries = std::move(job.logprobs);
    entries.resize(std::min(entries.size(), result->generation.tokens.size()));
    answer.logprobs =
        job.logprobs_json_of(entries, job.request.echo ? job.request.prompt_text.size() : 0);
  }
  return response_json(job.header, answer);
}

// A whole (non-streaming) answer. Most are done within kWholeAnswerWait and are sent as usual,
// with the status the outcome deserves. A longer one is sent as a chunked body that starts with
// a space every second until the JSON is ready (white space before a JSON value is valid JSON):
// cpp-httplib tells a handler that its client left only when a write fails, and without writes a
// client that gave up would keep its slot until max_tokens.
void answer_whole(const std::shared_ptr<Job>& job, httplib::Response& response) {
  const auto until = std::chrono::steady_clock::now() + kWholeAnswerWait;
  bool ended = false;
  while (!(ended = collect(*job, kPollInterval)) && std::chrono::steady_clock::now() < until) {
  }
  if (ended) return send_json(response, whole_answer(*job));
  response.set_chunked_content_provider(
      "application/json",
      [job](std::size_t, httplib::DataSink& sink) {
        while (!collect(*job, kKeepAliveInterval)) {
          if (!sink.write(" ", 1)) {
            job->stream->cancel();
            ++job->state.metrics.requests_cancelled;
            return false;
          }
        }
        std::string body;
        try {
          body = dump_json(whole_answer(*job));
        } catch (const ApiError& error) {  // the 200 has gone out: the error object is the body
          ++job->state.metrics.requests_failed;
          body = dump_json(error_body(error));
        }
        if (!sink.write(body.data(), body.size())) return false;
        sink.done();
        return true;
      },
      [held = job](bool) mutable { held.reset(); });  // frees the slot
}

// Writes the stream. Returns false when the client has gone (the generation is then cancelled).
bool write_stream(Job& job, httplib::DataSink& sink) {
  const auto send = [&](const std::string& event) {
    return sink.write(event.data(), event.size());
  };
  const bool chat = job.request.chat;
  if (chat && !send(sse_event(chunk_json(job.header, {{"role", "assistant"}, {"content", ""}},
                                         std::nullopt, std::nullopt)))) {
    return false;
  }
  std::optional<EngineResult> result;
  if (job.stream) {
    auto last_write = std::chrono::steady_clock::now();
    std::size_t offset = job.request.echo ? job.request.prompt_text.size() : 0;
    if (job.request.echo && !send(sse_event(chunk_json(job.header, job.request.prompt_text,
                                                       std::nullopt, std::nullopt)))) {
      return false;
    }
    for (;;) {
      StreamUpdate update = job.stream->next(kPollInterval);
      // With tools the text is held back: it may turn out to be a call, sent whole at the end.
      const bool hold = job.request.tools;
      if (!hold && (!update.text.empty() || !update.logprobs.empty())) {
        const nlohmann::json delta =
            chat ? nlohmann::json{{"content", update.text}} : nlohmann::json(update.text);
        if (!send(sse_event(chunk_json(
                job.header, delta, job.logprobs_json_of(update.logprobs, offset), std::nullopt)))) {
          return false;
        }
        offset += update.text.size();
        last_write = std::chrono::steady_clock::now();
      }
      if (hold) job.streamed_text += update.text;
      if (update.ended) break;
      if (std::chrono::steady_clock::now() - last_write > kKeepAliveInterval) {
        if (!send(": keep-alive\n\n")) return false;
        last_write = std::chrono::steady_clock::now();
      }
    }
    result = job.stream->finish();
  }
  const bool echo = job.request.echo;
  job.request.echo = false;  // the prompt went out first
  FinalAnswer answer = job.final_answer(result ? &*result : nullptr);
  job.request.echo = echo;
  nlohmann::json last_delta = chat ? nlohmann::json::object() : nlohmann::json("");
  if (job.request.tools) {
    if (!answer.tool_calls.empty()) {
      last_delta["tool_calls"] = tool_calls_json(answer.tool_calls, true);
    } else {
      last_delta["content"] = answer.content;
    }
  }
  if (!send(sse_event(chunk_json(job.header, last_delta, std::nullopt, answer.finish_reason)))) {
    return false;
  }
  if (job.request.include_usage && !send(sse_event(usage_chunk_json(job.header, answer.usage)))) {
    return false;
  }
  return send(kSseDone);
}

void handle(ServerState& state, const httplib::Request& http_request, httplib::Response& response,
            bool chat) {
  guarded(state, response, [&] {
    ++(chat ? state.metrics.requests_chat : state.metrics.requests_completion);
    require_ready(state);
    const nlohmann::json body = parse_body(http_request.body);
    CompletionRequest request = chat ? parse_chat_request(body, state.context)
                                     : parse_completion_request(body, state.context);
    auto job = std::make_shared<Job>(state, std::move(request));
    job->start();
    if (!job->request.stream) return answer_whole(job, response);
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [job](std::size_t, httplib::DataSink& sink) {
          if (write_stream(*job, sink)) {
            sink.done();
            return true;
          }
          if (job->stream) {
            job->stream->cancel();
            ++job->state.metrics.requests_cancelled;
          }
          return false;
        },
        [job](bool) mutable { job.reset(); });  // frees the slot (and cancels, if still running)
  });
}

}  // namespace

void register_completion_routes(httplib::Server& http, ServerState& state) {
  http.Post("/v1/chat/completions",
            [&state](const httplib::Request& request, httplib::Response& response) {
              handle(state, request, response, true);
            });
  http.Post("/v1/completions",
            [&state](const httplib::Request& request, httplib::Response& response) {
              handle(state, request, response, false);
            });
}

}  // namespace llama3::server
