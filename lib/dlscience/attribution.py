"""Attributions of a classifier's output to its input features, and their sanity checks.

**Attribution methods.** For a model ``f`` (a ``torch.nn.Module`` mapping a batch of inputs to a
batch of logits) and a target class ``c`` per example, every method returns one score per input
feature, with the shape of the input:

* :func:`gradient`: the saliency map ``d f_c / d x`` (Simonyan, Vedaldi and Zisserman 2014);
* :func:`gradient_x_input`: ``x * d f_c / d x`` (Shrikumar et al. 2016);
* :func:`integrated_gradients`: ``(x - x') * int_0^1 grad f_c(x' + a (x - x')) da``
  (Sundararajan, Taly and Yan 2017), the integral computed by one of the quadrature rules of
  :func:`quadrature`;
* :func:`smoothgrad`: the gradient averaged over Gaussian perturbations of the input
  (Smilkov et al. 2017).

:func:`path_integrand` evaluates ``g(a) = grad f_c(x' + a (x - x')) . (x - x')``, whose integral
over ``[0, 1]`` is ``f_c(x) - f_c(x')`` and whose quadrature is the sum of the integrated-gradients
attributions: the completeness error of integrated gradients is exactly the quadrature error
for ``g``.

**Sanity checks** (Adebayo et al. 2018). :func:`randomize_top_layers` returns a copy of a model
whose top ``k`` weight layers are re-initialized (cascading model randomization);
:func:`rank_correlation` is the Spearman rank correlation between two attribution maps, example
by example; :func:`edge_map` is the Sobel edge detector, a model-free "explanation" to compare
with. :func:`deletion_curve` removes the features in the order an attribution ranks them and
follows the target-class probability (a faithfulness measurement; Samek et al. 2017,
Petsiuk et al. 2018).

All functions treat the rows of a batch independently: the model must not mix examples (no
batch normalization in training mode). Models are evaluated as given; put them in ``eval()``
mode first if they have dropout.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence

import numpy as np
import torch
from scipy.ndimage import sobel
from scipy.stats import rankdata
from torch import nn

from .checks import positive_int

__all__ = ["RULES", "MAX_ROWS", "quadrature", "gradient", "gradient_x_input",
           "integrated_gradients", "path_integrand", "smoothgrad", "weight_layers",
           "randomize_top_layers", "rank_correlation", "edge_map", "deletion_curve"]

#: The quadrature rules of :func:`quadrature` (and of :func:`integrated_gradients`).
RULES: tuple[str, ...] = ("left", "right", "midpoint", "trapezoid", "gausslegendre")

Target = int | Sequence[int] | torch.Tensor


def _check_input(x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 2:
        raise ValueError("x must be a floating-point tensor of shape (batch, ...) with at least "
                         f"two dimensions, got {type(x).__name__}"
                         f"{' of shape ' + str(tuple(x.shape)) if hasattr(x, 'shape') else ''}.")
    return x


def _targets(target: Target, batch: int) -> torch.Tensor:
    """``target`` as a ``(batch,)`` long tensor (one class index per example)."""
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        return torch.full((batch,), int(target), dtype=torch.long)
    t = torch.as_tensor(target)
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.shape != (batch,):
        raise ValueError(f"target must be an int or {batch} class indices (one per example), "
                         f"got {target!r}.")
    return t.long()


def _selected_logits(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"model must map a batch of {x.shape[0]} inputs to logits of shape "
                         f"({x.shape[0]}, classes), got {tuple(out.shape)}.")
    if int(target.min()) < 0 or int(target.max()) >= out.shape[1]:
        raise ValueError(f"target must be class indices in 0..{out.shape[1] - 1}, got values "
                         f"{int(target.min())}..{int(target.max())}.")
    return out.gather(1, target[:, None]).squeeze(1)


def quadrature(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a quadrature rule for ``int_0^1 g(a) da ~ sum_k w_k g(a_k)``.

    Args:
        rule: one of :data:`RULES`: ``"left"`` (``a_k = k/n``, ``k = 0..n-1``), ``"right"``
            (``k = 1..n``), ``"midpoint"`` (``(k + 1/2)/n``), each with weights ``1/n``;
            ``"trapezoid"`` (``a_k = k/(n-1)``, ``k = 0..n-1``, weights ``1/(n-1)`` halved at
            both ends); ``"gausslegendre"`` (Gauss-Legendre nodes mapped to ``[0, 1]``).
        steps: the number ``n`` of nodes (at least 2 for ``"trapezoid"``).

    Returns:
        ``(alphas, weights)``, two float64 arrays of shape ``(steps,)``; the weights sum to 1.

    Note:
        Captum's ``"riemann_trapezoid"`` uses the same nodes but weights ``1/n`` (halved at the
        ends), which sum to ``(n-1)/n``: its result is ``(n-1)/n`` times this one's.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}.")
    n = positive_int("steps", steps)
    if rule == "trapezoid" and n < 2:
        raise ValueError(f"steps must be at least 2 for the trapezoid rule, got {n}.")
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1.0 + nodes), 0.5 * weights
    if rule == "trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n), weights
    k = np.arange(n, dtype=np.float64)
    shift = {"left": 0.0, "right": 1.0, "midpoint": 0.5}[rule]
    return (k + shift) / n, np.full(n, 1.0 / n)


def gradient(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """The saliency map: the gradient of the target logit with respect to the input.

    Args:
        model: maps ``(batch, ...)`` inputs to ``(batch, classes)`` logits.
        x: inputs, shape ``(batch, ...)``.
        target: one class index for all examples, or one per example.

    Returns:
        ``d f_{target_i}(x_i) / d x_i`` for every row ``i``, shape of ``x`` (signed; take
        ``abs()`` for the usual saliency map).
    """
    x = _check_input(x).detach().requires_grad_(True)
    t = _targets(target, x.shape[0])
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(_selected_logits(model, x, t).sum(), x)
    return grad.detach()


def gradient_x_input(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """Gradient times input, ``x * d f_target / d x``; shape of ``x``."""
    return x.detach() * gradient(model, x, target)


def _baseline(x: torch.Tensor, baseline: torch.Tensor | float | None) -> torch.Tensor:
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    if not isinstance(baseline, torch.Tensor):
        raise ValueError(f"baseline must be None, a number or a tensor, got {baseline!r}.")
    try:
        return torch.broadcast_to(baseline.to(x.dtype), x.shape)
    except RuntimeError:
        raise ValueError(f"baseline of shape {tuple(baseline.shape)} does not broadcast to the "
                         f"input's shape {tuple(x.shape)}.") from None


#: The most rows (path points times examples) one forward and backward pass evaluates; longer
#: paths are cut into chunks of nodes, so that memory does not grow with the number of steps.
MAX_ROWS = 1 << 16


def _path_gradients(model: nn.Module, x: torch.Tensor, target: Target,
                    baseline: torch.Tensor | float | None, alphas: np.ndarray,
                    weights: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients at ``x' + a_k (x - x')``, and ``x - x'``.

    With ``weights``, returns ``sum_k w_k grad_k`` (shape of ``x``); without, every gradient,
    shape ``(steps, batch, ...)``. Evaluated in chunks of at most :data:`MAX_ROWS` rows.
    """
    x = _check_input(x).detach()
    base = _baseline(x, baseline)
    t = _targets(target, x.shape[0])
    delta = x - base
    per_chunk = max(1, MAX_ROWS // x.shape[0])
    parts = []
    for k0 in range(0, len(alphas), per_chunk):
        a = torch.as_tensor(alphas[k0:k0 + per_chunk], dtype=x.dtype)
        a = a.reshape(-1, *([1] * x.dim()))
        points = (base + a * delta).reshape(-1, *x.shape[1:])
        grads = gradient(model, points, t.repeat(len(a))).reshape(len(a), *x.shape)
        if weights is not None:
            w = torch.as_tensor(weights[k0:k0 + per_chunk], dtype=x.dtype)
            grads = (w.reshape(-1, *([1] * x.dim())) * grads).sum(dim=0, keepdim=True)
        parts.append(grads)
    out = torch.cat(parts)
    return (out.sum(dim=0) if weights is not None else out), delta


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: Target,
                         baseline: torch.Tensor | float | None = None, steps: int = 50,
                         rule: str = "trapezoid") -> torch.Tensor:
    """Integrated gradients along the straight path from ``baseline`` to ``x``.

    ``IG_i(x) = (x_i - x'_i) * sum_k w_k d f_c / d x_i (x' + a_k (x - x'))``, the quadrature
    (:func:`quadrature`) of ``(x_i - x'_i) int_0^1 d f_c / d x_i (x' + a (x - x')) da``.

    Args:
        model: maps ``(batch, ...)`` inputs to ``(batch, classes)`` logits.
        x: inputs, shape ``(batch, ...)``.
        target: one class index for all examples, or one per example.
        baseline: ``x'``: ``None`` (zeros), a number, or a tensor broadcastable to ``x``.
        steps: number of quadrature nodes (forward and backward passes over ``batch * steps``
            rows, in chunks of at most :data:`MAX_ROWS`).
        rule: the quadrature rule, one of :data:`RULES`.

    Returns:
        the attributions, shape of ``x``.
    """
    alphas, weights = quadrature(rule, steps)
    mean_grad, delta = _path_gradients(model, x, target, baseline, alphas, weights)
    return delta * mean_grad


