"""Distribution shift and data poisoning: spurious correlations, group DRO and backdoors.

**Spurious correlations.** :class:`SpuriousProblem` is a synthetic two-class problem in the
spirit of Waterbirds (Sagawa et al. 2020). A label ``y`` in ``{0, 1}`` and a *spurious attribute*
``a`` in ``{0, 1}`` form four groups ``g = 2 y + a``; in a fraction ``rho`` of the examples the
attribute agrees with the label (the majority groups ``g = 0, 3``). Each input is
``x = [x_core, x_spurious, x_noise]``:

* ``x_core = (2y - 1) core_mean + core_std * N(0, 1)``: predicts the label in every group, with
  noise;
* ``x_spurious = (2a - 1) spurious_scale``: a noise-free copy of the attribute;
* ``x_noise``: ``noise_dims`` coordinates ``N(0, noise_std^2 / noise_dims)``, independent of
  everything (the room an overparameterized linear model uses to memorize examples, as in
  Sagawa, Raghunathan, Koh and Liang 2020).

:func:`sample_groups` draws exactly ``group_counts(n, rho)`` examples per group.
:func:`linear_group_accuracy` computes the exact accuracy of a linear classifier in each group
(normal tails, no test set), :func:`group_accuracy` the empirical one.
:func:`population_logistic_fit` minimizes the population (weight-decayed) logistic loss by
quadrature. :func:`train_linear` fits a
logistic-regression model by full-batch gradient descent with one of three objectives: ERM, equal
group weights (reweighting), or group DRO with the exponentiated-gradient group weights of
Sagawa et al. (2020, Algorithm 1), :func:`eg_update`. :func:`max_margin_separator` is the
maximum-margin separator of a separable training set, the limit in direction of gradient descent
on the unregularized logistic loss (Soudry et al. 2018).

**Backdoors.** :func:`apply_trigger` stamps a pattern (fixed pixels set to a value) on flattened
images; :func:`poison` plants it in a fraction of a training set relabelled to a target class
(BadNets, Gu et al. 2017); :func:`attack_success_rate` is the fraction of triggered inputs of the
other classes that a classifier sends to the target.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import expit, log_expit
from scipy.stats import norm

from dlscience.checks import positive_int as _positive_int

__all__ = ["NUM_GROUPS", "METHODS", "SpuriousProblem", "GroupData", "LinearFit", "group_counts",
           "sample_groups", "group_accuracy", "worst_group_accuracy", "linear_group_accuracy",
           "population_erm_weights", "population_logistic_fit", "eg_update", "group_losses",
           "train_linear", "max_margin_separator",
           "apply_trigger", "poison", "attack_success_rate"]

#: Number of groups (label x spurious attribute).
NUM_GROUPS = 4
#: The training objectives of :func:`train_linear`.
METHODS: tuple[str, ...] = ("erm", "reweight", "dro")
Method = Literal["erm", "reweight", "dro"]


def _nonnegative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def _real(name: str, value: object, *, lo: float = -np.inf, hi: float = np.inf,
          open_lo: bool = False, open_hi: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    v = float(value)
    bad = (not np.isfinite(v) or v < lo or v > hi or (open_lo and v == lo)
           or (open_hi and v == hi))
    if bad:
        left = "(" if open_lo else "["
        right = ")" if open_hi else "]"
        raise ValueError(f"{name} must be a finite number in {left}{lo}, {hi}{right}, "
                         f"got {value!r}.")
    return v


@dataclass(frozen=True)
class SpuriousProblem:
    """The law of the inputs given the group (see the module docstring).

    Attributes:
        core_mean: ``mu``, the core feature's mean is ``+-mu``.
        core_std: ``sigma``, its standard deviation.
        spurious_scale: ``s``, the spurious feature is ``+-s``.
        noise_dims: number of pure-noise coordinates (0 for none).
        noise_std: total standard deviation of the noise: each coordinate has variance
            ``noise_std^2 / noise_dims``.
    """

    core_mean: float = 1.0
    core_std: float = 1.0
    spurious_scale: float = 1.0
    noise_dims: int = 0
    noise_std: float = 1.0

    def __post_init__(self) -> None:
        _real("core_mean", self.core_mean, lo=0.0, open_lo=True)
        _real("core_std", self.core_std, lo=0.0, open_lo=True)
        _real("spurious_scale", self.spurious_scale, lo=0.0, open_lo=True)
        _nonnegative_int("noise_dims", self.noise_dims)
        _real("noise_std", self.noise_std, lo=0.0)

    @property
    def dim(self) -> int:
        """Input dimension ``2 + noise_dims``."""
        return 2 + self.noise_dims


@dataclass(frozen=True)
class GroupData:
    """Examples with their groups. Shapes: ``x (n, d)`` float64, ``y``, ``a``, ``g`` ``(n,)``
    int64, with ``g = 2 y + a``."""

    x: np.ndarray
    y: np.ndarray
    a: np.ndarray
    g: np.ndarray


@dataclass(frozen=True)
class LinearFit:
    """A fitted linear classifier ``1[w . x + b > 0]`` and its training record.

    Attributes:
        w: weights, shape ``(d,)``.
        b: bias.
        q: the group weights after each step, shape ``(steps, 4)`` (constant for ``erm`` and
            ``reweight``: the groups' shares of the training loss).
        train_group_loss: the unregularized logistic loss of each group at the end, ``(4,)``.
    """

    w: np.ndarray
    b: float
    q: np.ndarray
    train_group_loss: np.ndarray


def group_counts(n: int, rho: float) -> np.ndarray:
    """Examples per group ``g = 2 y + a`` for ``n`` examples with a share ``rho`` in agreement.

    Labels are balanced; each label gets ``round(rho * n_label)`` examples with ``a = y``, the
    rest with ``a != y``. Returns ``int64`` counts of shape ``(4,)`` that sum to ``n``.
    """
    n = _positive_int("n", n)
    rho = _real("rho", rho, lo=0.0, hi=1.0)
    n1 = n // 2
    n0 = n - n1
    agree0 = int(round(rho * n0))
    agree1 = int(round(rho * n1))
    # groups: (y=0, a=0) agree, (y=0, a=1), (y=1, a=0), (y=1, a=1) agree
    return np.array([agree0, n0 - agree0, n1 - agree1, agree1], dtype=np.int64)


def sample_groups(problem: SpuriousProblem, n: int, rho: float,
                  rng: np.random.Generator) -> GroupData:
    """Draw ``n`` examples with exactly :func:`group_counts` ``(n, rho)`` per group, shuffled.

    Args:
        problem: the law of the inputs given the group.
        n: number of examples.
        rho: share of examples whose attribute agrees with the label (``0.5``: no correlation).
        rng: the NumPy generator to draw from.
    """
    if not isinstance(problem, SpuriousProblem):
        raise TypeError(f"problem must be a SpuriousProblem, got {type(problem).__name__}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
    counts = group_counts(n, rho)
    g = rng.permutation(np.repeat(np.arange(NUM_GROUPS), counts))
    y, a = g // 2, g % 2
    x = np.empty((n, problem.dim))
    x[:, 0] = (2 * y - 1) * problem.core_mean + problem.core_std * rng.standard_normal(n)
    x[:, 1] = (2 * a - 1) * problem.spurious_scale
    if problem.noise_dims:
        x[:, 2:] = (problem.noise_std / np.sqrt(problem.noise_dims)
                    * rng.standard_normal((n, problem.noise_dims)))
    return GroupData(x, y.astype(np.int64), a.astype(np.int64), g.astype(np.int64))


def _check_groups(g: np.ndarray, n: int) -> np.ndarray:
    g = np.asarray(g)
    if g.shape != (n,):
        raise ValueError(f"g must have shape ({n},), got {g.shape}.")
    if g.size and (g.min() < 0 or g.max() >= NUM_GROUPS):
        raise ValueError(f"g must hold groups in 0..{NUM_GROUPS - 1}.")
    return g.astype(np.int64)


def group_accuracy(pred: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Accuracy of predictions ``pred`` against labels ``y`` within each group of ``g``.

    Shapes: ``(n,)`` each. Returns ``(4,)``; a group with no example gets ``nan``.
    """
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.ndim != 1 or pred.shape != y.shape:
        raise ValueError(f"pred and y must be 1-D of the same shape, got {pred.shape} and "
                         f"{y.shape}.")
    g = _check_groups(g, len(y))
    out = np.full(NUM_GROUPS, np.nan)
    for k in range(NUM_GROUPS):
        members = g == k
        if members.any():
            out[k] = float(np.mean(pred[members] == y[members]))
    return out


def worst_group_accuracy(pred: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    """The lowest of :func:`group_accuracy` over the groups that have examples."""
    return float(np.nanmin(group_accuracy(pred, y, g)))


def linear_group_accuracy(w: np.ndarray, b: float, problem: SpuriousProblem) -> np.ndarray:
    """Exact accuracy of ``1[w . x + b > 0]`` in each group of ``problem``, shape ``(4,)``.

    Within group ``(y, a)`` the score is Gaussian with mean
    ``w_0 (2y - 1) mu + w_1 (2a - 1) s + b`` and variance
    ``w_0^2 sigma^2 + |w_noise|^2 noise_std^2 / noise_dims``; the accuracy is the probability
    that its sign is ``2y - 1``.
    """
    w = np.asarray(w, dtype=float)
    if w.shape != (problem.dim,):
        raise ValueError(f"w must have shape ({problem.dim},), got {w.shape}.")
    b = _real("b", b)
    var = w[0] ** 2 * problem.core_std ** 2
    if problem.noise_dims:
        var += float(w[2:] @ w[2:]) * problem.noise_std ** 2 / problem.noise_dims
    sd = np.sqrt(var)
    out = np.empty(NUM_GROUPS)
    for k in range(NUM_GROUPS):
        y, a = divmod(k, 2)
        sign = 2 * y - 1
        mean = w[0] * sign * problem.core_mean + w[1] * (2 * a - 1) * problem.spurious_scale + b
        if sd == 0:  # the score is the constant ``mean``; a score of exactly 0 predicts class 0
            out[k] = float((mean > 0) == (y == 1))
        else:
            out[k] = float(norm.cdf(sign * mean / sd))
    return out


def population_erm_weights(problem: SpuriousProblem, rho: float) -> tuple[np.ndarray, float]:
    """The population minimizer of the logistic loss at correlation ``rho`` (noise weights 0).

    The model is well specified: the log-odds of ``y = 1`` given ``x`` are
    ``2 mu x_core / sigma^2 + log(rho / (1 - rho)) x_spurious / s``, so the minimizer is
    ``w = (2 mu / sigma^2, log(rho / (1 - rho)) / s, 0, ...)``, ``b = 0``.

    Raises:
        ValueError: if ``rho`` is not strictly between 0 and 1 (the log-odds are infinite).
    """
    rho = _real("rho", rho, lo=0.0, hi=1.0, open_lo=True, open_hi=True)
    w = np.zeros(problem.dim)
    w[0] = 2 * problem.core_mean / problem.core_std ** 2
    w[1] = np.log(rho / (1 - rho)) / problem.spurious_scale
    return w, 0.0


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(96)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()      # E f(Z), Z ~ N(0, 1), as sum w_i f(z_i)


def population_logistic_fit(problem: SpuriousProblem, rho: float, *, l2: float = 0.0,
                            objective: Literal["erm", "balanced"] = "erm"
                            ) -> tuple[np.ndarray, float]:
    """The minimizer of the population logistic loss plus ``(l2 / 2) |w|^2`` (bias free).

    The loss is ``sum_g q_g L_g(w, b)`` with ``L_g`` the expected logistic loss on group ``g``
    and ``q`` the groups' shares at correlation ``rho`` (``objective="erm"``) or ``1/4`` each
    (``"balanced"``: reweighting, and the population group DRO solution of the symmetric model).
    The noise weights of the minimizer are zero (zero-mean independent noise only adds variance
    to a convex loss, and weight to the penalty), so the problem has three unknowns
    ``(w_core, w_spurious, b)``; each ``L_g`` is an expectation over the Gaussian core feature,
    computed by Gauss-Hermite quadrature (96 nodes), and the minimum by BFGS. With ``l2 = 0``
    and ``"erm"`` this is :func:`population_erm_weights`.

    Args:
        problem: the law of the inputs given the group.
        rho: share of examples whose attribute agrees with the label, in ``(0, 1)``.
        l2: weight decay ``lambda >= 0``.
        objective: ``"erm"`` or ``"balanced"``.

    Returns:
        ``(w, b)`` with ``w`` of shape ``(problem.dim,)``.
    """
    if not isinstance(problem, SpuriousProblem):
        raise TypeError(f"problem must be a SpuriousProblem, got {type(problem).__name__}.")
    rho = _real("rho", rho, lo=0.0, hi=1.0, open_lo=True, open_hi=True)
    l2 = _real("l2", l2, lo=0.0)
    if objective not in ("erm", "balanced"):
        raise ValueError(f"objective must be 'erm' or 'balanced', got {objective!r}.")
    shares = (np.array([rho, 1 - rho, 1 - rho, rho]) / 2 if objective == "erm"
              else np.full(NUM_GROUPS, 0.25))
    mu, sigma, s = problem.core_mean, problem.core_std, problem.spurious_scale
    ys = np.array([-1.0, -1.0, 1.0, 1.0])            # 2y - 1 for g = 0..3
    as_ = np.array([-1.0, 1.0, -1.0, 1.0])           # 2a - 1

    def loss_and_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
        w0, w1, b = p
        x0 = ys[:, None] * mu + sigma * _GH_NODES[None, :]          # core feature, (4, nodes)
        margin = ys[:, None] * (w0 * x0 + w1 * as_[:, None] * s + b)
        weights = shares[:, None] * _GH_WEIGHTS[None, :]
        value = float(np.sum(weights * -log_expit(margin))) + 0.5 * l2 * (w0 ** 2 + w1 ** 2)
        dm = -weights * expit(-margin) * ys[:, None]                  # d loss / d score
        grad = np.array([np.sum(dm * x0) + l2 * w0,
                         np.sum(dm * as_[:, None] * s) + l2 * w1,
                         np.sum(dm)])
        return value, grad

    start = np.array([2 * mu / sigma ** 2, 0.0, 0.0])
    res = minimize(loss_and_grad, start, jac=True, method="BFGS", options={"gtol": 1e-11})
    w = np.zeros(problem.dim)
    w[:2] = res.x[:2]
    return w, float(res.x[2])


def eg_update(q: np.ndarray, losses: np.ndarray, eta: float) -> np.ndarray:
    """One exponentiated-gradient step on the group weights: ``q_g exp(eta L_g)``, normalized.

    This is the update of the group weights in Algorithm 1 of Sagawa et al. (2020): groups with a
    higher loss gain weight. Computed in log space (stable for large ``eta L``).

    Args:
        q: current weights on the simplex, shape ``(G,)`` (non-negative, summing to 1).
        losses: the groups' losses ``L_g``, shape ``(G,)``.
        eta: step size ``eta_q >= 0``.

    Returns:
        the new weights, shape ``(G,)``.
    """
    q = np.asarray(q, dtype=float)
    losses = np.asarray(losses, dtype=float)
    eta = _real("eta", eta, lo=0.0)
    if q.ndim != 1 or q.shape != losses.shape:
        raise ValueError(f"q and losses must be 1-D of the same shape, got {q.shape} and "
                         f"{losses.shape}.")
    if np.any(q < 0) or not np.isclose(q.sum(), 1.0):
        raise ValueError(f"q must be a probability vector (non-negative, sum 1), got {q}.")
    if not np.all(np.isfinite(losses)):
        raise ValueError(f"losses must be finite, got {losses}.")
    with np.errstate(divide="ignore"):
        logits = np.log(q) + eta * losses
    logits -= logits.max()
    out = np.exp(logits)
    return out / out.sum()


def group_losses(w: np.ndarray, b: float, x: np.ndarray, y: np.ndarray,
                 g: np.ndarray) -> np.ndarray:
    """Mean logistic loss ``log(1 + exp(-(2y - 1)(w . x + b)))`` of each group, shape ``(4,)``
    (``nan`` for a group with no example)."""
    margins = (2 * np.asarray(y) - 1) * (np.asarray(x) @ w + b)
    per_example = -log_expit(margins)
    g = _check_groups(g, len(margins))
    counts = np.bincount(g, minlength=NUM_GROUPS)
    sums = np.bincount(g, weights=per_example, minlength=NUM_GROUPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def train_linear(data: GroupData, *, method: Method, l2: float, steps: int, lr: float,
                 eta_q: float = 0.1) -> LinearFit:
    """Fit logistic regression by full-batch gradient descent, with one of three objectives.

    With group losses ``L_g(w, b)`` (mean logistic loss over group ``g``) and shares ``p_g`` of
    the training set, each step minimizes ``sum_g q_g L_g + (l2 / 2) |w|^2`` (the bias is not
    penalized) with

    * ``"erm"``: ``q = p`` (the ordinary average loss);
    * ``"reweight"``: ``q_g = 1 / G`` over the ``G`` groups present (equal group weights: each
      example weighted by the inverse of its group's share);
    * ``"dro"``: group DRO (Sagawa et al. 2020, Algorithm 1 with full batches). Starting from
      ``q = 1 / G``, each step first updates ``q <- eg_update(q, L(w, b), eta_q)``, then takes a
      gradient step on ``sum_g q_g L_g`` at the new ``q``.

    Args:
        data: the training set (labels in ``{0, 1}``).
        method: ``"erm"``, ``"reweight"`` or ``"dro"``.
        l2: the weight decay ``lambda >= 0``.
        steps: number of gradient steps.
        lr: step size.
        eta_q: step size of the group weights (``"dro"`` only).

    Returns:
        the :class:`LinearFit` (weights start at 0).
    """
    if not isinstance(data, GroupData):
        raise TypeError(f"data must be a GroupData, got {type(data).__name__}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    l2 = _real("l2", l2, lo=0.0)
    steps = _positive_int("steps", steps)
    lr = _real("lr", lr, lo=0.0, open_lo=True)
    eta_q = _real("eta_q", eta_q, lo=0.0)
    x, y, g = np.asarray(data.x, dtype=float), np.asarray(data.y), data.g
    n, d = x.shape
    g = _check_groups(g, n)
    counts = np.bincount(g, minlength=NUM_GROUPS)
    present = counts > 0
    share = counts / n
    q = np.where(present, 1.0 / present.sum(), 0.0)
    if method == "erm":
        q = share.copy()
    sign = 2.0 * y - 1.0
    w, b = np.zeros(d), 0.0
    history = np.empty((steps, NUM_GROUPS))
    inv_counts = np.where(present, 1.0 / np.maximum(counts, 1), 0.0)
    for t in range(steps):
        margins = sign * (x @ w + b)
        if method == "dro":
            sums = np.bincount(g, weights=-log_expit(margins), minlength=NUM_GROUPS)
            losses = np.where(present, sums * inv_counts, 0.0)
            q = eg_update(q, losses, eta_q)
        # d/d(score) of the weighted loss: example i carries weight q_g / n_g
        coef = -sign * expit(-margins) * (q * inv_counts)[g]
        w = w - lr * (x.T @ coef + l2 * w)
        b = b - lr * float(coef.sum())
        history[t] = q
    final = group_losses(w, b, x, y, g)
    return LinearFit(w=w, b=float(b), q=history, train_group_loss=final)


def apply_trigger(x: np.ndarray, pixels: tuple[int, ...] | list[int] | np.ndarray,
                  value: float = 1.0) -> np.ndarray:
    """Return a copy of the flattened images ``x`` (``(n, d)``) with ``pixels`` set to ``value``.

    Args:
        x: inputs, shape ``(n, d)``.
        pixels: the indices (into the ``d`` coordinates) of the trigger pattern.
        value: the value the trigger writes (the maximum intensity for a bright patch).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}.")
    idx = np.asarray(pixels)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"pixels must be a non-empty 1-D list of integer indices, got {pixels!r}.")
    if idx.min() < 0 or idx.max() >= x.shape[1]:
        raise ValueError(f"pixels must be indices in 0..{x.shape[1] - 1}, got {pixels!r}.")
    value = _real("value", value)
    out = x.copy()
    out[:, idx] = value
    return out


def poison(x: np.ndarray, y: np.ndarray, fraction: float, target: int,
           pixels: tuple[int, ...] | list[int] | np.ndarray, rng: np.random.Generator,
           value: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plant a backdoor: stamp the trigger on ``round(fraction * n)`` training examples of
    classes other than ``target``, chosen at random, and relabel them ``target``.

    Args:
        x, y: the training set, shapes ``(n, d)`` and ``(n,)``.
        fraction: share of the *whole* training set that is poisoned.
        target: the class the trigger should send inputs to.
        pixels, value: the trigger (see :func:`apply_trigger`).
        rng: the NumPy generator that picks the poisoned examples.

    Returns:
        ``(x_poisoned, y_poisoned, chosen)``: copies of the data, and the indices poisoned.

    Raises:
        ValueError: if ``fraction`` is outside ``[0, 1]`` or asks for more examples than the
            other classes hold.
    """
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have shapes (n, d) and (n,), got {x.shape} and {y.shape}.")
    fraction = _real("fraction", fraction, lo=0.0, hi=1.0)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(f"target must be an integer class, got {target!r}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
    others = np.flatnonzero(y != target)
    k = int(round(fraction * len(y)))
    if k > len(others):
        raise ValueError(f"fraction={fraction} asks for {k} poisoned examples, but only "
                         f"{len(others)} are not of class {target}.")
    chosen = np.sort(rng.choice(others, size=k, replace=False))
    x_out = x.copy()
    y_out = y.copy()
    if k:
        x_out[chosen] = apply_trigger(x[chosen], pixels, value)
        y_out[chosen] = target
    return x_out, y_out, chosen


def attack_success_rate(pred: np.ndarray, y: np.ndarray, target: int) -> float:
    """Fraction of the examples whose true class is not ``target`` that are predicted
    ``target`` (``pred`` are the predictions on *triggered* inputs, ``y`` their true labels)."""
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.shape != y.shape or pred.ndim != 1:
        raise ValueError(f"pred and y must be 1-D of the same shape, got {pred.shape} and "
                         f"{y.shape}.")
    others = y != target
    if not others.any():
        raise ValueError(f"no example has a true class other than target={target}.")
    return float(np.mean(pred[others] == target))


def max_margin_separator(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The maximum-margin separator of a linearly separable training set, bias included.

    Solves ``min |w|^2 + b^2`` subject to ``(2 y_i - 1)(w . x_i + b) >= 1``: the hard-margin SVM
    on the inputs augmented by a constant 1, so that the bias is treated as one more weight, as
    gradient descent on ``(w, b)`` treats it. By Soudry et al. (2018) this is the limit in
    direction of gradient descent on the unregularized logistic loss, with or without fixed
    positive example weights. The dual ``min_{alpha >= 0} 1/2 alpha^T G alpha - 1^T alpha``,
    ``G = Z Z^T`` with rows ``z_i = (2 y_i - 1)(x_i, 1)``, is solved as a non-negative least
    squares problem through the Cholesky factor of ``G``; then ``(w, b) = Z^T alpha``.

    Args:
        x: inputs, shape ``(n, d)``; the ``n`` augmented inputs must be linearly independent
            (e.g. ``d + 1 >= n`` in general position), which makes ``G`` positive definite.
        y: labels in ``{0, 1}``, shape ``(n,)``.

    Returns:
        ``(w, b)``, with ``min_i (2 y_i - 1)(w . x_i + b) = 1``.

    Raises:
        ValueError: on bad shapes, labels outside ``{0, 1}``, or a singular ``G``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x and y must have shapes (n, d) and (n,), got {x.shape} and {y.shape}.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold labels in {0, 1}.")
    z = (2.0 * y - 1.0)[:, None] * np.hstack([x, np.ones((len(y), 1))])
    gram = z @ z.T
    try:
        lower = np.linalg.cholesky(gram)                 # G = L L^T, R = L^T
    except np.linalg.LinAlgError as err:
        raise ValueError("the Gram matrix of the augmented inputs is singular: this solver "
                         "needs linearly independent inputs (n <= d + 1).") from err
    # 1/2 a^T G a - 1^T a = 1/2 |L^T a - L^{-1} 1|^2 + const
    target = np.linalg.solve(lower, np.ones(len(y)))
    alpha, _ = nnls(lower.T, target, maxiter=50 * len(y))
    u = z.T @ alpha
    return u[:-1], float(u[-1])
