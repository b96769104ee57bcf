"""Measure the spread of a page's claims over seeds, to set (or audit) their tolerances.

    python scripts/claim_spread.py PAGE.md [--offsets 0 1 2 3 4] [--scale ci] [--jobs 2]

Runs the page once per seed offset (``BOOK_SEED_OFFSET``; offset k shifts every seed by 1000 k)
with ``BOOK_CLAIMS=record``, so that a claim that fails for some seed is recorded instead of
stopping the page, then prints for every claim: the values measured at each offset, their range
(what to write as ``seen=(min, max), seeds=N``), the current bound and its room, and whether it
held at every offset. The runs land under ``<out>/<scale>-seed<k>/`` (default ``/tmp/spread``).
Exits non-zero if some claim failed at some offset.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(page: Path, scale: str, offset: int, out: Path) -> tuple[int, str]:
    env = dict(os.environ, BOOK_CLAIMS="record")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_pages.py"), "--scale", scale,
         "--seed-offset", str(offset), "--out", str(out), "--force", str(page)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    return result.returncode, result.stdout[-2000:] + result.stderr[-4000:]


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "lib"))
    from dlscience.claims import LOOSE_ROOM, audit, room

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--offsets", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--scale", default="ci", choices=["ci", "paper"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/spread"))
    args = parser.parse_args(argv)
    page = args.page.resolve()
    rel = page.relative_to(ROOT).with_suffix("")
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda k: _run(page, args.scale, k, args.out), args.offsets))
    values: dict[str, dict[int, dict]] = {}
    order: list[str] = []
    failed_runs = []
    for k, (code, log) in zip(args.offsets, runs):
        path = args.out / (args.scale if k == 0 else f"{args.scale}-seed{k}") / rel / "claims.json"
        if code != 0:
            failed_runs.append(k)
            print(f"--- offset {k}: the page did not run to the end ---\n{log}", file=sys.stderr)
        if not path.exists():
            continue
        for c in json.loads(path.read_text()):
            if c["name"] not in values:
                order.append(c["name"])
            values.setdefault(c["name"], {})[k] = c
    bad = 0
    for name in order:
        runs_of = values[name]
        ms = [runs_of[k]["measured"] for k in args.offsets if k in runs_of]
        c = next(iter(runs_of.values()))
        held = all(r["holds"] for r in runs_of.values())
        bad += not held
        lo, hi = min(ms), max(ms)
        r = room(c["lo"], c["hi"], (lo, hi))
        flag = "" if held else "   <-- FAILS at some offset"
        explained = c.get("loose_because")
        if len(set(ms)) == 1 and len(ms) > 1 and not c.get("exact"):
            if explained:  # e.g. an attack that succeeds on every example at every seed
                flag += "   (same value at every offset; loose_because given)"
            else:
                flag += "   <-- same value at every offset: the seed offset does not reach it"
                bad += 1
        if r is not None and r > LOOSE_ROOM and not c.get("exact"):
            flag += (f"   (room {r:.3g}; loose_because given)" if explained else
                     f"   <-- room {r:.3g} > {LOOSE_ROOM:g}: tighten or give loose_because")
        print(f"{name}: {c['says']}")
        print(f"    bound [{c['lo']}, {c['hi']}]   values {', '.join(f'{m:.6g}' for m in ms)}")
        room_text = "none" if r is None else f"{r:.3g}"
        print(f"    seen=({lo:.6g}, {hi:.6g}), seeds={len(ms)}   room {room_text}{flag}")
    # The ledger's own audit, on the evidence the page declares (seen=, seeds=): what the
    # build's test_build checks, so a declared bound too loose for its spread shows up here.
    declared = [next(iter(values[name].values())) for name in order]
    problems = audit(declared)
    for problem in problems:
        print(f"audit: {problem}")
    bad += len(problems)
    print(f"{len(order)} claims, {bad} failed at some offset or the audit; offsets {args.offsets}"
          + (f"; runs that stopped early: {failed_runs}" if failed_runs else ""))
    return 1 if bad or failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
