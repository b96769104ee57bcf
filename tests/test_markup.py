"""Static checks of the pages' MyST source that the build does not catch."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MARKER = re.compile(r"^\s*([-+*]|\d+[.)])\s")


def list_markers_inside_inline_math(text: str) -> list[int]:
    """Lines that continue an open inline ``$...$`` and start like a list item (``- x``,
    ``+ x``, ``1. x``): Markdown starts a list there, the math is cut in two, and the page (and
    its PDF) shows raw TeX. Code and math blocks are skipped."""
    bad, fence, display, open_inline = [], None, False, False
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if fence is None and (s.startswith("```") or s.startswith("~~~")):
            fence = re.match(r"^(`{3,}|~{3,})", s).group(1)
            open_inline = False
            continue
        if fence is not None:
            if s == fence or (s.startswith(fence[0] * 3) and s.strip(fence[0]) == ""):
                fence = None
            continue
        if s.startswith("$$"):
            if s.count("$$") == 1:
                display = not display
            continue
        if display:
            continue
        if not s:
            open_inline = False
            continue
        if open_inline and _MARKER.match(line):
            bad.append(n)
        if re.sub(r"\\\$|\$\$", "", line).count("$") % 2:
            open_inline = not open_inline
    return bad


def test_the_scanner_finds_a_cut_formula():
    text = "The sum is $a\n- b$ and $c$.\n\n- a list item $x$\n"
    assert list_markers_inside_inline_math(text) == [2]
    assert list_markers_inside_inline_math("```{math}\na\n- b\n```\n$x -\nb$\n") == []


def test_no_inline_formula_is_cut_by_a_list_marker():
    bad = {str(p.relative_to(ROOT)): lines for p in sorted((ROOT / "book").rglob("*.md"))
           if (lines := list_markers_inside_inline_math(p.read_text()))}
    assert not bad, ("a line inside $...$ starts with a list marker (move the operator to the "
                     f"end of the line before): {bad}")
