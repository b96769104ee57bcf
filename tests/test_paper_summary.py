"""The committed summary of the paper-scale runs (``scripts/paper_summary.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import ROOT, executable_pages

sys.path.insert(0, str(ROOT / "scripts"))
import paper_summary  # noqa: E402


def _write_run(root: Path, page: str, *, ok: bool, source_hash: str, claims: list[dict],
               seconds: float = 12.5, failed_cell: int | None = None) -> None:
    folder = root / page.removesuffix(".md")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({
        "page": page, "scale": "paper", "ok": ok, "seconds": seconds, "error": None,
        "failed_cell": failed_cell, "source_hash": source_hash, "lib_hash": "abc",
        "claims_mode": "", "blas_threads": "1", "finished": "2026-12-05T04:00:00Z"}))
    (folder / "claims.json").write_text(json.dumps(claims))


def _claim(name: str, measured: float, lo: float | None = 0.0, hi: float | None = None,
           holds: bool = True) -> dict:
    return {"name": name, "says": "x", "measured": measured, "lo": lo, "hi": hi,
            "expected": None, "rtol": 0.0, "atol": 0.0, "seen": [0.1, 0.2], "seeds": 5,
            "exact": False, "loose_because": None, "holds": holds, "scale": "paper",
            "seed_offset": 0, "extra": {}}


def test_collect_keeps_each_claims_value_bound_and_verdict(tmp_path: Path):
    _write_run(tmp_path, "book/part1/a.md", ok=True, source_hash="s1",
               claims=[_claim("a-one", 0.5, lo=0.25),
                       _claim("a-two", 3.0, lo=None, hi=2.0, holds=False)])
    pages = paper_summary.collect(tmp_path)
    entry = pages["book/part1/a.md"]
    assert entry["ok"] and entry["seconds"] == 12.5 and entry["finished"] == "2026-12-05"
    assert entry["source_hash"] == "s1" and entry["claims_mode"] == "check"
    assert entry["claims"] == [
        {"name": "a-one", "measured": 0.5, "bound": "≥ 0.25", "holds": True},
        {"name": "a-two", "measured": 3.0, "bound": "≤ 2", "holds": False}]


def test_an_interrupted_rerun_keeps_the_finished_values(tmp_path: Path):
    _write_run(tmp_path / "old", "book/p.md", ok=True, source_hash="s1", claims=[_claim("p", 1)])
    _write_run(tmp_path / "new", "book/p.md", ok=False, source_hash="s1", claims=[],
               failed_cell=4)
    _write_run(tmp_path / "edit", "book/p.md", ok=False, source_hash="s2", claims=[],
               failed_cell=4)
    old = paper_summary.collect(tmp_path / "old")
    assert paper_summary.merged(old, paper_summary.collect(tmp_path / "new")) == old
    # ... unless the page has changed since: then the old values describe another page.
    edited = paper_summary.merged(old, paper_summary.collect(tmp_path / "edit"))
    assert edited["book/p.md"]["failed_cell"] == 4 and not edited["book/p.md"]["ok"]


def test_merging_keeps_pages_this_machine_did_not_run(tmp_path: Path):
    _write_run(tmp_path / "a", "book/a.md", ok=True, source_hash="s", claims=[_claim("a", 1)])
    _write_run(tmp_path / "b", "book/b.md", ok=True, source_hash="s", claims=[_claim("b", 2)])
    both = paper_summary.merged(paper_summary.collect(tmp_path / "a"),
                                paper_summary.collect(tmp_path / "b"))
    assert list(both) == ["book/a.md", "book/b.md"]


def test_check_fails_when_the_summary_lags_the_results(tmp_path: Path):
    results, summary = tmp_path / "paper", tmp_path / "summary.json"
    _write_run(results, "book/a.md", ok=True, source_hash="s", claims=[_claim("a", 1, lo=0)])
    args = ["--results", str(results), "--summary", str(summary)]
    assert paper_summary.main([*args, "--check"]) == 1
    assert paper_summary.main(args) == 0
    assert paper_summary.main([*args, "--check"]) == 0
    assert json.loads(summary.read_text())["pages"] == paper_summary.collect(results)
    _write_run(results, "book/a.md", ok=True, source_hash="s", claims=[_claim("a", 2, lo=0)])
    assert paper_summary.main([*args, "--check"]) == 1


def test_the_committed_summary_describes_pages_of_the_book():
    """Every page in the summary is an executable page of the toc, with its time and claims, or
    the cell it stopped at. (That an unchanged page's paper claims are the ones it makes at ci is
    checked in test_build, against the built pages.)"""
    pages = json.loads(paper_summary.SUMMARY.read_text())["pages"]
    assert pages, "results/paper-summary.json holds no page"
    toc = {f"{p}.md" for p in executable_pages()}
    assert set(pages) <= toc, set(pages) - toc
    for page, entry in pages.items():
        assert entry["source_hash"] and entry["claims_mode"] in ("check", "record"), page
        if entry["ok"]:
            assert entry["seconds"] > 0 and entry["claims"], page
        else:
            assert entry["failed_cell"] or entry["error"], page
