"""The one training loop of the book.

:func:`fit` trains a model by minibatch (or full-batch) gradient steps and records the training
loss, plus any metrics a chapter asks for through callbacks, every ``log_every`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

Callback = Callable[[int, nn.Module], dict[str, float]]


@dataclass
class History:
    """What :func:`fit` recorded: the step of each record and one list per metric."""

    steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)

    def record(self, step: int, values: dict[str, float]) -> None:
        self.steps.append(step)
        for key, value in values.items():
            self.metrics.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.metrics:
            raise KeyError(f"no metric {key!r} was recorded; have {sorted(self.metrics)}.")
        return np.asarray(self.metrics[key])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of ``x`` (``(n, d)``) whose arg-max logit equals ``y`` (``(n,)``)."""
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer, steps: int, batch_size: int | None = None,
        seed: int = 0, log_every: int = 10, callbacks: tuple[Callback, ...] = (),
        stop_when: Callable[[History], bool] | None = None) -> History:
    """Train ``model`` on ``(x, y)`` for ``steps`` optimizer steps.

    Args:
        model: the network; called as ``model(x_batch)``.
        x, y: the training set, first dimension ``n``.
        loss_fn: ``loss_fn(model(x_batch), y_batch)`` returns a scalar.
        optimizer: a torch optimizer over ``model``'s parameters.
        steps: number of optimizer steps.
        batch_size: minibatch size; ``None`` means full batch.
        seed: seed of the minibatch order.
        log_every: record the full training loss and the callbacks every this many steps
            (and at step 0 and the last step).
        callbacks: functions ``(step, model) -> {name: value}`` evaluated when recording.
        stop_when: optional predicate on the history, checked after each record; training
            stops early when it returns ``True``.

    Returns:
        the :class:`History`, with metric ``"loss"`` (full training loss) and the callbacks'.
    """
    if steps <= 0:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if log_every <= 0:
        raise ValueError(f"log_every must be a positive integer, got {log_every!r}.")
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y must have the same first dimension, got {n} and {y.shape[0]}.")
    if batch_size is not None and not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n} or None, got {batch_size!r}.")
    gen = torch.Generator().manual_seed(seed)
    history = History()
    order = torch.randperm(n, generator=gen)
    cursor = 0

    def log(step: int) -> bool:
        with torch.no_grad():
            values = {"loss": float(loss_fn(model(x), y))}
        for cb in callbacks:
            values.update(cb(step, model))
        history.record(step, values)
        return stop_when is not None and stop_when(history)

    if log(0):
        return history
    for step in range(1, steps + 1):
        if batch_size is None:
            xb, yb = x, y
        else:
            if cursor + batch_size > n:
                order = torch.randperm(n, generator=gen)
                cursor = 0
            idx = order[cursor:cursor + batch_size]
            cursor += batch_size
            xb, yb = x[idx], y[idx]
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
        if (step % log_every == 0 or step == steps) and log(step):
            break
    return history
