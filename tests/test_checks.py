"""The shared argument checks: what passes, what is converted, and the message of what fails."""

from __future__ import annotations

import re

import numpy as np
import pytest
from dlscience import checks


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(200)])
def test_positive_int_accepts_integers_and_returns_plain_ints(value):
    out = checks.positive_int("n", value)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3", None, np.float64(2.0)])
def test_positive_int_rejects_with_the_name_and_the_value(value):
    message = re.escape(f"steps must be a positive integer, got {value!r}.")
    with pytest.raises(ValueError, match=f"^{message}$"):
        checks.positive_int("steps", value)


def test_nonnegative_int_takes_zero_and_not_minus_one():
    assert checks.nonnegative_int("k", 0) == 0
    with pytest.raises(ValueError, match="k must be a non-negative integer, got -1"):
        checks.nonnegative_int("k", -1)
    with pytest.raises(ValueError, match="non-negative integer"):
        checks.nonnegative_int("k", False)


@pytest.mark.parametrize("value", [1e-300, 0.5, 3, np.float32(2.5)])
def test_positive_float_accepts(value):
    out = checks.positive_float("lr", value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [0, 0.0, -1.0, float("inf"), float("nan"), True, "1", None])
def test_positive_float_rejects(value):
    with pytest.raises(ValueError, match=r"^lr must be a positive finite number, got"):
        checks.positive_float("lr", value)


def test_probability_bounds_are_inclusive():
    assert checks.probability("p", 0) == 0.0 and checks.probability("p", 1.0) == 1.0
    for bad in (-1e-9, 1 + 1e-9, float("nan"), True):
        with pytest.raises(ValueError, match=r"^p must be a probability in \[0, 1\], got"):
            checks.probability("p", bad)
