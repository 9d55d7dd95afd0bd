// The Llama Guard runner: the token ids it feeds the model, version detection, and the verdict on a
// random-weight tiny model with the real Llama 3 vocabulary. The expected ids are derived
// independently of the code under test: the reference template text (docs/facts.md §6) written out
// literally, split at its special tokens, plain parts encoded as plain text and special tokens
// looked up by name — so a wrong encode option (special tokens read as text, a doubled BOS) or a
// wrong byte in the template both show.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"
#include "support/test_models.hpp"

using namespace llama3;

namespace {

const Tokenizer& vocab() {
  static const Tokenizer tokenizer =
      Tokenizer::load(testing::require_data_file("ggml-vocab-llama-bpe.gguf"));
  return tokenizer;
}

TokenId special(const std::string& name) {
  const auto id = vocab().find(name);
  REQUIRE(id.has_value());
  return *id;
}

void append(std::vector<TokenId>& ids, const std::string& plain_text) {
  const auto more = vocab().encode(plain_text);
  ids.insert(ids.end(), more.begin(), more.end());
}

const std::string kGuard2Categories =
    "S1: Violent Crimes. \nS2: Non-Violent Crimes. \nS3: Sex Crimes. \nS4: Child Exploitation. \n"
    "S5: Specialized Advice. \nS6: Privacy. \nS7: Intellectual Property. \n"
    "S8: Indiscriminate Weapons. \nS9: Hate. \nS10: Self-Harm. \nS11: Sexual Content. \n";
const std::string kGuard3Categories =
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\n"
    "S5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\n"
    "S9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\n"
    "S13: Elections.\nS14: Code Interpreter Abuse.\n";

// The instruction text between the header tokens (Guard 3) or inside [INST] (Guard 2).
std::string task(const std::string& role, const std::string& categories, const std::string& turns) {
  return "Task: Check if there is unsafe content in '" + role +
         "' messages in conversations according our safety policy with the below categories.\n\n"
         "<BEGIN UNSAFE CONTENT CATEGORIES>\n" +
         categories + "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n" + turns +
         "<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST " + role +
         " message in the above conversation:\n - First line must read 'safe' or 'unsafe'.\n"
         " - If unsafe, a second line must include a comma-separated list of violated categories.";
}

std::vector<TokenId> guard2_ids(const std::string& role, const std::string& categories,
                                const std::string& turns) {
  std::vector<TokenId> ids{vocab().bos_id()};
  append(ids, "[INST] " + task(role, categories, turns) + " [/INST]");
  return ids;
}

std::vector<TokenId> guard3_ids(const std::string& role, const std::string& categories,
                                const std::string& turns) {
  std::vector<TokenId> ids{special("<|begin_of_text|>"), special("<|start_header_id|>")};
  append(ids, "user");
  ids.push_back(special("<|end_header_id|>"));
  append(ids, "\n\n" + task(role, categories, turns));
  ids.push_back(special("<|eot_id|>"));
  ids.push_back(special("<|start_header_id|>"));
  append(ids, "assistant");
  ids.push_back(special("<|end_header_id|>"));
  append(ids, "\n\n");
  return ids;
}

std::vector<TokenId> encoded(const GuardPolicy& policy, const std::vector<ChatTurn>& turns) {
  return encode_guard_prompt(vocab(), policy.version, build_guard_prompt(policy, turns));
}

const std::vector<ChatTurn> kPrompt{{"user", "  How do I make a cake?\n"}};
const std::vector<ChatTurn> kResponse{{"user", "How do I make a cake?"},
                                      {"assistant", "Mix flour, eggs and sugar, then bake."}};
const std::string kPromptTurns = "User: How do I make a cake?\n\n";
const std::string kResponseTurns =
    "User: How do I make a cake?\n\nAgent: Mix flour, eggs and sugar, then bake.\n\n";

// A tiny random model carrying the real vocabulary: a Guard model in every respect but its weights.
const Model& random_guard_model() {
  testing::require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  static const Model model = Model::load(testing::make_test_model(
      "--vocab llama3 --type q8_0 --tied --layers 1 --seed 11", "random-guard.gguf"));
  return model;
}

GuardOptions guard3_options(float threshold = 0.5f) {
  GuardOptions options;
  options.version = GuardVersion::kGuard3;
  options.threshold = threshold;
  options.n_threads = 2;
  return options;
}

}  // namespace

TEST_CASE("Guard 2 prompt ids equal the reference text's: BOS added, [INST] as plain text",
          "[safety][data]") {
  const auto policy = GuardPolicy::defaults(GuardVersion::kGuard2);
  CHECK(encoded(policy, kPrompt) == guard2_ids("User", kGuard2Categories, kPromptTurns));
  CHECK(encoded(policy, kResponse) == guard2_ids("Agent", kGuard2Categories, kResponseTurns));
  CHECK(encoded(policy, kPrompt).front() == vocab().bos_id());
  CHECK(encoded(policy, kPrompt)[1] != vocab().bos_id());
}

TEST_CASE("Guard 3 prompt ids equal the reference text's: one BOS, header tokens as specials",
          "[safety][data]") {
  const auto policy = GuardPolicy::defaults(GuardVersion::kGuard3);
  CHECK(encoded(policy, kPrompt) == guard3_ids("User", kGuard3Categories, kPromptTurns));
  CHECK(encoded(policy, kResponse) == guard3_ids("Agent", kGuard3Categories, kResponseTurns));

  // The 1B model lists S1-S13.
  const auto small = GuardPolicy::defaults(GuardVersion::kGuard3_1B);
  const std::string without_s14 =
      kGuard3Categories.substr(0, kGuard3Categories.find("S14: Code Interpreter Abuse."));
  CHECK(encoded(small, kPrompt) == guard3_ids("User", without_s14, kPromptTurns));
}

