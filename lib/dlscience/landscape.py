"""Curvature and pictures of a loss landscape.

A network's loss is seen here as a function of one flat parameter vector ``theta`` of shape
``(P,)`` (:func:`flat_loss`). On that function the module computes

* Hessian-vector products by double backpropagation (:func:`hvp`, Pearlmutter 1994), and the
  dense ``(P, P)`` Hessian for small nets (:func:`dense_hessian`);
* extreme eigenvalues of the Hessian by the Lanczos method (:func:`hessian_eigenpairs`, through
  SciPy's ARPACK ``eigsh`` on a ``LinearOperator`` of Hessian-vector products), hence the
  *sharpness*, the algebraically largest Hessian eigenvalue (:func:`sharpness`), and a training
  callback that tracks it (:class:`SharpnessTracker`). Every eigenpair carries its residual
  ``||H v - lambda v|| / |lambda|``, the certificate that it converged;
* the eigenvalue of largest *magnitude* of a symmetric operator by power iteration
  (:func:`power_iteration`), the textbook method the Lanczos method improves on;
* the loss along the segment between two parameter vectors (:func:`interpolate`, Goodfellow et
  al. 2015), filter-normalized random directions (:func:`filter_normalized_direction`, Li et al.
  2018), the loss on a 2-D plane through a point (:func:`slice_2d`), and the principal
  directions of a training trajectory (:func:`trajectory_pca`, Li et al. 2018).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from torch import nn
from torch.func import functional_call

from dlscience.checks import positive_int as _check_positive_int

FlatLoss = Callable[[torch.Tensor], torch.Tensor]


def _check_vector(name: str, value: object, dim: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a 1-D tensor, got {shape}.")
    if dim is not None and value.numel() != dim:
        raise ValueError(f"{name} must have {dim} entries, got {value.numel()}.")
    return value


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
    """An eigenvalue estimate of a symmetric operator ``A`` with its evidence.

    Attributes:
        value: the eigenvalue estimate (the Rayleigh quotient of ``vector``).
        vector: the unit eigenvector estimate, shape ``(P,)``.
        iterations: matrix-vector products used (for :func:`hessian_eigenpairs`, shared by all
            the pairs of one call).
        converged: whether ``residual`` is at most the tolerance asked for.
        residual: the relative residual ``||A v - value v|| / |value|``. For a symmetric ``A``
            some eigenvalue lies within ``residual * |value|`` of ``value``: the residual
            certifies the estimate whatever method produced it.
    """

    value: float
    vector: torch.Tensor
    iterations: int
    converged: bool
    residual: float = float("nan")


def _relative_residual(av: torch.Tensor, v: torch.Tensor, value: float) -> float:
    """``||A v - value v|| / |value|`` (infinite when ``value`` is 0 and ``A v`` is not)."""
    r = float(torch.linalg.vector_norm(av - value * v))
    if value == 0:
        return 0.0 if r == 0 else float("inf")
    return r / abs(value)


def power_iteration(matvec: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, *,
                    max_iter: int = 1000, tol: float = 1e-8) -> Eigenpair:
    """Eigenvalue of largest *magnitude* of a symmetric operator, by power iteration.

    Repeats ``v <- A v / |A v|`` and stops when the relative residual
    ``||A v - (v . A v) v|| / |v . A v|`` falls below ``tol``. The residual shrinks like
    ``|lambda_2 / lambda_1| ** k`` after ``k`` steps, where ``lambda_1, lambda_2`` are the two
    eigenvalues of largest magnitude: a small gap makes the iteration crawl, and a negative
    eigenvalue larger in magnitude than the top positive one wins. The stopping rule is a
    residual, not the change of the estimate between steps, which can be tiny while the
    iteration stalls. For the largest *algebraic* eigenvalue use :func:`hessian_eigenpairs`.

    Args:
        matvec: ``v -> A v`` for a symmetric ``A``, vectors of shape ``(P,)``.
        v0: starting vector, shape ``(P,)``, not orthogonal to the top eigenvector (a random
            vector, or the previous estimate when tracking a slowly changing ``A``).
        max_iter: the most matrix-vector products to use.
        tol: tolerance on the relative residual.

    Returns:
        an :class:`Eigenpair`; ``converged`` is false if ``max_iter`` products did not reach
        ``tol``.
    """
    v0 = _check_vector("v0", v0)
    max_iter = _check_positive_int("max_iter", max_iter)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}.")
    norm = torch.linalg.vector_norm(v0)
    if norm == 0:
        raise ValueError("v0 must be a non-zero vector.")
    v = v0.detach() / norm
    for k in range(1, max_iter + 1):
        av = matvec(v).detach()
        value = float(v @ av)
        residual = _relative_residual(av, v, value)
        av_norm = torch.linalg.vector_norm(av)
        converged = residual <= tol
        if converged or k == max_iter or av_norm == 0:
            return Eigenpair(value, v, k, converged, residual)
        v = av / av_norm
    raise AssertionError("unreachable")


def hessian_eigenpairs(f: FlatLoss, theta: torch.Tensor, *, k: int = 1, which: str = "LA",
                       v0: torch.Tensor | None = None, tol: float = 1e-6,
                       max_matvecs: int = 2000, ncv: int | None = None,
                       seed: int = 0) -> list[Eigenpair]:
    """The ``k`` algebraically largest (``"LA"``) or smallest (``"SA"``) Hessian eigenvalues.

    Runs the implicitly restarted Lanczos method (ARPACK, ``scipy.sparse.linalg.eigsh``) on a
    ``LinearOperator`` whose product is :func:`hvp`: the Hessian is never formed. Each returned
    pair is then checked with one more product: its ``residual`` is the relative residual
    ``||H v - lambda v|| / |lambda|`` and ``converged`` says whether it is at most ``tol``.

    Args:
        f: a scalar function of a flat vector, e.g. from :func:`flat_loss`.
        theta: the point, shape ``(P,)``; products are computed in its dtype (use float64 for
            tight tolerances: a float32 product is only accurate to about ``1e-6``).
        k: how many eigenvalues, ``1 <= k < P``.
        which: ``"LA"`` for the largest (the sharpness is the first), ``"SA"`` for the smallest
            (the most negative curvature).
        v0: starting vector, shape ``(P,)`` (e.g. the previous top eigenvector when tracking a
            changing Hessian); ``None`` draws a Gaussian one with ``seed``.
        tol: relative tolerance of the residual test (ARPACK is run with ``tol / 2``).
        max_matvecs: a budget of Hessian-vector products; ARPACK stops after about this many
            (it counts restarts of ``ncv`` products each). Pairs it did not converge are still
            returned, with ``converged`` false.
        ncv: Lanczos vectors kept between restarts (default ``max(2 k + 1, 8)``, at most ``P``).
        seed: seed of the random starting vector.

    Returns:
        ``k`` :class:`Eigenpair`, ordered from the most extreme (largest for ``"LA"``,
        smallest for ``"SA"``).
    """
    theta = _check_vector("theta", theta).detach()
    dim = theta.numel()
    k = _check_positive_int("k", k)
    if k >= dim:
        raise ValueError(f"k must be smaller than the number of parameters {dim}, got {k}.")
    if which not in ("LA", "SA"):
        raise ValueError(f"which must be 'LA' or 'SA', got {which!r}.")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}.")
    max_matvecs = _check_positive_int("max_matvecs", max_matvecs)
    ncv = min(dim, max(2 * k + 1, 8)) if ncv is None else _check_positive_int("ncv", ncv)
    if not k < ncv <= dim:
        raise ValueError(f"ncv must satisfy k < ncv <= P = {dim}, got {ncv}.")
    if v0 is None:
        gen = torch.Generator().manual_seed(seed)
        v0 = torch.randn(dim, generator=gen, dtype=theta.dtype)
    v0 = _check_vector("v0", v0, dim)
    if torch.linalg.vector_norm(v0) == 0:
        raise ValueError("v0 must be a non-zero vector.")
    count = 0

    def matvec(v: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).reshape(-1))
        return hvp(f, theta, vt.to(theta.dtype)).double().numpy()

    op = LinearOperator((dim, dim), matvec=matvec, dtype=np.float64)
    try:
        # ARPACK is asked for tol / 2 so that the residual test against tol below, which
        # recomputes the residual with a fresh product, has a margin for rounding.
        values, vectors = eigsh(op, k=k, which=which, v0=v0.double().numpy(), tol=tol / 2,
                                ncv=ncv, maxiter=max(1, max_matvecs // ncv))
    except ArpackNoConvergence as err:  # keep what converged, fill in with nothing
        values, vectors = err.eigenvalues, err.eigenvectors
        if len(values) == 0:
            values = np.full(1, np.nan)
            vectors = v0.double().numpy()[:, None] / float(torch.linalg.vector_norm(v0))
    order = np.argsort(values)[::-1] if which == "LA" else np.argsort(values)
    used = count
    pairs = []
    for j in order[:k]:
        v = torch.from_numpy(np.ascontiguousarray(vectors[:, j])).to(theta.dtype)
        v = v / torch.linalg.vector_norm(v)
        hv = hvp(f, theta, v)
        value = float(v @ hv)
        residual = _relative_residual(hv, v, value) if np.isfinite(values[j]) else float("inf")
        pairs.append(Eigenpair(value, v, used, residual <= tol, residual))
    return pairs


def sharpness(f: FlatLoss, theta: torch.Tensor, v0: torch.Tensor | None = None, *,
              tol: float = 1e-6, max_matvecs: int = 2000, ncv: int | None = None,
              seed: int = 0) -> Eigenpair:
    """The sharpness: the largest (algebraic) eigenvalue of the Hessian of ``f`` at ``theta``.

    Computed by the Lanczos method on Hessian-vector products (:func:`hessian_eigenpairs` with
    ``which="LA"``), so that a negative eigenvalue of larger magnitude, common away from a
    minimum, is not returned in its place (it would be by :func:`power_iteration`).

    Args:
        f: a scalar function of a flat vector, e.g. from :func:`flat_loss`.
        theta: the point, shape ``(P,)``.
        v0: starting vector, shape ``(P,)``; ``None`` draws a Gaussian one with ``seed``.
        tol, max_matvecs, ncv: see :func:`hessian_eigenpairs`.
        seed: seed of the random starting vector.

    Returns:
        an :class:`Eigenpair`; check ``converged`` (its ``residual`` is at most ``tol``).
    """
    return hessian_eigenpairs(f, theta, k=1, which="LA", v0=v0, tol=tol,
                              max_matvecs=max_matvecs, ncv=ncv, seed=seed)[0]


class SharpnessTracker:
    """A callback for :func:`dlscience.train.fit` that records the sharpness during training.

    Every ``every`` steps it computes the top Hessian eigenvalue of the training loss at the
    model's current parameters by :func:`sharpness`, warm-started from the previous
    eigenvector, so that one short Lanczos run suffices when the Hessian changes slowly. It
    returns ``{"sharpness": value, "sharpness_residual": residual}`` (the relative residual of
    :class:`Eigenpair`), and NaN for both at the steps in between, so that the loss can be
    logged at every step while the sharpness is measured less often.

    Args:
        model: the network being trained.
        loss_fn: ``loss_fn(model(x), y)`` is the training loss.
        x, y: the full training set.
        every: measure at the steps that are multiples of this (step 0 included).
        tol: relative tolerance of each measurement (see :func:`hessian_eigenpairs`).
        max_matvecs: budget of Hessian-vector products per measurement.
        ncv: Lanczos vectors per restart (see :func:`hessian_eigenpairs`); a small number suits
            a good warm start.
        seed: seed of the first starting vector.

    Attributes:
        matvecs: Hessian-vector products used so far.
    """

    def __init__(self, model: nn.Module,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 x: torch.Tensor, y: torch.Tensor, *, every: int = 1, tol: float = 1e-4,
                 max_matvecs: int = 400, ncv: int | None = None, seed: int = 0):
        self.f = flat_loss(model, loss_fn, x, y)
        self.every = _check_positive_int("every", every)
        if not tol > 0:
            raise ValueError(f"tol must be positive, got {tol!r}.")
        self.tol = tol
        self.max_matvecs = _check_positive_int("max_matvecs", max_matvecs)
        self.ncv = ncv
        self.seed = seed
        self.vector: torch.Tensor | None = None
        self.matvecs = 0

    def __call__(self, step: int, model: nn.Module) -> dict[str, float]:
        if step % self.every:
            return {"sharpness": float("nan"), "sharpness_residual": float("nan")}
        pair = sharpness(self.f, flat_parameters(model), self.vector, tol=self.tol,
                         max_matvecs=self.max_matvecs, ncv=self.ncv, seed=self.seed)
        self.vector = pair.vector
        self.matvecs += pair.iterations + 1
        return {"sharpness": pair.value, "sharpness_residual": pair.residual}


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


def trajectory_pca(thetas: Sequence[torch.Tensor] | torch.Tensor,
                   k: int = 2) -> tuple[np.ndarray, torch.Tensor, np.ndarray]:
    """Principal directions of a training trajectory, as in Li et al. (2018, section 7).

    The displacements ``theta_t - theta_T`` from the last point are stacked into a ``(T + 1, P)``
    matrix ``M``; its top ``k`` right singular vectors are orthonormal directions in parameter
    space, and the trajectory's coordinates along them are ``M @ directions.T``. The plane
    ``theta_T + a d_1 + b d_2`` through the end point then contains the best rank-2 picture of
    the path, on which :func:`slice_2d` can draw the loss.

    Args:
        thetas: the parameter vectors along training, a sequence of ``(P,)`` tensors or a
            ``(T + 1, P)`` tensor, the last one the end point.
        k: number of directions, ``1 <= k <= min(T, P)``.

    Returns:
        ``(coords, directions, explained)``: the coordinates, shape ``(T + 1, k)`` (the last row
        is 0); the directions, a tensor ``(k, P)`` with orthonormal rows; and the fraction of
        ``||M||_F^2`` each direction explains, shape ``(k,)``.
    """
    m = torch.stack([_check_vector("thetas[i]", t) for t in thetas]) if not isinstance(
        thetas, torch.Tensor) else thetas
    if m.ndim != 2 or m.shape[0] < 2:
        raise ValueError(f"thetas must hold at least two (P,) vectors, got shape "
                         f"{tuple(m.shape)}.")
    k = _check_positive_int("k", k)
    disp = (m - m[-1]).detach()
    if k > min(disp.shape[0] - 1, disp.shape[1]):
        raise ValueError(f"k must be at most min(T, P) = {min(disp.shape[0] - 1, disp.shape[1])},"
                         f" got {k}.")
    _, sing, vh = torch.linalg.svd(disp.double(), full_matrices=False)
    total = float(torch.sum(sing**2))
    if total == 0:
        raise ValueError("the trajectory does not move: all thetas are equal.")
    directions = vh[:k].to(disp.dtype)
    coords = (disp.double() @ vh[:k].T).numpy()
    return coords, directions, (sing[:k] ** 2).numpy() / total
