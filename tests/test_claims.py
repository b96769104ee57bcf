"""The claims ledger: bounds, evidence, failure messages and the audit of tolerances."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from dlscience import claims
from dlscience.claims import ClaimError, audit, claim, from_glue, recorded, room


@pytest.fixture(autouse=True)
def fresh_ledger():
    claims._forget()
    yield
    claims._forget()


def test_expected_with_tolerance_holds_and_fails_at_the_edge():
    # |m - 2| <= 0.01 + 0.1 * 2 = 0.21, by hand.
    assert claim("a", 2.2, expected=2, rtol=0.1, atol=0.01, says="s", exact=True) == 2.2
    with pytest.raises(ClaimError) as err:
        claim("b", 2.22, expected=2, rtol=0.1, atol=0.01, says="it is two", exact=True)
    message = str(err.value)
    assert "'b'" in message and "2.22" in message and "it is two" in message
    assert "2 ± 10% + 0.01" in message


def test_interval_bounds_and_one_sided():
    claim("lo-only", 0.6, lo=0.5, says="above chance", exact=True)
    claim("hi-only", 0.4, hi=0.5, says="below chance", exact=True)
    claim("both", 0.5, lo=0.5, hi=0.5, says="exactly", exact=True)
    with pytest.raises(ClaimError):
        claim("below", 0.49, lo=0.5, says="above chance", exact=True)
    with pytest.raises(ClaimError):
        claim("above", 0.51, hi=0.5, says="below chance", exact=True)


def test_nan_never_holds():
    with pytest.raises(ClaimError):
        claim("nan", float("nan"), lo=0, says="s", exact=True)


def test_scalars_of_numpy_and_torch_are_accepted():
    claim("np", np.float32(1.0), lo=0, says="s", exact=True)
    claim("pt", torch.tensor(1.0), lo=0, says="s", exact=True)
    with pytest.raises(TypeError, match="one number"):
        claim("vec", np.ones(2), lo=0, says="s", exact=True)
    with pytest.raises(TypeError, match="real number"):
        claim("bool", True, lo=0, says="s", exact=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"lo": 0, "expected": 1, "rtol": 0.1}, "not both"),
    ({"expected": 1}, "needs a tolerance"),
    ({}, "give a bound"),
    ({"lo": 1, "hi": 0}, "above hi"),
    ({"lo": 0, "rtol": 0.1}, "only go with expected"),
    ({"lo": 0, "seen": (1, 0), "seeds": 5}, "min > max"),
    ({"lo": 0, "seen": (0, 1)}, "needs seeds="),
    ({"lo": 0, "seeds": 5}, "goes with seen"),
    ({"lo": 0, "seen": (0, 1), "seeds": 5, "exact": True}, "exact claim has no spread"),
    ({"expected": 1, "rtol": -0.1}, "rtol must be >= 0"),
])
def test_malformed_claims_say_what_is_wrong(kwargs, match):
    with pytest.raises(ValueError, match=match):
        claim("x", 0.5, says="s", **kwargs)


def test_names_are_checked_and_unique():
    with pytest.raises(ValueError, match="lower case"):
        claim("Bad Name", 1, lo=0, says="s", exact=True)
    claim("once", 1, lo=0, says="s", exact=True)
    with pytest.raises(ValueError, match="already made a claim"):
        claim("once", 1, lo=0, says="s", exact=True)
    with pytest.raises(ValueError, match="says="):
        claim("mute", 1, lo=0, says=" ", exact=True)


def test_room_in_units_of_the_observed_spread():
    # seen spans 0.1; the bound [0.0, 0.5] leaves 0.2 below and 0.2 above: room 2 (by hand).
    assert room(0.0, 0.5, (0.2, 0.3)) == pytest.approx(2.0)
    assert room(None, 0.5, (0.2, 0.3)) == pytest.approx(2.0)
    assert room(0.25, None, (0.2, 0.3)) == 0.0  # the bound cuts into the values seen
    assert room(0.0, None, (0.2, 0.2)) == math.inf
    assert room(0.0, None, None) is None


def test_audit_flags_missing_evidence_few_seeds_and_unexplained_loose_bounds():
    claim("tight", 0.25, lo=0.0, hi=0.5, seen=(0.2, 0.3), seeds=5, says="s")
    claim("loose", 0.25, lo=-1.0, hi=0.5, seen=(0.2, 0.3), seeds=5, says="s")
    claim("loose-ok", 0.25, lo=-1.0, seen=(0.2, 0.3), seeds=5, says="s",
          loose_because="the theorem's constant")
    claim("few", 0.25, lo=0.0, seen=(0.2, 0.3), seeds=3, says="s")
    claim("bare", 0.25, lo=0.0, says="s")
    claim("exact", 0.25, lo=0.0, says="s", exact=True)
    problems = audit(recorded())
    assert [p.split(":")[0] for p in problems] == ["loose", "few", "bare"]
    assert "12 spreads" in problems[0]


def test_record_mode_records_a_failure_without_raising(monkeypatch):
    monkeypatch.setenv("BOOK_CLAIMS", "record")
    claim("fails", 2.0, hi=1.0, says="s", exact=True)
    assert recorded()[0].holds is False


def test_ledger_round_trips_through_glue(monkeypatch):
    monkeypatch.setenv("BOOK_SEED_OFFSET", "2")
    claim("rt", 0.25, lo=0.0, seen=(0.2, 0.3), seeds=5, says="round trip", theory=0.26)
    text = recorded()[0].to_json()
    glued = {"claim__rt": {"data": {"text/plain": repr(text)}}, "other": 1}
    (c,) = from_glue(glued)
    assert c["name"] == "rt" and c["seen"] == [0.2, 0.3] and c["seed_offset"] == 2
    assert c["extra"] == {"theory": 0.26} and c["scale"] == "ci"
    assert from_glue({"claim__rt": text})[0] == json.loads(text)


def test_numpy_tolerances_and_apostrophes_record_cleanly():
    claim("np-tol", np.float64(1.0), expected=np.float64(1.0), rtol=np.float64(0.1),
          says="the reader's claim, with an apostrophe", exact=True)
    (c,) = from_glue({"claim__np-tol": repr(recorded()[0].to_json())})
    assert c["holds"] is True and c["says"].endswith("apostrophe")
