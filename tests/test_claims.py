"""The claims ledger: bounds, evidence, failure messages and the audit of tolerances."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
import torch
from dlscience import claims, runtime
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


def test_bound_text_spells_each_kind_of_bound():
    """bound_text() for each bound kind, against the strings written out by hand."""
    def make(**kw: object) -> claims.Claim:
        base: dict = {"name": "c", "says": "s", "measured": 0.0, "lo": None, "hi": None}
        return claims.Claim(**{**base, **kw})

    assert make(expected=0.5).bound_text() == "0.5 ± 0"  # no tolerance at all
    assert make(expected=0.5, rtol=0.01).bound_text() == "0.5 ± 1%"
    assert make(expected=0.5, atol=0.02).bound_text() == "0.5 ± 0.02"
    assert make(lo=0.1, hi=0.2).bound_text() == "[0.1, 0.2]"
    assert make(lo=0.1).bound_text() == "≥ 0.1"
    assert make(hi=0.45).bound_text() == "≤ 0.45"


def test_claim_room_method_matches_hand_computed_room():
    """Claim.room(): seen (0.2, 0.3) in [0.0, 0.9] leaves 0.2 below, 0.6 above: room 6."""
    claim("r", 0.25, lo=0.0, hi=0.9, seen=(0.2, 0.3), seeds=5, says="s",
          loose_because="test")
    assert recorded()[0].room() == pytest.approx(0.6 / 0.1)
    claim("r-lo", 0.25, lo=-0.2, seen=(0.2, 0.3), seeds=5, says="s")
    assert recorded()[1].room() == pytest.approx(0.4 / 0.1)
    claim("r-none", 0.25, lo=-0.2, says="s", exact=True)
    assert recorded()[2].room() is None


def test_room_with_no_spread_is_zero_only_without_a_gap():
    """Equal values seen: room 0 when the bound touches them, inf for any gap (here 1.0)."""
    assert room(0.2, None, (0.2, 0.2)) == 0.0
    assert room(None, 0.2, (0.2, 0.2)) == 0.0
    assert room(0.0, None, (1.0, 1.0)) == math.inf


def test_to_json_has_exactly_the_dataclass_fields():
    """to_json(): one key per Claim field, seen as a list, values as recorded."""
    claim("js", 0.25, lo=0.0, hi=0.5, seen=(0.2, 0.3), seeds=5, says="s")
    c = recorded()[0]
    data = json.loads(c.to_json())
    assert set(data) == {f.name for f in dataclasses.fields(claims.Claim)}
    assert data["seen"] == [0.2, 0.3] and data["measured"] == 0.25 and data["seeds"] == 5


def test_record_keeps_the_measured_value_and_glues_its_json(monkeypatch):
    """The ledger entry carries the measured value and scale; the glued value is its JSON."""
    monkeypatch.setenv("BOOK_SCALE", "paper")
    claim("glued", np.float32(0.75), lo=0.5, says="s", exact=True)
    c = recorded()[0]
    assert c.measured == 0.75 and c.scale == "paper" and c.holds is True
    assert runtime.GLUED["claim__glued"] == c.to_json()


def test_failure_message_names_the_scale(monkeypatch):
    """The ClaimError states the scale and seed offset it ran at, then what the claim says."""
    monkeypatch.setenv("BOOK_SCALE", "paper")
    monkeypatch.setenv("BOOK_SEED_OFFSET", "3")
    with pytest.raises(ClaimError, match=r"^claim 'f' does not hold: measured 2, bound ≤ 1 "
                       r"\(scale paper, seed offset 3\)\. It says: two is small$"):
        claim("f", 2.0, hi=1.0, says="two is small", exact=True)


def test_tensor_that_requires_grad_is_accepted():
    """A 0-d tensor with requires_grad (NumPy cannot read it directly) is detached first."""
    x = torch.tensor(0.5, requires_grad=True)
    assert claim("grad", x * 2, expected=1.0, atol=1e-12, says="s", exact=True) == 1.0


def test_one_element_array_gives_a_plain_float_without_warnings():
    """A (1, 1) array is one number: returned as a float, with no NumPy deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = claim("arr", np.array([[0.5]]), lo=0.0, says="s", exact=True)
    assert out == 0.5 and type(out) is float


