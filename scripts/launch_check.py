"""Launch the book's pages the way Colab does, here: a fresh environment, ``pip install``, run.

    python scripts/launch_check.py [PAGE.md ...] [--setup-only] [--venv DIR] [--reuse]

What a reader who clicks the Colab button gets is a notebook converted from the page (the publish
workflow converts every page with ``jupytext --to ipynb``) run in an environment that has Colab's
preinstalled scientific stack but not the book's build tools. This script rebuilds that
situation offline-first and checks every page runs in it:

1. a fresh virtual environment (default ``_build/launch/venv``) holding only what Colab
   preinstalls that the pages rely on: torch, NumPy, SciPy, matplotlib, scikit-learn and a
   Jupyter kernel (at the versions of the book's lock, so the numbers match the book);
2. ``pip install .`` of the working tree, exactly what the set-up cell of a page installs from
   the repository: the dependencies declared in ``pyproject.toml`` must bring the rest
   (MNIST-1D, threadpoolctl); the book's build tools (myst-nb, Sphinx) must *not* be needed;
3. each page converted with the publish workflow's command and executed at the ``ci`` scale in
   that environment's kernel (``--setup-only``: only the set-up cell, the first code cell).

Writes ``_build/launch/report.json`` and exits non-zero if any page fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from booktoc import executable_pages  # noqa: E402

#: What Colab preinstalls that the pages use, taken at the versions of the book's lock.
PREINSTALLED = ["torch", "numpy", "scipy", "matplotlib", "scikit-learn", "ipykernel",
                "nbclient", "jupytext"]
KERNEL = "dlscience-launch"

_EXECUTE = r"""
import json, sys, time
import nbformat
from nbclient import NotebookClient
path, setup_only, kernel = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
nb = nbformat.read(path, as_version=4)
if setup_only:
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells = nb.cells[: first + 1]
t0 = time.perf_counter()
client = NotebookClient(nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": "."}})
try:
    client.execute()
    ok, error = True, None
except Exception as exc:
    ok, error = False, f"{type(exc).__name__}: {exc}"[-3000:]
print(json.dumps({"ok": ok, "error": error, "seconds": round(time.perf_counter() - t0, 2)}))
"""


def _run(cmd: list[str], **kw) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def make_env(venv: Path, reuse: bool) -> Path:
    """Create the fresh environment and install the package as the set-up cell does."""
    python = venv / "bin" / "python"
    if python.exists() and reuse:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-c", str(ROOT / "requirements.txt"), *PREINSTALLED])
    # What a page's set-up cell does, from the working tree instead of the git URL.
    _run([*pip, str(ROOT)])
    _run([str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", KERNEL])
    return python


def check_env(python: Path) -> None:
    """The environment must be the reader's, not the builder's: no myst-nb, no Sphinx."""
    for module in ("myst_nb", "sphinx", "jupyter_book"):
        found = subprocess.run([str(python), "-c", f"import {module}"],
                               capture_output=True).returncode == 0
        if found:
            raise SystemExit(f"the launch environment has {module}: it would hide a missing "
                             "dependency of the package")


def convert(pages: list[Path], work: Path, python: Path) -> list[Path]:
    """Convert the pages with the publish workflow's command (``jupytext --to ipynb``)."""
    if work.exists():
        shutil.rmtree(work)
    out = []
    for page in pages:
        rel = page.relative_to(ROOT)
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
        out.append(target.with_suffix(".ipynb"))
    jupytext = python.parent / "jupytext"
    _run([str(jupytext), "--quiet", "--to", "ipynb", *[str(p.with_suffix(".md")) for p in out]])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="default: every executable page")
    parser.add_argument("--setup-only", action="store_true",
                        help="run only each page's set-up cell (its first code cell)")
    parser.add_argument("--venv", type=Path, default=ROOT / "_build" / "launch" / "venv")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing environment")
    parser.add_argument("--report", type=Path, default=ROOT / "_build" / "launch" / "report.json")
    args = parser.parse_args(argv)
    pages = [p.resolve() for p in args.pages] or executable_pages(ROOT)
    start = time.perf_counter()
    python = make_env(args.venv.resolve(), args.reuse)
    check_env(python)
    setup_s = time.perf_counter() - start
    notebooks = convert(pages, args.venv.resolve().parent / "notebooks", python)
    env = dict(os.environ, BOOK_SCALE="ci", BOOK_SEED_OFFSET="0",
               JUPYTER_PATH=str(args.venv.resolve() / "share" / "jupyter"),
               JUPYTER_DATA_DIR=str(args.venv.resolve() / "share" / "jupyter"),
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    results = {}
    for nb in notebooks:
        out = subprocess.run([str(python), "-c", _EXECUTE, str(nb),
                              "1" if args.setup_only else "0", KERNEL],
                             cwd=nb.parent, env=env, capture_output=True, text=True)
        try:
            result = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            result = {"ok": False, "error": out.stderr[-3000:], "seconds": None}
        name = str(nb.relative_to(args.venv.resolve().parent / "notebooks").with_suffix(".md"))
        results[name] = result
        status = "ok" if result["ok"] else "FAILED"
        print(f"[launch] {name}: {status} in {result['seconds']} s", flush=True)
        if not result["ok"]:
            print(result["error"], file=sys.stderr)
    report = {"setup_only": args.setup_only, "environment_seconds": round(setup_s, 1),
              "total_seconds": round(time.perf_counter() - start, 1), "pages": results}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2))
    failed = [k for k, v in results.items() if not v["ok"]]
    print(f"[launch] {len(results) - len(failed)}/{len(results)} pages ran in a fresh "
          f"environment with only `pip install .` ({report['total_seconds']} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
