"""Adversarial attacks and the accuracy of a classifier under them.

:func:`fgsm` is the fast gradient sign method (Goodfellow et al. 2015): one step of size ``eps``
along the sign of the input gradient of the cross-entropy loss (``norm="linf"``), or along the
gradient normalized to unit Euclidean length (``norm="l2"``). :func:`pgd` is projected gradient
ascent on the same loss (Madry et al. 2018): optionally a uniform random start in the ball,
``steps`` steps of size ``alpha`` (sign steps for ``linf``, normalized-gradient steps for ``l2``),
each followed by the projection onto the ``eps``-ball around the clean input and onto the input
``bounds``; with ``restarts > 1`` it keeps, per example, a restart that misclassifies if any,
else the one with the highest loss. :func:`random_perturbation` draws the matching baseline: a
random perturbation with the same norm.

Every attack takes a model mapping inputs ``x`` of shape ``(n, ...)`` to logits ``(n, classes)``
and integer labels ``y`` of shape ``(n,)``, returns adversarial inputs of the shape of ``x``
(detached), runs the model in eval mode and restores its previous mode afterwards, and leaves the
model's parameter gradients untouched.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from math import inf

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlscience.checks import positive_int as _check_positive_int

__all__ = ["NORMS", "fgsm", "pgd", "random_perturbation", "accuracy", "robust_accuracy",
           "input_gradient", "perturbation_norm", "linearized_margin"]

#: The perturbation norms the attacks support.
NORMS: tuple[str, ...] = ("linf", "l2")
_TINY = 1e-12


def _check_norm(norm: object) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}.")
    return str(norm)


def _check_eps(eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 <= float(eps) < inf:
        raise ValueError(f"eps must be a finite non-negative number, got {eps!r}.")
    return float(eps)


def _check_bounds(bounds: object) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"bounds must be None or a pair (low, high), got {bounds!r}.")
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high:
        raise ValueError(f"bounds must satisfy low < high, got {bounds!r}.")
    return low, high


def _check_data(x: object, y: object) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"x and y must be torch tensors, got {type(x).__name__} and "
                        f"{type(y).__name__}.")
    if x.ndim < 2:
        raise ValueError("x must have shape (n, ...) with a batch dimension, got "
                         f"{tuple(x.shape)}.")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape (n,) with n = x.shape[0] = {x.shape[0]}, got "
                         f"{tuple(y.shape)}.")
    if y.dtype not in (torch.int64, torch.uint8):  # the label dtypes F.cross_entropy takes
        raise ValueError("y must hold integer class labels of dtype torch.int64 or torch.uint8, "
                         f"got dtype {y.dtype}.")


class _EvalMode:
    """Context manager: the model in eval mode inside, its previous mode restored outside."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.was_training = model.training

    def __enter__(self) -> nn.Module:
        self.model.eval()
        return self.model

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)


def _per_example_norm(v: Tensor) -> Tensor:
    """Euclidean norm of each example of ``v`` (shape ``(n, ...)``), shaped to broadcast."""
    norms = v.flatten(1).norm(dim=1)
    return norms.view(-1, *([1] * (v.ndim - 1)))


def _clip(x: Tensor, bounds: tuple[float, float] | None) -> Tensor:
    return x if bounds is None else x.clamp(bounds[0], bounds[1])


def _project(x_adv: Tensor, x: Tensor, eps: float, norm: str) -> Tensor:
    """Project ``x_adv`` onto the ``eps``-ball of ``norm`` around ``x``, example by example."""
    delta = x_adv - x
    if norm == "linf":
        return x + delta.clamp(-eps, eps)
    factor = (eps / _per_example_norm(delta).clamp_min(_TINY)).clamp(max=1.0)
    return x + delta * factor


def _ascent_direction(grad: Tensor, norm: str) -> Tensor:
    """The unit-norm direction of steepest ascent of a linear function with gradient ``grad``:
    ``sign(grad)`` for ``linf``, ``grad / ||grad||_2`` per example for ``l2`` (zero where the
    gradient vanishes)."""
    if norm == "linf":
        return grad.sign()
    return grad / _per_example_norm(grad).clamp_min(_TINY)


