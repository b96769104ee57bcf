"""Launches: a page runs the way Colab runs it, and opens as a notebook the way Binder opens it.

* Colab: ``scripts/launch_check.py`` makes a fresh environment with only Colab's preinstalled
  stack plus ``pip install .`` of the working tree, converts pages with the publish workflow's
  command and executes them. Here: the set-up cell of every page, and one whole MNIST-1D chapter
  (``make launch-check`` runs every page whole).
* Binder: JupyterLab from this environment, configured with ``binder/overrides.json`` exactly as
  ``binder/postBuild`` configures Binder's, opens the Binder button's path to a chapter and must
  show a notebook with code cells, not a text editor.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from conftest import ROOT, executable_pages

pytestmark = pytest.mark.launch

LAUNCH = ROOT / "_build" / "launch"
MNIST1D_PAGE = "book/part3/random-labels.md"


@pytest.fixture(scope="module")
def launch_env() -> Path:
    """A fresh launch environment, created once for this module."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "launch_check.py"),
                             "--setup-only", "--report", str(LAUNCH / "setup-report.json")],
                            cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return LAUNCH / "venv"


def test_setup_cell_of_every_page_runs_after_pip_install(launch_env: Path):
    report = json.loads((LAUNCH / "setup-report.json").read_text())
    pages = {f"{p}.md" for p in executable_pages()}
    assert set(report["pages"]) == pages
    assert all(r["ok"] for r in report["pages"].values()), report


def test_an_mnist1d_chapter_runs_whole_after_pip_install(launch_env: Path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "launch_check.py"),
                             "--reuse", "--report", str(LAUNCH / "mnist1d-report.json"),
                             MNIST1D_PAGE], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((LAUNCH / "mnist1d-report.json").read_text())
    assert report["pages"][MNIST1D_PAGE]["ok"]


def test_package_does_not_need_the_build_tools():
    """glue() works without myst-nb (a plain process here: not a kernel, nothing to embed)."""
    code = ("import sys; sys.modules['myst_nb'] = None\n"
            "from dlscience.runtime import glue, GLUED\n"
            "from dlscience.claims import claim\n"
            "glue('x', 1.5); claim('x-holds', 1.5, lo=1, says='x is at least 1', exact=True)\n"
            "assert GLUED['x'] == 1.5 and 'claim__x-holds' in GLUED\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binder_urlpath(doc: str) -> str:
    """The path the book's Binder button opens (Jupyter Book: ``urlpath=<interface>/tree/...``)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    interface = config["launch_buttons"]["notebook_interface"]
    prefix = {"jupyterlab": "lab/tree", "classic": "tree"}[interface]
    return f"{prefix}/{doc}.md"


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """JupyterLab from this environment, with Binder's settings (as binder/postBuild installs)."""
    settings = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "binder" / "overrides.json", settings / "overrides.json")
    port = _free_port()
    config_dir = tmp_path_factory.mktemp("jupyter-config")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config_dir))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=", "--ServerApp.open_browser=False",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("jupyter lab did not start: " + proc.stdout.read().decode()[-3000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.browser
def test_binder_path_opens_a_chapter_as_a_notebook(jupyter_lab: str, browser):
    doc = "book/part2/gradient-descent"
    context = browser.new_context()
    if True:  # one Playwright session per test run: the browser fixture of conftest.py
        page = context.new_page()
        outside: list[str] = []

        def only_local(route):
            if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        page.route("**/*", only_local)
        page.goto(f"{jupyter_lab}/{_binder_urlpath(doc)}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=90_000)
        # JupyterLab renders only the cells in view: the first ones are the title and set-up.
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell "
            ".cm-content')).some(e => e.textContent.includes('import'))", timeout=30_000)
        code = " ".join(page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content")
                        .all_text_contents())
        title = " ".join(page.locator(".jp-NotebookPanel .jp-MarkdownCell").all_text_contents())
        context.close()
    assert "import dlscience" in code, code
    assert "Gradient descent" in title, title
