"""Membership inference and differentially private SGD (DP-SGD).

Membership inference by loss threshold (Yeom et al. 2018): a model's loss on an example is
compared with a threshold, and the example is declared a *member* of the training set when the
loss is at most the threshold. :func:`example_losses` computes the per-example losses,
:func:`membership_advantage` the advantage TPR - FPR of a given threshold, and
:func:`best_advantage` the best threshold's.

DP-SGD (Abadi et al. 2016) is implemented here step by step, because it is the lesson:
:func:`per_example_gradients` computes every example's gradient with ``torch.func`` (``vmap`` of
``grad``), :func:`clip_gradients` scales each example's gradient to Euclidean norm at most ``C``
(the factor ``min(1, C / ||g_i||)``), :func:`noisy_sum` adds Gaussian noise of standard deviation
``sigma * C`` to the sum of the clipped gradients, and :func:`dp_sgd` trains a model with Poisson
sampling (each example joins a batch independently with probability ``q``) and the noisy sum
divided by the *expected* batch size ``q n``, as Opacus does. The privacy accounting is not
re-implemented: :func:`epsilon` and :func:`noise_multiplier_for` call Opacus's Rényi-DP
accountant for the Poisson-subsampled Gaussian mechanism (Mironov 2017; Mironov, Talwar and Zhang
2019). Opacus's warnings are silenced where it is called.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlscience.checks import nonnegative_int, positive_float, positive_int

__all__ = ["per_example_gradients", "clip_gradients", "noisy_sum", "dp_sgd", "DPRun", "epsilon",
           "noise_multiplier_for", "example_losses", "membership_advantage", "best_advantage",
           "dp_advantage_bound", "yeom_dp_bound"]

LossFn = Callable[[Tensor, Tensor], Tensor]


def _nonnegative_float(name: str, value: object) -> float:
    """``value`` as a ``float`` if it is a finite real number >= 0 (``bool`` is not).

    Module-specific: ``dlscience.checks`` has no non-negative float rule (a noise multiplier or
    an epsilon may be 0)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}.")
    return float(value)


def _open_unit(name: str, value: object, closed_right: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    v = float(value) if ok else float("nan")  # type: ignore[arg-type]
    if not (0.0 < v < 1.0 or (closed_right and v == 1.0)):
        right = "1]" if closed_right else "1)"
        raise ValueError(f"{name} must be a number in (0, {right}, got {value!r}.")
    return v


def per_example_gradients(model: nn.Module, x: Tensor, y: Tensor,
                          loss_fn: LossFn = F.cross_entropy) -> dict[str, Tensor]:
    """The gradient of every example's loss with respect to every parameter of ``model``.

    Computed with ``torch.func.vmap`` over ``torch.func.grad`` of a functional call, one example
    at a time (the model must not mix examples, e.g. no batch normalization).

    Args:
        model: maps inputs ``(batch, ...)`` to outputs ``(batch, ...)``.
        x: inputs, shape ``(n, ...)``.
        y: targets, shape ``(n, ...)``.
        loss_fn: ``loss_fn(outputs, targets)`` with mean (or sum) reduction over a batch.

    Returns:
        a dict from parameter name to a tensor of shape ``(n, *param.shape)``: row ``i`` is the
        gradient of ``loss_fn(model(x[i:i+1]), y[i:i+1])``.
    """
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"x and y must hold the same positive number of examples, got "
                         f"x: {tuple(x.shape)} and y: {tuple(y.shape)}.")
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_loss(p: dict[str, Tensor], xi: Tensor, yi: Tensor) -> Tensor:
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    return vmap(grad(one_loss), in_dims=(None, 0, 0))(params, x, y)


def clip_gradients(grads: dict[str, Tensor], max_norm: float) -> tuple[dict[str, Tensor], Tensor]:
    """Scale each example's gradient to Euclidean norm at most ``max_norm``.

    The norm of example ``i`` is taken over all parameters together,
    ``||g_i|| = sqrt(sum_p ||g_i^p||^2)``, and its gradient is multiplied by
    ``min(1, max_norm / ||g_i||)`` (zero gradients stay zero).

    Args:
        grads: per-example gradients as returned by :func:`per_example_gradients`, each of shape
            ``(n, ...)``.
        max_norm: the clipping norm ``C > 0``.

    Returns:
        ``(clipped, norms)``: the clipped gradients (same shapes) and the norms before clipping,
        shape ``(n,)``.
    """
    max_norm = positive_float("max_norm", max_norm)
    if not grads:
        raise ValueError("grads must hold at least one parameter's per-example gradients.")
    sizes = {g.shape[0] for g in grads.values()}
    if len(sizes) != 1:
        raise ValueError(f"grads must all have the same number of examples, got {sorted(sizes)}.")
    norms = torch.sqrt(sum(g.reshape(g.shape[0], -1).pow(2).sum(1) for g in grads.values()))
    factor = torch.clamp(max_norm / torch.clamp(norms, min=1e-30), max=1.0)
    clipped = {k: g * factor.view(-1, *([1] * (g.dim() - 1))) for k, g in grads.items()}
    return clipped, norms


