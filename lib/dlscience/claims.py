"""The claims ledger: every quantitative claim of the book, checked and recorded.

A page never checks a result with a bare ``assert``. It calls :func:`claim`, which

1. checks the measured value against its bound and raises :class:`ClaimError` (an
   ``AssertionError``) naming the claim, the measured value and the bound when it fails, so the
   build stops and says what broke;
2. records the claim, its evidence and the scale it ran at in the executed page (a glued value
   named ``claim__<name>``), from which the back-matter page *Claims* builds one table of every
   claim the book makes, and ``make paper`` writes ``claims.json`` beside each page's results.

A bound is either ``expected`` with a tolerance (``rtol``, ``atol``) or an interval (``lo``,
``hi``; one side may be open). Its evidence is ``seen=(min, max)``, the range of the measured
value over ``seeds`` runs with different seeds (``scripts/claim_spread.py`` measures it), or
``exact=True`` for a deterministic computation whose tolerance only absorbs rounding.

The *room* of a claim is how far its bound lies beyond the values seen, in units of their
spread: ``max(seen_lo - lo, hi - seen_hi) / (seen_hi - seen_lo)``. A bound with room above
:data:`LOOSE_ROOM` asserts much less than the evidence supports and needs a stated reason
(``loose_because=...``); :func:`audit` lists the claims that lack one.

Example::

    claim("gd-rate-k100", rate, expected=theory, rtol=0.002,
          seen=(0.99991, 1.0012), seeds=8,
          says="GD with step 2/(L+mu) contracts at (kappa-1)/(kappa+1)")
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["ClaimError", "Claim", "claim", "recorded", "audit", "room", "LOOSE_ROOM",
           "MIN_SEEDS", "GLUE_PREFIX", "MODE_ENV", "from_glue"]

#: A bound more than this many observed spreads beyond the values seen needs a stated reason.
LOOSE_ROOM = 5.0
#: The fewest seeds a claim's observed spread may come from.
MIN_SEEDS = 5
#: Prefix of the glued value that records a claim in the executed page.
GLUE_PREFIX = "claim__"
#: ``BOOK_CLAIMS=record`` records claims without raising (used by ``scripts/claim_spread.py``
#: to measure the spread of a claim over seeds, including seeds where it fails).
MODE_ENV = "BOOK_CLAIMS"

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ledger: dict[str, Claim] = {}


class ClaimError(AssertionError):
    """A claim of the book did not hold: the measured value lies outside its bound."""


@dataclass(frozen=True)
class Claim:
    """One checked claim: what it says, what was measured, the bound and the evidence."""

    name: str
    says: str
    measured: float
    lo: float | None
    hi: float | None
    expected: float | None = None
    rtol: float = 0.0
    atol: float = 0.0
    seen: tuple[float, float] | None = None
    seeds: int | None = None
    exact: bool = False
    loose_because: str | None = None
    holds: bool = True
    scale: str = "ci"
    seed_offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def bound_text(self) -> str:
        """The bound in words, e.g. ``0.5 ± 1%`` or ``[0.1, 0.2]`` or ``< 0.45``."""
        if self.expected is not None:
            parts = []
            if self.rtol:
                parts.append(f"{100 * self.rtol:.3g}%")
            if self.atol:
                parts.append(f"{self.atol:.3g}")
            return f"{self.expected:.6g} ± {' + '.join(parts) or '0'}"
        if self.lo is not None and self.hi is not None:
            return f"[{self.lo:.6g}, {self.hi:.6g}]"
        if self.lo is not None:
            return f"≥ {self.lo:.6g}"
        return f"≤ {self.hi:.6g}"

    def room(self) -> float | None:
        """How far the bound lies beyond the values seen, in observed spreads (see module doc)."""
        return room(self.lo, self.hi, self.seen)

    def to_json(self) -> str:
        """The claim as a JSON string (infinite and NaN values spelled as JSON5 does)."""
        data = asdict(self)
        data["seen"] = list(self.seen) if self.seen is not None else None
        return json.dumps(data)


def room(lo: float | None, hi: float | None, seen: tuple[float, float] | None) -> float | None:
    """How many observed spreads the bound ``[lo, hi]`` leaves beyond ``seen=(min, max)``.

    Returns ``None`` without evidence, ``0`` when a bound cuts into the values seen, and
    ``inf`` when the values seen are all equal but the bound leaves room.
    """
    if seen is None:
        return None
    s_lo, s_hi = seen
    gaps = []
    if lo is not None:
        gaps.append(s_lo - lo)
    if hi is not None:
        gaps.append(hi - s_hi)
    gap = max(max(gaps), 0.0)
    spread = s_hi - s_lo
    if spread <= 0:
        return 0.0 if gap == 0 else math.inf
    return gap / spread


def _as_float(value: Any, what: str, name: str) -> float:
    """``value`` as a float if it is one real number (Python, NumPy or a one-element tensor)."""
    if value is None or isinstance(value, (bool, np.bool_, str)):
        raise TypeError(f"claim({name!r}): {what} must be a real number, got {value!r}.")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"claim({name!r}): {what} must be a real number, got {value!r}.") from None
    if arr.size != 1:
        raise TypeError(f"claim({name!r}): {what} must be one number, got shape {arr.shape}.")
    return float(arr.reshape(()))


def _seed_offset() -> int:
    from .runtime import get_seed_offset

    return get_seed_offset()


def _scale() -> str:
    from .runtime import get_scale

    return get_scale()


def claim(name: str, measured: Any, *, says: str, expected: float | None = None,
          rtol: float = 0.0, atol: float = 0.0, lo: float | None = None,
          hi: float | None = None, seen: tuple[float, float] | None = None,
          seeds: int | None = None, exact: bool = False, loose_because: str | None = None,
          **extra: Any) -> float:
    """Check one claim of the page, record it in the ledger, and return the measured value.

    Args:
        name: unique on its page, lower case with hyphens (``"gd-rate-k100"``).
        measured: the value the page measured (a real scalar: float, NumPy or 0-d tensor).
        says: the claim in words, as the Claims page shows it.
        expected, rtol, atol: the bound ``|measured - expected| <= atol + rtol * |expected|``.
        lo, hi: the bound ``lo <= measured <= hi`` (either may be ``None``); not with
            ``expected``.
        seen: ``(min, max)`` of ``measured`` over ``seeds`` runs with other seeds, the evidence
            the tolerance was set from.
        seeds: how many seeded runs ``seen`` comes from (at least :data:`MIN_SEEDS`).
        exact: the computation is deterministic (no seed changes it): the tolerance only absorbs
            floating-point rounding, and ``seen`` is not needed.
        loose_because: why the bound leaves more than :data:`LOOSE_ROOM` spreads of room.
        **extra: further JSON-serializable facts to record (e.g. ``theory=...``).

    Returns:
        ``measured`` as a float.

    Raises:
        ClaimError: if the measured value is outside the bound (or not finite), unless the
            environment sets ``BOOK_CLAIMS=record``.
        ValueError, TypeError: if the claim itself is malformed.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"claim name must be lower case letters, digits and hyphens, "
                         f"got {name!r}.")
    if name in _ledger:
        raise ValueError(f"claim({name!r}): this page already made a claim with that name.")
    if not isinstance(says, str) or not says.strip():
        raise ValueError(f"claim({name!r}): says= must state the claim in words.")
    value = _as_float(measured, "measured", name)
    for arg, v in (("rtol", rtol), ("atol", atol)):
        if _as_float(v, arg, name) < 0:
            raise ValueError(f"claim({name!r}): {arg} must be >= 0, got {v!r}.")
    rtol, atol = float(rtol), float(atol)
    if expected is not None:
        if lo is not None or hi is not None:
            raise ValueError(f"claim({name!r}): give either expected= (with rtol/atol) or "
                             "lo=/hi=, not both.")
        exp = _as_float(expected, "expected", name)
        if rtol == 0 and atol == 0:
            raise ValueError(f"claim({name!r}): expected= needs a tolerance rtol= or atol=.")
        tol = atol + rtol * abs(exp)
        b_lo, b_hi = exp - tol, exp + tol
    else:
        if lo is None and hi is None:
            raise ValueError(f"claim({name!r}): give a bound: expected= with rtol=/atol=, "
                             "or lo= and/or hi=.")
        if rtol or atol:
            raise ValueError(f"claim({name!r}): rtol=/atol= only go with expected=.")
        exp = None
        b_lo = None if lo is None else _as_float(lo, "lo", name)
        b_hi = None if hi is None else _as_float(hi, "hi", name)
        if b_lo is not None and b_hi is not None and b_lo > b_hi:
            raise ValueError(f"claim({name!r}): lo={b_lo} is above hi={b_hi}.")
    seen_t: tuple[float, float] | None = None
    if seen is not None:
        if exact:
            raise ValueError(f"claim({name!r}): an exact claim has no spread over seeds; "
                             "drop seen= or exact=True.")
        if len(seen) != 2:
            raise ValueError(f"claim({name!r}): seen must be (min, max), got {seen!r}.")
        seen_t = (_as_float(seen[0], "seen[0]", name), _as_float(seen[1], "seen[1]", name))
        if seen_t[0] > seen_t[1]:
            raise ValueError(f"claim({name!r}): seen=(min, max) has min > max: {seen!r}.")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise ValueError(f"claim({name!r}): seen= needs seeds=, the number of seeded "
                             f"runs it comes from, got {seeds!r}.")
    elif seeds is not None:
        raise ValueError(f"claim({name!r}): seeds= goes with seen=(min, max).")
    try:
        json.dumps(extra)
    except TypeError as err:
        raise TypeError(f"claim({name!r}): extra facts must be JSON-serializable: {err}") from None

    holds = bool(math.isfinite(value) and (b_lo is None or value >= b_lo)
                 and (b_hi is None or value <= b_hi))
    record = Claim(name=name, says=says.strip(), measured=value, lo=b_lo, hi=b_hi,
                   expected=exp, rtol=float(rtol), atol=float(atol), seen=seen_t, seeds=seeds,
                   exact=bool(exact), loose_because=loose_because, holds=holds,
                   scale=_scale(), seed_offset=_seed_offset(), extra=extra)
    _ledger[name] = record
    _glue_record(record)
    if not holds and os.environ.get(MODE_ENV, "").strip().lower() != "record":
        raise ClaimError(
            f"claim {name!r} does not hold: measured {value:.6g}, bound {record.bound_text()}"
            f" (scale {record.scale}, seed offset {record.seed_offset}). It says: {says}")
    return value