def _losses(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per-example cross-entropy losses ``(n,)`` and predictions ``(n,)`` without gradients."""
    with torch.no_grad():
        logits = model(x)
        return F.cross_entropy(logits, y, reduction="none"), logits.argmax(dim=1)


def input_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Gradient of the summed cross-entropy loss with respect to the input.

    Row ``i`` of the result is the gradient of example ``i``'s own loss, since the examples do
    not interact (the model runs in eval mode). The parameter gradients are left untouched.

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``.
        x: inputs, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.

    Returns:
        a detached tensor of the shape of ``x``.
    """
    _check_data(x, y)
    with _EvalMode(model):
        return _input_gradient(model, x, y)


def _input_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    x_req = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_req), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x_req)
    return grad.detach()


def fgsm(model: nn.Module, x: Tensor, y: Tensor, eps: float, *, norm: str = "linf",
         bounds: tuple[float, float] | None = None) -> Tensor:
    """The fast gradient sign method: one step of length ``eps`` up the loss.

    ``x + eps * sign(g)`` for ``norm="linf"`` and ``x + eps * g / ||g||_2`` (per example) for
    ``norm="l2"``, with ``g`` the input gradient of the cross-entropy loss; then clipped to
    ``bounds``. Each is the exact maximizer of the loss linearized at ``x`` over the ``eps``-ball
    of its norm (for ``linf``, also over the ball intersected with the ``bounds`` box).

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``.
        x: clean inputs, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.
        eps: radius of the perturbation, ``>= 0``.
        norm: ``"linf"`` or ``"l2"``.
        bounds: ``(low, high)`` range of valid inputs, or ``None`` for no clipping.

    Returns:
        the adversarial inputs, shape of ``x``, detached.
    """
    _check_data(x, y)
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    bounds = _check_bounds(bounds)
    x = x.detach()
    with _EvalMode(model):
        grad = _input_gradient(model, x, y)
    return _clip(x + eps * _ascent_direction(grad, norm), bounds).detach()


