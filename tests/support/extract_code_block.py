"""Writes the one fenced code block of a language (```cpp, ```c, ```python, ...) of a Markdown page
to a file, so tests build and run the examples exactly as the page prints them.

    extract_code_block.py PAGE.md LANGUAGE OUT_FILE

Fails when the page has no block of that language or more than one.
"""
import pathlib
import re
import sys


def code_blocks(text, language):
    return re.findall(r"^```" + re.escape(language) + r"\n(.*?)^```", text, re.S | re.M)


def main():
    page, language, out = sys.argv[1:4]
    blocks = code_blocks(pathlib.Path(page).read_text(), language)
    if len(blocks) != 1:
        sys.exit(f"{page} has {len(blocks)} ```{language} blocks, expected 1")
    pathlib.Path(out).write_text(blocks[0])


if __name__ == "__main__":
    main()
