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

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "llama3/safety.hpp"

namespace llama3::cli {

namespace {

struct ScanCodeOptions {
  std::string path;
  std::string language;
  std::string rules_path;
  OutputFormat format = OutputFormat::kText;
  bool json = false;
  bool markdown = false;
};

void declare(CLI::App& app, ScanCodeOptions& options) {
  app.add_option("FILE", options.path, "the file to scan, or - for standard input")
      ->type_name("FILE|-")
      ->required();
  app.add_option("-l,--language", options.language,
                 "c, cpp, csharp, java, javascript, php, python, rust, shell (or an alias such as "
                 "py, js, ts, c++); default: from the file extension, else every language")
      ->type_name("LANG")
      ->check(CLI::Validator(
          [](std::string& name) {
            return CodeScanner::is_supported_language(name) ? std::string()
                                                            : "unknown language '" + name + "'";
          },
          ""));
  app.add_flag("--markdown", options.markdown,
               "scan ``` fenced blocks with their language tags (default for .md)");
  declare_output_format(app, options.format,
                        {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}});
  app.add_flag("--json", options.json, "the same as -o json");
  app.add_option("--rules", options.rules_path, "use this rules file instead of the built-in rules")
      ->type_name("FILE");
  app.footer(
      "Exit status: 1 if any finding is an error (treatment BLOCK), 0 otherwise, 2 on usage "
      "errors.");
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
  const auto app = make_command_app(
      "scan-code",
      "Scan code (or the fenced code blocks of a Markdown answer) for insecure patterns.");
  ScanCodeOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;
  std::string language = options.language;
  bool markdown = options.markdown;
  const std::string& path = options.path;
  if (language.empty() && path != "-") {
    const std::string extension = std::filesystem::path(path).extension().string();
    if (extension == ".md" || extension == ".markdown") {
      markdown = true;
    } else if (extension.size() > 1 && CodeScanner::is_supported_language(extension.substr(1))) {
      language = extension.substr(1);
    }
  }
  const auto text = read_input(path);
  if (!text) {
    std::fprintf(stderr, "llama3 scan-code: cannot read %s\n", path.c_str());
    return kExitUsage;
  }

  std::optional<CodeScanner> loaded;
  try {
    loaded.emplace(options.rules_path.empty() ? CodeScanner::with_builtin_rules()
                                              : CodeScanner::from_rules_file(options.rules_path));
  } catch (const Error& error) {
    // Exit 1 means BLOCK here, so a rules file that cannot be used is 2.
    print_error("scan-code", error);
    return kExitUsage;
  }
  const CodeScanner& scanner = *loaded;
  const CodeScanResult result =
      markdown ? scanner.scan_markdown(*text) : scanner.scan(*text, language);
  const std::string shown = path == "-" ? "<stdin>" : path;
  const bool json = options.json || options.format == OutputFormat::kJson;
  json ? print_json(shown, result) : print_text(shown, result);
  return result.treatment == Treatment::kBlock ? 1 : 0;
}

}  // namespace llama3::cli
