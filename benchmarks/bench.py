"""Measure how long the book takes to build, and where the time goes.

    python benchmarks/bench.py [--skip-parallel] [--out benchmarks/results.json]

Works on a scratch copy of the book (the real _build/ is untouched) and measures:

1. a cold full build (empty execution cache), serial, as `make book` does it;
2. a rebuild with nothing changed;
3. a rebuild after one page's code changes (and checks that only that page re-executed);
4. each page's execution time (from the execution cache);
5. the share of the cold build spent outside cell execution (Sphinx, kernel start-up, imports);
6. a cold build whose pages are executed first in parallel on all cores by jupyter-cache's
   local-parallel executor, then rendered by Jupyter Book from the filled cache.

Prints a table and writes it as JSON. Budgets: cold <= 600 s, every page <= 60 s, no-change
rebuild <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"cold_s": 600.0, "page_s": 60.0, "no_change_s": 60.0}
SETUP_CELL = """import matplotlib.pyplot as plt
import numpy as np
import torch
from dlscience.plot import set_style
from dlscience.runtime import describe_scale, glue
set_style()
glue("scale_sentence", describe_scale())
"""


def _copy_book(dest: Path) -> None:
    for name in ("_config.yml", "_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("api"))
    (dest / "lib").symlink_to(ROOT / "lib")


def _build(book: Path) -> tuple[float, str]:
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from book_setup import build_command

    cmd = build_command(book)
    t0 = time.perf_counter()
    result = subprocess.run(cmd, cwd=book, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"build failed:\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def _cache_dir(book: Path) -> Path:
    sys.path.insert(0, str(book / "book" / "_ext"))
    from book_setup import book_cache_path

    return book_cache_path(book)


def _page_times(book: Path) -> dict[str, float]:
    from jupyter_cache import get_cache

    times = {}
    for record in get_cache(str(_cache_dir(book))).list_cache_records():
        rel = str(Path(record.uri).resolve().relative_to(book.resolve()))
        times[rel] = round(float((record.data or {}).get("execution_seconds", 0.0)), 2)
    return dict(sorted(times.items(), key=lambda kv: -kv[1]))


def _executed_pages(log: str) -> list[str]:
    return [m.split("/book-copy/")[-1]
            for m in re.findall(r"(\S+\.md): Executing notebook", log)]


def _startup_seconds(book: Path, repeats: int = 2) -> float:
    """Seconds to start a kernel and run the pages' common set-up cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP_CELL)])
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(book)}}).execute()
        best = min(best, time.perf_counter() - t0)
    return best


def _parallel_build(book: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from execute_parallel import prefill

    t0 = time.perf_counter()
    if prefill(book) != 0:
        raise SystemExit("parallel execution failed")
    executed = time.perf_counter() - t0
    rendered, _ = _build(book)
    return {"execute_s": round(executed, 1), "render_s": round(rendered, 1),
            "total_s": round(executed + rendered, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--skip-parallel", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, object] = {"cpus": os.cpu_count(), "budget": BUDGET}
    with tempfile.TemporaryDirectory(prefix="book-bench-") as tmp:
        book = Path(tmp) / "book-copy"
        book.mkdir()
        _copy_book(book)
        cold, _ = _build(book)
        results["cold_s"] = round(cold, 1)
        pages = _page_times(book)
        results["pages_s"] = pages
        results["execution_total_s"] = round(sum(pages.values()), 1)
        startup = _startup_seconds(book)
        results["startup_per_page_s"] = round(startup, 2)
        outside = cold - sum(pages.values()) + startup * len(pages)
        results["overhead_share"] = round(outside / cold, 3)
        no_change, _ = _build(book)
        results["no_change_s"] = round(no_change, 1)
        target = book / (min(pages, key=pages.get) if pages else "book/intro.md")
        text = target.read_text()
        start = text.index("```{code-cell}")
        end = text.index("\n```\n", start + 1)  # the end of the first code cell
        target.write_text(text[:end] + "\n# benchmark edit" + text[end:])
        one_page, log = _build(book)
        results["one_page_changed"] = str(target.relative_to(book))
        results["one_page_s"] = round(one_page, 1)
        results["one_page_reexecuted"] = _executed_pages(log)
        if not args.skip_parallel:
            shutil.rmtree(book / "_build")
            results["parallel"] = _parallel_build(book)
            results["parallel_speedup"] = round(cold / results["parallel"]["total_s"], 2)
    over = {p: t for p, t in pages.items() if t > BUDGET["page_s"]}
    results["within_budget"] = (results["cold_s"] <= BUDGET["cold_s"] and not over
                                and results["no_change_s"] <= BUDGET["no_change_s"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    rows = [("cold full build (serial)", f"{results['cold_s']} s"),
            ("  of which cell execution", f"{results['execution_total_s']} s"),
            ("  kernel start + imports per page", f"{results['startup_per_page_s']} s"),
            ("  share outside cell execution", f"{100 * results['overhead_share']:.0f} %"),
            ("rebuild, nothing changed", f"{results['no_change_s']} s"),
            (f"rebuild, {results['one_page_changed']} changed", f"{results['one_page_s']} s"),
            ("  pages re-executed", ", ".join(results["one_page_reexecuted"]) or "none")]
    if "parallel" in results:
        par = results["parallel"]
        rows.append(("cold build, parallel execution",
                     f"{par['total_s']} s ({par['execute_s']} execute + {par['render_s']} render;"
                     f" x{results['parallel_speedup']})"))
    rows += [(f"page {p}", f"{t} s") for p, t in pages.items()]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"within budget: {results['within_budget']}  (JSON: {args.out})")
    return 0 if results["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
