"""Internal links and anchors of the built site all resolve (external ones: links.yml)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

pytestmark = pytest.mark.build


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag in ("a", "link") and a.get("href"):
            self.hrefs.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.hrefs.append(a["src"])


def test_internal_links_and_anchors_resolve(built_book: Path):
    pages = {p: _Links() for p in built_book.rglob("*.html")
             if "_static" not in p.relative_to(built_book).parts}
    for path, parser in pages.items():
        parser.feed(path.read_text())
    broken = []
    for path, parser in pages.items():
        for href in parser.hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(built_book)} -> {href}")
                continue
            if url.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if url.fragment not in ids:
                    broken.append(f"{path.relative_to(built_book)} -> {href} (no anchor)")
    assert not broken, "\n".join(broken[:50])
