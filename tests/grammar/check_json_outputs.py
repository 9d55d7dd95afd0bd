"""Checks generated texts against a JSON Schema with the `jsonschema` package (an implementation
independent of ours).

usage: check_json_outputs.py SCHEMA_FILE OUTPUTS_FILE
OUTPUTS_FILE holds one generated text per line, each written as a JSON string literal.
Exit 0 when every text parses as JSON and validates; 1 otherwise, listing the failures.
"""
import json
import sys

import jsonschema


def main() -> int:
    schema_path, outputs_path = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    failures = []
    count = 0
    with open(outputs_path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = json.loads(line)
            count += 1
            try:
                document = json.loads(text)
            except json.JSONDecodeError as error:
                failures.append(f"output {number}: not JSON ({error}): {text!r}")
                continue
            errors = sorted(validator.iter_errors(document), key=str)
            if errors:
                failures.append(f"output {number}: {errors[0].message}: {text!r}")
    if count == 0:
        failures.append("no outputs to check")
    for failure in failures:
        print(failure)
    print(f"{count - len(failures)}/{count} outputs valid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
