"""Strict build of the given pages: execute them and fail on any warning they raise.

    python scripts/check_page.py book/part2/gradient-descent.md [more pages...] [--all-pages]

For authors working on a chapter (in the toc or not yet): it copies the book into a scratch
folder (default ``/tmp/check-<name of first page>``), appends new pages to a copy of the toc, and
builds it with ``-n``. Only the given pages are executed (the others are read, so that
cross-references to them resolve, but not run); the check fails if a given page's cell fails or
if Sphinx warns about a given page or about the build as a whole. ``--all-pages`` executes every
page and fails on any warning, exactly as the real build. The real ``_build/`` is not touched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from book_setup import build_command  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--all-pages", action="store_true",
                        help="execute every page and fail on any warning")
    args = parser.parse_args(argv)
    pages = [p.resolve().relative_to(ROOT) for p in args.pages]
    scratch = args.dir or Path("/tmp") / f"check-{pages[0].stem}"
    scratch.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, scratch / name)
    if (scratch / "book").exists():
        shutil.rmtree(scratch / "book")
    shutil.copytree(ROOT / "book", scratch / "book", ignore=shutil.ignore_patterns("api"))
    if not (scratch / "lib").exists():
        (scratch / "lib").symlink_to(ROOT / "lib")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = yaml.safe_dump(toc)
    new = [str(p.with_suffix("")) for p in pages if str(p.with_suffix("")) not in listed]
    if new:
        toc["parts"].insert(-1, {"caption": "Pages being checked", "numbered": True,
                                 "chapters": [{"file": f} for f in new]})
    (scratch / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    if args.all_pages:
        cmd = build_command(scratch)
        print("$", " ".join(cmd), flush=True)
        return subprocess.call(cmd, cwd=scratch)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    checked = {str(p) for p in pages}
    others = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("book/**/*.md")
                    if str(p.relative_to(ROOT)) not in checked)
    config["execute"]["exclude_patterns"] = others
    (scratch / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = build_command(scratch, strict=False)  # warnings judged below, per page
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True)
    output = result.stdout + result.stderr
    own = [line for line in output.splitlines() if ("WARNING:" in line or "ERROR" in line)
           and (any(f"{scratch}/{p.with_suffix('')}" in line for p in pages)
                or not line.startswith(str(scratch)))]
    # Warnings of pages that were not executed (their glue keys are missing) are not ours.
    own = [line for line in own if not any(f"{scratch}/{o[:-3]}" in line for o in others)]
    print("\n".join(own) or "no warnings on the checked pages")
    if result.returncode != 0 and not own:
        print(output[-5000:])
    return 1 if own or result.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
