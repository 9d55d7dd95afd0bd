#!/usr/bin/env python3
"""chat.py — a Llama 3 chat loop with the llama3 Python binding.

    python3 examples/python/chat.py MODEL.gguf [--system TEXT] [--max-tokens N] [--seed S]

Type a message per line (end with Ctrl-D); each reply streams as it is generated. The whole dialog
is re-encoded with the Llama 3 chat format every turn; the session reuses the prefix it already
holds, so each turn costs only its new tokens.
"""
import argparse
import sys

import llama3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("model")
    parser.add_argument("--system", default="You are a helpful assistant.")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    with llama3.Model(args.model) as model:
        tokenizer = model.tokenizer
        session = model.session()
        sampler = llama3.Sampler(seed=args.seed)
        dialog = [{"role": "system", "content": args.system}]
        for line in sys.stdin:
            dialog.append({"role": "user", "content": line.strip()})
            ids = tokenizer.encode_dialog(dialog)
            # The dialog starts with BOS, so generate() keeps the prefix the session already holds
            # and decodes only the new turn.
            reply = ""
            for piece in session.generate(ids, sampler=sampler, max_tokens=args.max_tokens):
                print(piece, end="", flush=True)
                reply += piece
            print()
            dialog.append({"role": "assistant", "content": reply})


if __name__ == "__main__":
    main()
