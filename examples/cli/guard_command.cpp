// `llama3 guard -m GUARD.gguf --prompt TEXT [--response TEXT]`: classifies a user prompt, or an
// answer to it, with a Llama Guard 2/3 model. Exit status: 0 safe, 1 unsafe, 2 malformed model
// output or a usage error, so scripts can gate on it.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "llama3/error.hpp"
#include "safety_options.hpp"

namespace llama3::cli {

namespace {

constexpr int kExitSafe = 0;
constexpr int kExitUnsafe = 1;
constexpr int kExitMalformedOrUsage = 2;

constexpr const char* kHelp =
    "usage: llama3 guard -m GUARD.gguf --prompt TEXT [--response TEXT] [--version 2|3|3-1b]\n"
    "                    [--threshold P] [--exclude S1,S2,...] [--json] [--threads N]\n\n"
    "Classifies a user prompt (or, with --response, the answer to it) with Llama Guard.\n\n"
    "  -m           the Llama Guard 2 / 3 / 3-1B model\n"
    "  --prompt     the user's message\n"
    "  --response   the assistant's answer to classify (response classification)\n"
    "  --version    the Guard version; default: from the model's metadata or file name\n"
    "  --threshold  P(unsafe) at or above which the verdict is unsafe (default 0.5)\n"
    "  --exclude    category codes to leave out of the policy\n"
    "  --json       print the verdict as JSON\n\n"
    "Exit status: 0 safe, 1 unsafe, 2 malformed model output or usage error.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "llama3 guard: %s (see llama3 guard --help)\n", message.c_str());
  return kExitMalformedOrUsage;
}

std::vector<std::string> split_codes(const std::string& text) {
  std::vector<std::string> codes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string code = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!code.empty()) codes.push_back(code);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return codes;
}

const char* version_key(GuardVersion version) {
  switch (version) {
    case GuardVersion::kGuard2:
      return "guard2";
    case GuardVersion::kGuard3:
      return "guard3";
    case GuardVersion::kGuard3_1B:
      return "guard3-1b";
  }
  return "unknown";
}

void print_verdict(const Guard& guard, const GuardVerdict& verdict, bool json) {
  std::string categories;
  for (const auto& code : verdict.categories) categories += (categories.empty() ? "" : ",") + code;
  if (json) {
    const nlohmann::json out = {{"verdict", guard_verdict_kind_name(verdict.kind)},
                                {"categories", verdict.categories},
                                {"unsafe_probability", verdict.unsafe_probability},
                                {"threshold", guard.threshold()},
                                {"threshold_overrode_text", verdict.threshold_overrode_text},
                                {"version", version_key(guard.version())},
                                {"raw", verdict.raw}};
    // Replace, not throw, on invalid UTF-8: random or cut model output must still print.
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("verdict: %s\n", guard_verdict_kind_name(verdict.kind));
  std::printf("categories: %s\n", categories.empty() ? "-" : categories.c_str());
  std::printf("P(unsafe): %.4g (threshold %.2f)%s\n",
              static_cast<double>(verdict.unsafe_probability),
              static_cast<double>(guard.threshold()),
              verdict.threshold_overrode_text ? ", the threshold overrode the text" : "");
  std::printf("model: %s\n", guard_version_name(guard.version()));
  // The raw text shows why a verdict is malformed; escaped so it stays on one line.
  std::printf("raw: %s\n", nlohmann::json(verdict.raw)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                               .c_str());
}

}  // namespace

int run_guard(Args args) {
  const Options options(args, {"--json", "--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kHelp);
    return 0;
  }
  if (!options.positional().empty()) {
    return usage_error("unexpected argument '" + options.positional()[0] + "'");
  }
  const auto model_path = options.get("-m");
  if (!model_path) return usage_error("-m GUARD.gguf is required");
  const auto prompt = options.get("--prompt");
  if (!prompt) return usage_error("--prompt TEXT is required");

  GuardOptions guard_options;
  try {
    guard_options.threshold = options.get_float("--threshold", guard_options.threshold);
    guard_options.n_threads = options.get_int("--threads", 0);
  } catch (const Error& error) {
    return usage_error(error.what());
  }
  if (const auto excluded = options.get("--exclude")) {
    guard_options.excluded_categories = split_codes(*excluded);
  }
  std::vector<ChatTurn> conversation{{"user", *prompt}};
  if (const auto response = options.get("--response")) {
    conversation.push_back({"assistant", *response});
  }
  std::optional<GuardVerdict> classified;
  std::optional<Guard> guard;
  try {
    guard.emplace(load_guard(*model_path, options.get("--version"), guard_options));
    classified = guard->classify(conversation);
  } catch (const Error& error) {
    // Exit 1 means "unsafe" here, so every failure (unreadable file, unknown version, ...) is 2.
    std::fprintf(stderr, "llama3 guard: error (%s): %s\n", error_code_name(error.code()),
                 error.what());
    return kExitMalformedOrUsage;
  }
  const GuardVerdict& verdict = *classified;
  print_verdict(*guard, verdict, options.has("--json"));
  switch (verdict.kind) {
    case GuardVerdict::Kind::kSafe:
      return kExitSafe;
    case GuardVerdict::Kind::kUnsafe:
      return kExitUnsafe;
    case GuardVerdict::Kind::kMalformed:
      return kExitMalformedOrUsage;
  }
  return kExitMalformedOrUsage;
}

}  // namespace llama3::cli