def noisy_sum(clipped: dict[str, Tensor], max_norm: float, noise_multiplier: float,
              generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Sum clipped per-example gradients and add Gaussian noise ``N(0, (sigma C)^2 I)``.

    Args:
        clipped: clipped per-example gradients, each of shape ``(n, ...)`` (``n`` may be 0).
        max_norm: the clipping norm ``C`` (the sensitivity of the sum).
        noise_multiplier: ``sigma >= 0``; the noise's standard deviation is ``sigma * C`` per
            coordinate.
        generator: the source of the noise.

    Returns:
        a dict from parameter name to the noisy sum, shape ``param.shape``.
    """
    max_norm = positive_float("max_norm", max_norm)
    noise_multiplier = _nonnegative_float("noise_multiplier", noise_multiplier)
    out = {}
    for k, g in clipped.items():
        total = g.sum(0)
        if noise_multiplier > 0:
            total = total + noise_multiplier * max_norm * torch.randn(
                total.shape, generator=generator, dtype=total.dtype, device=total.device)
        out[k] = total
    return out


@dataclass(frozen=True)
class DPRun:
    """What :func:`dp_sgd` did.

    Attributes:
        steps: the number of noisy steps taken.
        sample_rate: the Poisson sampling rate ``q``.
        noise_multiplier: ``sigma``.
        max_norm: ``C``.
        batch_sizes: the realized batch sizes, shape ``(steps,)``.
        clipped_fraction: per step, the share of the batch whose gradient norm exceeded ``C``.
    """

    steps: int
    sample_rate: float
    noise_multiplier: float
    max_norm: float
    batch_sizes: np.ndarray
    clipped_fraction: np.ndarray


def dp_sgd(model: nn.Module, x: Tensor, y: Tensor, *, sample_rate: float, steps: int,
           max_norm: float, noise_multiplier: float, lr: float, seed: int,
           loss_fn: LossFn = F.cross_entropy) -> DPRun:
    """Train ``model`` in place with DP-SGD: Poisson sampling, per-example clipping, noise.

    At each step every example joins the batch independently with probability ``q``; the
    update is ``theta <- theta - lr * (sum_i clip_C(g_i) + N(0, sigma^2 C^2 I)) / (q n)``, the
    noisy sum divided by the expected batch size (a constant, so that the sensitivity of the
    update stays ``C / (q n)`` whatever the realized batch size). An empty batch still takes a
    step, with noise only. This is the algorithm Opacus's accountant analyses for
    ``(noise_multiplier, sample_rate, steps)``.

    Args:
        model: the network, updated in place.
        x: training inputs, shape ``(n, ...)``.
        y: training targets, shape ``(n,)``.
        sample_rate: ``q`` in (0, 1].
        steps: the number of steps.
        max_norm: the clipping norm ``C``.
        noise_multiplier: ``sigma >= 0`` (0 gives clipped SGD without privacy).
        lr: the step size.
        seed: seeds the sampling and the noise (a private ``torch.Generator``).
        loss_fn: the per-batch loss.

    Returns:
        a :class:`DPRun` record.
    """
    q = _open_unit("sample_rate", sample_rate, closed_right=True)
    steps = positive_int("steps", steps)
    max_norm = positive_float("max_norm", max_norm)
    noise_multiplier = _nonnegative_float("noise_multiplier", noise_multiplier)
    lr = positive_float("lr", lr)
    seed = nonnegative_int("seed", seed)
    n = x.shape[0]
    if n == 0 or y.shape[0] != n:
        raise ValueError(f"x and y must hold the same positive number of examples, got "
                         f"x: {tuple(x.shape)} and y: {tuple(y.shape)}.")
    gen = torch.Generator().manual_seed(int(seed))
    expected = q * n
    params = dict((k, v) for k, v in model.named_parameters() if v.requires_grad)
    sizes, clipped_share = [], []
    for _ in range(steps):
        mask = torch.rand(n, generator=gen) < q
        idx = mask.nonzero().squeeze(1)
        if len(idx) > 0:
            grads = per_example_gradients(model, x[idx], y[idx], loss_fn)
            clipped, norms = clip_gradients(grads, max_norm)
            clipped_share.append(float((norms > max_norm).float().mean()))
        else:
            clipped = {k: torch.zeros((0, *p.shape), dtype=p.dtype) for k, p in params.items()}
            clipped_share.append(0.0)
        total = noisy_sum(clipped, max_norm, noise_multiplier, gen)
        with torch.no_grad():
            for k, p in params.items():
                p.sub_(lr * total[k] / expected)
        sizes.append(len(idx))
    return DPRun(steps=steps, sample_rate=q, noise_multiplier=noise_multiplier,
                 max_norm=max_norm, batch_sizes=np.array(sizes),
                 clipped_fraction=np.array(clipped_share))


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """The epsilon of DP-SGD at ``delta``, from Opacus's Rényi-DP accountant.

    The accountant bounds the Rényi divergences of the Poisson-subsampled Gaussian mechanism
    (``steps`` compositions at rate ``sample_rate`` and noise multiplier ``noise_multiplier``)
    under adding or removing one example, and converts them to ``(epsilon, delta)``-DP.

    Returns:
        ``opacus.accountants.RDPAccountant.get_epsilon(delta)`` after ``steps`` such steps.
    """
    sigma = positive_float("noise_multiplier", noise_multiplier)
    q = _open_unit("sample_rate", sample_rate, closed_right=True)
    steps = positive_int("steps", steps)
    delta = _open_unit("delta", delta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants import RDPAccountant

        accountant = RDPAccountant()
        accountant.history = [(sigma, q, steps)]
        return float(accountant.get_epsilon(delta=delta))


def noise_multiplier_for(target_epsilon: float, delta: float, sample_rate: float,
                         steps: int) -> float:
    """The noise multiplier that makes DP-SGD ``(target_epsilon, delta)``-DP after ``steps``.

    Calls ``opacus.accountants.utils.get_noise_multiplier`` (Rényi-DP accountant, binary search
    to within 0.01 below ``target_epsilon``).
    """
    target_epsilon = positive_float("target_epsilon", target_epsilon)
    delta = _open_unit("delta", delta)
    q = _open_unit("sample_rate", sample_rate, closed_right=True)
    steps = positive_int("steps", steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants.utils import get_noise_multiplier

        return float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta,
                                          sample_rate=q, steps=steps, accountant="rdp"))


def example_losses(model: nn.Module, x: Tensor, y: Tensor) -> np.ndarray:
    """The cross-entropy loss of every example, shape ``(n,)``, computed without gradients."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number of examples, got "
                         f"x: {tuple(x.shape)} and y: {tuple(y.shape)}.")
    with torch.no_grad():
        return F.cross_entropy(model(x), y, reduction="none").double().numpy()


