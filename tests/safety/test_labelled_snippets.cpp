// Precision and recall of the built-in rules over a labelled set: every rule's insecure example and
// secure twin, plus hand-written snippets that are harder (near misses, other spellings, multi-line
// calls, code that merely resembles a dangerous call).
//
// A labelled-insecure snippet counts as found only if its expected rule fires; a labelled-secure
// snippet counts as a false alarm if any rule fires. The thresholds (0.95 each) leave room for a
// couple of known misses of a regex scanner in the hard set, and fail if a rule change breaks more.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "llama3/safety.hpp"
#include "safety/code_rules.hpp"

namespace {

struct Snippet {
  std::string language;
  std::string code;
  std::string expected_rule;  // empty: labelled secure
};

const std::vector<Snippet> kHardSnippets = {
    // insecure
    {"c", "void f(char *s) { char b[4]; strcpy (b, s); }", "c.strcpy"},
    {"cpp", "std::strcpy(dst, src);", "c.strcpy"},
    {"cpp", "std::system((\"tar xf \" + name).c_str());", "c.shell-command"},
    {"c", "fscanf(fp, \"%d %s\", &n, name);", "c.scanf-unbounded-string"},
    {"c", "printf(argv[1]);", "c.format-string"},
    {"c", "strcat(buf, \"/\");", "c.strcat"},
    {"python", "subprocess.call(\n    cmd,\n    shell=True,\n)", "python.subprocess-shell"},
    {"python", "data = yaml.load(open(\"c.yml\"))", "python.yaml-unsafe-load"},
    {"python", "session_id = str(random.randint(0, 10**9))", "python.random-for-secret"},
    {"python", "cur.execute(\"DELETE FROM logs WHERE day = '%s'\" % day)",
     "sql.string-concatenation"},
    {"python", "h = hashlib.sha1(pw).hexdigest()", "python.weak-hash"},
    {"python", "ctx = ssl._create_unverified_context()", "python.tls-verify-disabled"},
    {"python", "eval(compile(src, \"<x>\", \"exec\"))", "python.eval"},
    {"python", "config = {\"password\": \"s3cr3t-Pa55\"}", "secrets.hardcoded-password"},
    {"python", "GITHUB_TOKEN = \"ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\"",
     "secrets.github-token"},
    {"javascript", "const result = eval(req.query.expr);", "javascript.eval"},
    {"javascript", "db.query(`SELECT * FROM users WHERE id = ${req.params.id}`);",
     "sql.string-interpolation"},
    {"javascript", "require('child_process').execSync('rm -rf ' + dir);",
     "javascript.child-process-exec"},
    {"javascript", "const cipher = crypto.createCipheriv('aes-256-ecb', key, null);",
     "crypto.ecb-mode"},
    {"javascript", "const key = \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\";",
     "secrets.private-key-block"},
    {"java", "stmt.executeQuery(\"SELECT * FROM accounts WHERE owner = '\" + owner + \"'\");",
     "sql.string-concatenation"},
    {"java", "Cipher cipher = Cipher.getInstance(\"AES/ECB/PKCS5Padding\");", "crypto.ecb-mode"},
    {"java", "String token = Long.toString((long) (Math.random() * 1e12));",
     "javascript.math-random-secret"},
    {"rust", "let q = format!(\"SELECT * FROM users WHERE name = '{}'\", name);",
     "sql.string-interpolation"},
    {"rust", "let n: u64 = unsafe { mem::transmute(bytes) };", "rust.transmute"},
    {"php", "$rows = $db->query(\"SELECT * FROM t WHERE id = \" . $_GET['id']);",
     "sql.string-concatenation"},
    {"php", "echo shell_exec('ls ' . $dir);", "php.shell-exec"},
    {"php", "$data = unserialize(base64_decode($blob));", "php.unserialize"},
    {"php", "include($_GET['page'] . '.php');", "php.request-input-to-sink"},
    {"csharp", "cmd.CommandText = $\"DELETE FROM Orders WHERE Id = {id}\";",
     "csharp.sql-command-concat"},
    {"csharp", "var hash = SHA1.Create().ComputeHash(bytes);", "csharp.weak-hash"},
    {"shell", "wget -qO- https://get.example.sh | sudo bash", "shell.pipe-to-shell"},
    // secure
    {"python", "model.eval()", ""},
    {"python", "value = ast.literal_eval(text)", ""},
    {"python", "print(\"do not call os.system(cmd)\")", ""},
    {"python", "# subprocess.run(cmd, shell=True)\nsubprocess.run([\"ls\", \"-l\"])", ""},
    {"python", "config = yaml.safe_load(stream)", ""},
    {"python", "digest = hashlib.sha256(data).hexdigest()", ""},
    {"python", "token = secrets.token_hex(16)", ""},
    {"python", "x = random.choice(colors)", ""},
    {"python", "cursor.execute(\"SELECT name FROM users WHERE id = %s\", (uid,))", ""},
    {"python", "password = os.environ.get(\"PASSWORD\")", ""},
    {"python", "password_hint = \"Use 12+ chars\"", ""},
    {"python", "API_KEY = \"<your-api-key>\"", ""},
    {"python", "db_password = \"\"", ""},
    {"python", "print(\"SELECT * FROM users\")", ""},
    {"javascript", "const m = /a(b)/.exec(line);", ""},
    {"javascript", "el.textContent = userName;", ""},
    {"javascript", "const idx = Math.floor(Math.random() * colors.length);", ""},
    {"javascript", "if (el.innerHTML === \"\") { show(); }", ""},
    {"javascript", "const hash = crypto.createHash('sha256');", ""},
    {"java", "PreparedStatement ps = conn.prepareStatement(\"SELECT * FROM t WHERE id = ?\");", ""},
    {"java", "SecureRandom random = new SecureRandom();", ""},
    {"java", "MessageDigest md = MessageDigest.getInstance(\"SHA-512\");", ""},
    {"java", "Process p = new ProcessBuilder(\"git\", \"status\").start();", ""},
    {"c", "fgets(line, sizeof line, stdin);", ""},
    {"c", "snprintf(out, sizeof out, \"%s/%s\", dir, name);", ""},
    {"c", "scanf(\"%d\", &n);", ""},
    {"c", "printf(\"%s\\n\", msg);", ""},
    {"cpp", "std::string s = a + b;", ""},
    {"rust", "let s = \"unsafe { }\"; // unsafe is fine here", ""},
    {"rust",
     "fn longest<'a>(x: &'a str, y: &'a str) -> &'a str { if x.len() > y.len() { x } else { y } }",
     ""},
    {"php", "$stmt = $pdo->prepare('SELECT * FROM users WHERE email = ?');", ""},
    {"php", "$hash = hash('sha256', $data);", ""},
    {"php", "$pdo->exec('CREATE TABLE t (id INT)');", ""},
    {"csharp", "var cmd = new SqlCommand(\"SELECT * FROM Users WHERE Id = @id\", conn);", ""},
    {"csharp", "using var sha = SHA256.Create();", ""},
    {"shell", "curl -fsSL https://example.com/file.tar.gz -o file.tar.gz", ""},
    {"shell", "chmod 755 script.sh", ""},
};

std::vector<Snippet> all_snippets() {
  std::vector<Snippet> snippets;
  const auto rules =
      llama3::safety::parse_code_rules(llama3::safety::builtin_code_rules_json(), "builtin");
  for (const auto& rule : rules) {
    const std::string language =
        rule.any_language ? "" : std::string(llama3::safety::language_name(rule.languages[0]));
    snippets.push_back({language, rule.insecure_example, rule.id});
    snippets.push_back({language, rule.secure_example, ""});
  }
  snippets.insert(snippets.end(), kHardSnippets.begin(), kHardSnippets.end());
  return snippets;
}

}  // namespace

