"""A chat answer under the library's safety filters, from Python.

    python3 safety_filters.py CHAT_MODEL.gguf [QUESTION]

The answer streams while blocked phrases watch the question and the answer and the insecure-code
scanner watches the answer's code (docs/python.md, "Safety filters at generate time"). A block
raises llama3.BlockedError, which says which filter and why.
"""
import sys

import llama3


def main(argv):
    if len(argv) < 2:
        print(f"usage: {argv[0]} CHAT_MODEL.gguf [QUESTION]", file=sys.stderr)
        return 2
    question = argv[2] if len(argv) > 2 else "Show me how to copy a string in C."
    with llama3.Model(argv[1]) as model:
        answer = model.create_chat_completion(
            [{"role": "user", "content": question}], max_tokens=64, temperature=0, stream=True,
            code_scanner=llama3.CodeScanner(), blocked_phrases=["password", "api key"])
        try:
            for chunk in answer:
                print(chunk["choices"][0]["delta"].get("content", ""), end="", flush=True)
            print("\nanswered")
        except llama3.BlockedError as blocked:
            # What was printed before a block of the answer was let through; a real application
            # would retract it ("filtered") or show nothing ("blocked").
            print(f"\nblocked by {blocked.filter} ({blocked.stop_reason}): {blocked.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