def _random_in_ball(x: Tensor, eps: float, norm: str,
                    generator: torch.Generator | None) -> Tensor:
    """A point drawn uniformly from the ``eps``-ball of ``norm`` around each example of ``x``."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return x + eps * (2 * u - 1)
    d = x[0].numel()
    direction = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    direction = direction / _per_example_norm(direction).clamp_min(_TINY)
    radius = torch.rand((x.shape[0],), generator=generator, dtype=x.dtype,
                        device=x.device) ** (1.0 / d)
    return x + eps * radius.view(-1, *([1] * (x.ndim - 1))) * direction


def pgd(model: nn.Module, x: Tensor, y: Tensor, eps: float, *, alpha: float, steps: int,
        norm: str = "linf", random_start: bool = True, restarts: int = 1,
        bounds: tuple[float, float] | None = None,
        generator: torch.Generator | None = None) -> Tensor:
    """Projected gradient ascent on the cross-entropy loss over the ``eps``-ball of ``norm``.

    Starting from ``x`` (or, with ``random_start``, from a point uniform in the ball, clipped to
    ``bounds``), take ``steps`` steps ``x_adv + alpha * d`` with ``d`` the sign of the input
    gradient (``linf``) or the gradient normalized per example (``l2``), each followed by the
    projection onto the ball around ``x`` and the clipping to ``bounds``. With ``restarts > 1``
    the attack is run ``restarts`` times (from different random starts) and, per example, a
    restart that misclassifies is kept if there is one (the one of highest loss among them),
    else the one with the highest final loss.

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``.
        x: clean inputs, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.
        eps: radius of the ball, ``>= 0``.
        alpha: step size, ``> 0``.
        steps: number of steps, ``>= 1``.
        norm: ``"linf"`` or ``"l2"``.
        random_start: start from a uniform point of the ball instead of ``x``.
        restarts: number of independent runs, ``>= 1`` (more than one needs ``random_start``).
        bounds: ``(low, high)`` range of valid inputs, or ``None``.
        generator: the torch generator of the random starts (``None``: the global one).

    Returns:
        the adversarial inputs, shape of ``x``, detached, within ``eps`` of ``x`` in ``norm``.
    """
    _check_data(x, y)
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    bounds = _check_bounds(bounds)
    steps = _check_positive_int("steps", steps)
    restarts = _check_positive_int("restarts", restarts)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not float(alpha) > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}.")
    if restarts > 1 and not random_start:
        raise ValueError("restarts > 1 needs random_start=True: without a random start every "
                         "restart is the same deterministic run.")
    x = x.detach()
    best = x.clone()
    best_loss = torch.full((x.shape[0],), -float("inf"), dtype=x.dtype, device=x.device)
    best_wrong = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    with _EvalMode(model):
        for _ in range(restarts):
            x_adv = _clip(_random_in_ball(x, eps, norm, generator), bounds) if random_start \
                else x.clone()
            for _ in range(steps):
                grad = _input_gradient(model, x_adv, y)
                x_adv = x_adv + float(alpha) * _ascent_direction(grad, norm)
                x_adv = _clip(_project(x_adv, x, eps, norm), bounds)
            loss, pred = _losses(model, x_adv, y)
            wrong = pred != y
            better = (wrong & ~best_wrong) | ((wrong == best_wrong) & (loss > best_loss))
            best[better] = x_adv[better]
            best_loss = torch.where(better, loss, best_loss)
            best_wrong = best_wrong | wrong
    return best.detach()


def random_perturbation(x: Tensor, eps: float, *, norm: str = "linf",
                        bounds: tuple[float, float] | None = None,
                        generator: torch.Generator | None = None) -> Tensor:
    """``x`` plus random noise of exactly the norm ``eps`` (before clipping to ``bounds``).

    For ``linf`` the noise is ``eps`` times independent random signs, a random corner of the
    cube, of the same ``linf`` and ``l2`` norms as an FGSM step; for ``l2`` it is a direction
    uniform on the sphere of radius ``eps``. It is the baseline an attack must beat.

    Args:
        x: inputs, shape ``(n, ...)``.
        eps: norm of the noise, ``>= 0``.
        norm: ``"linf"`` or ``"l2"``.
        bounds: ``(low, high)`` range of valid inputs, or ``None``.
        generator: the torch generator of the noise.

    Returns:
        the perturbed inputs, shape of ``x``.
    """
    if not isinstance(x, Tensor) or x.ndim < 2:
        raise ValueError("x must be a torch tensor of shape (n, ...).")
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    bounds = _check_bounds(bounds)
    if norm == "linf":
        u = torch.randint(0, 2, x.shape, generator=generator, device=x.device).to(x.dtype)
        noise = 2 * u - 1
    else:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        noise = noise / _per_example_norm(noise).clamp_min(_TINY)
    return _clip(x.detach() + eps * noise, bounds)


def perturbation_norm(x_adv: Tensor, x: Tensor, norm: str = "linf") -> Tensor:
    """The norm of ``x_adv - x`` per example, shape ``(n,)``."""
    norm = _check_norm(norm)
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv and x must have the same shape, got {tuple(x_adv.shape)} and "
                         f"{tuple(x.shape)}.")
    delta = (x_adv - x).flatten(1)
    return delta.abs().amax(dim=1) if norm == "linf" else delta.norm(dim=1)


def linearized_margin(model: nn.Module, x: Tensor, y: Tensor, eps: float, *,
                      norm: str = "linf", bounds: tuple[float, float] | None = None) -> Tensor:
    """The worst-case margin over the ``eps``-ball of the logits *linearized* at ``x``.

    With ``m_k(x) = z_y(x) - z_k(x)`` the margin of the true class over class ``k`` and
    ``g_k = grad m_k(x)``, the first-order model ``m_k(x) + g_k . delta`` is smallest over the
    ball at ``m_k - eps ||g_k||_1`` (``linf``) or ``m_k - eps ||g_k||_2`` (``l2``), by Hoelder's
    inequality. With ``bounds`` (``linf`` only) the ball is intersected with the box, and the
    minimum is taken coordinate by coordinate at the ends of the allowed interval
    ``[max(-eps, low - x_j), min(eps, high - x_j)]``. Returns ``min_{k != y}`` of that, per
    example: the linearization predicts that an attack of radius ``eps`` misclassifies exactly
    the examples where it is ``<= 0``, so ``(linearized_margin(...) > 0).mean()`` is the
    accuracy the first-order model predicts. For a model that is affine in its input it is exact.

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``, at least two classes.
        x: inputs, shape ``(n, ...)``, inside ``bounds`` if given.
        y: integer labels, shape ``(n,)``.
        eps: radius, ``>= 0``.
        norm: ``"linf"`` or ``"l2"``.
        bounds: ``(low, high)`` (``linf`` only), or ``None``.

    Returns:
        a tensor of shape ``(n,)``.
    """
    _check_data(x, y)
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    bounds = _check_bounds(bounds)
    if bounds is not None and norm != "linf":
        raise ValueError("linearized_margin supports bounds only with norm='linf' (the l2 ball "
                         "intersected with a box has no closed-form linear maximizer).")
    n = x.shape[0]
    x_req = x.detach().clone().requires_grad_(True)
    with _EvalMode(model):
        z = model(x_req)
        classes = z.shape[1]
        if classes < 2:
            raise ValueError(f"the model must output at least two logits, got {classes}.")
        jac = torch.stack([torch.autograd.grad(z[:, k].sum(), x_req,
                                               retain_graph=k < classes - 1)[0].flatten(1)
                           for k in range(classes)], dim=1)               # (n, classes, d)
    rows = torch.arange(n)
    z = z.detach()
    margins = z[rows, y][:, None] - z                                     # (n, classes)
    grads = jac[rows, y][:, None, :] - jac                                # grad of each margin
    if norm == "l2":
        worst = margins - eps * grads.norm(dim=-1)
    elif bounds is None:
        worst = margins - eps * grads.abs().sum(dim=-1)
    else:
        flat = x.detach().flatten(1)[:, None, :]
        low = (bounds[0] - flat).clamp(min=-eps)
        high = (bounds[1] - flat).clamp(max=eps)
        worst = margins + torch.minimum(grads * low, grads * high).sum(dim=-1)
    worst[rows, y] = float("inf")
    return worst.min(dim=1).values


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Fraction of examples whose arg-max logit equals the label (eval mode, no gradients).

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``.
        x: inputs, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.
    """
    _check_data(x, y)
    with _EvalMode(model):
        _, pred = _losses(model, x, y)
    return float((pred == y).float().mean())


