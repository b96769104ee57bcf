"""Certified robustness: interval bound propagation and randomized smoothing.

*Interval bound propagation* (IBP) pushes a box of inputs through a ReLU network layer by layer
with interval arithmetic (Moore 1966): an affine layer maps the box with centre ``c`` and radius
``r`` into the box with centre ``W c + b`` and radius ``|W| r``, a ReLU maps ``[l, u]`` to
``[relu(l), relu(u)]``. The result encloses every output the network can produce on the box, so a
positive lower bound on every logit margin certifies the prediction on the whole box.
:func:`margin_lower_bounds` computes those margins (with the last layer folded into the margins,
as Gowal et al. 2018 do), :func:`ibp_fit` trains a network on them (Gowal et al. 2018's
certified training with an ``eps`` ramp).

*Randomized smoothing* (Cohen, Rosenfeld and Kolter 2019) replaces a base classifier ``f`` by the
smoothed classifier ``g(x) = argmax_c P(f(x + sigma * noise) = c)`` with standard Gaussian noise.
:func:`certify_smoothed` is their CERTIFY procedure (a class guessed from ``n0`` samples, a
one-sided Clopper--Pearson lower bound on its probability from ``n`` fresh samples, the radius
``sigma * Phi^{-1}(p_lower)``), :func:`predict_smoothed` their PREDICT procedure (a binomial test
between the top two classes, abstaining when it fails). :class:`SoftSmoothed` is a differentiable
Monte Carlo version of the smoothed classifier for attacks to target (Salman et al. 2019).

Networks for IBP are ``nn.Sequential`` stacks of ``nn.Linear``, ``nn.ReLU`` (and
``nn.Flatten``), or :class:`dlscience.models.MLP` with ReLU activations. Inputs are ``(n, d)``
tensors (or ``(n, ...)`` with a leading ``nn.Flatten``) and labels integer tensors ``(n,)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from dlscience.checks import positive_int as _positive_int

from .models import MLP

__all__ = ["interval_affine", "interval_bounds", "margin_lower_bounds", "certified",
           "ibp_schedule", "ibp_fit", "clopper_pearson", "smoothing_radius", "gaussian_counts",
           "certify_smoothed", "predict_smoothed", "SoftSmoothed", "certified_accuracy",
           "noise_fit", "pgd_within", "ABSTAIN"]

#: The label :func:`certify_smoothed` and :func:`predict_smoothed` return when they abstain.
ABSTAIN = -1


# --- argument checks -------------------------------------------------------------------------


def _nonneg_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 <= float(value) < float("inf"):
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}.")
    return float(value)


def _positive_float(name: str, value: object) -> float:
    v = _nonneg_float(name, value)
    if v == 0.0:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return v


def _alpha(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 < float(value) < 1.0:
        raise ValueError(f"alpha must be a number in (0, 1), got {value!r}.")
    return float(value)


def _check_bounds(bounds: object) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be None or a pair (low, high) with low < high, "
                         f"got {bounds!r}.")
    return float(bounds[0]), float(bounds[1])


def _check_labels(x: Tensor, y: Tensor) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"x and y must be torch tensors, got {type(x).__name__} and "
                        f"{type(y).__name__}.")
    if y.ndim != 1 or x.ndim < 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"x must have shape (n, ...) and y shape (n,), got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}.")


# --- interval bound propagation --------------------------------------------------------------

def interval_affine(weight: Tensor, bias: Tensor | None, low: Tensor,
                    high: Tensor) -> tuple[Tensor, Tensor]:
    """The image of the box ``[low, high]`` under ``z -> z W^T + b``, exactly.

    With centre ``c = (low + high) / 2`` and radius ``r = (high - low) / 2`` the image of the box
    is contained in, and its coordinate-wise extremes attain, ``[W c + b - |W| r,
    W c + b + |W| r]`` (each output coordinate is extremal at the corner ``c + r sign(W_i)``).

    Args:
        weight: ``(out, in)``.
        bias: ``(out,)`` or ``None``.
        low, high: ``(n, in)`` with ``low <= high``.

    Returns:
        ``(low_out, high_out)``, each ``(n, out)``.
    """
    if low.shape != high.shape or low.shape[-1] != weight.shape[1]:
        raise ValueError(f"low and high must both have shape (n, {weight.shape[1]}), got "
                         f"{tuple(low.shape)} and {tuple(high.shape)}.")
    if bool((low > high).any()):
        raise ValueError("low must be <= high coordinate by coordinate.")
    centre = (high + low) / 2
    radius = (high - low) / 2
    mid = centre @ weight.T
    if bias is not None:
        mid = mid + bias
    spread = radius @ weight.abs().T
    return mid - spread, mid + spread


def _ops(model: nn.Module) -> Iterator[nn.Module | str]:
    """The layers of ``model`` in order: ``nn.Linear`` modules and the string ``"relu"``."""
    if isinstance(model, MLP):
        if model.act is not torch.relu:
            raise ValueError("interval bounds support MLPs with ReLU activations only.")
        for i, layer in enumerate(model.layers):
            yield layer
            if i < len(model.layers) - 1:
                yield "relu"
        return
    if not isinstance(model, nn.Sequential):
        raise TypeError("model must be an nn.Sequential of Linear/ReLU/Flatten layers or a "
                        f"dlscience.models.MLP, got {type(model).__name__}.")
    for layer in model:
        if isinstance(layer, nn.Linear):
            yield layer
        elif isinstance(layer, nn.ReLU):
            yield "relu"
        elif isinstance(layer, (nn.Flatten, nn.Identity)):
            yield layer
        else:
            raise TypeError(f"interval bounds do not support the layer {type(layer).__name__}; "
                            "use Linear, ReLU and Flatten.")


def _propagate(ops: list[nn.Module | str], low: Tensor, high: Tensor) -> tuple[Tensor, Tensor]:
    for op in ops:
        if op == "relu":
            low, high = low.clamp_min(0), high.clamp_min(0)
        elif isinstance(op, nn.Linear):
            low, high = interval_affine(op.weight, op.bias, low, high)
        else:
            low, high = op(low), op(high)
    return low, high


def _input_box(x: Tensor, eps: float, bounds: tuple[float, float] | None) -> tuple[Tensor,
                                                                                    Tensor]:
    low, high = x - eps, x + eps
    if bounds is not None:
        low, high = low.clamp(*bounds), high.clamp(*bounds)
    return low, high


def interval_bounds(model: nn.Module, low: Tensor, high: Tensor) -> tuple[Tensor, Tensor]:
    """Lower and upper bounds on every output of ``model`` over the box ``[low, high]``.

    Every ``model(z)`` with ``low <= z <= high`` satisfies ``out_low <= model(z) <= out_high``
    (interval arithmetic, up to floating-point rounding). Differentiable in the parameters.

    Args:
        model: an ``nn.Sequential`` of ``Linear``/``ReLU``/``Flatten`` or a ReLU ``MLP``.
        low, high: ``(n, ...)`` input boxes, ``low <= high``.

    Returns:
        ``(out_low, out_high)``, each of the shape of ``model(low)``.
    """
    if not isinstance(low, Tensor) or not isinstance(high, Tensor) or low.shape != high.shape:
        raise ValueError("low and high must be tensors of the same shape.")
    return _propagate(list(_ops(model)), low, high)


def margin_lower_bounds(model: nn.Module, x: Tensor, y: Tensor, eps: float, *,
                        bounds: tuple[float, float] | None = None) -> Tensor:
    """IBP lower bounds on the margins ``z_y - z_k`` over the ``linf`` ball of radius ``eps``.

    The box ``[x - eps, x + eps]`` (intersected with ``bounds``) is propagated through every
    layer but the last; the last affine layer is folded into the margins: ``z_y - z_k = (W_y -
    W_k) h + b_y - b_k`` is bounded exactly over the box of ``h`` by :func:`interval_affine`
    (tighter than subtracting the bounds of ``z_y`` and ``z_k``). Entry ``y`` of each row is 0.
    The prediction at ``x`` is certified on the ball when every other entry is positive.

    Args:
        model: ReLU network (see :func:`interval_bounds`) whose last layer is ``nn.Linear``.
        x: inputs ``(n, ...)``; y: labels ``(n,)``.
        eps: radius of the ``linf`` ball, ``>= 0``.
        bounds: ``(low, high)`` range of valid inputs, or ``None``.

    Returns:
        ``(n, classes)``, differentiable in the parameters.
    """
    _check_labels(x, y)
    eps = _nonneg_float("eps", eps)
    bounds = _check_bounds(bounds)
    ops = list(_ops(model))
    last = ops[-1]
    if not isinstance(last, nn.Linear):
        raise ValueError("the model's last layer must be nn.Linear.")
    low, high = _propagate(ops[:-1], *_input_box(x, eps, bounds))
    w_diff = last.weight[y][:, None, :] - last.weight[None, :, :]       # (n, classes, hidden)
    b_diff = last.bias[y][:, None] - last.bias[None, :]                   # (n, classes)
    centre = ((high + low) / 2)[:, None, :]
    radius = ((high - low) / 2)[:, None, :]
    return (w_diff * centre).sum(-1) - (w_diff.abs() * radius).sum(-1) + b_diff


def certified(model: nn.Module, x: Tensor, y: Tensor, eps: float, *,
              bounds: tuple[float, float] | None = None) -> Tensor:
    """Whether IBP certifies label ``y`` on the ``linf`` ball of radius ``eps``: ``(n,)`` bools.

    True means every point of the ball (within ``bounds``) is classified ``y``; False means only
    that IBP could not prove it.
    """
    with torch.no_grad():
        margins = margin_lower_bounds(model, x, y, eps, bounds=bounds)
    margins[torch.arange(len(y)), y] = float("inf")
    return margins.min(dim=1).values > 0


def ibp_schedule(epoch: int, *, warmup: int, ramp: int, eps: float,
                 kappa_end: float) -> tuple[float, float]:
    """The ``(eps_t, kappa_t)`` of IBP training at ``epoch`` (counted from 0).

    ``eps_t`` is 0 for ``warmup`` epochs, then grows linearly to ``eps`` over ``ramp`` epochs and
    stays there; ``kappa_t``, the weight of the clean loss, falls from 1 to ``kappa_end`` along
    the same ramp (Gowal et al. 2018).
    """
    if ramp == 0:
        frac = 1.0 if epoch >= warmup else 0.0
    else:
        frac = min(max((epoch + 1 - warmup) / ramp, 0.0), 1.0)
    return eps * frac, 1.0 - (1.0 - kappa_end) * frac


def ibp_fit(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, epochs: int,
            batch_size: int, warmup: int = 0, ramp: int = 0, kappa_end: float = 0.5,
            bounds: tuple[float, float] | None = None, lr: float = 1e-3,
            seed: int = 0) -> list[float]:
    """Train ``model`` with interval bound propagation (Gowal et al. 2018).

    The loss of a minibatch is ``kappa_t * CE(model(x), y) + (1 - kappa_t) * CE(-m, y)`` with
    ``m`` the IBP margin lower bounds of :func:`margin_lower_bounds` at radius ``eps_t``:
    ``-m`` are the worst-case logits relative to the true class, whose cross-entropy upper-bounds
    the cross-entropy of every point of the ball. ``eps_t`` and ``kappa_t`` follow
    :func:`ibp_schedule`; with ``eps = 0`` or ``kappa_end = 1`` this is ordinary training.
    The optimizer is Adam; minibatches are a fresh random order each epoch.

    Args:
        model: ReLU network (see :func:`interval_bounds`); trained in place.
        x: training inputs ``(n, ...)``; y: labels ``(n,)``.
        eps: final ``linf`` training radius, ``>= 0``.
        epochs: passes over the data, ``>= 1``; batch_size: ``1..n``.
        warmup, ramp: epochs at ``eps_t = 0``, then epochs of the linear ramp.
        kappa_end: weight of the clean loss at the end of the ramp, in ``[0, 1]``.
        bounds: ``(low, high)`` range of valid inputs, or ``None``.
        lr: Adam's learning rate; seed: seed of the minibatch order.

    Returns:
        the mean training loss of each epoch.
    """
    _check_labels(x, y)
    eps = _nonneg_float("eps", eps)
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    if batch_size > len(y):
        raise ValueError(f"batch_size must be at most the number of examples {len(y)}, got "
                         f"{batch_size}.")
    for name, v in (("warmup", warmup), ("ramp", ramp), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}.")
    if isinstance(kappa_end, bool) or not isinstance(kappa_end, numbers.Real) \
            or not 0.0 <= kappa_end <= 1.0:
        raise ValueError(f"kappa_end must be a number in [0, 1], got {kappa_end!r}.")
    lr = _positive_float("lr", lr)
    bounds = _check_bounds(bounds)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    model.train()
    losses = []
    for epoch in range(epochs):
        eps_t, kappa = ibp_schedule(epoch, warmup=warmup, ramp=ramp, eps=eps,
                                    kappa_end=float(kappa_end))
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            loss = F.cross_entropy(model(xb), yb)
            if kappa < 1.0 and eps_t > 0:
                worst = -margin_lower_bounds(model, xb, yb, eps_t, bounds=bounds)
                loss = kappa * loss + (1 - kappa) * F.cross_entropy(worst, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(y))
    model.eval()
    return losses


# --- randomized smoothing --------------------------------------------------------------------

def clopper_pearson(k: int | np.ndarray, n: int | np.ndarray, alpha: float, *,
                    alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """The Clopper--Pearson (exact) confidence interval for a binomial proportion.

    From ``k`` successes in ``n`` trials: ``two-sided`` gives ``[B(alpha/2; k, n-k+1),
    B(1-alpha/2; k+1, n-k)]`` with ``B(q; a, b)`` the ``q``-quantile of the Beta(a, b) law (0 when
    ``k = 0``, 1 when ``k = n``), covering the proportion with probability at least
    ``1 - alpha``; ``greater`` gives the one-sided ``[B(alpha; k, n-k+1), 1]`` that CERTIFY
    uses. The same as ``scipy.stats.binomtest(k, n, alternative=...).proportion_ci(1 - alpha,
    method="exact")``, vectorized.

    Returns:
        ``(low, high)`` arrays of the broadcast shape of ``k`` and ``n``.
    """
    alpha = _alpha(alpha)
    if alternative not in ("two-sided", "greater"):
        raise ValueError(f"alternative must be 'two-sided' or 'greater', got {alternative!r}.")
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k), np.asarray(n))
    if not (np.issubdtype(k_arr.dtype, np.integer) and np.issubdtype(n_arr.dtype, np.integer)):
        raise ValueError("k and n must be integers.")
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("need integers 0 <= k <= n with n >= 1.")
    kf, nf = k_arr.astype(float), n_arr.astype(float)
    q = alpha if alternative == "greater" else alpha / 2
    with np.errstate(invalid="ignore"):
        low = np.where(k_arr == 0, 0.0, stats.beta.ppf(q, kf, nf - kf + 1))
        if alternative == "greater":
            high = np.ones_like(low)
        else:
            high = np.where(k_arr == n_arr, 1.0, stats.beta.ppf(1 - q, kf + 1, nf - kf))
    return low, high


def smoothing_radius(p_lower: float | np.ndarray, sigma: float) -> np.ndarray:
    """The certified ``l2`` radius ``sigma * Phi^{-1}(p_lower)`` of Cohen et al. (2019).

    ``p_lower`` is a lower bound on the probability of the top class under the noise; the
    radius is positive only when ``p_lower > 1/2`` (otherwise no certificate).
    """
    sigma = _positive_float("sigma", sigma)
    p = np.asarray(p_lower, dtype=float)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("p_lower must lie in [0, 1].")
    return sigma * stats.norm.ppf(p)


def gaussian_counts(model: nn.Module, x: Tensor, sigma: float, n: int, *,
                    num_classes: int, batch_size: int = 10_000,
                    generator: torch.Generator | None = None) -> Tensor:
    """How often ``model`` predicts each class on ``n`` Gaussian perturbations of each input.

    Draws ``x_i + sigma * noise`` with standard Gaussian noise, ``n`` times per example, in
    chunks of at most ``batch_size`` rows (memory stays bounded for large ``n``).

    Args:
        model: base classifier mapping ``(m, ...)`` to logits ``(m, num_classes)``.
        x: inputs ``(N, ...)``; sigma: noise level ``> 0``; n: samples per example.
        num_classes: number of classes; batch_size: rows per forward pass.
        generator: the torch generator of the noise.

    Returns:
        an int64 tensor ``(N, num_classes)`` whose rows sum to ``n``.
    """
    sigma = _positive_float("sigma", sigma)
    n = _positive_int("n", n)
    num_classes = _positive_int("num_classes", num_classes)
    batch_size = _positive_int("batch_size", batch_size)
    if not isinstance(x, Tensor) or x.ndim < 2:
        raise ValueError("x must be a tensor of shape (N, ...).")
    counts = torch.zeros(x.shape[0], num_classes, dtype=torch.int64)
    chunk = max(1, batch_size // x.shape[0])
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            noise = torch.randn((m, *x.shape), generator=generator, dtype=x.dtype)
            pred = model((x[None] + sigma * noise).reshape(m * x.shape[0], *x.shape[1:]))
            labels = pred.argmax(dim=1).reshape(m, x.shape[0])
            counts += F.one_hot(labels, num_classes).sum(dim=0)
    model.train(was_training)
    return counts


def certify_smoothed(model: nn.Module, x: Tensor, sigma: float, *, n0: int, n: int,
                     alpha: float, num_classes: int, batch_size: int = 10_000,
                     generator: torch.Generator | None = None
                     ) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """CERTIFY of Cohen et al. (2019) for each example of ``x``.

    The candidate class ``c_A`` is the most frequent of ``n0`` noisy predictions; ``n`` fresh
    ones give its count ``k``, and ``p_lower`` is the one-sided ``1 - alpha`` Clopper--Pearson
    lower bound on ``P(f(x + noise) = c_A)``. If ``p_lower > 1/2`` the answer is ``c_A`` with
    radius ``sigma * Phi^{-1}(p_lower)``, else :data:`ABSTAIN` with radius 0. With probability at
    least ``1 - alpha`` (over the noise) a non-abstaining answer is right: the smoothed
    classifier is ``c_A`` on the whole ``l2`` ball of that radius.

    Returns:
        ``(prediction (N,) int64, radius (N,), p_lower (N,))``.
    """
    alpha = _alpha(alpha)
    n0 = _positive_int("n0", n0)
    select = gaussian_counts(model, x, sigma, n0, num_classes=num_classes,
                             batch_size=batch_size, generator=generator).argmax(dim=1)
    counts = gaussian_counts(model, x, sigma, n, num_classes=num_classes,
                             batch_size=batch_size, generator=generator)
    k = counts.gather(1, select[:, None])[:, 0].numpy()
    p_lower, _ = clopper_pearson(k, n, alpha, alternative="greater")
    ok = p_lower > 0.5
    radius = np.where(ok, smoothing_radius(p_lower, sigma), 0.0)
    pred = torch.where(torch.as_tensor(ok), select, torch.full_like(select, ABSTAIN))
    return pred, radius, p_lower


def predict_smoothed(model: nn.Module, x: Tensor, sigma: float, *, n: int, alpha: float,
                     num_classes: int, batch_size: int = 10_000,
                     generator: torch.Generator | None = None) -> Tensor:
    """PREDICT of Cohen et al. (2019): the smoothed classifier's class, or :data:`ABSTAIN`.

    With ``n_A >= n_B`` the counts of the two most frequent classes among ``n`` noisy
    predictions, answer the top class if the two-sided binomial test of ``n_A`` successes in
    ``n_A + n_B`` trials against probability 1/2 has p-value ``<= alpha``, else abstain. The
    answer differs from the smoothed classifier's class with probability at most ``alpha``.

    Returns:
        an int64 tensor ``(N,)``.
    """
    alpha = _alpha(alpha)
    if isinstance(num_classes, numbers.Integral) and not isinstance(num_classes, bool) \
            and num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 for PREDICT, got {num_classes!r}.")
    counts = gaussian_counts(model, x, sigma, n, num_classes=num_classes,
                             batch_size=batch_size, generator=generator)
    top2 = counts.topk(2, dim=1)
    n_a, n_b = top2.values[:, 0].numpy(), top2.values[:, 1].numpy()
    # Two-sided exact test at p = 1/2 (a symmetric law): twice the upper tail, capped at 1.
    p_value = np.minimum(1.0, 2 * stats.binom.sf(n_a - 1, n_a + n_b, 0.5))
    top = top2.indices[:, 0]
    return torch.where(torch.as_tensor(p_value <= alpha), top, torch.full_like(top, ABSTAIN))


class SoftSmoothed(nn.Module):
    """A differentiable Monte Carlo estimate of the smoothed classifier, for attacks.

    ``forward(x)`` returns ``log( mean_j softmax(f(x + sigma * noise_j)) )`` over ``samples``
    fresh Gaussian draws per call: log-probabilities of the *soft* smoothed classifier, whose
    cross-entropy is the objective Salman et al. (2019) attack. Fresh noise at every call makes
    a gradient attack average over the noise (expectation over transformation).

    Args:
        base: the base classifier ``f``; sigma: noise level; samples: draws per call.
        generator: the torch generator of the noise.
    """

    def __init__(self, base: nn.Module, sigma: float, samples: int, *,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.base = base
        self.sigma = _positive_float("sigma", sigma)
        self.samples = _positive_int("samples", samples)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        """Log mean softmax over the noise draws, ``(N, classes)``."""
        noise = torch.randn((self.samples, *x.shape), generator=self.generator, dtype=x.dtype)
        flat = (x[None] + self.sigma * noise).reshape(self.samples * x.shape[0], *x.shape[1:])
        logp = F.log_softmax(self.base(flat), dim=1).reshape(self.samples, x.shape[0], -1)
        return torch.logsumexp(logp, dim=0) - float(np.log(self.samples))


def certified_accuracy(prediction: Tensor, radius: np.ndarray, y: Tensor,
                       radii: np.ndarray) -> np.ndarray:
    """Fraction of examples predicted right with a certified radius ``>= r``, for each ``r``.

    Args:
        prediction: ``(N,)`` labels (:data:`ABSTAIN` counts as wrong); radius: ``(N,)``.
        y: true labels ``(N,)``; radii: the radii ``r`` to evaluate.

    Returns:
        an array of the shape of ``radii``.
    """
    radius = np.asarray(radius, dtype=float)
    if radius.shape != (len(y),) or prediction.shape != y.shape:
        raise ValueError("prediction, radius and y must all have shape (N,).")
    right = (prediction == y).numpy()
    return np.array([(right & (radius >= r)).mean() for r in np.atleast_1d(radii)])


def noise_fit(model: nn.Module, x: Tensor, y: Tensor, *, sigma: float, epochs: int,
              batch_size: int, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Train ``model`` on Gaussian-noise-augmented inputs, the base classifier of smoothing.

    Each minibatch is replaced by ``x + sigma * noise`` with fresh standard Gaussian noise, so
    that the base classifier learns to classify the noisy inputs the smoothed classifier feeds
    it (Cohen et al. 2019 train their base classifiers this way). Adam, a fresh random order of
    minibatches each epoch.

    Args:
        model: trained in place; x: inputs ``(n, ...)``; y: labels ``(n,)``.
        sigma: noise level, ``>= 0`` (0: ordinary training).
        epochs: passes over the data, ``>= 1``; batch_size: ``1..n``.
        lr: Adam's learning rate; seed: seed of the minibatch order and of the noise.

    Returns:
        the mean training loss of each epoch.
    """
    _check_labels(x, y)
    sigma = _nonneg_float("sigma", sigma)
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    if batch_size > len(y):
        raise ValueError(f"batch_size must be at most the number of examples {len(y)}, got "
                         f"{batch_size}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    lr = _positive_float("lr", lr)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    model.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx] + sigma * torch.randn(x[idx].shape, generator=gen, dtype=x.dtype)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(y))
    model.eval()
    return losses


def pgd_within(model: nn.Module, x: Tensor, y: Tensor, radius: np.ndarray | Tensor, *,
               steps: int, restarts: int, step_fraction: float = 0.25,
               bounds: tuple[float, float] | None = None, resolution: float = 0.01,
               generator: torch.Generator | None = None) -> Tensor:
    """``l2`` PGD (:func:`dlscience.robust.pgd`) with a radius of its own for each example.

    Each radius is rounded *down* to a multiple of ``resolution`` (so every adversarial point
    stays inside its example's ball), the examples are grouped by rounded radius, and each
    group is attacked with step size ``step_fraction * radius``; examples whose rounded radius
    is 0 are returned unchanged.

    Args:
        model: maps ``(n, ...)`` to logits; x: inputs ``(n, ...)``; y: labels ``(n,)``.
        radius: ``(n,)`` non-negative ``l2`` radii.
        steps, restarts: of each PGD run; step_fraction: step size over radius, ``> 0``.
        bounds: ``(low, high)`` range of valid inputs, or ``None``.
        resolution: the grid the radii are rounded down to, ``> 0``.
        generator: the torch generator of the random starts.

    Returns:
        adversarial inputs of the shape of ``x`` with ``||x_adv_i - x_i||_2 <= radius_i``.
    """
    from .robust import pgd

    _check_labels(x, y)
    r = np.asarray(radius.detach().cpu() if isinstance(radius, Tensor) else radius,
                   dtype=float)
    if r.shape != (len(y),) or np.any(~np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"radius must hold {len(y)} finite non-negative numbers.")
    resolution = _positive_float("resolution", resolution)
    step_fraction = _positive_float("step_fraction", step_fraction)
    ticks = np.floor(r / resolution).astype(int)
    out = x.detach().clone()
    for tick in np.unique(ticks[ticks > 0]):
        idx = torch.as_tensor(np.flatnonzero(ticks == tick))
        eps = float(tick * resolution)
        out[idx] = pgd(model, x[idx], y[idx], eps, alpha=step_fraction * eps, steps=steps,
                       norm="l2", restarts=restarts, bounds=bounds, generator=generator)
    return out
