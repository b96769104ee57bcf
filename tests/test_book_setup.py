"""Unit tests of the Sphinx extension book/_ext/book_setup.py (no build needed)."""

from __future__ import annotations

import re
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_setup  # noqa: E402


def _published_notebook_branch() -> str:
    """The branch the workflow pushes the converted notebooks to."""
    text = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    match = re.search(r"HEAD:([\w./-]+)", text)
    assert match, "book.yml no longer pushes a notebooks branch"
    return match.group(1)


def test_colab_button_points_to_the_published_notebook():
    base = "https://colab.research.google.com/github/o/r/blob/main/book/part1/backprop"
    binder = "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/part1/backprop.md"
    context = {"header_buttons": [{"buttons": [{"url": base + ".md"}, {"url": binder}]}]}
    book_setup._page_context(None, "book/part1/backprop", "page.html", context, None)
    urls = [b["url"] for b in context["header_buttons"][0]["buttons"]]
    branch = _published_notebook_branch()
    assert urls[0] == (f"https://colab.research.google.com/github/o/r/blob/{branch}/"
                       "book/part1/backprop.ipynb")
    assert urls[1] == binder  # Binder opens the MyST source itself


def test_thebe_assets_are_dropped():
    context = {"script_files": ["_static/thebe.js", "_static/a.js"], "css_files": ["b.css"]}
    book_setup._page_context(None, "p", "page.html", context, None)
    assert context["script_files"] == ["_static/a.js"] and context["css_files"] == ["b.css"]
