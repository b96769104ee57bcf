"""Curvature and pictures of a loss landscape.

A network's loss is seen here as a function of one flat parameter vector ``theta`` of shape
``(P,)`` (:func:`flat_loss`). On that function the module computes

* Hessian-vector products by double backpropagation (:func:`hvp`, Pearlmutter 1994), and the
  dense ``(P, P)`` Hessian for small nets (:func:`dense_hessian`);
* the eigenvalue of largest magnitude of a symmetric operator by power iteration
  (:func:`power_iteration`), hence the *sharpness*, the top Hessian eigenvalue
  (:func:`sharpness`), and a training callback that tracks it (:class:`SharpnessTracker`);
* the loss along the segment between two parameter vectors (:func:`interpolate`, Goodfellow et
  al. 2015), filter-normalized random directions (:func:`filter_normalized_direction`, Li et al.
  2018) and the loss on a 2-D plane through a point (:func:`slice_2d`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

FlatLoss = Callable[[torch.Tensor], torch.Tensor]


def _check_vector(name: str, value: object, dim: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a 1-D tensor, got {shape}.")
    if dim is not None and value.numel() != dim:
        raise ValueError(f"{name} must have {dim} entries, got {value.numel()}.")
    return value


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """Return a detached copy of ``model``'s parameters as one vector of shape ``(P,)``.

    The order is that of ``model.named_parameters()``, the order used by every function here.
    """
    params = [p.detach().reshape(-1) for p in model.parameters()]
    if not params:
        raise ValueError("model has no parameters.")
    return torch.cat(params).clone()


def flat_loss(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              x: torch.Tensor, y: torch.Tensor) -> FlatLoss:
    """Return ``f``, the loss on ``(x, y)`` as a function of a flat parameter vector.

    ``f(theta)`` evaluates ``loss_fn(model(x), y)`` with the parameters of ``model`` replaced by
    ``theta`` (shape ``(P,)``, split in the order of :func:`flat_parameters`), without changing
    ``model``. It is differentiable in ``theta`` to any order, so ``torch.func`` and
    ``torch.autograd`` both apply to it.
    """
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    total = sum(sizes)
    if total == 0:
        raise ValueError("model has no parameters.")

    def f(theta: torch.Tensor) -> torch.Tensor:
        _check_vector("theta", theta, total)
        pieces = torch.split(theta, sizes)
        params = {n: t.reshape(s) for n, t, s in zip(names, pieces, shapes, strict=True)}
        return loss_fn(functional_call(model, params, (x,)), y)

    return f


def gradient(f: FlatLoss, theta: torch.Tensor) -> torch.Tensor:
    """Gradient of ``f`` at ``theta``; both vectors have shape ``(P,)``."""
    theta = _check_vector("theta", theta).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(theta), theta)
    return g


def hvp(f: FlatLoss, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Hessian-vector product ``H(theta) v`` of ``f`` by double backpropagation.

    The gradient ``g(theta)`` is built with its own graph, and the gradient of the scalar
    ``g(theta) . v`` with respect to ``theta`` is ``H v`` (Pearlmutter 1994). It costs about
    two gradient evaluations and never forms ``H``.

    Args:
        f: a scalar function of a flat vector, e.g. from :func:`flat_loss`.
        theta: the point, shape ``(P,)``.
        v: the vector, shape ``(P,)``.

    Returns:
        ``H v``, shape ``(P,)``.
    """
    theta = _check_vector("theta", theta).detach().requires_grad_(True)
    v = _check_vector("v", v, theta.numel()).detach()
    (g,) = torch.autograd.grad(f(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, theta)
    return hv


def dense_hessian(f: FlatLoss, theta: torch.Tensor) -> torch.Tensor:
    """The full Hessian of ``f`` at ``theta``, shape ``(P, P)``, by ``torch.func.hessian``.

    Memory and time grow like ``P**2``: use it for nets with at most a few thousand parameters.
    """
    theta = _check_vector("theta", theta).detach()
    return torch.func.hessian(f)(theta)


@dataclass(frozen=True)
class Eigenpair:
    """Result of :func:`power_iteration`.

    Attributes:
        value: the eigenvalue estimate (the Rayleigh quotient of ``vector``).
        vector: the unit eigenvector estimate, shape ``(P,)``.
        iterations: matrix-vector products used.
        converged: whether the relative change of ``value`` fell below the tolerance.
    """

    value: float
    vector: torch.Tensor
    iterations: int
    converged: bool


def power_iteration(matvec: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, *,
                    max_iter: int = 1000, tol: float = 1e-10) -> Eigenpair:
    """Eigenvalue of largest magnitude of a symmetric operator, by power iteration.

    Repeats ``v <- A v / |A v|`` and stops when the Rayleigh quotient ``v . A v`` changes by
    less than ``tol`` relative to its size between two iterations. The error of the eigenvalue
    shrinks like ``(lambda_2 / lambda_1) ** (2 k)`` after ``k`` steps, so a small gap between
    the two largest magnitudes needs many steps. At a minimum of a loss the Hessian is positive
    semi-definite and the result is its top eigenvalue; elsewhere it may be a negative one.

    Args:
        matvec: ``v -> A v`` for a symmetric ``A``, vectors of shape ``(P,)``.
        v0: starting vector, shape ``(P,)``, not orthogonal to the top eigenvector (a random
            vector, or the previous estimate when tracking a slowly changing ``A``).
        max_iter: the most matrix-vector products to use.
        tol: relative tolerance on the eigenvalue.

    Returns:
        an :class:`Eigenpair`.
    """
    v0 = _check_vector("v0", v0)
    max_iter = _check_positive_int("max_iter", max_iter)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}.")
    norm = torch.linalg.vector_norm(v0)
    if norm == 0:
        raise ValueError("v0 must be a non-zero vector.")
    v = v0.detach() / norm
    previous = float("nan")
    for k in range(1, max_iter + 1):
        av = matvec(v).detach()
        value = float(v @ av)
        av_norm = torch.linalg.vector_norm(av)
        converged = bool(av_norm == 0) or abs(value - previous) <= tol * abs(value)
        if converged or k == max_iter:
            return Eigenpair(value, v, k, converged)
        previous = value
        v = av / av_norm
    raise AssertionError("unreachable")


