"""Fails when a tracked source or doc points a reader outside the repository (a sibling `shared`
folder, its FACTS/BENCHMARKS/DESIGN notes). The facts we rely on live in docs/facts.md; the only
allowed mention is scripts/fetch-data.sh looking for already-downloaded data beside the checkout,
which is a data source, not a pointer for readers.

Usage: stands_alone.py REPO_ROOT
"""
import pathlib
import re
import subprocess
import sys

# What a pointer outside the repository looks like.
OUTSIDE = re.compile(r"\.\./shared\b|/work/shared\b|\bFACTS(\.md| §)|\bBENCHMARKS\.md|"
                     r"(?<![\w/])(DESIGN|STYLE)\.md")
# scripts/fetch-data.sh may look for data in ../shared/data (and say so in its own comment).
ALLOWED = {("scripts/fetch-data.sh", "../shared/data")}


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True,
                             capture_output=True).stdout
        return [root / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        return [p for p in root.rglob("*") if p.is_file() and "build" not in p.parts
                and ".git" not in p.parts]


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    bad = []
    for path in tracked_files(root):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("tests/repo/"):
            continue  # this check names the patterns it looks for
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for number, line in enumerate(text.splitlines(), 1):
            match = OUTSIDE.search(line)
            if match and not any(rel == f and a in line for f, a in ALLOWED):
                bad.append(f"{rel}:{number}: {line.strip()}")
    if bad:
        print("these lines point outside the repository (restate the fact in docs/ instead):")
        print("\n".join(bad))
        return 1
    print("no tracked file points outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