def path_integrand(model: nn.Module, x: torch.Tensor, target: Target,
                   alphas: np.ndarray | Sequence[float],
                   baseline: torch.Tensor | float | None = None) -> torch.Tensor:
    """``g(a) = d/da f_c(x' + a (x - x')) = grad f_c(x' + a (x - x')) . (x - x')``.

    Its integral over ``[0, 1]`` is ``f_c(x) - f_c(x')``; any quadrature of it equals the sum of
    the integrated-gradients attributions computed with the same rule.

    Args:
        model, x, target, baseline: as in :func:`integrated_gradients`.
        alphas: points of ``[0, 1]`` where to evaluate, shape ``(m,)``.

    Returns:
        ``g`` at every point, shape ``(batch, m)``.
    """
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or a.min() < 0 or a.max() > 1:
        raise ValueError(f"alphas must be a non-empty 1-D array of points in [0, 1], got "
                         f"shape {a.shape}.")
    per_chunk = max(1, MAX_ROWS // max(1, len(x)))
    parts = []
    for k0 in range(0, len(a), per_chunk):
        grads, delta = _path_gradients(model, x, target, baseline, a[k0:k0 + per_chunk], None)
        parts.append((grads * delta).reshape(grads.shape[0], x.shape[0], -1).sum(dim=2).T)
    return torch.cat(parts, dim=1)


def smoothgrad(model: nn.Module, x: torch.Tensor, target: Target, *, sigma: float,
               samples: int, generator: torch.Generator, squared: bool = False) -> torch.Tensor:
    """SmoothGrad: the gradient averaged over ``samples`` noisy copies ``x + N(0, sigma^2 I)``.

    Args:
        model, x, target: as in :func:`gradient`.
        sigma: standard deviation of the noise, in the units of ``x`` (Smilkov et al. take 10-20%
            of the input's range).
        samples: number of noisy copies per example.
        generator: the source of the noise (seeded by the caller).
        squared: average the squared gradients instead (the "SmoothGrad-squared" variant).

    Returns:
        the averaged (squared) gradient, shape of ``x``.
    """
    x = _check_input(x).detach()
    if (isinstance(sigma, bool) or not isinstance(sigma, numbers.Real)
            or not 0 <= sigma < float("inf")):
        raise ValueError(f"sigma must be a non-negative finite number, got {sigma!r}.")
    n = positive_int("samples", samples)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {generator!r}.")
    t = _targets(target, x.shape[0])
    noise = torch.randn((n, *x.shape), generator=generator, dtype=x.dtype)
    noisy = (x + float(sigma) * noise).reshape(-1, *x.shape[1:])
    grads = gradient(model, noisy, t.repeat(n)).reshape(n, *x.shape)
    return (grads ** 2 if squared else grads).mean(dim=0)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The model's ``nn.Linear`` and ``nn.Conv*d`` layers, in the order they were registered
    (for a feed-forward model: input side first, logits last)."""
    return [m for m in model.modules()
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]


def randomize_top_layers(model: nn.Module, k: int, generator: torch.Generator) -> nn.Module:
    """A copy of ``model`` whose top ``k`` weight layers are re-initialized (the cascading
    randomization of Adebayo et al. 2018).

    The last ``k`` layers of :func:`weight_layers` get fresh He-normal weights
    (``N(0, 2 / fan_in)``) and zero biases, the law of :class:`dlscience.models.MLP`'s default
    initialization; the other layers keep their trained values. ``model`` is not changed.

    Args:
        model: a feed-forward model.
        k: how many layers to randomize, from the top (0 returns an unchanged copy).
        generator: the source of the new weights.
    """
    layers = weight_layers(model)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= len(layers):
        raise ValueError(f"k must be an integer in 0..{len(layers)} (the model has {len(layers)} "
                         f"weight layers), got {k!r}.")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {generator!r}.")
    out = copy.deepcopy(model)
    chosen = weight_layers(out)[len(layers) - int(k):]
    with torch.no_grad():
        for layer in reversed(chosen):
            w = layer.weight
            fan_in = w[0].numel()
            w.copy_(torch.randn(w.shape, generator=generator, dtype=w.dtype)
                    * np.sqrt(2.0 / fan_in))
            if layer.bias is not None:
                layer.bias.zero_()
    return out


def rank_correlation(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray,
                     absolute: bool = False) -> np.ndarray:
    """Spearman's rank correlation between two batches of attribution maps, row by row.

    Args:
        a, b: attributions of the same shape ``(batch, ...)``; each row is flattened.
        absolute: compare ``|a|`` and ``|b|`` (Adebayo et al. report both).

    Returns:
        ``(batch,)`` float64 array: the Pearson correlation of the ranks (ties get their average
        rank); ``nan`` for a row whose map is constant.
    """
    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"a and b must be batches of maps of the same shape (batch, ...), got "
                         f"{a.shape} and {b.shape}.")
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / denom


def edge_map(images: np.ndarray) -> np.ndarray:
    """The Sobel edge detector: gradient magnitude of each image, shape ``(batch, H, W)``."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (batch, H, W), got {images.shape}.")
    return np.stack([np.hypot(sobel(img, axis=0), sobel(img, axis=1)) for img in images])


