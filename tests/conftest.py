"""Shared fixtures: the built book (one full build per test session)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import booktoc  # noqa: E402
import chromium  # noqa: E402  (scripts/chromium.py)
from book_setup import build_command  # noqa: E402


def toc_files() -> list[str]:
    """Every page listed in _toc.yml (paths without suffix, relative to the root)."""
    return booktoc.toc_files(ROOT)


def executable_pages() -> list[str]:
    return [str(p.relative_to(ROOT).with_suffix("")) for p in booktoc.executable_pages(ROOT)]


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the whole book once, as the README's `make book` does, and return _build/html.

    ``--all`` makes Sphinx re-read every page (so warnings from unchanged pages are not hidden),
    while the execution cache is reused. Set BOOK_SKIP_BUILD=1 to test an existing build.
    """
    if os.environ.get("BOOK_SKIP_BUILD") != "1":
        # As `make book`: pages are executed in parallel first; the build then renders from cache
        # (and re-executes any page that failed there, reporting its failing cell).
        subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_parallel.py")], cwd=ROOT)
        cmd = build_command(ROOT, "--all")
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"book build failed (exit {result.returncode}):\n"
                        f"{result.stdout[-8000:]}\n{result.stderr[-8000:]}")
    assert (HTML / "index.html").exists(), "no built book in _build/html"
    return HTML


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    found = chromium.find()
    if found is None:
        pytest.fail(f"No Chromium found for the browser tests: {chromium.INSTALL_HINT}.")
    return found


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