def robust_accuracy(model: nn.Module, x: Tensor, y: Tensor, attack: Callable[..., Tensor],
                    **kw: object) -> float:
    """Accuracy on ``attack(model, x, y, **kw)``, e.g.
    ``robust_accuracy(model, x, y, pgd, eps=0.1, alpha=0.01, steps=40)``."""
    return accuracy(model, attack(model, x, y, **kw), y)


# --- Adversarial training (chapter "Adversarial training") -----------------------------------

#: The training methods of :func:`adversarial_fit`.
TRAINING_METHODS: tuple[str, ...] = ("standard", "fgsm", "pgd")


def adversarial_fit(model: nn.Module, x: Tensor, y: Tensor, *, method: str, eps: float,
                    epochs: int, batch_size: int, steps: int = 5, alpha: float | None = None,
                    bounds: tuple[float, float] | None = None, lr: float = 3e-3,
                    optimizer: torch.optim.Optimizer | None = None,
                    seed: int = 0) -> list[float]:
    """Train ``model`` on the cross-entropy loss at adversarial examples of each minibatch.

    Each step draws a minibatch, replaces it by adversarial examples against the current model,
    and takes one optimizer step on their cross-entropy loss: an approximation of the robust
    objective ``min_theta mean_i max_{||delta_i|| <= eps} loss(theta; x_i + delta_i, y_i)``
    (Madry et al. 2018). The inner maximization is

    ``"standard"``
        none: the clean minibatch (ordinary training; ``eps`` is ignored);
    ``"pgd"``
        :func:`pgd` with a random start, ``steps`` sign steps of size ``alpha`` (default
        ``2.5 * eps / steps``), as in Madry et al. (2018);
    ``"fgsm"``
        one sign step of size ``alpha`` (default ``1.25 * eps``) from a uniform random start in
        the ball, then the projection: FGSM with random initialization (Wong et al. 2020).

    The minibatch order and the attacks' random starts come from two generators seeded by
    ``seed`` and ``seed + 1``, so that with ``eps = 0`` every method visits the same batches.

    Args:
        model: maps ``x`` (``(n, ...)``) to logits ``(n, classes)``; trained in place.
        x: training inputs, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.
        method: one of :data:`TRAINING_METHODS`.
        eps: radius of the ``linf`` ball of the attack, ``>= 0``.
        epochs: passes over the training set (each a fresh random order), ``>= 1``.
        batch_size: minibatch size, ``1..n``; the last batch of an epoch may be smaller.
        steps: PGD steps (``method="pgd"`` only).
        alpha: attack step size; ``None`` for the defaults above.
        bounds: ``(low, high)`` range of valid inputs, or ``None``.
        lr: learning rate of the default optimizer, Adam.
        optimizer: an optimizer over ``model``'s parameters to use instead of Adam.
        seed: seed of the batch order (and, plus one, of the random starts).

    Returns:
        the mean training loss (on the examples trained on) of each epoch, ``epochs`` floats.
    """
    _check_data(x, y)
    if method not in TRAINING_METHODS:
        raise ValueError(f"method must be one of {TRAINING_METHODS}, got {method!r}.")
    eps = _check_eps(eps)
    epochs = _check_positive_int("epochs", epochs)
    steps = _check_positive_int("steps", steps)
    batch_size = _check_positive_int("batch_size", batch_size)
    n = x.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of examples {n}, got "
                         f"{batch_size}.")
    bounds = _check_bounds(bounds)
    if alpha is None:
        alpha = 2.5 * eps / steps if method == "pgd" else 1.25 * eps
    elif isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number or None, got {alpha!r}.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=float(lr))
    order_gen = torch.Generator().manual_seed(seed)
    attack_gen = torch.Generator().manual_seed(seed + 1)
    x, y = x.detach(), y.detach()
    model.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=order_gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            if method != "standard" and eps > 0:
                xb = pgd(model, xb, yb, eps, alpha=float(alpha),
                         steps=steps if method == "pgd" else 1, bounds=bounds,
                         generator=attack_gen)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / n)
    return losses


