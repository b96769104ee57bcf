"""The command that runs pages outside the book build (`make paper`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

HEADER = ("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
          "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n")

PAGE = HEADER + """# Scales

```{code-cell} ipython3
from dataclasses import dataclass
from dlscience.runtime import Scaled, get_scale, glue

@dataclass(frozen=True)
class S:
    n: int

size = Scaled(ci=S(n=3), paper=S(n=30)).pick()
glue("n", size.n)
glue("scale", get_scale())
```

```{code-cell} ipython3
:tags: [remove-cell]
assert size.n < LIMIT, size.n
```
"""


def _run(tmp_path: Path, scale: str, limit: int) -> tuple[subprocess.CompletedProcess, Path]:
    page = tmp_path / "scales.md"
    page.write_text(PAGE.replace("LIMIT", str(limit)))
    out = tmp_path / "results"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale",
                             scale, "--out", str(out), str(page)],
                            capture_output=True, text=True, cwd=tmp_path)
    return result, out / scale / "scales"


def test_paper_scale_is_applied_and_results_written(tmp_path):
    result, out = _run(tmp_path, "paper", limit=100)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "glue.json").read_text()) == {"n": 30, "scale": "paper"}
    report = json.loads((out / "run.json").read_text())
    assert report["ok"] and report["scale"] == "paper" and len(report["cells"]) == 2
    assert (out / "scales.ipynb").exists()
    assert "cell 2/2" in result.stdout


def test_failing_hidden_check_fails_the_command(tmp_path):
    result, out = _run(tmp_path, "paper", limit=10)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr
    assert json.loads((out / "run.json").read_text())["ok"] is False


def test_wrong_scale_is_refused(tmp_path):
    result, _ = _run(tmp_path, "huge", limit=10)
    assert result.returncode != 0 and "--scale must be one of" in result.stderr


# A page whose glued values depend on its seed, so that a run in another process must seed alike.
RANDOM_PAGE = HEADER + """# Seeded

```{code-cell} ipython3
import numpy as np
from dlscience.runtime import glue, seeded, set_seed

rng = set_seed(seeded(SEED))
glue("draw", float(rng.standard_normal()))
```
"""


def _pages(tmp_path: Path, seeds: dict[str, int], broken: str | None = None) -> list[Path]:
    pages = []
    for name, seed in seeds.items():
        page = tmp_path / f"{name}.md"
        text = RANDOM_PAGE.replace("SEED", str(seed))
        if name == broken:
            text += "\n```{code-cell} ipython3\nraise RuntimeError('planted')\n```\n"
        page.write_text(text)
        pages.append(page)
    return pages


def _run_pages(tmp_path: Path, out: Path, pages: list[Path], *extra: str):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale",
                           "ci", "--out", str(out), *extra, *map(str, pages)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)


def _glue(out: Path, name: str) -> dict:
    return json.loads((out / "ci" / name / "glue.json").read_text())


def test_two_workers_give_the_serial_results(tmp_path):
    pages = _pages(tmp_path, {"first": 1, "second": 2})
    dask = _run_pages(tmp_path, tmp_path / "dask", pages, "--workers", "2")
    assert dask.returncode == 0, dask.stderr[-3000:]
    assert "2/2" in dask.stderr  # the progress bar
    serial = _run_pages(tmp_path, tmp_path / "serial", pages, "--serial")
    assert serial.returncode == 0, serial.stderr[-3000:]
    for name in ("first", "second"):
        assert _glue(tmp_path / "dask", name) == _glue(tmp_path / "serial", name)
    assert _glue(tmp_path / "dask", "first") != _glue(tmp_path / "dask", "second")
    report = json.loads((tmp_path / "dask" / "ci" / "first" / "run.json").read_text())
    assert report["ok"] and (tmp_path / "dask" / "ci" / "first" / "first.ipynb").exists()


def test_a_failing_page_is_reported_and_the_others_finish(tmp_path):
    pages = _pages(tmp_path, {"good": 1, "bad": 2}, broken="bad")
    result = _run_pages(tmp_path, tmp_path / "out", pages, "--workers", "2")
    assert result.returncode == 1
    assert "bad.md" in result.stderr and "cell 2/2" in result.stderr
    assert "RuntimeError" in result.stderr
    bad = json.loads((tmp_path / "out" / "ci" / "bad" / "run.json").read_text())
    assert bad["ok"] is False and bad["failed_cell"] == 2
    assert json.loads((tmp_path / "out" / "ci" / "good" / "run.json").read_text())["ok"]
    assert "draw" in _glue(tmp_path / "out", "good")


def test_unchanged_pages_are_skipped_and_changed_ones_rerun(tmp_path):
    pages = _pages(tmp_path, {"first": 1, "second": 2})
    out = tmp_path / "out"
    assert _run_pages(tmp_path, out, pages, "--serial").returncode == 0
    again = _run_pages(tmp_path, out, pages, "--serial")
    assert again.returncode == 0 and again.stdout.count("] skipped:") == 2, again.stdout
    assert "0 page(s) ran, 2 skipped, 0 failed" in again.stdout, again.stdout
    pages[1].write_text(pages[1].read_text().replace("seeded(2)", "seeded(3)"))
    third = _run_pages(tmp_path, out, pages, "--serial")
    assert third.stdout.count("] skipped:") == 1 and "[second] ok" in third.stdout, third.stdout
    assert "[first] skipped:" in third.stdout, third.stdout
    forced = _run_pages(tmp_path, out, pages, "--serial", "--force")
    assert "] skipped:" not in forced.stdout, forced.stdout
    assert "2 page(s) ran, 0 skipped, 0 failed" in forced.stdout, forced.stdout


THREADS_PAGE = HEADER + """# Threads

```{code-cell} ipython3
import os
import torch
from dlscience.runtime import glue

glue("torch_threads", torch.get_num_threads())
glue("omp", os.environ.get("OMP_NUM_THREADS"))
```
"""


def test_each_kernel_gets_its_share_of_the_cores(tmp_path):
    """Dask's workers default to one BLAS thread; a page's kernel gets cores / workers instead."""
    import os

    pages = []
    for name in ("one", "two"):
        pages.append(tmp_path / f"{name}.md")
        pages[-1].write_text(THREADS_PAGE)
    cores = os.cpu_count() or 1
    for workers in (1, 2):  # two pages either way (a single page runs without Dask)
        out = tmp_path / f"w{workers}"
        result = _run_pages(tmp_path, out, pages, "--workers", str(workers))
        assert result.returncode == 0, result.stderr[-3000:]
        share = max(1, cores // workers)
        for page in pages:
            glued = _glue(out, page.stem)
            assert glued == {"torch_threads": share, "omp": str(share)}, (workers, glued)
            report = json.loads((out / "ci" / page.stem / "run.json").read_text())
            assert report["blas_threads"] == str(share)