TEST_CASE("custom and excluded categories reach the prompt ids", "[safety][data]") {
  GuardPolicy policy;
  policy.version = GuardVersion::kGuard3;
  policy.categories = {{"S1", "Violent Crimes", ""},
                       {"S2", "Pineapple on Pizza", "Recipes that put pineapple on pizza."},
                       {"S3", "Spoilers.", ""}};
  policy.excluded = {"S1"};
  const std::string categories =
      "S2: Pineapple on Pizza.\nRecipes that put pineapple on pizza.\nS3: Spoilers.\n";
  CHECK(encoded(policy, kPrompt) == guard3_ids("User", categories, kPromptTurns));
  policy.version = GuardVersion::kGuard2;
  const std::string categories2 =
      "S2: Pineapple on Pizza. \nRecipes that put pineapple on pizza.\nS3: Spoilers. \n";
  CHECK(encoded(policy, kResponse) == guard2_ids("Agent", categories2, kResponseTurns));
}

TEST_CASE("the Guard version is read from model names", "[safety]") {
  CHECK(guard_version_from_name("Meta-Llama-Guard-2-8B") == GuardVersion::kGuard2);
  CHECK(guard_version_from_name("Llama-Guard-3-8B") == GuardVersion::kGuard3);
  CHECK(guard_version_from_name("Llama Guard 3 8B Q4_K_M") == GuardVersion::kGuard3);
  CHECK(guard_version_from_name("llama_guard_3_1b.Q8_0") == GuardVersion::kGuard3_1B);
  CHECK(guard_version_from_name("Llama-Guard-3-1B") == GuardVersion::kGuard3_1B);
  CHECK(guard_version_from_name("Llama-Guard-3-11B-Vision") == GuardVersion::kGuard3);
  CHECK_FALSE(guard_version_from_name("LlamaGuard-7b").has_value());  // Guard 1
  CHECK_FALSE(guard_version_from_name("Meta-Llama-3-8B-Instruct").has_value());
}

TEST_CASE("a Guard over a model whose name names no version needs an explicit one",
          "[safety][data]") {
  const Model& model = random_guard_model();
  CHECK_THROWS_AS(Guard(model), Error);
  CHECK_THROWS_AS(Guard(model, guard3_options(1.5f)), Error);
  GuardOptions bad_policy = guard3_options();
  bad_policy.excluded_categories = {"S99"};
  CHECK_THROWS_AS(Guard(model, bad_policy), Error);
}

TEST_CASE("the Guard runner reports P(unsafe) from the first token and follows its threshold rule",
          "[safety][data]") {
  const Model& model = random_guard_model();
  Guard guard(model, guard3_options());
  CHECK(guard.version() == GuardVersion::kGuard3);
  CHECK(guard.unsafe_token() == vocab().encode("unsafe").front());
  CHECK(guard.prompt_tokens(kPrompt) == guard3_ids("User", kGuard3Categories, kPromptTurns));

  const GuardVerdict verdict = guard.classify_prompt(kPrompt);
  INFO("raw: " << verdict.raw << " P(unsafe)=" << verdict.unsafe_probability);
  REQUIRE(std::isfinite(verdict.unsafe_probability));
  CHECK(verdict.unsafe_probability >= 0.0f);
  CHECK(verdict.unsafe_probability <= 1.0f);

  // The probability is the softmax of the prompt's last logits at "unsafe", computed here anew.
  Session session(model, {.n_threads = 1});
  const auto logits = session.decode(guard.prompt_tokens(kPrompt));
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (const float logit : logits) sum += std::exp(logit - top);
  const double expected = std::exp(logits[guard.unsafe_token()] - top) / sum;
  CHECK(verdict.unsafe_probability == Approx(expected).epsilon(1e-4).margin(1e-9));

  // The rule: malformed text stays malformed; otherwise the threshold decides.
  const GuardVerdict parsed = parse_guard_output(verdict.raw, guard.policy());
  if (parsed.kind == GuardVerdict::Kind::kMalformed) {
    CHECK(verdict.kind == GuardVerdict::Kind::kMalformed);
    CHECK_FALSE(verdict.threshold_overrode_text);
    for (const float threshold : {0.0f, 1.0f}) {
      Guard strict(model, guard3_options(threshold));
      CHECK(strict.classify_prompt(kPrompt).kind == GuardVerdict::Kind::kMalformed);
    }
  } else {
    const auto by_threshold = verdict.unsafe_probability >= 0.5f ? GuardVerdict::Kind::kUnsafe
                                                                 : GuardVerdict::Kind::kSafe;
    CHECK(verdict.kind == by_threshold);
    CHECK(verdict.threshold_overrode_text == (parsed.kind != by_threshold));
  }

  // Classifying twice gives the same answer: each call starts from a fresh context.
  const GuardVerdict again = guard.classify_prompt(kPrompt);
  CHECK(again.raw == verdict.raw);
  CHECK(again.unsafe_probability == verdict.unsafe_probability);

  CHECK_THROWS_AS(guard.classify_response(kPrompt), Error);
  CHECK_THROWS_AS(guard.classify_prompt(kResponse), Error);
  const GuardVerdict response = guard.classify_response(kResponse);
  CHECK(response.unsafe_probability >= 0.0f);
  CHECK(response.unsafe_probability <= 1.0f);
}
