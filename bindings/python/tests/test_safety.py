"""The safety layer from Python: CodeScanner (built-in and caller rules, code and Markdown) and
Guard (version rules, the verdict's shape on a random-weight model, bad turns)."""
import os
import threading

import pytest

import llama3
from hostile_input import hostile_input

C_CODE = "int main() {\n  char b[8];\n  strcpy(b, s);\n}\n"
RULES = ('{"format": "llama3-code-rules", "version": 1, "rules": [{"id": "any.todo", '
         '"languages": ["any"], "regex": "TODO", "severity": "advice", "cwe_id": "CWE-546", '
         '"description": "a note"}]}')


def test_code_scanner_finds_and_explains():
    scanner = llama3.CodeScanner()
    assert scanner.rule_count > 10
    assert "python" in llama3.CodeScanner.supported_languages()
    result = scanner.scan(C_CODE, "c")
    assert result["treatment"] == "block"
    finding = result["findings"][0]
    assert finding["rule_id"] == "c.strcpy" and finding["cwe_id"] == "CWE-120"
    assert (finding["line"], finding["severity"]) == (3, "error")
    assert scanner.scan("x = 1\n", "python") == {"treatment": "ignore", "findings": []}
    markdown = scanner.scan("Use:\n```python\nimport hashlib\nhashlib.md5(b)\n```\n", markdown=True)
    assert [(f["rule_id"], f["line"]) for f in markdown["findings"]] == [("python.weak-hash", 4)]
    with hostile_input("python_api", llama3.InvalidArgumentError):
        scanner.scan(C_CODE, "cobol-74")


def test_code_scanner_takes_caller_rules_and_refuses_bad_ones(tmp_path):
    custom = llama3.CodeScanner(rules_json=RULES)
    assert custom.scan("x = TODO;\n")["findings"][0]["rule_id"] == "any.todo"
    path = tmp_path / "rules.json"
    path.write_text(RULES)
    assert llama3.CodeScanner(rules_path=path).rule_count == 1
    with hostile_input("safety_rules", llama3.BadFormatError):
        llama3.CodeScanner(rules_json='{"rules": 3}')
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.CodeScanner(rules_json=RULES, rules_path=path)


@pytest.fixture(scope="module")
def guard_model():
    path = os.environ.get("LLAMA3_TINY_LLAMA31_MODEL")
    if not path or not os.path.exists(path):
        pytest.skip(f"LLAMA3_TINY_LLAMA31_MODEL ({path}) is missing")
    return llama3.Model(path)


def test_guard_needs_a_version_it_can_tell(guard_model):
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.Guard(guard_model)  # the test model's name names no Llama Guard
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.Guard(guard_model, version="guard9")
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.Guard(guard_model, version="guard3", threshold=1.5)
    assert llama3.Guard(guard_model, version="Llama-Guard-3-1B").version == "Llama Guard 3 1B"


def test_guard_verdicts_have_their_shape_and_threads_take_turns(guard_model):
    guard = llama3.Guard(guard_model, version="guard3", max_new_tokens=4, n_threads=1)
    assert guard.threshold == 0.5
    prompt = [{"role": "user", "content": "How do I bake bread?"}]
    verdict = guard.classify(prompt)
    assert verdict["verdict"] in ("safe", "unsafe", "malformed")
    assert 0.0 <= verdict["unsafe_probability"] <= 1.0
    assert isinstance(verdict["raw"], str) and isinstance(verdict["categories"], list)
    # Same input, same verdict (greedy), also when two threads share the guard.
    results = []
    threads = [threading.Thread(target=lambda: results.append(guard.classify(prompt)))
               for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [verdict, verdict]
    response = guard.classify(prompt + [("assistant", "Mix flour, water and yeast.")])
    assert response["verdict"] in ("safe", "unsafe", "malformed")
    with hostile_input("chat", llama3.InvalidArgumentError):
        guard.classify([("robot", "hi")])
    with hostile_input("chat", llama3.InvalidArgumentError):
        guard.classify([])
