"""The set-up lines every executable page starts with, made from ``_config.yml``.

    python scripts/setup_cell.py           list pages whose set-up lines differ (exit 1 if any)
    python scripts/setup_cell.py --write   rewrite them from the template below

On Colab or Binder a page must install the book's package itself, so each page carries the
repository's URL. Its one home is ``repository.url`` in ``_config.yml``: change it there and run
``--write``; ``tests/test_toc.py`` fails while any page disagrees.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ("# Set-up: on Colab or Binder, install the book's package if it is missing "
            "(a no-op at build time).\n") + '''try:
    import dlscience
except ImportError:
    import subprocess
    import sys

    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "dlscience @ git+{url}"])
'''
# The block as it may appear in a page: from the comment to the install call's closing line.
PATTERN = re.compile(r"# Set-up: on Colab or Binder.*?\"dlscience @ git\+[^\"]*\"\]\)\n", re.S)


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``, without a trailing slash."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    return str(config["repository"]["url"]).rstrip("/")


def expected(root: Path = ROOT) -> str:
    return TEMPLATE.format(url=repository_url(root))


def pages(root: Path = ROOT) -> list[Path]:
    """Every page with code cells."""
    return sorted(p for p in (root / "book").rglob("*.md")
                  if "_build" not in p.parts and "```{code-cell}" in p.read_text())


def mismatches(root: Path = ROOT) -> list[str]:
    """Pages whose set-up block is missing or differs from the template."""
    want = expected(root)
    bad = []
    for page in pages(root):
        found = PATTERN.findall(page.read_text())
        if found != [want]:
            bad.append(str(page.relative_to(root)))
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite differing set-up blocks")
    args = parser.parse_args(argv)
    bad = mismatches()
    if args.write:
        want = expected()
        for name in bad:
            page = ROOT / name
            text, count = PATTERN.subn(lambda _m: want, page.read_text())
            if count != 1:
                print(f"{name}: {count} set-up blocks, fix by hand", file=sys.stderr)
                continue
            page.write_text(text)
            print(f"rewrote {name}")
        bad = mismatches()
    for name in bad:
        print(f"{name}: set-up block differs from scripts/setup_cell.py", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
