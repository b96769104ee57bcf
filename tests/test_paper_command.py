"""The command that runs pages outside the book build (`make paper`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

HEADER = ("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
          "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n")

PAGE = HEADER + """# Scales

```{code-cell} ipython3
from dataclasses import dataclass
from dlscience.runtime import Scaled, get_scale, glue

@dataclass(frozen=True)
class S:
    n: int

size = Scaled(ci=S(n=3), paper=S(n=30)).pick()
glue("n", size.n)
glue("scale", get_scale())
```

```{code-cell} ipython3
:tags: [remove-cell]
assert size.n < LIMIT, size.n
```
"""


def _run(tmp_path: Path, scale: str, limit: int) -> tuple[subprocess.CompletedProcess, Path]:
    page = tmp_path / "scales.md"
    page.write_text(PAGE.replace("LIMIT", str(limit)))
    out = tmp_path / "results"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale",
                             scale, "--out", str(out), str(page)],
                            capture_output=True, text=True, cwd=tmp_path)
    return result, out / scale / "scales"


def test_paper_scale_is_applied_and_results_written(tmp_path):
    result, out = _run(tmp_path, "paper", limit=100)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "glue.json").read_text()) == {"n": 30, "scale": "paper"}
    report = json.loads((out / "run.json").read_text())
    assert report["ok"] and report["scale"] == "paper" and len(report["cells"]) == 2
    assert (out / "scales.ipynb").exists()
    assert "cell 2/2" in result.stdout


def test_failing_hidden_check_fails_the_command(tmp_path):
    result, out = _run(tmp_path, "paper", limit=10)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr
    assert json.loads((out / "run.json").read_text())["ok"] is False


def test_wrong_scale_is_refused(tmp_path):
    result, _ = _run(tmp_path, "huge", limit=10)
    assert result.returncode != 0 and "--scale must be one of" in result.stderr
