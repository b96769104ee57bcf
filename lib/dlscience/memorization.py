"""Memorization and example difficulty: per-example learning records, forgetting events, and the
spectral view of what gradient descent fits first.

:func:`train_recording_examples` trains a ReLU MLP by minibatch SGD and records, after every
epoch, which training examples it classifies as their *given* label (which may be corrupted),
with the test accuracy. From that record, :func:`forgetting_events` counts how often each example
goes from correct to incorrect (Toneva et al. 2019), :func:`first_correct` finds when it is first
fitted, and :func:`unforgettable` marks the examples learned and never forgotten.

For kernel (or linearized) least squares, :func:`gd_fit_filter` gives the exact fraction of each
eigen-direction of the labels that gradient descent has fitted after ``t`` steps,
``1 - (1 - eta * lam) ** t``: directions of large eigenvalue are fitted first, which is why
smooth structure is learned before noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlscience.checks import positive_int as _positive_int

__all__ = ["ExampleRecord", "flip_labels", "train_recording_examples", "forgetting_events",
           "first_correct", "unforgettable", "gd_fit_filter", "kernel_gd_fit"]


def _correct_matrix(correct: np.ndarray) -> np.ndarray:
    c = np.asarray(correct)
    if c.ndim != 2 or c.shape[0] < 1:
        raise ValueError("correct must be a 2-D array of shape (records, examples), got shape "
                         f"{c.shape}.")
    if c.dtype != bool:
        if not np.isin(c, (0, 1)).all():
            raise ValueError("correct must hold booleans (or 0/1), one per record and example.")
        c = c.astype(bool)
    return c


@dataclass(frozen=True)
class ExampleRecord:
    """What :func:`train_recording_examples` recorded.

    Attributes:
        correct: ``(epochs + 1, n)`` booleans: example ``i`` predicted as its given label after
            epoch ``e`` (row 0: at initialization).
        accuracy: for each evaluation set by name (e.g. ``"val"``, ``"test"``), its accuracy
            after each epoch, shape ``(epochs + 1,)``.
        train_loss: ``(epochs + 1,)`` mean cross-entropy on the (given) training labels.
        predicted: ``(epochs + 1, n)`` integers: the class predicted for example ``i`` after
            epoch ``e`` (so ``correct == (predicted == given labels)``), e.g. to ask whether a
            mislabelled example is predicted as its true class.
    """

    correct: np.ndarray
    accuracy: dict[str, np.ndarray]
    train_loss: np.ndarray
    predicted: np.ndarray


def flip_labels(y: np.ndarray, fraction: float, num_classes: int,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Give a random ``fraction`` of the examples a label *different* from their own.

    Unlike :func:`dlscience.data.corrupt_labels`, a flipped label is never the true one, so the
    flipped examples are exactly the mislabelled ones.

    Returns:
        ``(labels, flipped)``: the new labels and the boolean mask of flipped examples.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}.")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}.")
    num_classes = _positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2 to flip a label.")
    rng = np.random.default_rng(seed)
    flipped = rng.random(len(y)) < fraction
    out = y.copy()
    out[flipped] = (y[flipped] + rng.integers(1, num_classes, int(flipped.sum()))) % num_classes
    return out, flipped


def train_recording_examples(x_train: np.ndarray, y_train: np.ndarray,
                             evaluate: dict[str, tuple[np.ndarray, np.ndarray]], *,
                             width: int = 256, depth: int = 2,
                             epochs: int = 60, batch_size: int = 32, lr: float = 0.05,
                             momentum: float = 0.9, seed: int = 0) -> ExampleRecord:
    """Train a ReLU MLP by minibatch SGD and record each training example after every epoch.

    Args:
        x_train, y_train: training inputs ``(n, d)`` and (possibly corrupted) labels ``(n,)``.
        evaluate: sets to measure the accuracy on after every epoch, by name, e.g.
            ``{"val": (x_val, y_val), "test": (x_test, y_test)}``.
        width, depth: hidden width and number of hidden layers.
        epochs: passes over the training set (a new random order each epoch).
        batch_size, lr, momentum: SGD with heavy-ball momentum on the cross-entropy.
        seed: seed of the initialization and of the minibatch order.

    Returns:
        an :class:`ExampleRecord`.
    """
    width, depth = _positive_int("width", width), _positive_int("depth", depth)
    epochs, batch_size = _positive_int("epochs", epochs), _positive_int("batch_size", batch_size)
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    x = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x_train must be (n, d) and y_train (n,), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}.")
    if not isinstance(evaluate, dict):
        raise TypeError("evaluate must be a dict {name: (x, y)} of evaluation sets.")
    sets = {name: (torch.as_tensor(np.asarray(xe, dtype=np.float32)),
                   torch.as_tensor(np.asarray(ye, dtype=np.int64)))
            for name, (xe, ye) in evaluate.items()}
    for name, (xe, ye) in sets.items():
        if xe.ndim != 2 or xe.shape[1] != x.shape[1] or ye.shape != (xe.shape[0],):
            raise ValueError(f"evaluate[{name!r}] must be (x, y) with x of shape (m, "
                             f"{x.shape[1]}) and y of shape (m,).")
    classes = int(max([int(y.max())] + [int(ye.max()) for _, ye in sets.values()])) + 1
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    fan_in = x.shape[1]
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    model = nn.Sequential(*layers, nn.Linear(fan_in, classes))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    correct: list[np.ndarray] = []
    predicted: list[np.ndarray] = []
    loss: list[float] = []
    acc: dict[str, list[float]] = {name: [] for name in sets}

    def record() -> None:
        with torch.no_grad():
            logits = model(x)
            predicted.append(logits.argmax(1).numpy())
            correct.append(predicted[-1] == y.numpy())
            loss.append(float(nn.functional.cross_entropy(logits, y)))
            for name, (xe, ye) in sets.items():
                acc[name].append(float((model(xe).argmax(1) == ye).float().mean()))

    record()
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        record()
    return ExampleRecord(np.array(correct), {k: np.array(v) for k, v in acc.items()},
                         np.array(loss), np.array(predicted))


def forgetting_events(correct: np.ndarray) -> np.ndarray:
    """Number of forgetting events of each example: records ``t`` where it was correct at
    ``t - 1`` and incorrect at ``t`` (Toneva et al. 2019). ``correct``: ``(records, n)``."""
    c = _correct_matrix(correct)
    return (c[:-1] & ~c[1:]).sum(axis=0)


def first_correct(correct: np.ndarray) -> np.ndarray:
    """Index of the first record at which each example is correct (``records`` if never)."""
    c = _correct_matrix(correct)
    return np.where(c.any(axis=0), c.argmax(axis=0), c.shape[0])


def unforgettable(correct: np.ndarray) -> np.ndarray:
    """Examples learned at some record and never forgotten afterwards (Toneva et al. 2019)."""
    c = _correct_matrix(correct)
    return c.any(axis=0) & (forgetting_events(c) == 0)


def gd_fit_filter(eigenvalues: np.ndarray, eta: float, steps: int) -> np.ndarray:
    """The fraction ``1 - (1 - eta * lam) ** steps`` of each eigen-direction of the labels that
    gradient descent from zero has fitted after ``steps`` steps on the least-squares loss
    ``||K a - y||^2 / 2`` in function space (see :func:`kernel_gd_fit`)."""
    lam = np.asarray(eigenvalues, dtype=float)
    if eta <= 0:
        raise ValueError(f"eta must be positive, got {eta!r}.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    return 1.0 - (1.0 - eta * lam) ** int(steps)


def kernel_gd_fit(kernel: np.ndarray, y: np.ndarray, eta: float, steps: int) -> np.ndarray:
    """Fitted values ``f_t`` on the training set after ``steps`` steps of gradient descent in
    function space, ``f_{t+1} = f_t - eta * K (f_t - y)`` from ``f_0 = 0``, computed by
    iterating (the chapter checks it against the closed form ``(I - (I - eta K)^t) y``).

    Args:
        kernel: symmetric positive semi-definite ``(n, n)``.
        y: targets ``(n,)`` or ``(n, k)``.
    """
    k = np.asarray(kernel, dtype=float)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {k.shape}.")
    y = np.asarray(y, dtype=float)
    if y.shape[0] != k.shape[0]:
        raise ValueError(f"y must have {k.shape[0]} rows like the kernel, got {y.shape[0]}.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    f = np.zeros_like(y)
    for _ in range(int(steps)):
        f = f - eta * k @ (f - y)
    return f
