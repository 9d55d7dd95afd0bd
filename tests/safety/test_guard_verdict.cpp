#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llama3/safety.hpp"

using llama3::GuardPolicy;
using llama3::GuardVerdict;
using llama3::GuardVersion;
using Kind = llama3::GuardVerdict::Kind;

namespace {
GuardVerdict parse(std::string_view text, GuardVersion version = GuardVersion::kGuard3) {
  return llama3::parse_guard_output(text, GuardPolicy::defaults(version));
}
}  // namespace

TEST_CASE("Guard verdict: safe, with and without surrounding white space", "[safety]") {
  for (const char* text :
       {"safe", "safe\n", "  \n safe \r\n", "safe<|eot_id|>", "\nsafe\n<|eot_id|>"}) {
    INFO(text);
    const auto verdict = parse(text);
    CHECK(verdict.kind == Kind::kSafe);
    CHECK(verdict.categories.empty());
    CHECK(verdict.raw == text);
    CHECK(verdict.unsafe_probability == -1.0f);
  }
}

TEST_CASE("Guard verdict: unsafe with category codes", "[safety]") {
  auto verdict = parse("unsafe\nS1");
  CHECK(verdict.kind == Kind::kUnsafe);
  CHECK(verdict.categories == std::vector<std::string>{"S1"});

  verdict = parse(" unsafe \n S2, S10 ,S14 \n<|eot_id|>");
  CHECK(verdict.kind == Kind::kUnsafe);
  CHECK(verdict.categories == std::vector<std::string>{"S2", "S10", "S14"});

  verdict = parse("unsafe\nS3,S3");
  CHECK(verdict.kind == Kind::kUnsafe);
  CHECK(verdict.categories == std::vector<std::string>{"S3"});

  verdict = parse("unsafe");
  CHECK(verdict.kind == Kind::kUnsafe);
  CHECK(verdict.categories.empty());
}

TEST_CASE("Guard verdict: garbage and unknown codes are malformed, never guessed", "[safety]") {
  for (const char* text :
       {"", "   ", "Safe", "SAFE", "safe.", "safe\nS1", "unsafe\nS15", "unsafe\nS1,,S2",
        "unsafe\nS1,", "unsafe\nviolent crimes", "unsafe\nS1\nS2", "I cannot answer that.",
        "unsafeS1", "the answer is safe"}) {
    INFO("'" << text << "'");
    const auto verdict = parse(text);
    CHECK(verdict.kind == Kind::kMalformed);
    CHECK(verdict.categories.empty());
    CHECK(verdict.raw == text);
  }
  // S14 exists for Guard 3 8B but not for the 1B model nor Guard 2 (S1..S11).
  CHECK(parse("unsafe\nS14", GuardVersion::kGuard3_1B).kind == Kind::kMalformed);
  CHECK(parse("unsafe\nS12", GuardVersion::kGuard2).kind == Kind::kMalformed);
  CHECK(parse("unsafe\nS11", GuardVersion::kGuard2).kind == Kind::kUnsafe);
}

TEST_CASE("Guard verdict: excluded categories are not valid answers", "[safety]") {
  auto policy = GuardPolicy::defaults(GuardVersion::kGuard3);
  policy.excluded = {"S5"};
  CHECK(llama3::parse_guard_output("unsafe\nS5", policy).kind == Kind::kMalformed);
  CHECK(llama3::parse_guard_output("unsafe\nS6", policy).kind == Kind::kUnsafe);
}
