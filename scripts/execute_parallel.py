"""Execute the book's pages in parallel, filling the execution cache that the build then reuses.

    python scripts/execute_parallel.py [--root .] [--timeout 120]

Jupyter Book executes pages one after the other. This runs jupyter-cache's ``local-parallel``
executor on every executable page of the toc first (one process per core; each page computes on
one thread at the ``ci`` scale), into the very cache folder the build reads
(``_build/.jupyter_cache/lib-<hash of lib/>``). ``jupyter-book build`` then finds every page
cached and only renders. ``make book`` does both steps. Exits non-zero if a page fails (naming
it); the build that follows then re-executes it and reports the failing cell.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from booktoc import executable_pages

ROOT = Path(__file__).resolve().parents[1]


def prefill(root: Path, timeout: int = 120) -> int:
    """Execute the pages of the book at ``root`` in parallel into its execution cache."""
    sys.path.insert(0, str(root / "book" / "_ext"))
    from book_setup import book_cache_path, quiet_kernels

    quiet_kernels(root)
    cache = book_cache_path(root)
    env = dict(os.environ, JUPYTERCACHE=str(cache))
    jcache = str(Path(sys.executable).parent / "jcache")
    pages = [str(p) for p in executable_pages(root)]
    subprocess.run([jcache, "notebook", "add", "-r", "myst_nb_md", *pages], cwd=root, env=env,
                   input="y\n", text=True, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([jcache, "project", "execute", "-e", "local-parallel", "-t", str(timeout)],
                   cwd=root, env=env, input="y\n", text=True)
    # `jcache project execute` exits 0 even when pages fail: ask the cache which ones did.
    from jupyter_cache import get_cache

    failed = []
    project = get_cache(str(cache))
    for record in project.list_project_records():
        if record.traceback and project.get_cached_project_nb(record.pk) is None:
            failed.append(record.uri)
    if failed:
        print(f"{len(failed)} page(s) failed to execute: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    return prefill(args.root.resolve(), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
