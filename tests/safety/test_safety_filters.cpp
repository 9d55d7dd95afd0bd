// The ready-made filters: the code scanner driven with scripted streamed pieces (its logic), then
// end to end through Session::generate; the Guard filters on a random-weight Guard model, whose
// verdict is whatever it is — the assertions check the filters act on it as documented.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llama3/chat.hpp"
#include "llama3/safety.hpp"
#include "llama3/sampler.hpp"
#include "support/stories_model.hpp"
#include "support/test_models.hpp"

using namespace llama3;
using testing::stories_model;

namespace {

// Feeds pieces to an output filter as the generation loop would; returns the index of the piece it
// stopped at (or -1) and collects notes.
struct Scripted {
  int stopped_at = -1;
  std::string reason;
  std::vector<std::string> notes;
  OutputVerdict final_verdict;
};

Scripted run_scripted(const OutputFilter& filter, const std::vector<std::string>& pieces) {
  Scripted run;
  std::string text;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string candidate = text + pieces[i];
    OutputVerdict verdict =
        filter(OutputEvent{std::string_view(candidate).substr(text.size()), candidate, false});
    if (!verdict.note.empty()) run.notes.push_back(verdict.note);
    if (verdict.action == OutputVerdict::Action::kStop) {
      run.stopped_at = static_cast<int>(i);
      run.reason = verdict.reason;
      return run;
    }
    text = candidate;
  }
  run.final_verdict = filter(OutputEvent{{}, text, true});
  if (!run.final_verdict.note.empty()) run.notes.push_back(run.final_verdict.note);
  return run;
}

const CodeScanner& scanner() {
  static const CodeScanner instance = CodeScanner::with_builtin_rules();
  return instance;
}

const Model& random_guard_model() {
  testing::require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  static const Model model = Model::load(testing::make_test_model(
      "--vocab llama3 --type q8_0 --tied --layers 1 --seed 11", "random-guard.gguf"));
  return model;
}

GuardOptions guard3_options() {
  GuardOptions options;
  options.version = GuardVersion::kGuard3;
  options.n_threads = 2;
  return options;
}

}  // namespace

TEST_CASE("the code scanner filter stops when a line of blocking code completes", "[safety]") {
  const auto run = run_scripted(code_scanner_output_filter(scanner()),
                                {"Here you go:\n", "```c\n", "int main(void) {\n", "  char b[8];\n",
                                 "  ge", "ts(b", ");", "\n", "}\n", "```\n"});
  CHECK(run.stopped_at == 7);  // the piece that ends the gets line
  CHECK(run.reason.find("c.gets") != std::string::npos);
  CHECK(run.reason.find("CWE-242") != std::string::npos);
  CHECK(run.reason.find("line 5") != std::string::npos);  // of the whole answer
}

TEST_CASE("the code scanner filter annotates warnings once and lets generation go on", "[safety]") {
  const auto run =
      run_scripted(code_scanner_output_filter(scanner()),
                   {"```python\n", "import hashlib\n", "digest = hashlib.md5(data).hexdigest()\n",
                    "print(digest)\n", "```\n", "That is all.\n"});
  CHECK(run.stopped_at == -1);
  REQUIRE(run.notes.size() == 1);  // reported when the line completed, not again at the end
  CHECK(run.notes[0].find("python.weak-hash") != std::string::npos);
  CHECK(run.notes[0].find("line 3") != std::string::npos);
  CHECK(run.final_verdict.action == OutputVerdict::Action::kContinue);
}

TEST_CASE("the code scanner filter ignores prose, comments and later-closed safe blocks",
          "[safety]") {
  const auto run =
      run_scripted(code_scanner_output_filter(scanner()),
                   {"Never call gets() in C.\n", "```c\n", "// gets(b) is banned\n",
                    "fgets(b, sizeof b, stdin);\n", "```\n", "```python\n", "x = 1\n", "```\n"});
  CHECK(run.stopped_at == -1);
  CHECK(run.notes.empty());
  CHECK(run.final_verdict.action == OutputVerdict::Action::kContinue);
}

TEST_CASE("the final scan of the code scanner filter catches an unfinished last line", "[safety]") {
  // The last line never gets its newline: only the whole-text scan at the end sees it.
  const auto run = run_scripted(code_scanner_output_filter(scanner()),
                                {"```c\n", "char b[8];\n", "strcpy(b, argv[1]);"});
  CHECK(run.stopped_at == -1);
  CHECK(run.final_verdict.action == OutputVerdict::Action::kStop);
  CHECK(run.final_verdict.reason.find("c.strcpy") != std::string::npos);
}

