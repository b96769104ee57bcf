"""Data sets of the book, all generated or shipped locally: nothing is downloaded.

Every function returns NumPy arrays (features ``float32``/``float64``, labels ``int64``) and takes
an explicit ``seed``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from dlscience.checks import positive_int as _check_positive_int


@dataclass(frozen=True)
class Split:
    """A train/test split.

    Shapes: ``x_train (n_train, d)``, ``y_train (n_train,)``, and the same for the test set.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _check_fraction(name: str, value: object) -> float:
    if not isinstance(value, (int, float, np.floating)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    return float(value)


def two_moons(n_train: int, n_test: int, noise: float = 0.2, seed: int = 0) -> Split:
    """Scikit-learn's two interleaving half-moons in 2-D, split into train and test.

    Returns:
        a :class:`Split` with ``x`` of shape ``(n, 2)`` and labels in ``{0, 1}``.
    """
    from sklearn.datasets import make_moons

    n_train = _check_positive_int("n_train", n_train)
    n_test = _check_positive_int("n_test", n_test)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}.")
    x, y = make_moons(n_samples=n_train + n_test, noise=noise, random_state=seed)
    x = x.astype(np.float32)
    y = y.astype(np.int64)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def digits(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Scikit-learn's 8x8 handwritten digits (1797 images, shipped with the package).

    Pixels are scaled to ``[0, 1]``; ``x`` has shape ``(n, 64)``, labels are in ``0..9``.
    """
    from sklearn.datasets import load_digits

    test_fraction = _check_fraction("test_fraction", test_fraction)
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return Split(x[train], y[train], x[test], y[test])


def mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42) -> Split:
    """MNIST-1D (Greydanus 2020), generated locally by ``mnist1d.data.make_dataset``.

    Each example is a length-40 signal made from one of ten digit templates, with random
    padding, translation, scaling, shear and correlated noise. ``x`` has shape ``(n, 40)``,
    labels are in ``0..9``. The defaults reproduce the data set of the paper (4000 train,
    1000 test).
    """
    raw = _mnist1d_cached(_check_positive_int("num_samples", num_samples),
                          _check_fraction("train_split", train_split), int(seed))
    return Split(*(a.copy() for a in raw))


@functools.lru_cache(maxsize=8)
def _mnist1d_cached(num_samples: int, train_split: float, seed: int) -> tuple[np.ndarray, ...]:
    """Generate MNIST-1D once per (size, split, seed) in a process; callers get copies."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.train_split = train_split
    args.seed = seed
    raw = make_dataset(args)
    return (raw["x"].astype(np.float32), raw["y"].astype(np.int64),
            raw["x_test"].astype(np.float32), raw["y_test"].astype(np.int64))


def corrupt_labels(y: np.ndarray, fraction: float, num_classes: int, seed: int = 0) -> np.ndarray:
    """Replace a ``fraction`` of the labels by labels drawn uniformly from ``num_classes`` classes.

    A replaced label may by chance equal the original one, as in Zhang et al. (2017).

    Returns:
        a new array of the same shape as ``y``.
    """
    fraction = _check_fraction("fraction", fraction)
    num_classes = _check_positive_int("num_classes", num_classes)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}.")
    rng = np.random.default_rng(seed)
    out = y.copy()
    chosen = rng.random(len(y)) < fraction
    out[chosen] = rng.integers(0, num_classes, size=int(chosen.sum()))
    return out
