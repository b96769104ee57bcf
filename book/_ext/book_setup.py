"""Sphinx extension holding the book's build-time fixes (loaded from ``_config.yml``).

1. **Offline math.** MathJax is served from the built site itself, copied from the pinned
   ``django-static-mathjax`` wheel (MathJax 3.2.2), instead of a CDN: formulas typeset with
   no network.
2. **Execution cache tied to** ``lib/``. The jupyter-cache key covers a page's code only, so
   a change to ``lib/`` would leave stale numbers on the page. The cache lives in a folder named
   after a hash of ``lib/``, and Sphinx re-reads every page when that hash changes.
3. **No Thebe.** Live code cells (Thebe) are off, but sphinx-thebe, which Jupyter Book always
   loads, still adds its configuration script (twice per page: a console error in every browser)
   and its assets. They are removed from every page.
4. **Colab links to notebooks.** Colab opens ``.ipynb`` files only; the publish workflow writes each
   page as a notebook on the ``notebooks`` branch, and the Colab button points there.
5. **Every reader.** Wide display math scrolls instead of being clipped, links keep their
   contrast on tinted boxes (``static/dlscience.css``); the sidebar's collapsible entries get an
   accessible name; the theme's CSS ``@import`` of ``basic.css`` is inlined (a tool that reads
   the stylesheets resolved it against the page, a 404). Kernels started by the build log errors
   only (their start-up warning about TCP transport is noise in every build log).
6. **The claims ledger.** The ``{claims-ledger}`` directive (on the back-matter page *Claims*)
   becomes one table of every claim the executed pages recorded with ``dlscience.claims.claim``
   (read from each page's glued values), with the paper-scale values beside them when
   ``results/paper`` holds them. That page is re-rendered on every build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_BRANCH = "notebooks"
# How the book is built everywhere (make book, the tests, the benchmark, check_page --all-pages):
# warnings are errors, references are checked, and every warning is reported before failing.
BUILD_FLAGS = ("-W", "-n", "--keep-going")


def build_command(book: Path, *extra: str, strict: bool = True) -> list[str]:
    """The ``jupyter-book build`` command line for ``book``, with :data:`BUILD_FLAGS`.

    ``strict=False`` drops ``-W`` (warnings reported, not fatal), for callers that judge the
    warnings themselves. ``extra`` flags (e.g. ``--all``) are appended.
    """
    import sys

    flags = BUILD_FLAGS if strict else tuple(f for f in BUILD_FLAGS if f != "-W")
    return [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), *flags, *extra]


def lib_hash(root: Path = ROOT) -> str:
    """A short hash of every file under ``lib/`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((root / "lib").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def book_cache_path(root: Path = ROOT) -> Path:
    """The execution-cache folder a build of the book at ``root`` uses, from the one setting
    ``execute: cache:`` of its ``_config.yml`` (see :func:`cache_path`)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    base = Path(config.get("execute", {}).get("cache") or "_build/.jupyter_cache")
    return cache_path(base if base.is_absolute() else root / base, root=root)


def cache_path(base: str | Path, root: Path = ROOT) -> Path:
    """The execution-cache folder for the current ``lib/``, scale and seed offset:
    ``<base>/lib-<hash>-<scale>-seed<offset>``.

    A build at ``BOOK_SCALE=paper`` or ``BOOK_SEED_OFFSET=3`` therefore never reuses (or
    overwrites) the outputs of the default build. The two variables are read by
    ``dlscience.runtime``, their one home.
    """
    from dlscience.runtime import get_scale, get_seed_offset

    return Path(base) / f"lib-{lib_hash(root)}-{get_scale()}-seed{get_seed_offset()}"


def _mathjax_source() -> Path:
    import mathjax  # provided by the django-static-mathjax wheel

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def quiet_kernels(root: Path = ROOT) -> None:
    """Make the kernels this process starts log errors only, through an IPython profile of the
    build's own (``_build/ipython``), unless the reader set ``IPYTHONDIR`` already. It also
    keeps a reader's IPython start-up files out of the book's execution."""
    if os.environ.get("IPYTHONDIR"):
        return
    profile = root / "_build" / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    config = profile / "ipython_kernel_config.py"
    text = 'c.IPKernelApp.log_level = "ERROR"\n'
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    os.environ["IPYTHONDIR"] = str(profile.parent)


def _config_inited(app: Sphinx, config: Any) -> None:
    quiet_kernels(Path(app.confdir))
    config.mathjax_path = "mathjax/tex-mml-chtml.js"
    static = str(Path(__file__).parent / "static")
    if static not in config.html_static_path:
        config.html_static_path.append(static)
    base = config.nb_execution_cache_path or "_build/.jupyter_cache"
    if not Path(base).is_absolute():
        base = Path(app.confdir) / base
    config.nb_execution_cache_path = str(cache_path(base))


def _env_get_outdated(app: Sphinx, env: Any, added: set[str], changed: set[str],
                      removed: set[str]) -> list[str]:
    current = lib_hash()
    previous = getattr(env, "dlscience_lib_hash", None)
    env.dlscience_lib_hash = current
    if previous is not None and previous != current:
        return sorted(env.found_docs)
    return []


def _is_thebe_asset(asset: Any) -> bool:
    filename = str(getattr(asset, "filename", asset) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in filename.lower() or "THEBE_JS_URL" in body


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if not _is_thebe_asset(a)]
    buttons = context.get("header_buttons")
    if not buttons:
        return
    for group in buttons:
        for item in group.get("buttons", []) if isinstance(group, dict) else []:
            url = item.get("url", "")
            if "colab.research.google.com" in url and url.endswith(".md"):
                url = url[: -len(".md")] + ".ipynb"
                item["url"] = url.replace("/blob/main/", f"/blob/{NOTEBOOK_BRANCH}/")


_UNNAMED_TOGGLE = '<summary><span class="toctree-toggle" role="presentation">'
_NAMED_TOGGLE = ('<summary aria-label="Show or hide the sections of this entry">'
                 '<span class="toctree-toggle" role="presentation">')


# sphinxcontrib-bibtex marks the bibliography `role="list"` around entries whose role is
# `doc-biblioentry`, not `listitem`: an ARIA list without list items (axe: critical).
_BIB_LIST = '<div role="list" class="citation-list">'
_BIB_PLAIN = '<div class="citation-list">'


def _fix_html(outdir: Path) -> None:
    """Accessible names for the sidebar's toggles, a valid bibliography role; no CSS @import
    left to resolve."""
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text.replace(_UNNAMED_TOGGLE, _NAMED_TOGGLE).replace(_BIB_LIST, _BIB_PLAIN)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    theme = outdir / "_static" / "styles" / "theme.css"
    basic = outdir / "_static" / "basic.css"
    if theme.exists() and basic.exists():
        css = theme.read_text(encoding="utf-8")
        if '@import "../basic.css";' in css:
            theme.write_text(css.replace('@import "../basic.css";',
                                         basic.read_text(encoding="utf-8")), encoding="utf-8")


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "tex-mml-chtml.js").exists():
        shutil.copytree(_mathjax_source(), target, dirs_exist_ok=True)
    _fix_html(Path(app.outdir))


class claims_ledger(nodes.General, nodes.Element):  # noqa: N801 (docutils node naming)
    """Placeholder for the claims table, filled once every page has been read."""


class ClaimsLedgerDirective(SphinxDirective):
    """``{claims-ledger}``: the table of every claim the book checks."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.dlscience_ledger_docs = getattr(self.env, "dlscience_ledger_docs", set())
        self.env.dlscience_ledger_docs.add(self.env.docname)
        return [claims_ledger("")]


def _toc_order(env: Any) -> list[str]:
    """The documents in reading order (the toc's order), root first."""
    order: list[str] = []

    def walk(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return order


def _claims_of(env: Any, docname: str) -> list[dict[str, Any]]:
    from dlscience.claims import from_glue

    folder = Path(env.mystnb_config.output_folder)
    path = folder.joinpath(*docname.split("/")[:-1]) / f"{docname.split('/')[-1]}.glue.json"
    if not path.exists():
        return []
    return from_glue(json.loads(path.read_text()))


def _paper_runs() -> dict[str, dict[str, Any]]:
    """Each page's paper-scale run (keyed by docname): the committed summary
    ``results/paper-summary.json``, updated with what ``results/paper`` holds on this machine."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import paper_summary
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    local = paper_summary.collect() if paper_summary.RESULTS.is_dir() else {}
    pages = paper_summary.merged(paper_summary.load(), local)
    runs = {}
    for page, entry in pages.items():
        source = ROOT / page
        current = (source.exists() and hashlib.sha256(source.read_bytes()).hexdigest()[:16]
                   == entry["source_hash"])
        runs[page.removesuffix(".md")] = {**entry, "current": current}
    return runs


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def _room_text(c: dict[str, Any]) -> str:
    from dlscience.claims import room

    if c.get("exact"):
        return "exact"
    seen = c.get("seen")
    r = room(c.get("lo"), c.get("hi"), tuple(seen) if seen else None)
    if r is None:
        return "no spread"
    text = "∞" if r == float("inf") else f"{r:.2g}×"
    return text + (" (loose: see note)" if c.get("loose_because") else "")


def _ledger_table(app: Sphinx, fromdoc: str) -> list[nodes.Node]:
    from dlscience.claims import Claim

    env = app.env
    runs = _paper_runs()
    rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for doc in _toc_order(env):
        run = runs.get(doc)
        paper = {c["name"]: {**c, "current": run["current"]} for c in run["claims"]} if run else {}
        rows.extend((doc, c, paper.get(c["name"])) for c in _claims_of(env, doc))
    with_paper = any(p is not None for _, _, p in rows)
    headers = ["Chapter", "Claim", "Measured", "Bound", "Seen over seeds", "Room"]
    if with_paper:
        headers.append("Paper scale")
    table, body = _table(headers, ["claims-ledger"])
    for doc, c, p in rows:
        link = _doc_link(app, fromdoc, doc)
        claim_cell = nodes.paragraph()
        claim_cell += nodes.literal(c["name"], c["name"])
        claim_cell += nodes.Text(" " + c["says"])
        if c.get("loose_because"):
            claim_cell += nodes.emphasis("", " Loose because: " + c["loose_because"])
        bound = Claim(**{k: (tuple(v) if k == "seen" and v else v) for k, v in c.items()})
        seen = c.get("seen")
        seen_text = (f"[{_fmt(seen[0])}, {_fmt(seen[1])}] ({c.get('seeds')} seeds)" if seen
                     else ("deterministic" if c.get("exact") else ""))
        measured = _fmt(c["measured"]) + ("" if c.get("holds", True) else " (fails)")
        cells = [link, claim_cell, nodes.Text(measured), nodes.Text(bound.bound_text()),
                 nodes.Text(seen_text), nodes.Text(_room_text(c))]
        if with_paper:
            cells.append(nodes.Text(_paper_text(p, bound.bound_text())))
        body += _row(cells)
    docs = {d for d, _, _ in rows}
    exact = sum(1 for _, c, _ in rows if c.get("exact"))
    summary = nodes.paragraph(text=(
        f"This build checked {len(rows)} claims on {len(docs)} pages "
        f"({exact} deterministic, {len(rows) - exact} measured over seeds), at the "
        f"{rows[0][1]['scale'] if rows else 'ci'} scale with seed offset "
        f"{rows[0][1]['seed_offset'] if rows else 0}; every one of them holds, or the build "
        "would have stopped."))
    return [summary, table, *_paper_table(app, fromdoc, runs, rows)]


def _paper_text(p: dict[str, Any] | None, ci_bound: str) -> str:
    """A claim's paper-scale value: its bound when that differs from the ``ci`` one, whether it
    fails, and a dagger when the run was made with an earlier version of the page."""
    if p is None:
        return ""
    text = _fmt(p["measured"])
    if p.get("bound") and p["bound"] != ci_bound:
        text += f" (bound {p['bound']})"
    if not p.get("holds", True):
        text += " (fails)"
    return text + ("" if p.get("current") else " †")


def _paper_table(app: Sphinx, fromdoc: str, runs: dict[str, dict[str, Any]],
                 rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]]
                 ) -> list[nodes.Node]:
    """One row per executed page: its paper-scale run, or that it has none yet."""
    docs: list[str] = []
    for doc, _, _ in rows:
        if doc not in docs:
            docs.append(doc)
    if not docs:
        return []
    done = [d for d in docs if d in runs and runs[d]["ok"]]
    intro = nodes.paragraph(text=(
        f"Paper-scale runs. {len(done)} of the {len(docs)} executed pages have been run "
        "at the scale of the original papers with `make paper` (values collected by "
        "scripts/paper_summary.py in results/paper-summary.json, which is committed with the "
        "book). A dagger (†) marks a value measured with an earlier version of its page; the "
        "page has changed since, so the value may not be what the page would give today. A "
        "bound in the paper column is the one the page checks at that scale when it differs "
        "from the ci bound (some bounds are written in terms of the sizes)."))
    headers = ["Chapter", "Claims (ci)", "Paper-scale run", "Claims holding at paper"]
    table, body = _table(headers, ["claims-ledger", "paper-runs"])
    for doc in docs:
        link = _doc_link(app, fromdoc, doc)
        n_ci = sum(1 for d, _, _ in rows if d == doc)
        run = runs.get(doc)
        if run is None:
            status, held = "not yet run", ""
        else:
            seconds = run.get("seconds")
            status = (f"{seconds:,.0f} s" if seconds is not None else "no time recorded")
            status += f" ({run['finished']}"
            threads = run.get("blas_threads")
            status += (f", {threads} BLAS thread{'' if threads == '1' else 's'})" if threads
                       else ")")
            if not run["ok"]:
                cell = run.get("failed_cell")
                status = (f"stopped at cell {cell}" if cell else "did not finish") + f", {status}"
            if not run["current"]:
                status += " †"
            held = f"{sum(c['holds'] for c in run['claims'])} of {len(run['claims'])}"
        body += _row([link, nodes.Text(str(n_ci)), nodes.Text(status), nodes.Text(held)])
    return [intro, table]


def _table(headers: list[str], classes: list[str]) -> tuple[nodes.table, nodes.tbody]:
    """An empty table with one header row; rows go into the returned body."""
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row([nodes.Text(h) for h in headers])
    body = nodes.tbody()
    group += body
    return table, body


def _doc_link(app: Sphinx, fromdoc: str, doc: str) -> nodes.reference:
    """A link from ``fromdoc`` to ``doc``, labelled with its title."""
    title = app.env.titles[doc].astext() if doc in app.env.titles else doc
    return nodes.reference("", title, internal=True,
                           refuri=app.builder.get_relative_uri(fromdoc, doc))


def _row(cells: list[nodes.Node]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.paragraph) else nodes.paragraph("", "", cell)
        row += entry
    return row


def _fill_ledger(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(claims_ledger)):
        node.replace_self(_ledger_table(app, docname))


def _ledger_outdated(app: Sphinx, env: Any, added: set[str], changed: set[str],
                     removed: set[str]) -> list[str]:
    """The Claims page is re-read (hence re-rendered) on every build."""
    return sorted(getattr(env, "dlscience_ledger_docs", set()) & set(env.found_docs))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_css_file("dlscience.css")
    app.add_node(claims_ledger)
    app.add_directive("claims-ledger", ClaimsLedgerDirective)
    app.connect("doctree-resolved", _fill_ledger)
    app.connect("env-get-outdated", _ledger_outdated)
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("env-get-outdated", _env_get_outdated)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
