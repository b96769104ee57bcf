"""Find the Chromium the browser tests drive: the one home of its name.

    python scripts/chromium.py     prints the binary's path, or exits 1 if there is none

``$CHROMIUM`` wins if set; otherwise the first of :data:`CANDIDATES` on the ``PATH`` (Debian's
``chromium`` package, which ``make test`` installs, or Google Chrome as on GitHub's runners).
"""

from __future__ import annotations

import os
import shutil
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = ("install Debian's `chromium` package (`make test` does it: apt-get install "
                "chromium) or set $CHROMIUM to a Chromium or Chrome binary")


def find() -> str | None:
    """The path of the browser to use, or ``None``."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


if __name__ == "__main__":
    path = find()
    if path is None:
        print(f"No Chromium found: {INSTALL_HINT}.", file=sys.stderr)
        raise SystemExit(1)
    print(path)