@pytest.mark.parametrize("kwargs, message", [
    ({"measured": ["a"], "lo": 0}, r"^claim\('x'\): measured must be a real number, got \['a'\]"),
    ({"measured": {"v": 1}, "lo": 0}, r"^claim\('x'\): measured must be a real number"),
    ({"expected": "1", "rtol": 0.1}, r"^claim\('x'\): expected must be a real number, got '1'"),
    ({"lo": "0"}, r"^claim\('x'\): lo must be a real number, got '0'"),
    ({"hi": None, "lo": [1, 2]}, r"^claim\('x'\): lo must be one number, got shape \(2,\)"),
    ({"hi": "1"}, r"^claim\('x'\): hi must be a real number, got '1'"),
    ({"lo": 0, "rtol": "0.1"}, r"^claim\('x'\): rtol must be a real number"),
    ({"lo": 0, "atol": None, "rtol": 0}, r"^claim\('x'\): atol must be a real number, got None"),
    ({"lo": 0, "seen": ("0", 1), "seeds": 5}, r"^claim\('x'\): seen\[0\] must be a real number"),
    ({"lo": 0, "seen": (0, "1"), "seeds": 5}, r"^claim\('x'\): seen\[1\] must be a real number"),
    ({"lo": 0, "theory": object()}, r"^claim\('x'\): extra facts must be JSON-serializable"),
])
def test_non_numbers_raise_type_errors_naming_the_argument(kwargs, message):
    """Each numeric argument is checked; the TypeError names the claim and the argument."""
    kwargs = {"measured": 0.5, **kwargs}
    with pytest.raises(TypeError, match=message):
        claim("x", says="s", **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"expected": 1, "atol": -0.1}, r"^claim\('x'\): atol must be >= 0, got -0\.1\.$"),
    ({"expected": 1, "rtol": -0.5}, r"^claim\('x'\): rtol must be >= 0, got -0\.5\.$"),
    ({"lo": 0, "expected": 1, "rtol": 0.1},
     r"^claim\('x'\): give either expected= \(with rtol/atol\) or lo=/hi=, not both\.$"),
    ({}, r"^claim\('x'\): give a bound: expected= with rtol=/atol=, or lo= and/or hi=\.$"),
    ({"lo": 0, "seen": (0, 1), "seeds": 5, "exact": True},
     r"^claim\('x'\): an exact claim has no spread over seeds; drop seen= or exact=True\.$"),
    ({"lo": 0, "seen": (0, 1, 2), "seeds": 5},
     r"^claim\('x'\): seen must be \(min, max\), got \(0, 1, 2\)\.$"),
    ({"lo": 0, "seen": (0, 1), "seeds": 0},
     r"^claim\('x'\): seen= needs seeds=, the number of seeded runs it comes from, got 0\.$"),
    ({"lo": 0, "seen": (0, 1), "seeds": True}, r"^claim\('x'\): seen= needs seeds="),
    ({"lo": 0, "seen": (0, 1), "seeds": 5.0}, r"^claim\('x'\): seen= needs seeds="),
])
def test_malformed_claims_have_exact_messages(kwargs, message):
    """The full ValueError text a reader sees for each malformed claim."""
    with pytest.raises(ValueError, match=message):
        claim("x", 0.5, says="s", **kwargs)


def test_boundary_evidence_is_accepted():
    """seen=(v, v) (all seeds agree) and seeds=1 are valid evidence, not errors."""
    claim("same", 0.5, lo=0.0, seen=(0.5, 0.5), seeds=1, says="s")
    assert recorded()[0].seen == (0.5, 0.5) and recorded()[0].seeds == 1


def test_from_glue_skips_other_keys_in_any_order():
    """Keys without the claim__ prefix are skipped wherever they appear."""
    claim("one", 0.5, lo=0.0, says="s", exact=True)
    claim("two", 0.5, hi=1.0, says="s", exact=True)
    one, two = (c.to_json() for c in recorded())
    glued = {"a": 1, "claim__one": one, "b": "x", "claim__two": two}
    assert [c["name"] for c in from_glue(glued)] == ["one", "two"]


def test_audit_of_glued_dicts_lists_every_problem_in_order():
    """audit() on dicts from from_glue(): exact and bare claims do not stop the scan; messages
    state the seed count, and a loose upper bound counts (room (1.0 - 0.3) / 0.1 = 7)."""
    claim("exact", 0.25, lo=0.0, says="s", exact=True)
    claim("bare", 0.25, lo=0.0, says="s")
    claim("few", 0.25, lo=0.0, seen=(0.2, 0.3), seeds=3, says="s")
    claim("loose-hi", 0.25, hi=1.0, seen=(0.2, 0.3), seeds=5, says="s")
    claim("at-limit", 0.5, lo=-5.0, seen=(0.0, 1.0), seeds=5, says="s")  # room exactly 5
    glued = {f"claim__{c.name}": c.to_json() for c in recorded()}
    problems = audit(from_glue(glued))
    assert problems == [
        "bare: no observed spread (seen=, seeds=) and not exact",
        "few: spread from 3 seeds, fewer than 5",
        "loose-hi: bound leaves 7 spreads of room (> 5) with no loose_because=",
    ]
    assert audit(recorded()) == problems


@pytest.mark.parametrize("value", [{}, {"data": {}}, {"data": {"text/plain": ""}}, "", "  "])
def test_from_glue_names_the_key_of_an_empty_claim(value: object) -> None:
    """A claim entry without text is an error naming its key, not a SyntaxError from
    ``ast.literal_eval("")`` (the empty string is 'in' every string: the old quote test)."""
    with pytest.raises(ValueError, match=r"^glued value 'claim__x' is empty"):
        claims.from_glue({"claim__x": value})
