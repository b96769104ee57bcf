"""Execute book pages outside the book build, at either scale, and keep what they produce.

    python scripts/run_pages.py [--scale ci|paper] [--out results] PAGE.md [PAGE.md ...]

For each page: sets ``BOOK_SCALE``, executes the page cell by cell in a fresh kernel (printing the
page, the cell and the elapsed time), and writes under ``<out>/<scale>/<page path>/``:

* ``<page>.ipynb``: the executed notebook;
* ``fig-*.png``: every figure it drew (named after the figure's ``name`` when it has one);
* ``glue.json``: every value the page glued into its text;
* ``claims.json``: every claim the page checked (``dlscience.claims``), with its bound and evidence;
* ``run.json``: scale, seed offset, timings per cell, success.

With ``--seed-offset K`` (``BOOK_SEED_OFFSET=K``) every seed is shifted and the results go under
``<out>/<scale>-seed<K>/``. A page stops at its first failing cell (a failing claim included);
the run goes on with the next page, and exits non-zero if any page failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
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


def run_page(page: Path, scale: str, out_root: Path, timeout: int, seed_offset: int = 0) -> dict:
    import shutil

    import jupytext
    import nbformat
    from dlscience.claims import from_glue
    from nbclient import NotebookClient

    page = page.resolve()
    rel = (page.relative_to(ROOT) if page.is_relative_to(ROOT) else Path(page.name)).with_suffix("")
    out_dir = out_root / (scale if seed_offset == 0 else f"{scale}-seed{seed_offset}") / rel
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    nb = jupytext.read(page)
    os.environ["BOOK_SCALE"] = scale
    os.environ["BOOK_SEED_OFFSET"] = str(seed_offset)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(page.parent)}})
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    timings: list[dict] = []
    start = time.perf_counter()
    ok, error = True, None
    with client.setup_kernel():
        for k, index in enumerate(code_cells, start=1):
            cell = nb.cells[index]
            t0 = time.perf_counter()
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            print(f"[{rel}] cell {k}/{len(code_cells)} ({time.perf_counter() - start:6.1f} s) "
                  f"{first}", flush=True)
            try:
                client.execute_cell(cell, index)
            except Exception as exc:  # a failing cell, a cell timeout, a dead kernel
                ok, error = False, f"cell {k}/{len(code_cells)}: {type(exc).__name__}: {exc}"
                print(f"[{rel}] FAILED in cell {k}/{len(code_cells)}:\n{exc}", file=sys.stderr)
                break
            finally:
                timings.append({"cell": k, "seconds": round(time.perf_counter() - t0, 3),
                                "tags": list(cell.metadata.get("tags", []))})
    total = time.perf_counter() - start
    nbformat.write(nb, out_dir / f"{page.stem}.ipynb")
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
            stem = name if name and j == 0 else f"fig-{n_fig:02d}"
            (out_dir / f"{stem}.png").write_bytes(base64.b64decode(png))
    (out_dir / "glue.json").write_text(json.dumps(glue, indent=2, sort_keys=True))
    claims = from_glue(glue)
    (out_dir / "claims.json").write_text(json.dumps(claims, indent=2))
    report = {"page": str(rel) + ".md", "scale": scale, "seed_offset": seed_offset, "ok": ok,
              "seconds": round(total, 2), "claims": len(claims),
              "cells": timings, "error": error, "figures": n_fig, "glued": len(glue)}
    (out_dir / "run.json").write_text(json.dumps(report, indent=2))
    status = "ok" if ok else "FAILED"
    print(f"[{rel}] {status} in {total:.1f} s; {n_fig} figures, {len(glue)} glued values -> "
          f"{out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}", flush=True)
    return report


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
    args = parser.parse_args(argv)
    if args.scale is None:
        from dlscience.runtime import get_scale

        args.scale = get_scale()
    if args.scale not in SCALES:
        parser.error(f"--scale must be one of {SCALES}, got {args.scale!r}")
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from book_setup import quiet_kernels

    quiet_kernels(ROOT)
    pages = args.pages or executable_pages(ROOT)
    for page in pages:
        if not page.exists():
            parser.error(f"no such page: {page}")
    failed = []
    for page in pages:
        report = run_page(page, args.scale, args.out.resolve(), args.timeout, args.seed_offset)
        if not report["ok"]:
            failed.append(report["page"])
    if failed:
        print(f"{len(failed)} page(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
