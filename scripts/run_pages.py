"""Execute book pages outside the book build, at either scale, and keep what they produce.

    python scripts/run_pages.py [--scale ci|paper] [--out results] [PAGE.md ...]
           [--workers N | --scheduler tcp://host:8786 | --serial] [--force]

For each page: sets ``BOOK_SCALE``, executes the page cell by cell in a fresh kernel, and writes
under ``<out>/<scale>/<page path>/``:

* ``<page>.ipynb``: the executed notebook;
* ``fig-*.png``: every figure it drew (named after the figure's ``name`` when it has one);
* ``glue.json``: every value the page glued into its text;
* ``claims.json``: every claim the page checked (``dlscience.claims``), with its bound and evidence;
* ``run.json``: scale, seed offset, timings per cell, success, and the hashes of the page's
  source and of ``lib/`` it ran with.

Several pages fan out over **Dask distributed**: a ``LocalCluster`` with one worker per core (one
per GPU where CUDA is present, each worker seeing its own GPU), or an existing cluster given by
``--scheduler`` or ``$DASK_SCHEDULER_ADDRESS``. Each page runs in one worker; its files come back
to this process, which writes them, so workers need the book's environment but not a shared disk.
A progress bar shows the pages done and running. A page stops at its first failing cell (a
failing claim included) or when its kernel dies; it is reported with that cell and the others go
on; the command exits non-zero if any page failed. Ctrl-C cancels the pages still queued or
running and closes the cluster.

Resumable: a page whose ``run.json`` says it succeeded, with the same page source, the same
``lib/`` hash and the same claims mode (``$BOOK_CLAIMS``), is skipped (``--force`` reruns it),
so a preempted job resumes where it stopped.
With ``--seed-offset K`` (``BOOK_SEED_OFFSET=K``) every seed is shifted and the results go under
``<out>/<scale>-seed<K>/``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from booktoc import executable_pages  # noqa: E402

SCALES = ("ci", "paper")


def _plain_value(text: str) -> object:
    """A glued value from its ``text/plain`` form: a number, or a string (Python's repr)."""
    import ast

    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        pass
    if text[:1] in "'\"":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
    return text


def _glued(cell: dict) -> dict[str, object]:
    values: dict[str, object] = {}
    for out in cell.get("outputs", []):
        meta = out.get("metadata", {}).get("scrapbook")
        if not meta:
            continue
        prefix = meta.get("mime_prefix", "")
        data = {k[len(prefix):]: v for k, v in out.get("data", {}).items()}
        if "text/plain" in data:
            text = data["text/plain"]
            values[meta["name"]] = _plain_value(text)
        elif "image/png" in data:
            values[meta["name"]] = "<figure>"
    return values


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def out_dir_of(rel: Path, scale: str, out_root: Path, seed_offset: int) -> Path:
    return out_root / (scale if seed_offset == 0 else f"{scale}-seed{seed_offset}") / rel


def relative_name(page: Path) -> Path:
    page = page.resolve()
    rel = page.relative_to(ROOT) if page.is_relative_to(ROOT) else Path(page.name)
    return rel.with_suffix("")


def is_current(page: Path, scale: str, out_root: Path, seed_offset: int, lib: str) -> bool:
    """True when the page's last run at this scale succeeded with this source and this lib/."""
    run = out_dir_of(relative_name(page), scale, out_root, seed_offset) / "run.json"
    try:
        report = json.loads(run.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (report.get("ok") is True and report.get("lib_hash") == lib
            and report.get("source_hash") == source_hash(page.read_text())
            and report.get("claims_mode") == os.environ.get("BOOK_CLAIMS", ""))


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def execute_page(text: str, rel: str, scale: str, timeout: int, seed_offset: int = 0,
                 workdir: str | None = None, lib: str = "", verbose: bool = True,
                 blas_threads: int | None = None) -> tuple[dict[str, bytes], dict]:
    """Run one page (its MyST ``text``) in a fresh kernel; return its files and its report.

    Runs wherever it is called (this process or a Dask worker): nothing is written to disk here
    except by the page itself; the caller writes the returned files. ``blas_threads``, when
    given, is the number of threads the page's kernel may use for NumPy's BLAS and torch (its
    share of the machine's cores); otherwise the kernel inherits this process's setting.
    """
    import tempfile

    import jupytext
    import nbformat
    from dlscience.claims import from_glue
    from nbclient import NotebookClient

    if os.environ.get("RUN_PAGES_CUDA") == "1":  # a LocalCluster worker per GPU: its own GPU
        from distributed import get_worker

        os.environ["CUDA_VISIBLE_DEVICES"] = str(get_worker().name)
    nb = jupytext.reads(text, fmt="md:myst")
    os.environ["BOOK_SCALE"] = scale
    os.environ["BOOK_SEED_OFFSET"] = str(seed_offset)
    if blas_threads is not None:  # read by the kernel's NumPy and torch when they load
        for variable in BLAS_THREAD_VARIABLES:
            os.environ[variable] = str(blas_threads)
    if workdir is None or not Path(workdir).is_dir():
        workdir = tempfile.mkdtemp(prefix="run-pages-")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": workdir}})
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    timings: list[dict] = []
    start = time.perf_counter()
    ok, error, failed_cell = True, None, None
    try:
        with client.setup_kernel():
            for k, index in enumerate(code_cells, start=1):
                cell = nb.cells[index]
                t0 = time.perf_counter()
                first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
                if verbose:
                    elapsed = time.perf_counter() - start
                    print(f"[{rel}] cell {k}/{len(code_cells)} ({elapsed:6.1f} s) {first}",
                          flush=True)
                try:
                    client.execute_cell(cell, index)
                except Exception as exc:  # a failing cell, a cell timeout, a dead kernel
                    ok, failed_cell = False, k
                    error = f"cell {k}/{len(code_cells)}: {type(exc).__name__}: {exc}"
                    if verbose:
                        print(f"[{rel}] FAILED in cell {k}/{len(code_cells)}:\n{exc}",
                              file=sys.stderr)
                    break
                finally:
                    timings.append({"cell": k, "seconds": round(time.perf_counter() - t0, 3),
                                    "tags": list(cell.metadata.get("tags", []))})
    except Exception as exc:  # the kernel did not start, or died while shutting down
        if ok:
            ok, error = False, f"kernel: {type(exc).__name__}: {exc}"
    total = time.perf_counter() - start
    stem = Path(rel).name
    files: dict[str, bytes] = {f"{stem}.ipynb": nbformat.writes(nb).encode()}
    glue: dict[str, object] = {}
    n_fig = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        glue.update(_glued(cell))
        name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        for j, out in enumerate(cell.get("outputs", [])):
            png = out.get("data", {}).get("image/png")
            if png is None or out.get("metadata", {}).get("scrapbook"):
                continue
            n_fig += 1
            fig = name if name and j == 0 else f"fig-{n_fig:02d}"
            files[f"{fig}.png"] = base64.b64decode(png)
    files["glue.json"] = json.dumps(glue, indent=2, sort_keys=True).encode()
    claims = from_glue(glue)
    files["claims.json"] = json.dumps(claims, indent=2).encode()
    report = {"page": rel + ".md", "scale": scale, "seed_offset": seed_offset, "ok": ok,
              "seconds": round(total, 2), "claims": len(claims), "cells": timings,
              "error": error, "failed_cell": failed_cell, "figures": n_fig, "glued": len(glue),
              "source_hash": source_hash(text), "lib_hash": lib,
              "claims_mode": os.environ.get("BOOK_CLAIMS", ""),
              "blas_threads": os.environ.get("OMP_NUM_THREADS"),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    files["run.json"] = json.dumps(report, indent=2).encode()
    return files, report


def write_results(out_dir: Path, files: dict[str, bytes]) -> None:
    """Replace ``out_dir`` by the files of one run (a rerun leaves nothing stale behind)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)


def run_page(page: Path, scale: str, out_root: Path, timeout: int, seed_offset: int = 0) -> dict:
    """Run one page in this process and write its results; return its report."""
    from book_setup import lib_hash

    rel = relative_name(page)
    out_dir = out_dir_of(rel, scale, out_root, seed_offset)
    files, report = execute_page(page.read_text(), str(rel), scale, timeout, seed_offset,
                                 str(page.resolve().parent), lib_hash(ROOT))
    write_results(out_dir, files)
    status = "ok" if report["ok"] else "FAILED"
    shown = out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir
    print(f"[{rel}] {status} in {report['seconds']:.1f} s; {report['figures']} figures, "
          f"{report['glued']} glued values -> {shown}", flush=True)
    return report


def default_workers() -> tuple[int, bool]:
    """(workers, cuda): one worker per GPU where CUDA is present, else one per core."""
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.device_count() > 0:
            return torch.cuda.device_count(), True
    except ImportError:
        pass
    return os.cpu_count() or 1, False


def run_distributed(pages: list[Path], scale: str, out_root: Path, timeout: int,
                    seed_offset: int, workers: int | None, scheduler: str | None) -> list[dict]:
    """Run pages on a Dask cluster (a LocalCluster unless ``scheduler`` is given)."""
    import cloudpickle
    from book_setup import lib_hash
    from distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import us
    lib = lib_hash(ROOT)
    cluster = None
    blas_threads = None  # on a cluster of your own, its workers' settings apply
    if scheduler:
        client = Client(scheduler)
    else:
        n, cuda = default_workers()
        n = min(workers or n, len(pages))
        # Each page's kernel gets its share of the cores: Dask's workers default to one BLAS
        # thread, which leaves cores idle with fewer workers than cores (one per GPU, WORKERS=1).
        blas_threads = max(1, (os.cpu_count() or 1) // n)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               memory_limit=0, dashboard_address=None,
                               env={"RUN_PAGES_CUDA": "1" if cuda else "0"})
        client = Client(cluster)
    futures = {}
    for page in pages:
        rel = relative_name(page)
        fut = client.submit(execute_page, page.read_text(), str(rel), scale, timeout,
                            seed_offset, str(page.resolve().parent), lib, False, blas_threads,
                            key=f"page-{rel}-{scale}-{seed_offset}", pure=False)
        futures[fut] = page
    reports: list[dict] = []
    bar = tqdm(total=len(pages), unit="page", desc=f"{scale} pages", file=sys.stderr)
    try:
        for fut in as_completed(list(futures)):
            page = futures[fut]
            rel = relative_name(page)
            try:
                files, report = fut.result()
            except Exception as exc:  # the worker died (memory), or the task could not run
                report = {"page": f"{rel}.md", "scale": scale, "seed_offset": seed_offset,
                          "ok": False, "error": f"worker: {type(exc).__name__}: {exc}",
                          "failed_cell": None, "source_hash": source_hash(page.read_text()),
                          "lib_hash": lib, "cells": [], "seconds": None}
                files = {"run.json": json.dumps(report, indent=2).encode()}
            write_results(out_dir_of(rel, scale, out_root, seed_offset), files)
            reports.append(report)
            # processing() lists the tasks a worker holds, queued ones included; a worker
            # executes at most its thread count of them at once.
            threads = client.nthreads()
            running = sum(min(len(v), threads.get(w, 1)) for w, v in client.processing().items())
            bar.set_postfix(running=running, failed=sum(not r["ok"] for r in reports))
            bar.update(1)
            if not report["ok"]:
                tqdm.write(f"[{rel}] FAILED: {report['error']}", file=sys.stderr)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        tqdm.write(f"cancelled: {len(pages) - len(reports)} page(s) not finished", file=sys.stderr)
        raise
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path,
                        help="MyST pages to run (default: every executable page of the toc)")
    parser.add_argument("--scale", default=None,
                        help="ci or paper (default: the scale dlscience.runtime reads from "
                             "$BOOK_SCALE, ci when unset; make paper passes paper)")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--timeout", type=int, default=24 * 3600, help="seconds per cell")
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="shift every seed by 1000 x this (BOOK_SEED_OFFSET)")
    parser.add_argument("--workers", type=int, default=None,
                        help="LocalCluster workers (default: one per GPU, else one per core)")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="an existing Dask scheduler, e.g. tcp://host:8786 "
                             "(default: $DASK_SCHEDULER_ADDRESS, else a LocalCluster)")
    parser.add_argument("--serial", action="store_true",
                        help="run the pages one after another in this process, without Dask")
    parser.add_argument("--force", action="store_true",
                        help="rerun pages whose last run succeeded with the same source and lib/")
    args = parser.parse_args(argv)
    if args.scale is None:
        from dlscience.runtime import get_scale

        args.scale = get_scale()
    if args.scale not in SCALES:
        parser.error(f"--scale must be one of {SCALES}, got {args.scale!r}")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be a positive integer, got {args.workers}")
    from book_setup import lib_hash, quiet_kernels

    quiet_kernels(ROOT)
    pages = args.pages or executable_pages(ROOT)
    for page in pages:
        if not page.exists():
            parser.error(f"no such page: {page}")
    out_root = args.out.resolve()
    lib = lib_hash(ROOT)
    todo = [p for p in pages
            if args.force or not is_current(p, args.scale, out_root, args.seed_offset, lib)]
    for page in pages:
        if page not in todo:
            print(f"[{relative_name(page)}] skipped: its last run succeeded with this source and "
                  f"lib/ (--force reruns it)", flush=True)
    try:
        if args.serial or (len(todo) <= 1 and not args.scheduler):
            reports = [run_page(p, args.scale, out_root, args.timeout, args.seed_offset)
                       for p in todo]
        else:
            reports = run_distributed(todo, args.scale, out_root, args.timeout,
                                      args.seed_offset, args.workers, args.scheduler)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    failed = [r for r in reports if not r["ok"]]
    print(f"{len(reports) - len(failed)} page(s) ran, {len(pages) - len(todo)} skipped, "
          f"{len(failed)} failed", flush=True)
    if failed:
        for r in failed:
            print(f"  {r['page']}: {r['error']}", file=sys.stderr)
        print(f"{len(failed)} page(s) failed: {', '.join(r['page'] for r in failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
