"""The committed Unicode tables are exactly what tools/gen_unicode_tables.py generates."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNICODE_DIR = "/usr/share/unicode"


def test_regenerating_unicode_tables_gives_the_committed_bytes():
    if not os.path.exists(os.path.join(UNICODE_DIR, "UnicodeData.txt")):
        pytest.skip("Debian's unicode-data package is not installed (/usr/share/unicode)")
    generated = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "gen_unicode_tables.py"), UNICODE_DIR],
        check=True, capture_output=True).stdout
    with open(os.path.join(ROOT, "src", "tokenizer", "unicode_tables.cpp"), "rb") as f:
        committed = f.read()
    assert generated == committed, "src/tokenizer/unicode_tables.cpp is stale: rerun the generator"
