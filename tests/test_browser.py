"""The built book as a reader's browser sees it: headless Chromium driven by Playwright.

Serves _build/html on localhost and checks every page of the toc: no console errors, no failed
local requests, math typeset, images loaded, no tracebacks, launch/download/repository buttons,
collapsible solutions, search, dark mode. Needs a Chromium binary: Debian's `chromium` (installed
by `make test`), or one named by $CHROMIUM. Without one the suite fails; it never skips.
"""

from __future__ import annotations

import functools
import http.server
import socketserver
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from conftest import ROOT, executable_pages, toc_files  # noqa: F401 (browser: conftest)
from test_book_setup import _published_notebook_branch

pytestmark = [pytest.mark.browser, pytest.mark.build]

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site(built_book: Path):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()


def _open(page, url: str):
    """Load url; return (console errors, failed local requests)."""
    errors: list[str] = []
    failed: list[str] = []
    host = urlparse(url).netloc
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed",
            lambda r: failed.append(r.url) if urlparse(r.url).netloc == host else None)
    page.on("response",
            lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and urlparse(r.url).netloc == host else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return errors, failed


def _repo_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


@pytest.mark.parametrize("doc", toc_files())
def test_page_renders_cleanly(page, site, doc):
    errors, failed = _open(page, f"{site}/{doc}.html")
    assert not errors, f"{doc}: console errors {errors}"
    assert not failed, f"{doc}: failed local requests {failed}"
    if page.locator("span.math, div.math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, f"{doc}: math not typeset"
    body = page.inner_text("article")
    assert "$$" not in body, f"{doc}: raw $$ left in the text"
    broken = page.evaluate("""() => Array.from(document.images)
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)""")
    assert not broken, f"{doc}: images not loaded {broken}"
    outputs = " ".join(page.locator(".cell_output").all_inner_texts())
    assert "Traceback" not in outputs, f"{doc}: traceback in an output"


@pytest.mark.parametrize("doc", executable_pages())
def test_launch_download_and_repository_buttons(page, site, doc):
    _open(page, f"{site}/{doc}.html")
    repo = _repo_url()
    owner_repo = urlparse(repo).path.strip("/")
    links = page.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.href)")
    binder = [u for u in links if "mybinder.org" in u]
    colab = [u for u in links if "colab.research.google.com" in u]
    assert binder and owner_repo in binder[0] and f"{doc}.md" in binder[0], binder
    assert colab and owner_repo in colab[0], colab
    assert colab[0].endswith(f"/blob/{_published_notebook_branch()}/{doc}.ipynb"), colab
    assert any(u.rstrip("/") == repo for u in links), "no repository button"
    assert any(u.startswith(repo + "/issues") for u in links), "no issue button"
    assert any(u.endswith(f"_sources/{doc}.ipynb") for u in links), "no notebook download"
    assert any(u.endswith(f"_sources/{doc}.md") for u in links), "no source download"


def test_solutions_are_collapsed_and_open_on_click(page, site):
    doc = next(d for d in executable_pages()
               if "{solution-start}" in (ROOT / f"{d}.md").read_text())
    _open(page, f"{site}/{doc}.html")
    solution = page.locator("details.solution, div.solution.dropdown").first
    assert solution.count() == 1, "no solution dropdown"
    body = solution.locator(".solution-content, section, p").last
    assert not body.is_visible(), "solution is open before a click"
    solution.locator("summary, .admonition-title").first.click()
    page.wait_for_timeout(500)
    assert body.is_visible(), "solution did not open on click"


@pytest.mark.parametrize("key", ["Enter", " "])
def test_solutions_open_from_the_keyboard(page, site, key):
    """A reader without a mouse reaches a solution's toggle with Tab and opens it with a key."""
    doc = next(d for d in executable_pages()
               if "{solution-start}" in (ROOT / f"{d}.md").read_text())
    _open(page, f"{site}/{doc}.html")
    solution = page.locator("details.solution, div.solution.dropdown").first
    body = solution.locator(".solution-content, section, p").last
    assert not body.is_visible(), "solution is open before a key press"
    toggle = solution.locator("summary, button.toggle-button").first
    assert toggle.count() == 1, "the solution's toggle is not a focusable button or summary"
    toggle.focus()
    assert page.evaluate("() => document.activeElement.matches('summary, button')")
    page.keyboard.press(key)
    page.wait_for_timeout(500)
    assert body.is_visible(), f"solution did not open with {key!r}"


def test_search_finds_a_word_from_a_chapter(page, site):
    _open(page, f"{site}/search.html?q=perceptron")
    page.wait_for_selector("#search-results li", timeout=20_000)
    hits = page.locator("#search-results li").all_inner_texts()
    assert any("learnable programs" in h.lower() for h in hits), hits


def test_dark_mode_switch_and_readable_figures(page, site):
    _open(page, f"{site}/book/part1/learnable-programs.html")
    assert page.evaluate("document.documentElement.dataset.theme") in ("light", "auto", "")
    page.evaluate("() => document.documentElement.dataset.theme = 'light'")
    for _ in range(3):
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        page.locator(".theme-switch-button").first.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background
    # Figures are drawn on an opaque white background, so dark text on them stays readable.
    alphas = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output img'))
        .map(img => { const c = document.createElement('canvas');
                      c.width = img.naturalWidth; c.height = img.naturalHeight;
                      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                      return g.getImageData(1, 1, 1, 1).data; })
        .map(d => [d[0], d[1], d[2], d[3]])""")
    assert alphas, "no figures on the page"
    for r, g, b, a in alphas:
        assert a == 255 and min(r, g, b) > 240, (r, g, b, a)


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@pytest.mark.parametrize("doc", toc_files())
def test_page_is_accessible_and_math_fits(browser, site, doc):
    """axe-core (WCAG 2.1 A/AA rules) finds no serious or critical violation, no display equation
    is wider than the text column at a 1300 px window, and nothing is fetched from outside."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    failed: list[str] = []

    def only_local(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_local)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{site}/{doc}.html", wait_until="networkidle")
    if page.locator("span.math, div.math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
    page.evaluate(_axe_source())
    result = page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    clipped = page.evaluate("""() => {
        const article = document.querySelector('article').getBoundingClientRect();
        return Array.from(document.querySelectorAll('mjx-container[display="true"]'))
          .filter(m => { const box = m.getBoundingClientRect();
                         return box.right > article.right + 1 && m.scrollWidth <= m.clientWidth; })
          .map(m => m.textContent.slice(0, 60)); }""")
    page.wait_for_load_state("networkidle")
    context.close()
    assert not serious, f"{doc}: accessibility violations {serious}"
    assert not clipped, f"{doc}: display math cut off at the column's edge: {clipped}"
    assert not outside, f"{doc}: requests outside the site {outside[:5]}"
    assert not failed, f"{doc}: failed requests {failed}"


@pytest.mark.timeout(1200)
def test_the_book_prints_as_one_pdf(built_book: Path, site, page):
    """make pdf: every page of the toc in one PDF in the site, typeset, linked from the welcome."""
    import subprocess
    import sys

    from pypdf import PdfReader

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_pdf.py"),
                             "--site", str(built_book)], capture_output=True, text=True,
                            timeout=1100)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reader = PdfReader(built_book / "science-of-deep-learning.pdf")
    bookmarks = [item.title for item in reader.outline]
    docs = toc_files()
    assert len(bookmarks) == len(docs), f"{len(bookmarks)} bookmarks for {len(docs)} pages"
    assert len(reader.pages) >= 10 * len(executable_pages()), f"only {len(reader.pages)} pages"
    for doc in executable_pages():
        html = (built_book / f"{doc}.html").read_text()
        title = html.split("<h1>", 1)[1].split("<", 1)[0].strip()
        assert any(title in b for b in bookmarks), f"{doc}: chapter '{title}' not in the PDF"
    text = "".join(reader.pages[i].extract_text() for i in range(0, len(reader.pages), 7))
    raw = [t for t in ("$$", "\\frac", "\\begin{", "\\mathbb") if t in text]
    assert not raw, f"raw TeX in the PDF: {raw}"
    # The welcome page's link reaches the PDF on the served site.
    page.goto(f"{site}/book/intro.html")
    href = page.evaluate("() => Array.from(document.querySelectorAll('a'))"
                         ".map(a => a.href).find(u => u.endsWith('.pdf'))")
    assert href, "the welcome page has no link to the PDF"
    response = page.request.get(href)
    assert response.ok and response.body()[:5] == b"%PDF-", f"{href}: {response.status}"