TEST_CASE("Labelled snippets: precision and recall of the built-in rules", "[safety]") {
  const auto scanner = llama3::CodeScanner::with_builtin_rules();
  const auto snippets = all_snippets();
  REQUIRE(snippets.size() >= 150);

  int true_positives = 0, false_negatives = 0, false_positives = 0, true_negatives = 0;
  std::map<std::string, int> per_language;
  for (const auto& snippet : snippets) {
    ++per_language[snippet.language.empty() ? "any" : snippet.language];
    const auto result = scanner.scan(snippet.code, snippet.language);
    if (!snippet.expected_rule.empty()) {
      const bool found = std::any_of(
          result.findings.begin(), result.findings.end(),
          [&](const auto& finding) { return finding.rule_id == snippet.expected_rule; });
      (found ? true_positives : false_negatives)++;
      if (!found) UNSCOPED_INFO("missed " << snippet.expected_rule << ": " << snippet.code);
    } else {
      (result.findings.empty() ? true_negatives : false_positives)++;
      for (const auto& finding : result.findings) {
        UNSCOPED_INFO("false alarm " << finding.rule_id << " on: " << snippet.code);
      }
    }
  }
  const double precision = true_positives / double(true_positives + false_positives);
  const double recall = true_positives / double(true_positives + false_negatives);
  std::printf("labelled snippets: %zu (tp %d, fn %d, fp %d, tn %d); precision %.3f, recall %.3f\n",
              snippets.size(), true_positives, false_negatives, false_positives, true_negatives,
              precision, recall);
  for (const auto& [language, count] : per_language) {
    std::printf("  %s: %d snippets\n", language.c_str(), count);
  }
  CHECK(precision >= 0.95);
  CHECK(recall >= 0.95);
}