def _glue_record(record: Claim) -> None:
    from .runtime import glue

    glue(GLUE_PREFIX + record.name, record.to_json())


def recorded() -> list[Claim]:
    """The claims made so far in this process (this page), in order."""
    return list(_ledger.values())


def _forget() -> None:
    """Clear this process's ledger (for tests)."""
    _ledger.clear()


def from_glue(glued: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims recorded in one page's glue data (``<page>.glue.json`` of a build, or the
    ``glue.json`` written by ``scripts/run_pages.py``), as dictionaries."""
    out = []
    for key, value in glued.items():
        if not key.startswith(GLUE_PREFIX):
            continue
        if isinstance(value, dict):  # a myst-nb output bundle
            value = value.get("data", {}).get("text/plain", "")
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"glued value {key!r} is empty: expected the JSON text of a claim "
                             "(a myst-nb bundle with data['text/plain'], or the string itself).")
        if isinstance(value, str) and value[:1] in ("'", '"'):
            import ast

            value = ast.literal_eval(value)
        out.append(json.loads(value) if isinstance(value, str) else value)
    return out


def audit(claims: list[dict[str, Any]] | list[Claim]) -> list[str]:
    """The problems with a list of claims: no evidence, too few seeds, or a loose bound without
    a stated reason. Empty when every claim is as tight as its evidence."""
    problems = []
    for c in claims:
        d = asdict(c) if isinstance(c, Claim) else c
        name = d["name"]
        if d.get("exact"):
            continue
        seen = d.get("seen")
        if seen is None:
            problems.append(f"{name}: no observed spread (seen=, seeds=) and not exact")
            continue
        if (d.get("seeds") or 0) < MIN_SEEDS:
            problems.append(f"{name}: spread from {d.get('seeds')} seeds, fewer than {MIN_SEEDS}")
        r = room(d.get("lo"), d.get("hi"), tuple(seen))
        if r is not None and r > LOOSE_ROOM and not d.get("loose_because"):
            problems.append(f"{name}: bound leaves {r:.3g} spreads of room "
                            f"(> {LOOSE_ROOM:g}) with no loose_because=")
    return problems
