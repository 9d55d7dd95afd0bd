#include "command_line.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

namespace llama3::cli {
namespace {

// llama.cpp spells some options with one dash and several letters; CLI11 would read "-sys" as
// "-s ys". Rewritten to the long name before parsing.
struct Respelling {
  const char* llama_cpp;
  const char* ours;
};
constexpr Respelling kRespellings[] = {
    {"-sys", "--system-prompt"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"}};

bool has_option(const CLI::App& app, const std::string& name) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->check_name(name)) return true;
  }
  return false;
}

// A number such as -1 or -0.5 is a value, not an option.
bool looks_like_option(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  char* end = nullptr;
  std::strtod(arg.c_str(), &end);
  return end != arg.c_str() + arg.size();
}

std::string lowercase_core(const std::string& name) {
  std::string core = name.substr(0, name.find('='));
  core.erase(0, core.find_first_not_of('-'));
  std::transform(core.begin(), core.end(), core.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return core;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<double> parse_finite(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string format_limit(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

// Help in 100 columns: option names and value type on the left, the description wrapped on the
// right; "REQUIRED" is kept, CLI11's "Needs:"/"Excludes:" lists are left to the descriptions.
class HelpFormatter : public CLI::Formatter {
 public:
  static constexpr std::size_t kNameColumn = 30;
  static constexpr std::size_t kLineWidth = 100;

  std::string make_option_opts(const CLI::Option* option) const override {
    std::string text;
    if (option->get_positional()) return text;  // its name is already its placeholder
    if (option->get_type_size() != 0 && !option->get_type_name().empty()) {
      text += " " + option->get_type_name();
    }
    if (option->get_required() && !option->get_positional()) text += " (required)";
    return text;
  }

  std::string make_option_desc(const CLI::Option* option) const override {
    return wrap(option->get_description(), kLineWidth - kNameColumn);
  }

 private:
  static std::string wrap(const std::string& text, std::size_t width) {
    std::string wrapped;
    std::size_t line_length = 0;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      const std::string word = text.substr(start, end - start);
      if (line_length > 0 && line_length + 1 + word.size() > width) {
        wrapped += '\n';
        line_length = 0;
      } else if (line_length > 0) {
        wrapped += ' ';
        ++line_length;
      }
      wrapped += word;
      line_length += word.size();
      start = end + 1;
    }
    return wrapped;
  }
};

// What CLI11 left over (allow_extras) is an unknown option or a stray argument.
void reject_leftover_arguments(const CLI::App& app) {
  const std::vector<std::string> rest = app.remaining();
  for (const auto& arg : rest) {
    if (!looks_like_option(arg)) continue;
    std::string hint = closest_option(app, arg);
    // Other tools' switch for machine output.
    if (arg == "--json" && has_option(app, "--output-format")) hint = "-o json";
    throw UsageError("unknown option " + arg.substr(0, arg.find('=')) +
                     (hint.empty() ? "" : " (did you mean " + hint + "?)"));
  }
  if (!rest.empty()) throw UsageError("unexpected argument '" + rest.front() + "'");
}

}  // namespace

std::unique_ptr<CLI::App> make_command_app(const std::string& name,
                                           const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, "llama3 " + name);
  app->set_help_flag("-h,--help", "print this help and exit");
  app->allow_extras();  // parse_command_line reports them, with a hint
  // As llama.cpp and most tools: a repeated option's last value wins (--stop declares its own).
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto formatter = std::make_shared<HelpFormatter>();
  formatter->column_width(HelpFormatter::kNameColumn);
  app->formatter(formatter);
  return app;
}

bool parse_command_line(CLI::App& app, Args args) {
  std::vector<std::string> reversed;  // CLI11 takes the arguments last first
  for (auto it = args.rbegin(); it != args.rend(); ++it) {
    std::string arg = *it;
    for (const auto& respelling : kRespellings) {
      if (arg == respelling.llama_cpp && has_option(app, respelling.ours)) arg = respelling.ours;
    }
    reversed.push_back(std::move(arg));
  }
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return false;
  } catch (const CLI::ParseError& error) {
    // An unknown option explains a missing one better than "--model is required" does.
    reject_leftover_arguments(app);
    throw UsageError(error.what());
  }
  reject_leftover_arguments(app);
  return true;
}

std::string closest_option(const CLI::App& app, const std::string& unknown) {
  const std::string wanted = lowercase_core(unknown);
  if (wanted.empty()) return {};
  std::string best;
  std::size_t best_score = std::max<std::size_t>(2, wanted.size() / 3) + 1;
  const auto consider = [&](const std::string& spelled) {
    const std::string core = lowercase_core(spelled);
    std::size_t score = edit_distance(wanted, core);
    // "--temperature" for "--temp", "--thread" for "--threads": one is the start of the other.
    const bool prefix = core.size() >= 3 && wanted.size() >= 3 &&
                        (core.rfind(wanted, 0) == 0 || wanted.rfind(core, 0) == 0);
    if (prefix) score = std::min<std::size_t>(score, 1);
    // A one-letter option is one edit from every other: only a closer match is a hint.
    if (score >= wanted.size() || score >= core.size()) return;
    if (score < best_score) {
      best_score = score;
      best = spelled;
    }
  };
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) consider("--" + name);
    for (const auto& name : option->get_snames()) consider("-" + name);
  }
  return best;
}

CLI::Validator number_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const auto value = parse_finite(text);
        if (!value) return "'" + text + "' is not a finite number";
        if (*value >= min && *value <= max) return {};
        if (std::isinf(max)) return text + " is out of range: must be >= " + format_limit(min);
        if (std::isinf(min)) return text + " is out of range: must be <= " + format_limit(max);
        return text + " is out of range [" + format_limit(min) + ", " + format_limit(max) + "]";
        return {};
      },
      "");
}

CLI::Validator number_above(double min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        const auto value = parse_finite(text);
        if (!value) return "'" + text + "' is not a finite number";
        if (*value <= min) return text + " is out of range: must be above " + format_limit(min);
        return {};
      },
      "");
}

CLI::Validator integer_in(long long min, long long max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
        if (text.empty() || end != text.c_str() + text.size()) {
          return "'" + text + "' is not an integer";
        }
        if (errno == ERANGE || value < min || value > max) {
          return text + " is out of range " + range;
        }
        return {};
      },
      "");
}

}  // namespace llama3::cli