class _RoundStraightThrough(torch.autograd.Function):
    """``round(u)`` forward, the identity backward (the straight-through estimator)."""

    @staticmethod
    def forward(ctx: object, u: Tensor) -> Tensor:  # type: ignore[override]
        return torch.round(u)

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad


class Quantize(nn.Module):
    """Round each input to the nearest of ``levels`` equally spaced values in ``[low, high]``.

    A deliberately *gradient-masking* input layer: its derivative is zero almost everywhere, so
    gradient attacks through it see no signal, although the model is no more robust. With
    ``straight_through=True`` the forward pass is unchanged and the backward pass treats the
    layer as the identity: the Backward Pass Differentiable Approximation (BPDA) of Athalye et
    al. (2018), which restores a useful gradient. Inputs are first clipped to ``[low, high]``.

    Args:
        levels: number of values, ``>= 2`` (``2``: binarize at the midpoint).
        bounds: ``(low, high)``, the range of the inputs.
        straight_through: use the identity as the gradient (BPDA) instead of the true zero.
    """

    def __init__(self, levels: int, bounds: tuple[float, float] = (0.0, 1.0), *,
                 straight_through: bool = False):
        super().__init__()
        levels = _check_positive_int("levels", levels)
        if levels < 2:
            raise ValueError(f"levels must be at least 2, got {levels}.")
        checked = _check_bounds(bounds)
        assert checked is not None
        self.levels = levels
        self.low, self.high = checked
        self.straight_through = bool(straight_through)

    def forward(self, x: Tensor) -> Tensor:
        """The quantized input, shape of ``x``."""
        step = (self.high - self.low) / (self.levels - 1)
        u = (x.clamp(self.low, self.high) - self.low) / step
        if self.straight_through:
            return self.low + step * _RoundStraightThrough.apply(u)
        return self.low + step * torch.round(u)