def sharpness(f: FlatLoss, theta: torch.Tensor, v0: torch.Tensor | None = None, *,
              max_iter: int = 1000, tol: float = 1e-10, seed: int = 0) -> Eigenpair:
    """Top eigenvalue of the Hessian of ``f`` at ``theta`` by power iteration on :func:`hvp`.

    Args:
        f: a scalar function of a flat vector, e.g. from :func:`flat_loss`.
        theta: the point, shape ``(P,)``.
        v0: starting vector, shape ``(P,)``; ``None`` draws a Gaussian one with ``seed``.
        max_iter, tol: see :func:`power_iteration`.
        seed: seed of the random starting vector.

    Returns:
        an :class:`Eigenpair` (eigenvalue of largest magnitude; see :func:`power_iteration`).
    """
    theta = _check_vector("theta", theta).detach()
    if v0 is None:
        gen = torch.Generator().manual_seed(seed)
        v0 = torch.randn(theta.numel(), generator=gen, dtype=theta.dtype)
    return power_iteration(lambda v: hvp(f, theta, v), v0, max_iter=max_iter, tol=tol)


class SharpnessTracker:
    """A callback for :func:`dlscience.train.fit` that records the sharpness during training.

    Each call computes the top Hessian eigenvalue of the training loss at the model's current
    parameters by :func:`sharpness`, warm-started from the previous eigenvector, so that a few
    power iterations suffice when the Hessian changes slowly. Returns ``{"sharpness": value}``.

    Args:
        model: the network being trained.
        loss_fn: ``loss_fn(model(x), y)`` is the training loss.
        x, y: the full training set.
        max_iter: power iterations per call.
        tol: relative tolerance of each call.
        seed: seed of the first starting vector.
    """

    def __init__(self, model: nn.Module,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 x: torch.Tensor, y: torch.Tensor, *, max_iter: int = 20, tol: float = 1e-4,
                 seed: int = 0):
        self.f = flat_loss(model, loss_fn, x, y)
        self.max_iter = _check_positive_int("max_iter", max_iter)
        self.tol = tol
        self.seed = seed
        self.vector: torch.Tensor | None = None

    def __call__(self, step: int, model: nn.Module) -> dict[str, float]:
        pair = sharpness(self.f, flat_parameters(model), self.vector, max_iter=self.max_iter,
                         tol=self.tol, seed=self.seed)
        self.vector = pair.vector
        return {"sharpness": pair.value}


