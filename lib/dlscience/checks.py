"""Argument checks shared by the modules of :mod:`dlscience`: one home for each rule, one message.

Each check returns the value converted to a plain Python number, or raises a :class:`ValueError`
that names the argument and says what was expected, e.g.
``ValueError: n_samples must be a positive integer, got 0.``
"""

from __future__ import annotations

import math
import numbers

__all__ = ["positive_int", "nonnegative_int", "positive_float", "probability"]


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` if it is an integer >= 1 (NumPy integers too; ``bool`` is not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def nonnegative_int(name: str, value: object) -> int:
    """``value`` as an ``int`` if it is an integer >= 0 (``bool`` is not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def positive_float(name: str, value: object) -> float:
    """``value`` as a ``float`` if it is a finite real number > 0 (``bool`` is not)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def probability(name: str, value: object) -> float:
    """``value`` as a ``float`` if it is a real number in [0, 1] (``bool`` is not)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}.")
    return float(value)
