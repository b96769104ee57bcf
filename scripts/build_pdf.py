"""The whole book as one PDF, printed page by page from the built HTML book.

    python scripts/build_pdf.py [--site _build/html] [--out FILE]    (make pdf)

The PDF is written into the site, ``_build/html/science-of-deep-learning.pdf``, where the welcome
page links to it (and GitHub Pages publishes it with the site).

Each page of ``_toc.yml`` is opened from the built site (``make book`` first: nothing is executed
again) in the headless Chromium of the browser tests (``scripts/chromium.py``), offline: only
requests to the local server are allowed. MathJax typesets the page, the solutions are opened,
the navigation is hidden, and Chromium prints it; the pages are then merged with ``pypdf``, with
one bookmark per page of the toc. Printing page by page keeps each MathJax run small: printing the
book as one single HTML page took over ten minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import socketserver
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import booktoc  # noqa: E402
import chromium  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

#: Print layout: the text column only; no sidebars, header, buttons, prev/next links or toggles.
PRINT_CSS = """
.bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .bd-header-article, .bd-footer,
.bd-footer-article, .bd-footer-content, .header-article-items, .prev-next-area, .toggle-details,
button, .headerlink, .search-button-field, #pst-back-to-top, .skip-link {
  display: none !important;
}
.bd-main .bd-content .bd-article-container, .bd-container__inner, .bd-page-width,
.bd-article { max-width: 100% !important; }
details.hide:not([open]) { display: none !important; }
mjx-container[display="true"] { overflow: visible !important; }
"""

#: Solutions are toggled by sphinx-togglebutton: show them in print.
OPEN_SOLUTIONS = """() => {
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details:not(.hide)').forEach(d => { d.open = true; });
}"""

MARGINS = {"top": "16mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}
#: Each page is printed on its own, so Chromium's page numbers would restart at every chapter:
#: the footer names the chapter and the PDF viewer numbers the pages.
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#444">'
          '<span class="title"></span></div>')
PDF_NAME = "science-of-deep-learning.pdf"



class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _print_page(page, url: str) -> tuple[bytes, str]:
    """Open one page of the site, typeset it and print it; return (PDF bytes, its title)."""
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    if page.locator("span.math, div.math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=60_000)
        page.evaluate("() => MathJax.startup.promise")
    page.evaluate(OPEN_SOLUTIONS)
    page.add_style_tag(content=PRINT_CSS)
    title = page.locator("article h1").first.inner_text().strip().rstrip("#").strip()
    pdf = page.pdf(format="A4", print_background=True, margin=MARGINS,
                   display_header_footer=True, header_template="<span></span>",
                   footer_template=FOOTER)
    return pdf, title


def build_pdf(site: Path, out: Path, docs: list[str] | None = None) -> dict[str, object]:
    """Print ``docs`` (default: every page of the toc) from ``site`` into one PDF at ``out``.

    Returns a summary: the number of PDF pages, the titles bookmarked and the seconds taken.
    """
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    site = site.resolve()
    if not (site / "index.html").exists():
        raise SystemExit(f"No built book in {site}: run `make book` first.")
    browser_path = chromium.find()
    if browser_path is None:
        raise SystemExit(f"No Chromium found: {chromium.INSTALL_HINT}.")
    docs = booktoc.toc_files(ROOT) if docs is None else docs
    missing = [d for d in docs if not (site / f"{d}.html").exists()]
    if missing:
        raise SystemExit(f"Pages of the toc missing from {site}: {missing}")

    start = time.perf_counter()
    writer = PdfWriter()
    titles: list[str] = []
    handler = functools.partial(_Quiet, directory=str(site))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith(base) else route.abort())
            for doc in docs:
                pdf, title = _print_page(page, f"{base}/{doc}.html")
                first = len(writer.pages)
                for pdf_page in PdfReader(io.BytesIO(pdf)).pages:
                    writer.add_page(pdf_page)
                writer.add_outline_item(title, first)
                titles.append(title)
                print(f"  {doc}: {len(writer.pages) - first} pages", flush=True)
            browser.close()
        server.shutdown()
    writer.add_metadata({"/Title": titles[0] if titles else "", "/Creator": "scripts/build_pdf.py"})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)
    return {"pages": len(writer.pages), "titles": titles,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, help=f"default: SITE/{PDF_NAME}")
    args = parser.parse_args(argv)
    args.out = args.out or args.site / PDF_NAME
    summary = build_pdf(args.site, args.out)
    size = args.out.stat().st_size / 2**20
    print(f"wrote {args.out}: {summary['pages']} pages, {len(summary['titles'])} toc entries, "
          f"{size:.1f} MiB, {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
