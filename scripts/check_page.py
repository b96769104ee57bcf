"""Build a small book holding the given pages (plus every page already in the toc) with ``-W -n``.

    python scripts/check_page.py book/part2/gradient-descent.md [more pages...]

For authors working on new chapters before they enter ``_toc.yml``: it copies the book into a
scratch folder (default ``/tmp/check-<name of first page>``), appends the pages to a copy of the
toc, and builds with warnings as errors and cell errors failing the build, exactly as the real
build does. Exits with the build's status. The real ``_build/`` is not touched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
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
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(scratch), "-W", "-n",
           "--keep-going"]
    print("$", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=scratch)


if __name__ == "__main__":
    sys.exit(main())
