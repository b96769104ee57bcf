"""The whole book as one PDF: build it as a single HTML page, then print that page with Chromium.

    python scripts/build_pdf.py [--out _build/pdf/book.pdf]    (make pdf)

Jupyter Book's own ``pdfhtml`` builder drives a Chromium that pyppeteer downloads at run time,
and ``pdflatex`` needs a TeX installation; this uses the Chromium the browser tests already
use (Debian's ``chromium`` or ``$CHROMIUM``) through Playwright, offline. Pages come from the
execution cache when ``make book`` ran before (nothing is executed twice); MathJax typesets every
formula before printing. Prints the number of pages written.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

#: Print layout: the text column only, no sidebars, buttons or hidden-cell toggles.
PRINT_CSS = """
.bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .bd-header-article, .bd-footer,
.header-article-items, .prev-next-area, .toggle-details, button, .headerlink {
  display: none !important;
}
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-container__inner { max-width: 100% !important; }
details.hide:not([open]) { display: none !important; }
h1 { break-before: page; }
"""


def chromium() -> str:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("No Chromium found: install Debian's `chromium` or set $CHROMIUM.")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def build_single_html(root: Path) -> Path:
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--builder",
           "singlehtml"]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=root, check=True)
    return root / "_build" / "singlehtml"


def print_pdf(site: Path, out: Path) -> int:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith("http://127.0.0.1") else route.abort())
            page.goto(url, wait_until="networkidle", timeout=300_000)
            page.wait_for_function("() => window.MathJax && MathJax.startup && "
                                   "MathJax.startup.promise", timeout=120_000)
            page.evaluate("() => MathJax.startup.promise")
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="pageNumber"></span></div>')
            browser.close()
        server.shutdown()
    import re

    counts = [int(m) for m in re.findall(rb"/Count (\d+)", out.read_bytes())]
    return max(counts, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    parser.add_argument("--skip-build", action="store_true",
                        help="print an existing _build/singlehtml")
    args = parser.parse_args(argv)
    site = ROOT / "_build" / "singlehtml" if args.skip_build else build_single_html(ROOT)
    pages = print_pdf(site, args.out.resolve())
    print(f"wrote {args.out} ({pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