def _scores(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers, got shape "
                         f"{arr.shape}.")
    return arr


def membership_advantage(member_losses: np.ndarray, nonmember_losses: np.ndarray,
                         threshold: float) -> float:
    """The advantage TPR - FPR of the test "member iff loss <= threshold".

    Args:
        member_losses: losses of training examples, shape ``(n,)``.
        nonmember_losses: losses of examples not trained on, shape ``(m,)``.
        threshold: the loss threshold.

    Returns:
        the share of members with loss at most ``threshold`` (TPR) minus the share of
        non-members with loss at most ``threshold`` (FPR), in ``[-1, 1]``.
    """
    members = _scores("member_losses", member_losses)
    others = _scores("nonmember_losses", nonmember_losses)
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or math.isnan(
            float(threshold)):
        raise ValueError(f"threshold must be a real number, got {threshold!r}.")
    return float((members <= threshold).mean() - (others <= threshold).mean())


def best_advantage(member_losses: np.ndarray, nonmember_losses: np.ndarray
                   ) -> tuple[float, float]:
    """The highest advantage of any loss threshold, and a threshold that attains it.

    Every threshold between two consecutive distinct loss values gives the same test, so the
    maximum is over the distinct values (and ``-inf``, advantage 0). Chosen on the same examples
    it is evaluated on, it is an optimistic estimate of the best threshold's advantage.

    Returns:
        ``(advantage, threshold)``.
    """
    members = np.sort(_scores("member_losses", member_losses))
    others = np.sort(_scores("nonmember_losses", nonmember_losses))
    cuts = np.unique(np.concatenate([members, others]))
    tpr = np.searchsorted(members, cuts, side="right") / len(members)
    fpr = np.searchsorted(others, cuts, side="right") / len(others)
    adv = tpr - fpr
    k = int(np.argmax(adv))
    if adv[k] <= 0:
        return 0.0, -math.inf
    return float(adv[k]), float(cuts[k])


def dp_advantage_bound(eps: float, delta: float = 0.0) -> float:
    """The largest membership advantage of any test against an ``(eps, delta)``-DP algorithm.

    ``(e^eps - 1 + 2 delta) / (e^eps + 1)``, from ``TPR <= e^eps FPR + delta`` and
    ``1 - FPR <= e^eps (1 - TPR) + delta``.
    """
    eps = _nonnegative_float("eps", eps)
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 <= delta < 1:
        raise ValueError(f"delta must be a number in [0, 1), got {delta!r}.")
    return float(min(1.0, (math.expm1(eps) + 2 * delta) / (math.exp(eps) + 1)))


def yeom_dp_bound(eps: float) -> float:
    """Yeom et al.'s bound ``e^eps - 1`` on the membership advantage under eps-DP."""
    return math.expm1(_nonnegative_float("eps", eps))
