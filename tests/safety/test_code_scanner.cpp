#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"

using llama3::CodeScanner;
using llama3::Severity;
using llama3::Treatment;

namespace {

const CodeScanner& scanner() {
  static const CodeScanner instance = CodeScanner::with_builtin_rules();
  return instance;
}

std::vector<std::string> rule_ids(const llama3::CodeScanResult& result) {
  std::vector<std::string> ids;
  for (const auto& finding : result.findings) ids.push_back(finding.rule_id);
  return ids;
}

}  // namespace

TEST_CASE("Scanner reports rule, CWE, severity, line and column", "[safety]") {
  const auto result = scanner().scan("int main() {\n  char b[8];\n  strcpy(b, s);\n}\n", "c");
  REQUIRE(result.findings.size() == 1);
  const auto& finding = result.findings[0];
  CHECK(finding.rule_id == "c.strcpy");
  CHECK(finding.cwe_id == "CWE-120");
  CHECK(finding.severity == Severity::kError);
  CHECK(finding.language == "c");
  CHECK(finding.line == 3);
  CHECK(finding.column == 3);
  CHECK(finding.matched_text == "strcpy(");
  CHECK(result.treatment == Treatment::kBlock);
  CHECK(result.is_insecure());
}

TEST_CASE("Columns count code points and skip a rule's leading context", "[safety]") {
  // "é" is two bytes; the eval rule needs the character before `eval` but reports `eval` itself.
  const auto result = scanner().scan("s = 'é'; x = eval(t)\n", "python");
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].column == 14);
  CHECK(result.findings[0].matched_text == "eval(");
}

TEST_CASE("Treatment: block on an error, warn on warnings or advice, ignore when clean",
          "[safety]") {
  CHECK(scanner().scan("data = pickle.loads(blob)\n", "python").treatment == Treatment::kWarn);
  CHECK(scanner().scan("let v = unsafe { *p };\n", "rust").treatment == Treatment::kWarn);
  CHECK(scanner().scan("gets(buf);\n", "c").treatment == Treatment::kBlock);
  const auto clean = scanner().scan("print('hello')\n", "python");
  CHECK(clean.treatment == Treatment::kIgnore);
  CHECK_FALSE(clean.is_insecure());
}

TEST_CASE("Nothing is reported inside comments", "[safety]") {
  CHECK(scanner()
            .scan("// strcpy(a, b);\n/* gets(line);\n   sprintf(x, y); */\nint x;\n", "c")
            .findings.empty());
  CHECK(scanner()
            .scan("# eval(user_input)\nx = 1  # pickle.loads(data)\n", "python")
            .findings.empty());
  CHECK(scanner()
            .scan("// eval(code)\nconst a = 1; /* el.innerHTML = x */\n", "javascript")
            .findings.empty());
  CHECK(scanner().scan("# shell_exec($cmd)\n// md5($x)\n/* eval($y) */\n", "php").findings.empty());
  CHECK(scanner().scan("/// let x = unsafe { *p };\n", "rust").findings.empty());
  // Secrets in comments are left to a secrets scanner; this one ignores comments throughout.
  CHECK(scanner().scan("# key: AKIAZ7QXJ3T4M2P6L5NB\n", "python").findings.empty());
}

TEST_CASE("A string that only mentions a function is not a call", "[safety]") {
  CHECK(scanner().scan("puts(\"never use strcpy(\");\n", "c").findings.empty());
  CHECK(scanner()
            .scan("print(\"never use strcpy(\")\nprint('eval(x) is bad')\n", "python")
            .findings.empty());
  CHECK(scanner()
            .scan("msg = \"\"\"\nos.system(cmd) and pickle.loads(x)\n\"\"\"\n", "python")
            .findings.empty());
  CHECK(scanner().scan("const s = `eval(${name})`;\n", "javascript").findings.empty());
  CHECK(scanner().scan("auto s = R\"(gets(buf); strcat(a, b))\";\n", "cpp").findings.empty());
  CHECK(scanner().scan("let s = r#\"unsafe { transmute(x) }\"#;\n", "rust").findings.empty());
  CHECK(scanner().scan("var s = @\"new BinaryFormatter()\";\n", "csharp").findings.empty());
  CHECK(scanner().scan("echo 'eval($x) and shell_exec($y)';\n", "php").findings.empty());
  // Rules about text inside strings still look there.
  CHECK(rule_ids(scanner().scan("q = \"SELECT * FROM t WHERE a = '\" + a + \"'\"\n", "python")) ==
        std::vector<std::string>{"sql.string-concatenation"});
}

