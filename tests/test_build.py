"""Tests of the book build itself: errors fail it, pages are clean, numbers are reproducible."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from book_setup import BUILD_FLAGS
from conftest import ROOT, executable_pages, toc_files

PAGE_BUDGET_S = 60.0


def _build(book: Path, *flags: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), *flags]
    return subprocess.run(cmd, cwd=book, capture_output=True, text=True, timeout=600)


@pytest.fixture
def broken_book(tmp_path: Path) -> Path:
    """A copy of the book's configuration with two pages, one of which has a failing cell."""
    book = tmp_path / "tiny"
    (book / "book" / "_ext").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copy(ROOT / "book" / "_ext" / "book_setup.py", book / "book" / "_ext")
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    (book / "lib").symlink_to(ROOT / "lib")
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/index\nchapters:\n"
                                   "  - file: book/fine_page\n  - file: book/broken_page\n")
    (book / "book" / "index.md").write_text("# Tiny\n\nA tiny book.\n")
    header = ("---\njupytext:\n  text_representation:\n    extension: .md\n"
              "    format_name: myst\nkernelspec:\n  display_name: Python 3\n"
              "  language: python\n  name: python3\n---\n\n")
    (book / "book" / "fine_page.md").write_text(
        header + "# Fine\n\n```{code-cell} ipython3\nprint(1 + 1)\n```\n")
    (book / "book" / "broken_page.md").write_text(
        header + "# Broken\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
        "```{code-cell} ipython3\nraise RuntimeError('this cell is broken on purpose')\n```\n")
    return book


@pytest.mark.build
def test_broken_cell_fails_plain_build_and_names_the_page(broken_book: Path):
    result = _build(broken_book)  # the plain command a reader types, no -W
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "broken_page" in output, output[-3000:]
    assert "this cell is broken on purpose" in output, output[-3000:]


@pytest.mark.build
def test_broken_cell_fails_strict_build(broken_book: Path):
    result = _build(broken_book, *BUILD_FLAGS)
    assert result.returncode != 0
    assert "broken_page" in result.stdout + result.stderr


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.stack: list[str] = []
        self.output_text: list[str] = []
        self._in_output = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        classes = (a.get("class") or "").split()
        if tag == "div":
            self.stack.append("output" if "cell_output" in classes or self._in_output else "")
            if "cell_output" in classes:
                self._in_output += 1

    def handle_endtag(self, tag):
        if tag == "div" and self.stack:
            if self.stack.pop() == "output":
                self._in_output -= 1

    def handle_data(self, data):
        if self._in_output:
            self.output_text.append(data)


def _parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text())
    return parser


@pytest.mark.build
@pytest.mark.parametrize("page", toc_files())
def test_built_page_is_clean(built_book: Path, page: str):
    html = built_book / f"{page}.html"
    assert html.exists(), f"{page} was not built"
    parsed = _parse(html)
    outputs = "".join(parsed.output_text)
    assert "Traceback" not in outputs and not re.search(r"\b\w*(Error|Warning)\b:", outputs), page
    # Nothing written to stderr reaches the reader: warnings are fixed, not shown.
    assert 'class="output stderr' not in html.read_text(), f"{page} shows a stderr output"
    for src in parsed.images:
        if src.startswith(("http:", "https:", "data:")):
            continue
        assert (html.parent / src.split("#")[0]).resolve().exists(), f"{page}: missing image {src}"
    text = html.read_text()
    if "class=\"math" in text:
        local = [s.split("?")[0] for s in parsed.scripts]
        assert any(s.endswith("mathjax/tex-mml-chtml.js") for s in local), page
        assert not any(s.startswith("http") and "mathjax" in s for s in parsed.scripts), page
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").exists()


@pytest.mark.build
def test_no_cdn_scripts_or_styles(built_book: Path):
    for html in built_book.rglob("*.html"):
        text = html.read_text()
        remote = r'<(?:script|link)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"'
        for match in re.finditer(remote, text):
            url = match.group(1).split("?")[0].split("#")[0]
            assert not url.endswith((".js", ".css", ".woff", ".woff2")), (
                f"{html}: loads {match.group(1)} from the network")


@pytest.mark.build
def test_execution_times_within_budget(built_book: Path):
    """Every executable page ran without error and within the page budget (from the cache)."""
    from jupyter_cache import get_cache

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from book_setup import book_cache_path

    cache = get_cache(str(book_cache_path(ROOT)))
    records = {Path(r.uri).resolve(): r for r in cache.list_cache_records()}
    slow = {}
    for page in executable_pages():
        record = records.get((ROOT / f"{page}.md").resolve())
        assert record is not None, f"{page} has no execution record"
        seconds = (record.data or {}).get("execution_seconds")
        assert seconds is not None, page
        if seconds > PAGE_BUDGET_S:
            slow[page] = seconds
    assert not slow, f"pages over the {PAGE_BUDGET_S:.0f} s budget: {slow}"