def _has_display_math(doc: str) -> bool:
    """Whether a chapter's source holds display math. The API pages are generated by the build
    (book/api/ is ignored by git), so at collection time on a clean clone they do not exist yet;
    their math comes from docstrings, which the other browser tests check once built."""
    source = ROOT / f"{doc}.md"
    if not source.exists():
        return False
    text = source.read_text()
    return "$$" in text or "{math}" in text


@pytest.mark.parametrize("doc", [d for d in toc_files() if _has_display_math(d)])
def test_display_math_scrolls_on_a_phone(browser, site, doc):
    """At a phone's width (390 px) a display equation wider than the column scrolls inside its
    own box: none reaches past the column's edge, and every overflowing one can be scrolled."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{site}/{doc}.html", wait_until="networkidle")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=20_000)
    page.evaluate("() => MathJax.startup.promise")
    bad = page.evaluate("""() => {
        const article = document.querySelector('article').getBoundingClientRect();
        return Array.from(document.querySelectorAll('mjx-container[display="true"]'))
          .filter(m => { const box = m.getBoundingClientRect();
                         const style = getComputedStyle(m);
                         const scrolls = ['auto', 'scroll'].includes(style.overflowX);
                         return box.right > article.right + 1
                                || (m.scrollWidth > m.clientWidth + 1 && !scrolls); })
          .map(m => m.textContent.slice(0, 60)); }""")
    context.close()
    assert not bad, f"{doc}: display math cut off at 390 px: {bad}"
