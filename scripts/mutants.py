"""Mutation testing of ``lib/dlscience`` with mutmut: ``make mutants`` (outside ``make test``).

    python scripts/mutants.py run [MUTANT NAMES...]     generate mutants and run the tests on them
    python scripts/mutants.py results                   list the survivors
    python scripts/mutants.py score                     the killed share per module (a table)
    python scripts/mutants.py recheck MODULE [TESTS...]  rerun the last run's survivors of MODULE
                                                        against the tests as they are now
    python scripts/mutants.py recheck MODULE --mutants GLOB [TESTS...]
                                                        the same for every mutant whose name matches
                                                        GLOB (e.g. 'dlscience.mdp.x_q_iteration*'),
                                                        checked in the last run or not

mutmut copies the project into ``mutants/`` and plants one small bug at a time (an operator
flipped, a constant changed, a call dropped); a mutant is *killed* when some test fails. It only
knows the ``src/`` and flat layouts, so this wrapper puts ``mutants/lib`` first on the path and
drops the editable install's ``lib`` before handing over to mutmut. The configuration
(``[tool.mutmut]`` in ``pyproject.toml``) selects the modules and the tests.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _isolate() -> None:
    lib = (ROOT / "lib").resolve()
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != lib]
    mutated = ROOT / "mutants" / "lib"
    # It must exist before the first import: the path importer caches a missing folder as None.
    mutated.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(mutated))


def score(threshold: float = 0.85) -> int:
    """Print, per module, the share of checked mutants the tests caught; exit 1 below threshold.

    Caught: killed (a test failed) or timed out (a planted infinite loop). Survived or with no
    test covering it: not caught. Mutants not run yet (``make mutants MUTATE=...``) are left out.
    """
    from mutmut.stats import status_by_exit_code

    rows = []
    for meta in sorted((ROOT / "mutants" / "lib").rglob("*.py.meta")):
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {}).values()
        status = Counter(status_by_exit_code[c] for c in codes)
        checked = sum(status.values()) - status["not checked"]
        if checked == 0:
            continue
        caught = status["killed"] + status["timeout"] + status["caught by type check"]
        rows.append((meta.name.removesuffix(".py.meta"), caught, checked, caught / checked))
    print(f"{'module':<16} {'caught':>7} {'checked':>8} {'score':>7}")
    for module, caught, checked, share in rows:
        print(f"{module:<16} {caught:>7} {checked:>8} {share:>7.1%}")
    return 0 if rows and min(r[3] for r in rows) >= threshold else 1


def recheck(module: str, tests: list[str], timeout: float = 300.0,
            pattern: str | None = None) -> int:
    """Run the survivors of ``module``'s last mutant run against ``tests`` (files or node ids).

    With ``pattern`` (a glob on mutant names), run every generated mutant of ``module`` that
    matches it instead, whether the last run checked it or not.

    A quick loop for writing tests: no regeneration of the mutants and no stats run, one forked
    pytest per survivor (the parent has imported the module and its dependencies once). It
    reads ``mutants/`` and never writes it, so it can run beside an editor; ``make mutants``
    gives the score. Prints the survivors the tests still miss; exits 1 if there are any.
    """
    import signal
    import time

    meta = ROOT / "mutants" / "lib" / "dlscience" / f"{module}.py.meta"
    if not meta.exists():
        raise SystemExit(f"no mutants of {module!r} yet: run make mutants MUTATE={module} first")
    from mutmut.stats import status_by_exit_code

    codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
    if pattern is None:
        survivors = [k for k, c in codes.items()
                     if status_by_exit_code[c] in ("survived", "no tests")]
    else:
        import fnmatch

        survivors = [k for k in codes if fnmatch.fnmatchcase(k, pattern)]
        if not survivors:
            raise SystemExit(f"no mutant of {module!r} matches {pattern!r}")
    tests = tests or [f"tests/test_{module}.py"]
    import importlib

    import pytest
    from mutmut.mutation.trampoline import set_mutant_under_test

    importlib.import_module(f"dlscience.{module}")
    missed = []
    for name in survivors:
        pid = os.fork()
        if pid == 0:  # the child: one pytest run with this mutant switched on
            set_mutant_under_test(name)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            rc = pytest.main([*tests, "-x", "-q", "--no-header", "-p", "no:cacheprovider",
                              "-o", "addopts=", "-p", "no:randomly"])
            os._exit(int(rc))
        start = time.monotonic()
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                rc = -1  # a timeout counts as caught, as in mutmut
                break
            time.sleep(0.05)
        if rc == 0:
            missed.append(name)
        print(f"{'survives' if rc == 0 else 'caught  '} {name}", flush=True)
    what = "survivors" if pattern is None else f"mutants matching {pattern}"
    print(f"\n{module}: {len(survivors) - len(missed)} of {len(survivors)} {what} now caught")
    for name in missed:
        print("  still survives:", name)
    return 1 if missed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    if sys.argv[1:2] == ["score"]:
        raise SystemExit(score())
    if sys.argv[1:2] == ["recheck"]:
        if len(sys.argv) < 3:
            raise SystemExit("usage: scripts/mutants.py recheck MODULE [TESTS...]")
        args, pattern = sys.argv[3:], None
        if "--mutants" in args:
            at = args.index("--mutants")
            if at + 1 >= len(args):
                raise SystemExit("--mutants needs a glob, e.g. 'dlscience.mdp.x_q_iteration*'")
            pattern = args[at + 1]
            del args[at:at + 2]
        _isolate()
        raise SystemExit(recheck(sys.argv[2], args, pattern=pattern))
    _isolate()
    import mutmut.__main__ as mutmut_main
    from mutmut.mutation import file_mutation
    from mutmut.utils import format_utils

    plain = format_utils.get_mutant_name

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        """mutmut names lib/dlscience/x.py ``lib.dlscience.x``; the import name has no ``lib.``."""
        parts = Path(relative_source_path).parts
        if parts[:1] == ("lib",):
            relative_source_path = Path(*parts[1:])
        return plain(relative_source_path, mutant_method_name)

    for module in (format_utils, file_mutation, mutmut_main):
        module.get_mutant_name = get_mutant_name
    mutmut_main.cli()
