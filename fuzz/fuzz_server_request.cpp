// The server's request reading: a body as an HTTP client sends it, parsed as JSON and read as a
// /v1/chat/completions or /v1/completions request (byte 0 picks) for a tiny model with the
// Llama 3.1 vocabulary. Whatever the body, the answer must be a request or an ApiError with a 4xx
// status: a 5xx, another exception or a crash would turn one client's bad body into a server fault.
// A request that is accepted must fit the context it was checked against.
#include <cstdlib>

#include "fuzz_support.hpp"
#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "server/api_error.hpp"
#include "server/openai_request.hpp"

namespace {
const llama3::server::ModelContext& model_context() {
  static const llama3::Model model = [] {
    const char* path = std::getenv("LLAMA3_FUZZ_CHAT_MODEL");
    if (!path) {
      std::fprintf(stderr, "fuzz_server_request needs LLAMA3_FUZZ_CHAT_MODEL (scripts/fuzz.sh)\n");
      std::exit(2);
    }
    return llama3::Model::load(path);
  }();
  static const llama3::GrammarVocabulary vocabulary(model.tokenizer());
  static const llama3::server::ModelContext context = [] {
    llama3::server::ModelContext c;
    c.model = &model;
    c.grammar_vocabulary = []() -> const llama3::GrammarVocabulary& { return vocabulary; };
    c.model_id = "tiny";
    c.n_ctx = 256;
    c.chat.style = llama3::ChatStyle::kLlama31;
    return c;
  }();
  return context;
}
}  // namespace

// Loads the model before the first input, so its time is not charged to that input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)model_context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  if (size == 0) return 0;
  const server::ModelContext& context = model_context();
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const nlohmann::json body = server::parse_body(text);
    server::check_model_name(body, context);
    const server::CompletionRequest request = data[0] % 2 == 0
                                                  ? server::parse_chat_request(body, context)
                                                  : server::parse_completion_request(body, context);
    fuzz::require(!request.prompt.empty(), "an accepted request has a prompt");
    fuzz::require(request.max_tokens >= 0, "max_tokens is not negative");
    fuzz::require(request.prompt.size() + static_cast<std::size_t>(request.max_tokens) <=
                      static_cast<std::size_t>(context.n_ctx),
                  "prompt and answer fit the context");
    fuzz::ParseCounts::instance().count(false);
  } catch (const server::ApiError& error) {
    if (error.status() >= 500) {
      std::fprintf(stderr, "status %d for a client's body: %s\n", error.status(), error.what());
      std::abort();
    }
    fuzz::ParseCounts::instance().count(true);
  } catch (const std::exception& other) {
    std::fprintf(stderr, "not an ApiError: %s\n", other.what());
    std::abort();
  }
  return 0;
}
