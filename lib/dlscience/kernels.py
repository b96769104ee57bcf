"""Infinite-width kernels of ReLU networks, analytic and empirical.

The networks here are fully connected ReLU nets in the *NTK parameterization* (Jacot et al.
2018): every weight is a standard Gaussian at initialization and the width scaling sits in the
forward pass,

    h_1 = W_1 x / sqrt(d),
    h_{l+1} = sqrt(2 / m) W_{l+1} relu(h_l),
    f(x) = sqrt(2 / m) a . relu(h_L),

with ``d`` the input dimension, ``m`` the width and ``L`` the number of hidden layers (``depth``).
As ``m`` grows, ``f`` at initialization tends to a Gaussian process whose covariance is the NNGP
kernel, and the kernel of gradient descent, the empirical NTK ``J(x) . J(x')``, tends to a fixed
kernel, the NTK. For ReLU both limits are given by the arc-cosine kernels of Cho & Saul (2009);
:func:`relu_kernels` evaluates them, :func:`empirical_ntk` and :func:`empirical_nngp` measure
the finite-width kernels of a given network, and :func:`kernel_regression` and
:func:`kernel_gd_predict` turn a kernel into predictions. :func:`gp_posterior` and
:func:`readout_ensemble` compare the Bayesian posterior of the NNGP with an ensemble of trained
networks; :func:`two_layer_ntk`, :func:`linear_cka` and :func:`kernel_alignment` measure how
much, and how usefully, a network's kernel and features moved during training.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.func import functional_call, jacrev, vmap

from dlscience.checks import positive_int as _check_positive_int
from dlscience.train import History


def _as_2d(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (n, d), got shape {x.shape}.")
    return x


def arccos_kernel(x1: np.ndarray, x2: np.ndarray, order: int) -> np.ndarray:
    """Arc-cosine kernel of Cho & Saul (2009) of order 0 or 1.

    With ``theta`` the angle between ``x`` and ``x'``:

    * order 0: ``1 - theta / pi`` (twice the mean of step(w.x) step(w.x') over w ~ N(0, I));
    * order 1: ``|x| |x'| (sin theta + (pi - theta) cos theta) / pi`` (twice the mean of
      relu(w.x) relu(w.x')).

    Args:
        x1: inputs, shape ``(n1, d)``.
        x2: inputs, shape ``(n2, d)``.
        order: 0 or 1.

    Returns:
        the kernel matrix, shape ``(n1, n2)``.
    """
    x1, x2 = _as_2d("x1", x1), _as_2d("x2", x2)
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x1 and x2 must have the same dimension, got {x1.shape[1]} and "
                         f"{x2.shape[1]}.")
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order!r}.")
    n1, n2 = np.linalg.norm(x1, axis=1), np.linalg.norm(x2, axis=1)
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise ValueError("arccos_kernel needs non-zero inputs (the angle is undefined at 0).")
    norms = np.outer(n1, n2)
    theta = np.arccos(np.clip(x1 @ x2.T / norms, -1.0, 1.0))
    if order == 0:
        return 1.0 - theta / np.pi
    return norms * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi


def relu_kernels(x1: np.ndarray, x2: np.ndarray, depth: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic NNGP and NTK of the ReLU network of :class:`NTKNet` with ``depth`` hidden layers.

    The recursion (Lee et al. 2018; Jacot et al. 2018; Arora et al. 2019) starts from
    ``Sigma_0(x, x') = x . x' / d`` and, at each hidden layer, maps the covariance of the
    pre-activations through the arc-cosine kernels: ``Sigma_l = k1`` and ``Sigma_dot_l = k0``
    evaluated on the covariance ``Sigma_{l-1}``, and ``Theta_l = Sigma_l + Theta_{l-1} Sigma_dot_l``
    with ``Theta_0 = Sigma_0``. For ``depth = 1`` (a two-layer network) this is
    ``NNGP = k1(x / sqrt(d), x' / sqrt(d))`` and ``NTK = NNGP + (x . x' / d) k0(x, x')``.

    Args:
        x1: inputs, shape ``(n1, d)``, none of them zero.
        x2: inputs, shape ``(n2, d)``.
        depth: number of hidden layers, at least 1.

    Returns:
        ``(nngp, ntk)``, two arrays of shape ``(n1, n2)``.
    """
    x1, x2 = _as_2d("x1", x1), _as_2d("x2", x2)
    depth = _check_positive_int("depth", depth)
    d = x1.shape[1]
    if x2.shape[1] != d:
        raise ValueError(f"x1 and x2 must have the same dimension, got {d} and {x2.shape[1]}.")
    q1, q2 = np.sum(x1**2, axis=1) / d, np.sum(x2**2, axis=1) / d
    if np.any(q1 == 0) or np.any(q2 == 0):
        raise ValueError("relu_kernels needs non-zero inputs.")
    sigma = x1 @ x2.T / d
    ntk = sigma.copy()
    norms = np.sqrt(np.outer(q1, q2))
    for _ in range(depth):
        # With weight variance 2 / m the diagonal q is the same at every layer.
        theta = np.arccos(np.clip(sigma / norms, -1.0, 1.0))
        sigma_dot = 1.0 - theta / np.pi
        sigma = norms * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        ntk = sigma + ntk * sigma_dot
    return sigma, ntk


class NTKNet(nn.Module):
    """A scalar-output ReLU network in the NTK parameterization (see the module docstring).

    All weights are standard Gaussians; there are no biases (append a constant coordinate to the
    input for one). ``features(x)`` returns the last hidden layer scaled by ``sqrt(2 / m)``, so
    that ``f(x) = features(x) @ a`` and ``features(x) @ features(x').T`` is the empirical NNGP.

    Args:
        in_dim: input dimension ``d``.
        width: hidden width ``m``.
        depth: number of hidden layers ``L`` (1 gives a two-layer network).
        dtype: parameter dtype.
    """

    def __init__(self, in_dim: int, width: int, depth: int = 1,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.in_dim = _check_positive_int("in_dim", in_dim)
        self.width = _check_positive_int("width", width)
        self.depth = _check_positive_int("depth", depth)
        sizes = [self.in_dim] + [self.width] * self.depth
        self.hidden = nn.ParameterList(
            nn.Parameter(torch.randn(b, a, dtype=dtype)) for a, b in zip(sizes[:-1], sizes[1:]))
        self.readout = nn.Parameter(torch.randn(self.width, dtype=dtype))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled last-layer features ``sqrt(2 / m) relu(h_L)``: ``(n, d)`` to ``(n, m)``."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (n, {self.in_dim}), got {tuple(x.shape)}.")
        h = x @ self.hidden[0].T / math.sqrt(self.in_dim)
        for i in range(1, self.depth):  # indexing, not slicing: a sliced ParameterList re-wraps
            h = torch.relu(h) @ self.hidden[i].T * math.sqrt(2.0 / self.width)
        return torch.relu(h) * math.sqrt(2.0 / self.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output, shape ``(n,)`` for ``x`` of shape ``(n, d)``."""
        return self.features(x) @ self.readout


class Centered(nn.Module):
    """The centered, scaled model ``g = alpha (f(x; theta) - f(x; theta_0))`` (Chizat et al. 2019).

    ``theta_0`` is a frozen copy of ``model``'s parameters at construction (``initial``), so the
    output is exactly zero at initialization whatever the width; ``alpha`` sets the output scale
    (large ``alpha``: lazy training). Train it with :func:`fit_centered`.

    Args:
        model: the network ``f``; it is trained in place.
        alpha: positive output scale.
    """

    def __init__(self, model: nn.Module, alpha: float = 1.0):
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha!r}.")
        self.model = model
        self.alpha = float(alpha)
        self.initial = copy.deepcopy(model).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            f0 = self.initial(x)
        return self.alpha * (self.model(x) - f0)


def fit_centered(centered: Centered, x: torch.Tensor, y: torch.Tensor, *, lr: float,
                 loss_target: float | None, max_steps: int) -> History:
    """Full-batch gradient descent on a :class:`Centered` model until its loss reaches a target.

    The objective is ``mean((g - y)^2) / (2 alpha^2)`` (Chizat et al. 2019): with it, one step
    moves the function ``g`` by ``-lr K (g - y) / n`` to first order, with ``K`` the tangent
    kernel of ``f``, whatever ``alpha``, so the same ``lr`` serves every ``alpha``. The recorded
    loss is the function-space loss ``mean((g - y)^2) / 2``, the same for every ``alpha``.

    Args:
        centered: the model; its ``model`` is trained in place.
        x: training inputs, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        lr: positive step size.
        loss_target: stop at the first step whose loss is at most this; ``None`` takes
            exactly ``max_steps`` steps.
        max_steps: the most steps allowed (the number of steps when ``loss_target`` is None).

    Returns:
        a :class:`dlscience.train.History` with metric ``"loss"`` recorded before every step;
        its last step is the number of steps taken.

    Raises:
        RuntimeError: if the loss has not reached ``loss_target`` after ``max_steps`` steps.
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    if loss_target is not None and not loss_target > 0:
        raise ValueError(f"loss_target must be positive, got {loss_target!r}.")
    max_steps = _check_positive_int("max_steps", max_steps)
    if y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be (n, d) and y (n,), got {tuple(x.shape)} and {tuple(y.shape)}.")
    alpha = centered.alpha
    with torch.no_grad():
        f0 = centered.initial(x)
    opt = torch.optim.SGD(centered.model.parameters(), lr=lr)
    history = History()
    for step in range(max_steps + 1):
        residual = alpha * (centered.model(x) - f0) - y
        loss = 0.5 * (residual**2).mean()
        value = float(loss.detach())
        history.record(step, {"loss": value})
        if not math.isfinite(value):
            raise RuntimeError(f"training diverged at step {step} (lr={lr!r} too large?).")
        if (value <= loss_target) if loss_target is not None else step == max_steps:
            return history
        opt.zero_grad()
        (loss / alpha**2).backward()
        opt.step()
    raise RuntimeError(f"the loss is {value:.3g} after {max_steps} steps, above "
                       f"loss_target={loss_target!r}; raise max_steps or lr.")


def sample_outputs(x: np.ndarray, width: int, n_nets: int, rng: np.random.Generator,
                   chunk: int = 4096) -> np.ndarray:
    """Outputs at initialization of ``n_nets`` independent two-layer :class:`NTKNet` networks.

    Each network ``f(x) = sqrt(2 / m) sum_j a_j relu(w_j . x / sqrt(d))`` draws its ``w_j`` and
    ``a_j`` as standard Gaussians, as ``NTKNet(d, width)`` does; the draws are vectorized over
    networks (in chunks of ``chunk`` networks to bound memory).

    Args:
        x: inputs, shape ``(k, d)``.
        width: hidden width ``m``.
        n_nets: number of independent networks.
        rng: the NumPy generator to draw from.
        chunk: networks per vectorized batch.

    Returns:
        array of shape ``(n_nets, k)``: row ``i`` is network ``i`` evaluated at the ``k`` inputs.
    """
    x = _as_2d("x", x)
    width = _check_positive_int("width", width)
    n_nets = _check_positive_int("n_nets", n_nets)
    chunk = _check_positive_int("chunk", chunk)
    d = x.shape[1]
    out = []
    for start in range(0, n_nets, chunk):
        b = min(chunk, n_nets - start)
        w = rng.standard_normal((b, width, d))
        a = rng.standard_normal((b, width))
        pre = (w.reshape(b * width, d) @ x.T).reshape(b, width, -1) / math.sqrt(d)  # (b, m, k)
        out.append(np.einsum("bm,bmk->bk", a, np.maximum(pre, 0.0)) * math.sqrt(2.0 / width))
    return np.concatenate(out)


def relative_change(model: nn.Module, reference: nn.Module) -> float:
    """``||theta - theta_ref|| / ||theta_ref||`` over all parameters (Euclidean norms)."""
    p = torch.cat([t.detach().reshape(-1) for t in model.parameters()])
    p0 = torch.cat([t.detach().reshape(-1) for t in reference.parameters()])
    if p.shape != p0.shape:
        raise ValueError(f"model and reference must have the same parameters, got {p.numel()} "
                         f"and {p0.numel()} scalars.")
    return float(torch.linalg.vector_norm(p - p0) / torch.linalg.vector_norm(p0))


def empirical_ntk(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None) -> np.ndarray:
    """Empirical NTK ``sum_p df(x1_i)/dp df(x2_j)/dp`` of a scalar-output model, by ``torch.func``.

    Per-example Jacobians are computed with ``vmap(jacrev(...))`` over a functional call of the
    model, then contracted over every parameter.

    Args:
        model: a module mapping ``(n, d)`` to ``(n,)`` or ``(n, 1)``.
        x1: inputs, shape ``(n1, d)``.
        x2: inputs, shape ``(n2, d)``; ``None`` means ``x1``.

    Returns:
        the kernel matrix as a float64 array of shape ``(n1, n2)``.
    """
    if x1.ndim != 2:
        raise ValueError(f"x1 must have shape (n, d), got {tuple(x1.shape)}.")
    params = {k: v.detach() for k, v in model.named_parameters()}

    def f_single(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, p, (x.unsqueeze(0),))
        if out.numel() != 1:
            raise ValueError(f"empirical_ntk needs a scalar-output model, got an output of "
                             f"{out.numel()} values per input.")
        return out.reshape(())

    def jacobian(x: torch.Tensor) -> torch.Tensor:
        jac = vmap(jacrev(f_single), (None, 0))(params, x)
        return torch.cat([j.reshape(x.shape[0], -1) for j in jac.values()], dim=1)

    j1 = jacobian(x1)
    j2 = j1 if x2 is None else jacobian(x2)
    return (j1 @ j2.T).double().numpy()


def empirical_nngp(model: NTKNet, x1: torch.Tensor, x2: torch.Tensor | None = None) -> np.ndarray:
    """Empirical NNGP ``features(x1) @ features(x2).T`` of one :class:`NTKNet`.

    This is the covariance of the output over the readout weights alone, given the hidden
    layers; its mean over random hidden layers is the NNGP kernel.

    Returns:
        float64 array of shape ``(n1, n2)``.
    """
    with torch.no_grad():
        f1 = model.features(x1)
        f2 = f1 if x2 is None else model.features(x2)
    return (f1 @ f2.T).double().numpy()


def relative_error(k: np.ndarray, k_ref: np.ndarray) -> float:
    """Relative Frobenius error ``||k - k_ref|| / ||k_ref||`` of two arrays of the same shape."""
    k, k_ref = np.asarray(k), np.asarray(k_ref)
    if k.shape != k_ref.shape:
        raise ValueError(f"k and k_ref must have the same shape, got {k.shape} and {k_ref.shape}.")
    return float(np.linalg.norm(k - k_ref) / np.linalg.norm(k_ref))


def _check_kernel_args(k_train: np.ndarray, k_test_train: np.ndarray,
                       y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k_train = np.asarray(k_train, dtype=np.float64)
    k_test_train = np.asarray(k_test_train, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0] if y.ndim == 1 else -1
    if y.ndim != 1 or k_train.shape != (n, n):
        raise ValueError(f"k_train must have shape (n, n) for y of shape (n,), got {k_train.shape} "
                         f"and {y.shape}.")
    if k_test_train.ndim != 2 or k_test_train.shape[1] != n:
        raise ValueError(f"k_test_train must have shape (n_test, {n}), got {k_test_train.shape}.")
    return k_train, k_test_train, y


def kernel_regression(k_train: np.ndarray, k_test_train: np.ndarray, y: np.ndarray,
                      ridge: float = 0.0) -> np.ndarray:
    """Kernel (ridge) regression prediction ``K(test, X) (K(X, X) + ridge I)^(-1) y``.

    With ``ridge = 0`` this is the interpolant that gradient flow on the linearized network
    reaches at infinite time from a zero output.

    Args:
        k_train: ``K(X, X)``, shape ``(n, n)``, symmetric positive (semi-)definite.
        k_test_train: ``K(test, X)``, shape ``(n_test, n)``.
        y: targets, shape ``(n,)``.
        ridge: non-negative ridge added to the diagonal.

    Returns:
        predictions, shape ``(n_test,)``.
    """
    k_train, k_test_train, y = _check_kernel_args(k_train, k_test_train, y)
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge!r}.")
    coef = linalg.solve(k_train + ridge * np.eye(len(y)), y, assume_a="pos")
    return k_test_train @ coef


def kernel_gd_predict(k_train: np.ndarray, k_test_train: np.ndarray, y: np.ndarray,
                      lr: float, steps: int) -> np.ndarray:
    """Prediction of the linearized model after ``steps`` steps of gradient descent.

    A model ``g`` whose tangent kernel is frozen at ``K``, started from ``g = 0`` and trained by
    gradient descent with step ``lr`` on ``mean((g - y)^2) / 2``, satisfies
    ``g_t(X) = (I - (I - lr K / n)^t) y`` on the training inputs and, at test inputs,
    ``g_t(test) = K(test, X) K^(-1) (I - (I - lr K / n)^t) y``. It is computed in the
    eigenbasis of ``K``, stably for small eigenvalues; as ``steps`` grows it tends to
    :func:`kernel_regression`.

    Args:
        k_train: ``K(X, X)``, shape ``(n, n)``.
        k_test_train: ``K(test, X)``, shape ``(n_test, n)``.
        y: targets, shape ``(n,)``.
        lr: positive step size.
        steps: non-negative number of steps.

    Returns:
        predictions, shape ``(n_test,)``.
    """
    k_train, k_test_train, y = _check_kernel_args(k_train, k_test_train, y)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    n = len(y)
    lam, vec = np.linalg.eigh(k_train)
    lam = np.clip(lam, 0.0, None)
    rate = lr * lam / n
    if np.any(rate >= 2):
        raise ValueError(f"lr={lr!r} is unstable: lr * lambda_max / n = {rate.max():.3g} >= 2.")
    # gain = 1 - (1 - rate)^t, with expm1/log1p where rate < 1 so that it stays exact as
    # lambda -> 0 (where rate >= 1 the power is computed directly).
    small = rate < 1
    gain = np.where(small, -np.expm1(steps * np.log1p(-np.where(small, rate, 0.0))),
                    1.0 - (1.0 - rate) ** steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        filt = np.where(lam > 0, gain / np.where(lam > 0, lam, 1.0), steps * lr / n)
    return k_test_train @ (vec @ (filt * (vec.T @ y)))


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (a power-law exponent)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got {x.shape}, {y.shape}.")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("fit_slope needs positive x and y.")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def two_layer_ntk(model: NTKNet, x: torch.Tensor, masks_from: NTKNet | None = None
                  ) -> np.ndarray:
    """Empirical NTK of a two-layer :class:`NTKNet` in closed form, optionally with frozen units.

    For ``f(x) = sqrt(2 / m) sum_r a_r relu(w_r . xb)`` with ``xb = x / sqrt(d)`` the tangent
    kernel is ``(2 / m) sum_r [relu(w_r . xb) relu(w_r . xb') + a_r^2 (xb . xb') s_r(x) s_r(x')]``
    with ``s_r(x) = 1{w_r . xb > 0}`` the activation pattern of unit ``r``. With ``masks_from``
    the patterns ``s_r`` (and the ReLU gates) are those of another network with the same shape,
    typically the network at initialization: the result is then the kernel the trained network
    would have if no unit had switched on or off at any input, which separates the smooth part of
    the kernel's change during training from the part due to switching units.

    Args:
        model: a two-layer network (``depth == 1``).
        x: inputs, shape ``(n, d)``.
        masks_from: a two-layer network of the same shape whose activation patterns to use;
            ``None`` uses ``model``'s own (then the result equals :func:`empirical_ntk`).

    Returns:
        the kernel matrix, float64 array of shape ``(n, n)``.
    """
    if not isinstance(model, NTKNet) or model.depth != 1:
        raise ValueError("model must be a two-layer NTKNet (depth 1).")
    ref = model if masks_from is None else masks_from
    if not isinstance(ref, NTKNet) or ref.depth != 1 or ref.width != model.width \
            or ref.in_dim != model.in_dim:
        raise ValueError("masks_from must be a two-layer NTKNet with the shape of model.")
    if x.ndim != 2 or x.shape[1] != model.in_dim:
        raise ValueError(f"x must have shape (n, {model.in_dim}), got {tuple(x.shape)}.")
    with torch.no_grad():
        xb = x.double() / math.sqrt(model.in_dim)
        pre = xb @ model.hidden[0].double().T                        # (n, m)
        mask = (xb @ ref.hidden[0].double().T > 0).double()          # (n, m)
        gated = pre * mask
        a2 = model.readout.double() ** 2
        theta = gated @ gated.T + (xb @ xb.T) * ((mask * a2) @ mask.T)
    return (2.0 / model.width * theta).numpy()


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear centered kernel alignment of two representations of the same inputs.

    ``CKA(A, B) = ||B_c^T A_c||_F^2 / (||A_c^T A_c||_F ||B_c^T B_c||_F)`` with ``A_c``, ``B_c`` the
    column-centered matrices (Kornblith et al. 2019). It is 1 for representations that differ by
    an orthogonal map and a scale, and invariant to both.

    Args:
        a: representation, shape ``(n, p)`` (one row per input).
        b: representation of the same ``n`` inputs, shape ``(n, q)``.

    Returns:
        a number in ``[0, 1]``.
    """
    a, b = _as_2d("a", a), _as_2d("b", b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"a and b must have the same number of rows, got {a.shape[0]} and "
                         f"{b.shape[0]}.")
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    den = np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)
    if den == 0:
        raise ValueError("linear_cka needs representations that are not constant across rows.")
    return float(np.linalg.norm(b.T @ a) ** 2 / den)


def kernel_alignment(k: np.ndarray, y: np.ndarray) -> float:
    """Kernel-target alignment ``<K, y y^T>_F / (||K||_F ||y y^T||_F) = y^T K y / (||K||_F |y|^2)``.

    (Cristianini et al. 2002.) It measures how much of the kernel's mass lies along the target:
    1 for ``K`` proportional to ``y y^T``.

    Args:
        k: kernel matrix, shape ``(n, n)``.
        y: targets, shape ``(n,)``, not all zero.
    """
    k = np.asarray(k, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or k.shape != (len(y), len(y)):
        raise ValueError(f"k must have shape (n, n) for y of shape (n,), got {k.shape} and "
                         f"{y.shape}.")
    if not np.any(y) or not np.any(k):
        raise ValueError("kernel_alignment needs a non-zero k and y.")
    return float(y @ k @ y / (np.linalg.norm(k) * (y @ y)))


def gp_posterior(k_train: np.ndarray, k_test_train: np.ndarray, k_test_diag: np.ndarray,
                 y: np.ndarray, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance of a centered Gaussian process at test inputs.

    With prior covariance ``K`` and observations ``y = f(X) + N(0, noise I)``:
    ``mean = K(test, X) (K + noise I)^(-1) y`` and
    ``var = K(test, test) - K(test, X) (K + noise I)^(-1) K(X, test)`` (the diagonal only).

    Args:
        k_train: ``K(X, X)``, shape ``(n, n)``.
        k_test_train: ``K(test, X)``, shape ``(n_test, n)``.
        k_test_diag: ``K(x, x)`` at each test input, shape ``(n_test,)``.
        y: observations, shape ``(n,)``.
        noise: non-negative observation noise variance (0: noise-free, exact interpolation).

    Returns:
        ``(mean, var)``, two arrays of shape ``(n_test,)``.
    """
    k_train, k_test_train, y = _check_kernel_args(k_train, k_test_train, y)
    k_test_diag = np.asarray(k_test_diag, dtype=np.float64)
    if k_test_diag.shape != (k_test_train.shape[0],):
        raise ValueError(f"k_test_diag must have shape ({k_test_train.shape[0]},), got "
                         f"{k_test_diag.shape}.")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}.")
    factor = linalg.cho_factor(k_train + noise * np.eye(len(y)))
    mean = k_test_train @ linalg.cho_solve(factor, y)
    var = k_test_diag - np.sum(k_test_train * linalg.cho_solve(factor, k_test_train.T).T, axis=1)
    return mean, var


def readout_ensemble(x_train: np.ndarray, y: np.ndarray, x_test: np.ndarray, width: int,
                     n_nets: int, rng: np.random.Generator) -> np.ndarray:
    """Test predictions of two-layer networks whose readout alone was trained to convergence.

    Each network draws its first layer ``W`` (shape ``(width, d)``) and then its readout ``a_0``
    (shape ``(width,)``) from standard Gaussians, in that order, as :class:`NTKNet` does. With
    features ``phi(x) = sqrt(2 / m) relu(W x / sqrt(d))`` the model is linear in ``a``, and
    gradient descent (or flow) on the squared loss started at ``a_0`` converges to the
    interpolant closest to ``a_0``: ``a = a_0 + Phi^T (Phi Phi^T)^(-1) (y - Phi a_0)``, with
    ``Phi`` the training features. This function returns that limit, evaluated at ``x_test``,
    for ``n_nets`` independent networks: an exact sample from the posterior of the Gaussian
    process with the network's random-features kernel given ``f(X) = y`` (sample-then-optimize).

    Args:
        x_train: training inputs, shape ``(n, d)``.
        y: targets, shape ``(n,)``.
        x_test: test inputs, shape ``(n_test, d)``.
        width: hidden width ``m``, at least ``n`` (so that the network can interpolate).
        n_nets: number of independent networks.
        rng: the NumPy generator to draw from.

    Returns:
        predictions, shape ``(n_nets, n_test)``.
    """
    x_train, x_test = _as_2d("x_train", x_train), _as_2d("x_test", x_test)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (x_train.shape[0],):
        raise ValueError(f"y must have shape ({x_train.shape[0]},), got {y.shape}.")
    if x_test.shape[1] != x_train.shape[1]:
        raise ValueError(f"x_train and x_test must have the same dimension, got "
                         f"{x_train.shape[1]} and {x_test.shape[1]}.")
    width = _check_positive_int("width", width)
    n_nets = _check_positive_int("n_nets", n_nets)
    if width < len(y):
        raise ValueError(f"width must be at least the number of training points {len(y)}, "
                         f"got {width}.")
    d = x_train.shape[1]
    scale = math.sqrt(2.0 / width)
    out = np.empty((n_nets, x_test.shape[0]))
    for i in range(n_nets):
        w = rng.standard_normal((width, d))
        a0 = rng.standard_normal(width)
        phi = scale * np.maximum(x_train @ w.T / math.sqrt(d), 0.0)       # (n, m)
        phi_test = scale * np.maximum(x_test @ w.T / math.sqrt(d), 0.0)   # (n_test, m)
        a = a0 + phi.T @ linalg.solve(phi @ phi.T, y - phi @ a0, assume_a="pos")
        out[i] = phi_test @ a
    return out