def deletion_curve(model: nn.Module, x: torch.Tensor, target: Target,
                   scores: torch.Tensor | np.ndarray, counts: Sequence[int],
                   fill: float = 0.0) -> np.ndarray:
    """Target-class probability as the highest-scored features are deleted first.

    For each row, features are sorted by decreasing score (ties by index) and the first ``m``
    are set to ``fill``, for every ``m`` in ``counts``.

    Args:
        model, x, target: as in :func:`gradient`.
        scores: one score per feature, shape of ``x`` (an attribution, or random numbers for the
            random-order baseline).
        counts: numbers of deleted features, each in ``0..d`` (``d`` features per example).
        fill: the value a deleted feature gets.

    Returns:
        ``(batch, len(counts))`` array of softmax probabilities of the target class.
    """
    x = _check_input(x).detach()
    s = torch.as_tensor(np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor)
                                   else scores), dtype=torch.float64)
    if s.shape != x.shape:
        raise ValueError(f"scores must have the input's shape {tuple(x.shape)}, got "
                         f"{tuple(s.shape)}.")
    batch, d = x.shape[0], x[0].numel()
    counts = [int(m) for m in counts]
    if not counts or min(counts) < 0 or max(counts) > d:
        raise ValueError(f"counts must be a non-empty list of integers in 0..{d}, got {counts!r}.")
    t = _targets(target, batch)
    order = torch.argsort(-s.reshape(batch, d), dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(d).expand(batch, d).contiguous())
    flat = x.reshape(batch, d)
    masked = torch.stack([torch.where(rank < m, torch.full_like(flat, fill), flat)
                          for m in counts])                     # (len(counts), batch, d)
    with torch.no_grad():
        logits = model(masked.reshape(-1, *x.shape[1:]))
    probs = torch.softmax(logits, dim=1).gather(1, t.repeat(len(counts))[:, None])
    return probs.reshape(len(counts), batch).T.double().numpy()