@pytest.mark.build
def test_glued_values_are_reproducible(built_book: Path, tmp_path: Path):
    """Run chapter 1 again through the paper command at ci scale: same files, same numbers."""
    page = "book/part1/learnable-programs"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale", "ci",
         "--out", str(tmp_path), f"{page}.md"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "cell 1/" in result.stdout  # progress is shown
    out = tmp_path / "ci" / page
    for name in ("learnable-programs.ipynb", "glue.json", "run.json",
                 "fig-four-programs.png", "fig-loss-slices.png"):
        assert (out / name).exists(), name
    rerun = json.loads((out / "glue.json").read_text())
    assert json.loads((out / "run.json").read_text())["ok"] is True

    built = json.loads((ROOT / "_build" / "jupyter_execute" / f"{page}.glue.json").read_text())
    first = {}
    for name, output in built.items():
        text = output["data"]["text/plain"]
        first[name] = ast.literal_eval(text) if text[0] in "'\"" else json.loads(text)
    assert first, "the built page glued nothing"
    assert {k: rerun[k] for k in first} == first


def _built_claims(page: str) -> list[dict]:
    from dlscience.claims import from_glue

    path = ROOT / "_build" / "jupyter_execute" / f"{page}.glue.json"
    return from_glue(json.loads(path.read_text())) if path.exists() else []


@pytest.mark.build
def test_every_claim_has_its_evidence_and_the_claims_page_lists_it(built_book: Path):
    """The test of tolerances: every non-deterministic claim states the spread it was set from
    (over enough seeds), and a bound far beyond that spread states why."""
    from dlscience.claims import audit

    problems, names = [], []
    for page in executable_pages():
        found = _built_claims(page)
        assert found, f"{page} checks no claim through the ledger"
        problems += [f"{page}: {p}" for p in audit(found)]
        names += [c["name"] for c in found]
        assert all(c["holds"] and c["scale"] == "ci" and c["seed_offset"] == 0 for c in found)
    assert not problems, "\n".join(problems)
    html = (built_book / "book" / "backmatter" / "claims.html").read_text()
    missing = [n for n in names if f">{n}<" not in html]
    assert not missing, f"claims missing from the Claims page: {missing}"
    assert f"checked {len(names)} claims" in html
    # The paper-scale table: one row per executed page, from the committed summary (and what
    # results/paper holds on this machine, as the build reads it).
    sys.path.insert(0, str(ROOT / "scripts"))
    import paper_summary

    local = paper_summary.collect() if paper_summary.RESULTS.is_dir() else {}
    runs = {k.removesuffix(".md"): v for k, v in
            paper_summary.merged(paper_summary.load(), local).items()}
    pages = executable_pages()
    done = sum(1 for page in pages if runs.get(page, {}).get("ok"))
    assert f"{done} of the {len(pages)} executed pages" in html
    assert html.count(">not yet run<") == sum(1 for page in pages if page not in runs)
    # A page unchanged since its paper run makes the same claims at both scales.
    for page in pages:
        run = runs.get(page)
        if run and run["ok"] and run["source_hash"] == hashlib.sha256(
                (ROOT / f"{page}.md").read_bytes()).hexdigest()[:16]:
            paper_names = {c["name"] for c in run["claims"]}
            ci_names = {c["name"] for c in _built_claims(page)}
            assert paper_names == ci_names, f"{page}: {paper_names ^ ci_names}"


@pytest.mark.build
def test_a_page_holds_under_another_seed_offset(built_book: Path, tmp_path: Path):
    """BOOK_SEED_OFFSET=1 gives other draws (the measured values move) and every claim holds."""
    page = "book/part2/gradient-descent"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale", "ci",
         "--seed-offset", "1", "--out", str(tmp_path), f"{page}.md"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Kernels started by the book's tools log errors only (no TCP-transport warning).
    assert "without encryption" not in result.stdout + result.stderr
    shifted = {c["name"]: c for c in
               json.loads((tmp_path / "ci-seed1" / page / "claims.json").read_text())}
    base = {c["name"]: c for c in _built_claims(page)}
    assert set(shifted) == set(base)
    assert all(c["holds"] and c["seed_offset"] == 1 for c in shifted.values())
    seeded = [n for n, c in base.items() if not c["exact"]]
    assert seeded and all(shifted[n]["measured"] != base[n]["measured"] for n in seeded)