def interpolate(f: FlatLoss, theta_a: torch.Tensor, theta_b: torch.Tensor,
                alphas: Sequence[float] | np.ndarray) -> np.ndarray:
    """Loss along the line ``(1 - alpha) theta_a + alpha theta_b`` (Goodfellow et al. 2015).

    Args:
        f: a scalar function of a flat vector.
        theta_a, theta_b: the two end points, shape ``(P,)`` (e.g. initialization and solution).
        alphas: positions on the line, shape ``(m,)``; 0 is ``theta_a``, 1 is ``theta_b``, and
            values outside ``[0, 1]`` extrapolate.

    Returns:
        the losses, a NumPy array of shape ``(m,)``.
    """
    theta_a = _check_vector("theta_a", theta_a).detach()
    theta_b = _check_vector("theta_b", theta_b, theta_a.numel()).detach()
    alphas = np.asarray(alphas, dtype=float)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence, got shape {alphas.shape}.")
    with torch.no_grad():
        return np.array([float(f(theta_a + float(a) * (theta_b - theta_a))) for a in alphas])


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    """A random direction in parameter space, filter-normalized as in Li et al. (2018).

    A Gaussian vector is drawn with the shapes of ``model``'s parameters. In every parameter
    with two or more dimensions, each *filter* (a slice along the first dimension: a row of a
    linear layer's weight, an output channel of a convolution) is rescaled to the norm of the
    same filter of the model's weights. One-dimensional parameters (biases, normalization
    scales) are set to zero. Moving by ``t`` along such a direction changes every filter by the
    same fraction ``t`` of its size, which makes pictures of nets with different weight scales
    comparable.

    Args:
        model: the network whose current parameters set the scale.
        generator: the random generator to draw from.

    Returns:
        the direction as a flat vector of shape ``(P,)``, in the order of :func:`flat_parameters`.
    """
    pieces = []
    for p in model.parameters():
        w = p.detach()
        if w.ndim < 2:
            pieces.append(torch.zeros_like(w).reshape(-1))
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype)
        d_norm = torch.linalg.vector_norm(d.reshape(d.shape[0], -1), dim=1)
        w_norm = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1)
        scale = (w_norm / d_norm.clamp_min(torch.finfo(w.dtype).tiny)).reshape(
            -1, *([1] * (w.ndim - 1)))
        pieces.append((d * scale).reshape(-1))
    if not pieces:
        raise ValueError("model has no parameters.")
    return torch.cat(pieces)


def slice_2d(f: FlatLoss, theta: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
             alphas: Sequence[float] | np.ndarray,
             betas: Sequence[float] | np.ndarray) -> np.ndarray:
    """Loss on the plane ``theta + alpha d1 + beta d2`` through ``theta``.

    Args:
        f: a scalar function of a flat vector.
        theta: the centre, shape ``(P,)`` (e.g. a trained solution).
        d1, d2: the two directions, shape ``(P,)`` (e.g. :func:`filter_normalized_direction`).
        alphas: coordinates along ``d1``, shape ``(m,)``.
        betas: coordinates along ``d2``, shape ``(k,)``.

    Returns:
        the losses, a NumPy array of shape ``(k, m)``: row ``i`` is ``beta = betas[i]``, as
        ``matplotlib``'s ``contour(alphas, betas, Z)`` expects.
    """
    theta = _check_vector("theta", theta).detach()
    d1 = _check_vector("d1", d1, theta.numel()).detach()
    d2 = _check_vector("d2", d2, theta.numel()).detach()
    alphas = np.asarray(alphas, dtype=float)
    betas = np.asarray(betas, dtype=float)
    for name, grid in (("alphas", alphas), ("betas", betas)):
        if grid.ndim != 1 or grid.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {grid.shape}.")
    out = np.empty((betas.size, alphas.size))
    with torch.no_grad():
        for i, b in enumerate(betas):
            for j, a in enumerate(alphas):
                out[i, j] = float(f(theta + float(a) * d1 + float(b) * d2))
    return out
