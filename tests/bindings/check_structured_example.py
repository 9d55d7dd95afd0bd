"""Runs one of docs/structured-output.md's examples (C++, C or Python) on a tiny random model with
the real Llama 3 vocabulary and checks what it printed: a JSON answer valid under the example's
schema, a call of get_weather with a string city, and logprobs (<= 0) for each token.

    check_structured_example.py MODEL -- COMMAND...     (exit 77 when MODEL is missing)"""
import json
import os
import re
import subprocess
import sys


def main(argv):
    model, command = argv[1], argv[3:]
    if not os.path.exists(model):
        print(f"skipped: missing {model}")
        return 77
    run = subprocess.run(command + [model], capture_output=True, text=True, timeout=600)
    print(run.stdout, run.stderr, sep="\n")
    if run.returncode != 0:
        return 1
    lines = run.stdout.splitlines()
    # The JSON answer may span lines (a grammar allows blanks between tokens): it runs from
    # "json: " to the tool-call line.
    start = run.stdout.index("json: ") + len("json: ")
    end = re.search(r"^(tool call: |calls: |no tool call)", run.stdout[start:], re.M)
    person = json.loads(run.stdout[start:start + end.start()] if end else run.stdout[start:])
    assert set(person) == {"name", "age"}, person
    assert isinstance(person["name"], str) and len(person["name"]) <= 16
    assert isinstance(person["age"], int) and 0 <= person["age"] <= 150
    calls = [line for line in lines if line.startswith(("tool call: ", "calls: "))]
    assert calls, "no tool call printed"
    if calls[0].startswith("calls: "):
        parsed = json.loads(calls[0][len("calls: "):])
        assert parsed["content"] == ""
        name, arguments = parsed["tool_calls"][0]["name"], parsed["tool_calls"][0]["arguments"]
    else:
        name, _, text = calls[0][len("tool call: "):].partition(" ")
        arguments = json.loads(text)
    assert name == "get_weather" and isinstance(arguments["city"], str), calls[0]
    tokens = [re.match(r"token (.+) logprob (-?[0-9.]+) \(best: (.+) (-?[0-9.]+)\)$", line)
              for line in lines if line.startswith("token ")]
    assert tokens and all(tokens), "logprob lines missing or malformed"
    for match in tokens:
        logprob, best = float(match[2]), float(match[4])
        assert logprob <= 0 and best <= 0 and best >= logprob - 1e-3, match[0]
    print("example output checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
