"""The pages of the book, read from ``_toc.yml`` (shared by the scripts and the tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page listed in ``_toc.yml``, root first, as paths without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    walk(toc.get("chapters", []))  # a toc without parts lists its chapters at the top level
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def executable_pages(root: Path = ROOT) -> list[Path]:
    """Every page of the toc that has code cells, in toc order."""
    pages = [root / f"{f}.md" for f in toc_files(root)]
    return [p for p in pages if p.exists() and "```{code-cell}" in p.read_text()]
