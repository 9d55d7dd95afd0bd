// `llama3 scan-code [-l LANG] [--markdown] [--json] [--rules FILE] FILE|-`: runs the insecure-code
// scanner over a file or standard input. Exit status: 1 when the treatment is BLOCK (an
// error-severity finding), 0 otherwise, 2 on a usage or input error, so scripts can gate on it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "llama3/safety.hpp"

namespace llama3::cli {

namespace {

constexpr int kExitUsage = 2;

void print_help() {
  std::printf(
      "usage: llama3 scan-code [-l LANG] [--markdown] [--json] [--rules FILE] FILE|-\n\n"
      "Scans code (or the fenced code blocks of a Markdown answer) for insecure patterns.\n\n"
      "  -l, --language LANG  c, cpp, csharp, java, javascript, php, python, rust, shell (or an\n"
      "                       alias such as py, js, ts, c++); default: from the file extension,\n"
      "                       else every language\n"
      "  --markdown           scan ``` fenced blocks with their language tags (default for .md)\n"
      "  --json               print the result as JSON\n"
      "  --rules FILE         use this rules file instead of the built-in rules\n\n"
      "Exit status: 1 if any finding is an error (treatment BLOCK), 0 otherwise, 2 on usage "
      "errors.\n");
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "llama3 scan-code: %s (see llama3 scan-code --help)\n", message.c_str());
  return kExitUsage;
}

std::optional<std::string> read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  text << file.rdbuf();
  return text.str();
}

void print_json(const std::string& path, const CodeScanResult& result) {
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& finding : result.findings) {
    findings.push_back({{"rule_id", finding.rule_id},
                        {"cwe_id", finding.cwe_id},
                        {"severity", severity_name(finding.severity)},
                        {"language", finding.language},
                        {"line", finding.line},
                        {"column", finding.column},
                        {"description", finding.description},
                        {"matched_text", finding.matched_text}});
  }
  const nlohmann::json document = {{"path", path},
                                   {"is_insecure", result.is_insecure()},
                                   {"treatment", treatment_name(result.treatment)},
                                   {"findings", findings}};
  // Matched text may hold bytes that are not UTF-8; replace them rather than fail.
  std::printf("%s\n",
              document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_text(const std::string& path, const CodeScanResult& result) {
  for (const auto& finding : result.findings) {
    std::printf("%s:%d:%d: %s: [%s %s] %s\n", path.c_str(), finding.line, finding.column,
                severity_name(finding.severity), finding.rule_id.c_str(), finding.cwe_id.c_str(),
                finding.description.c_str());
  }
  std::printf("%s: %zu finding%s, treatment %s\n", path.c_str(), result.findings.size(),
              result.findings.size() == 1 ? "" : "s", treatment_name(result.treatment));
}

}  // namespace

int run_scan_code(Args args) {
  std::string language;
  std::string rules_path;
  std::optional<std::string> path;
  bool json = false;
  bool markdown = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      print_help();
      return 0;
    } else if (arg == "-l" || arg == "--language" || arg == "--rules") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      (arg == "--rules" ? rules_path : language) = args[++i];
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--markdown") {
      markdown = true;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      return usage_error("unknown option " + arg);
    } else if (path) {
      return usage_error("more than one input given");
    } else {
      path = arg;
    }
  }
  if (!path) return usage_error("no input: give a FILE, or - for standard input");
  if (!language.empty() && !CodeScanner::is_supported_language(language)) {
    return usage_error("unknown language '" + language + "'");
  }
  if (language.empty() && *path != "-") {
    const std::string extension = std::filesystem::path(*path).extension().string();
    if (extension == ".md" || extension == ".markdown") {
      markdown = true;
    } else if (extension.size() > 1 && CodeScanner::is_supported_language(extension.substr(1))) {
      language = extension.substr(1);
    }
  }
  const auto text = read_input(*path);
  if (!text) {
    std::fprintf(stderr, "llama3 scan-code: cannot read %s\n", path->c_str());
    return kExitUsage;
  }

  const CodeScanner scanner = rules_path.empty() ? CodeScanner::with_builtin_rules()
                                                 : CodeScanner::from_rules_file(rules_path);
  const CodeScanResult result =
      markdown ? scanner.scan_markdown(*text) : scanner.scan(*text, language);
  const std::string shown = *path == "-" ? "<stdin>" : *path;
  json ? print_json(shown, result) : print_text(shown, result);
  return result.treatment == Treatment::kBlock ? 1 : 0;
}

}  // namespace llama3::cli
