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
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_BRANCH = "notebooks"


def lib_hash(root: Path = ROOT) -> str:
    """A short hash of every file under ``lib/`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((root / "lib").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_path(base: str | Path, root: Path = ROOT) -> Path:
    """The execution-cache folder for the current ``lib/``: ``<base>/lib-<hash>``."""
    return Path(base) / f"lib-{lib_hash(root)}"


def _mathjax_source() -> Path:
    import mathjax  # provided by the django-static-mathjax wheel

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _config_inited(app: Sphinx, config: Any) -> None:
    config.mathjax_path = "mathjax/tex-mml-chtml.js"
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


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "tex-mml-chtml.js").exists():
        shutil.copytree(_mathjax_source(), target, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("env-get-outdated", _env_get_outdated)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
