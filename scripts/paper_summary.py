"""Collect the `paper`-scale results into one small file that is committed with the book.

``make paper`` writes each page's results under ``results/paper/<page>/`` (ignored by git: the
executed notebooks and figures are large and machine-made). This script keeps what a reader of
the published book needs from them, in ``results/paper-summary.json`` (tracked): for every page
run at ``paper``, its time, whether it finished, the hashes of the page source and of ``lib/``
it ran with, and each claim's measured value, bound and verdict. The Claims page of the book
reads it, so the published book shows the paper-scale values beside the ``ci`` ones.

    python scripts/paper_summary.py            # merge results/paper into the summary
    python scripts/paper_summary.py --check    # exit 1 if the summary lags results/paper

Pages in the summary that ``results/paper`` does not hold are kept (a machine that has run only
some pages does not erase the others); a page that ``results/paper`` holds replaces its entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "results" / "paper-summary.json"
RESULTS = ROOT / "results" / "paper"

ABOUT = ("Paper-scale results of the book's pages, collected from results/paper by "
         "scripts/paper_summary.py. One entry per page run with `make paper`; "
         "source_hash and lib_hash are those of the page and of lib/ the run used.")


def _bound_text(c: dict[str, Any]) -> str:
    sys.path.insert(0, str(ROOT / "lib"))
    from dlscience.claims import Claim

    fields = {k: (tuple(v) if k == "seen" and v else v) for k, v in c.items()}
    return Claim(**fields).bound_text()


def page_entry(folder: Path) -> dict[str, Any]:
    """The summary entry of one page's results folder (holding run.json, maybe claims.json)."""
    report = json.loads((folder / "run.json").read_text())
    claims_path = folder / "claims.json"
    claims = json.loads(claims_path.read_text()) if claims_path.exists() else []
    finished = report.get("finished") or datetime.fromtimestamp(
        (folder / "run.json").stat().st_mtime, tz=UTC).strftime("%Y-%m-%d")
    return {
        "ok": bool(report.get("ok")),
        "failed_cell": report.get("failed_cell"),
        "error": (report.get("error") or "")[:300] or None,
        "seconds": report.get("seconds"),
        "finished": finished[:10],
        "blas_threads": report.get("blas_threads"),
        "source_hash": report.get("source_hash"),
        "lib_hash": report.get("lib_hash"),
        "claims_mode": report.get("claims_mode") or "check",
        "claims": [{"name": c["name"], "measured": c["measured"], "bound": _bound_text(c),
                    "holds": bool(c.get("holds", True))} for c in claims],
    }


def collect(results: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every page under ``results`` (keyed by its source path, e.g. ``book/part1/depth.md``)."""
    pages: dict[str, dict[str, Any]] = {}
    for run in sorted(results.rglob("run.json")):
        page = json.loads(run.read_text()).get("page")
        if not page:
            raise ValueError(f"{run} names no page")
        pages[page] = page_entry(run.parent)
    return pages


def load(path: Path = SUMMARY) -> dict[str, dict[str, Any]]:
    """The committed summary's pages (empty when there is no summary)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())["pages"]


def merged(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
           ) -> dict[str, dict[str, Any]]:
    """``old`` updated with ``new``; a failed run never replaces a successful one of the same
    page source (an interrupted rerun keeps the finished values)."""
    out = dict(old)
    for page, entry in new.items():
        before = out.get(page)
        if (before is not None and before["ok"] and not entry["ok"]
                and before["source_hash"] == entry["source_hash"]):
            continue
        out[page] = entry
    return dict(sorted(out.items()))


def render(pages: dict[str, dict[str, Any]]) -> str:
    """The summary as JSON, one line per claim (small diffs when a page is rerun)."""
    blocks = []
    for page, entry in pages.items():
        head = {k: v for k, v in entry.items() if k != "claims"}
        lines = [f"   {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},"
                 for k, v in head.items()]
        claims = ",\n".join(f"    {json.dumps(c, ensure_ascii=False)}" for c in entry["claims"])
        lines.append('   "claims": [' + (f"\n{claims}\n   ]" if claims else "]"))
        blocks.append(f"  {json.dumps(page)}: {{\n" + "\n".join(lines) + "\n  }")
    return ('{\n "about": ' + json.dumps(ABOUT) + ',\n "pages": {\n' + ",\n".join(blocks)
            + "\n }\n}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--summary", type=Path, default=SUMMARY)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if merging the results would change the summary")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"no results at {args.results}: run `make paper` first", file=sys.stderr)
        return 1 if args.check else 0
    text = render(merged(load(args.summary), collect(args.results)))
    current = args.summary.read_text() if args.summary.exists() else ""
    if args.check:
        if text != current:
            print(f"{args.summary} lags {args.results}: run scripts/paper_summary.py",
                  file=sys.stderr)
            return 1
        return 0
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(text)
    print(f"{args.summary}: {len(json.loads(text)['pages'])} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