TEST_CASE("The lexer keeps code after strings, lifetimes and char literals", "[safety]") {
  CHECK(rule_ids(scanner().scan("fn f<'a>(x: &'a u8) { let c = '\"'; unsafe { g() } }\n",
                                "rust")) == std::vector<std::string>{"rust.unsafe-code"});
  CHECK(rule_ids(scanner().scan("char q = '\"'; gets(b);\n", "c")) ==
        std::vector<std::string>{"c.gets"});
  CHECK(rule_ids(scanner().scan("int n = 1'000; gets(b);\n", "cpp")) ==
        std::vector<std::string>{"c.gets"});
  CHECK(rule_ids(scanner().scan("exec(`ls ${dir}`);\n", "javascript")) ==
        std::vector<std::string>{"javascript.child-process-exec"});
  // An unterminated one-line string ends at its line.
  CHECK(rule_ids(scanner().scan("puts(\"oops);\ngets(b);\n", "c")) ==
        std::vector<std::string>{"c.gets"});
}

TEST_CASE("Language names, aliases and the all-languages scan", "[safety]") {
  CHECK(CodeScanner::is_supported_language("C++"));
  CHECK(CodeScanner::is_supported_language("py"));
  CHECK(CodeScanner::is_supported_language("ts"));
  CHECK_FALSE(CodeScanner::is_supported_language("cobol"));
  CHECK(CodeScanner::supported_languages().size() == 9);
  CHECK_THROWS_AS(scanner().scan("x", "cobol"), llama3::Error);

  // With no language every language's rules run, each finding once.
  const auto result = scanner().scan("strcpy(a, b);\nx = pickle.loads(d)\n");
  CHECK(rule_ids(result) == std::vector<std::string>{"c.strcpy", "python.pickle-load"});
  CHECK(result.findings[0].language == "c");
  // A language's scan does not apply other languages' rules.
  CHECK(scanner().scan("x = pickle.loads(d)\n", "c").findings.empty());
}

TEST_CASE("Markdown fences are scanned with their language tag", "[safety]") {
  const std::string answer =
      "Here is some code:\n"
      "\n"
      "```python\n"
      "import pickle\n"
      "obj = pickle.loads(data)\n"
      "```\n"
      "\n"
      "Never call strcpy( in prose: it is not code.\n"
      "~~~c\n"
      "  gets(line);\n"
      "~~~\n"
      "```text\n"
      "password = \"Tr0ub4dor&3\"\n"
      "gets(line);\n"
      "```\n"
      "``` js {linenos}\n"
      "el.innerHTML = name;\n";  // unclosed: still streaming
  const auto result = scanner().scan_markdown(answer);
  REQUIRE(result.findings.size() == 4);
  CHECK(result.findings[0].rule_id == "python.pickle-load");
  CHECK(result.findings[0].line == 5);
  CHECK(result.findings[0].column == 7);
  CHECK(result.findings[1].rule_id == "c.gets");
  CHECK(result.findings[1].line == 10);
  CHECK(result.findings[1].column == 3);
  // An unknown tag gets the language-agnostic rules only.
  CHECK(result.findings[2].rule_id == "secrets.hardcoded-password");
  CHECK(result.findings[2].line == 13);
  CHECK(result.findings[3].rule_id == "javascript.inner-html");
  CHECK(result.findings[3].line == 17);
  CHECK(result.treatment == Treatment::kBlock);

  CHECK(scanner().scan_markdown("no code at all, just strcpy( talk\n").findings.empty());
  // A fence without a tag is scanned with every language's rules (system( is also PHP).
  CHECK(rule_ids(scanner().scan_markdown("```\nsystem(cmd);\n```\n")) ==
        std::vector<std::string>{"c.shell-command", "php.shell-exec"});
}

TEST_CASE("A 1 MB adversarial input scans to completion", "[safety]") {
  std::string hostile;
  hostile.reserve(1 << 20);
  const char* pieces[] = {"((((((((((((((((",
                          "aaaaaaaaaaaaaaaa",
                          "strcpy ",
                          "eval ( ",
                          "\"SELECT x from ",
                          "'unterminated ",
                          "/* ",
                          "password = \"",
                          "subprocess.run(",
                          "AKIA",
                          "${",
                          "`",
                          "r#\"",
                          "R\"x(",
                          "\\",
                          "\n"};
  std::size_t i = 0;
  while (hostile.size() < (1u << 20)) {
    hostile += pieces[i % std::size(pieces)];
    if (i % 7 == 0) hostile += pieces[(i / 7) % std::size(pieces)];
    ++i;
  }
  hostile.resize(1 << 20);
  for (const char* language : {"", "python", "javascript", "cpp", "rust", "php", "csharp"}) {
    const auto start = std::chrono::steady_clock::now();
    const auto result = scanner().scan(hostile, language);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::printf("adversarial 1 MB scan, language '%s': %.3f s, %zu findings\n", language,
                elapsed.count(), result.findings.size());
    CHECK(result.findings.size() < 100000);
  }
  const std::string runs = std::string(1 << 19, '(') + std::string(1 << 19, 'a');
  const auto start = std::chrono::steady_clock::now();
  scanner().scan(runs);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::printf("adversarial 1 MB of '(' and 'a', all languages: %.3f s\n", elapsed.count());
}