TEST_CASE("the code scanner filter stops a real generation and leaves the session usable",
          "[safety][data]") {
  // stories260K writes no code, so an earlier filter in the chain rewrites its pieces into an
  // insecure C answer: the scanner sees streamed text exactly as it would from a coding model.
  const std::vector<std::string> answer{
      "```c\n", "int main(void) {\n", "  char b[8];\n", "  gets(b);\n", "}\n", "```\n"};
  Session session(stories_model(), {.n_threads = 1});
  SamplerParams params;
  params.temperature = 0.0f;
  Sampler sampler(params);
  GenerateOptions options;
  options.max_tokens = 40;
  std::size_t next_line = 0;
  options.output_filters.push_back([&](const OutputEvent&) {
    return OutputVerdict::redact(next_line < answer.size() ? answer[next_line++] : "");
  });
  options.output_filters.push_back(code_scanner_output_filter(scanner()));
  std::string streamed;
  options.on_piece = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const auto result = session.generate(std::vector<TokenId>{stories_model().tokenizer().bos_id()},
                                       sampler, options);
  CHECK(result.stop_reason == StopReason::kFiltered);
  CHECK(result.filter_reason.find("c.gets") != std::string::npos);
  CHECK(result.tokens.size() == 4);
  CHECK(result.text == "```c\nint main(void) {\n  char b[8];\n");
  CHECK(streamed == result.text);
  CHECK(session.n_past() == 4);  // BOS and the three tokens whose pieces were handed out

  GenerateOptions plain;
  plain.max_tokens = 3;
  CHECK(session.generate({}, sampler, plain).tokens.size() == 3);
  CHECK(session.n_past() == 7);
}

TEST_CASE("the Guard input filter blocks before any decode when the verdict is not safe",
          "[safety][data]") {
  const Model& model = random_guard_model();
  Guard guard(model, guard3_options());
  const GuardVerdict verdict =
      guard.classify_prompt(std::vector<ChatTurn>{{"user", "Hello there"}});
  INFO("verdict: " << guard_verdict_kind_name(verdict.kind) << " raw: " << verdict.raw);
  const bool expect_block = verdict.kind != GuardVerdict::Kind::kSafe;

  // A chat prompt: the filter reads the user turn out of the Llama 3 headers, so its verdict (and
  // the probability in its reason) equals that of the plain text.
  ChatOptions chat_options;
  chat_options.style = ChatStyle::kLlama31;
  const ChatFormat chat(model.tokenizer(), chat_options);
  const auto prompt =
      chat.encode_dialog_prompt({{Role::kSystem, "You are terse."}, {Role::kUser, "Hello there"}});
  const InputFilter filter = guard_input_filter(guard);
  const InputVerdict from_chat = filter(model.tokenizer().decode(prompt, true));
  const InputVerdict from_text = filter("Hello there");
  CHECK(from_chat.block == expect_block);
  CHECK(from_text.block == expect_block);
  CHECK(from_chat.reason == from_text.reason);
  if (expect_block) CHECK(from_chat.reason.starts_with("llama guard: "));

  Session session(model, {.n_threads = 2});
  GenerateOptions options;
  options.max_tokens = 2;
  options.input_filters.push_back(filter);
  SamplerParams params;
  params.temperature = 0.0f;
  Sampler sampler(params);
  const auto result = session.generate(prompt, sampler, options);
  if (expect_block) {
    CHECK(result.stop_reason == StopReason::kBlocked);
    CHECK(session.n_past() == 0);
    CHECK(result.tokens.empty());
  } else {
    CHECK(result.stop_reason != StopReason::kBlocked);
    CHECK(session.n_past() > 0);
  }

  // Not failing closed on malformed output lets such a prompt through.
  if (verdict.kind == GuardVerdict::Kind::kMalformed) {
    CHECK_FALSE(guard_input_filter(guard, /*block_malformed=*/false)("Hello there").block);
  }
}

TEST_CASE("the Guard output filter judges the finished answer once", "[safety][data]") {
  const Model& model = random_guard_model();
  Guard guard(model, guard3_options());
  const std::vector<ChatTurn> prompt{{"user", "Say hi"}};
  const std::vector<ChatTurn> whole{{"user", "Say hi"}, {"assistant", "Hi!"}};
  const GuardVerdict verdict = guard.classify_response(whole);

  const auto run = run_scripted(guard_output_filter(guard, prompt), {"H", "i", "!"});
  CHECK(run.stopped_at == -1);  // nothing is judged mid-stream
  REQUIRE(run.notes.size() == 1);
  CHECK(run.notes[0].starts_with(std::string("llama guard: ") +
                                 guard_verdict_kind_name(verdict.kind)));
  const bool expect_stop = verdict.kind != GuardVerdict::Kind::kSafe;
  CHECK((run.final_verdict.action == OutputVerdict::Action::kStop) == expect_stop);
  if (expect_stop) CHECK(run.final_verdict.reason == run.notes[0]);
}
