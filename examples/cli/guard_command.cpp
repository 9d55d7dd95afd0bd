// `llama3 guard -m GUARD.gguf --prompt TEXT [--response TEXT]`: classifies a user prompt, or an
// answer to it, with a Llama Guard 2/3 model. Exit status: 0 safe, 1 unsafe, 2 malformed model
// output or a usage error, so scripts can gate on it.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "safety_options.hpp"

namespace llama3::cli {

namespace {

constexpr int kExitSafe = 0;
constexpr int kExitUnsafe = 1;
constexpr int kExitMalformedOrUsage = kExitUsage;

struct GuardCommandOptions {
  std::string model_path;
  std::string prompt;
  std::optional<std::string> response;
  std::optional<std::string> version;
  std::optional<float> threshold;
  std::string excluded;
  OutputFormat format = OutputFormat::kText;
  bool json = false;
  int n_threads = 0;
};

void declare(CLI::App& app, GuardCommandOptions& options) {
  app.add_option("-m,--model", options.model_path, "the Llama Guard 2 / 3 / 3-1B model")
      ->type_name("PATH")
      ->required();
  app.add_option("--prompt", options.prompt, "the user's message")->required();
  app.add_option("--response", options.response,
                 "the assistant's answer to classify (response classification)");
  app.add_option("--version", options.version,
                 "the Guard version: 2, 3 or 3-1b (default: from the model's metadata or file "
                 "name)")
      ->type_name("V")
      ->check(guard_version_names());
  app.add_option("--threshold", options.threshold,
                 "P(unsafe) at or above which the verdict is unsafe (in [0, 1]; default 0.5)")
      ->check(number_in(0.0, 1.0));
  app.add_option("--exclude", options.excluded, "category codes to leave out of the policy")
      ->type_name("S1,S2,...");
  declare_output_format(app, options.format,
                        {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}});
  app.add_flag("--json", options.json, "the same as -o json");
  declare_threads(app, options.n_threads);
  app.footer("Exit status: 0 safe, 1 unsafe, 2 malformed model output, usage or other error.");
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
  const auto app = make_command_app(
      "guard", "Classify a user prompt (or, with --response, the answer to it) with Llama Guard.");
  GuardCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;

  GuardOptions guard_options;
  if (options.threshold) guard_options.threshold = *options.threshold;
  guard_options.n_threads = clamp_threads(options.n_threads);
  guard_options.excluded_categories = split_codes(options.excluded);
  std::vector<ChatTurn> conversation{{"user", options.prompt}};
  if (options.response) conversation.push_back({"assistant", *options.response});
  std::optional<GuardVerdict> classified;
  std::optional<Guard> guard;
  try {
    guard.emplace(load_guard(options.model_path, options.version, guard_options));
    classified = guard->classify(conversation);
  } catch (const Error& error) {
    // Exit 1 means "unsafe" here, so every failure (unreadable file, unknown version, ...) is 2.
    print_error("guard", error);
    return kExitMalformedOrUsage;
  }
  const GuardVerdict& verdict = *classified;
  print_verdict(*guard, verdict, options.json || options.format == OutputFormat::kJson);
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
