"""Checks that every #include of src/ and include/llama3/ points down the layer order of
docs/design.md ("Layers"), never back up. A file of one layer may include its own layer and the
layers before it; a public header counts as the layer it belongs to.

Usage: layering.py REPO_ROOT
"""
import pathlib
import re
import sys

# The order of docs/design.md; grammar, engine, distributed and server are named so that their
# folders and headers slot in where the design puts them.
LAYERS = ["base", "io", "kernels", "tokenizer", "model", "convert", "grammar", "runtime", "safety",
          "engine", "distributed", "server", "umbrella"]
RANK = {name: i for i, name in enumerate(LAYERS)}
PUBLIC_HEADER_LAYER = {
    "error": "base", "version": "base", "log": "base",
    "tokenizer": "tokenizer", "chat": "tokenizer",
    "model": "model", "lora": "model", "convert": "convert",
    "grammar": "grammar",
    "sampler": "runtime", "session": "runtime", "perplexity": "runtime",
    "safety": "safety",
    "distributed": "distributed",
    "engine": "engine", "server": "server",
    "llama3": "umbrella",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def layer_of_include(target):
    """The layer an include string names, or None for files outside the layered tree."""
    first, _, rest = target.partition("/")
    if first == "llama3" and rest.endswith(".hpp"):
        return PUBLIC_HEADER_LAYER.get(rest[:-4], "unknown public header")
    return first if first in RANK else None


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    problems = []
    files = [(p, p.relative_to(root / "src").parts[0]) for p in (root / "src").rglob("*")
             if p.suffix in (".hpp", ".cpp", ".h") and len(p.relative_to(root / "src").parts) > 1]
    for header in (root / "include" / "llama3").glob("*.hpp"):
        layer = PUBLIC_HEADER_LAYER.get(header.stem)
        if layer is None:
            problems.append(f"{header.relative_to(root)}: public header missing from "
                            "tests/repo/layering.py and docs/design.md's layer table")
            continue
        files.append((header, layer))
    for path, layer in files:
        if layer not in RANK:
            problems.append(f"{path.relative_to(root)}: folder src/{layer} is not a layer of "
                            "docs/design.md")
            continue
        for target in INCLUDE.findall(path.read_text(encoding="utf-8")):
            target_layer = layer_of_include(target)
            if target_layer is None:
                continue
            if target_layer not in RANK:
                problems.append(f"{path.relative_to(root)}: includes {target} ({target_layer})")
            elif RANK[target_layer] > RANK[layer]:
                problems.append(f"{path.relative_to(root)} ({layer}) includes {target} "
                                f"({target_layer}), a layer above it")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"{len(files)} files include only their own layer or the layers before it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
