"""Build the book as ``make book`` does: ``jupyter-book build`` with the book's flags.

    python scripts/build_book.py [extra jupyter-book flags, e.g. --all]

The flags live in one place, ``book/_ext/book_setup.py`` (``BUILD_FLAGS``), which the tests,
the benchmark and ``check_page.py`` read too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from book_setup import build_command  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(subprocess.call(build_command(ROOT, *sys.argv[1:]), cwd=ROOT))
