"""Calibration and selective prediction: reliability bins, ECE, scoring rules, temperature scaling.

A classifier outputs a probability vector ``p(x)`` over ``K`` classes; its *confidence* is the
largest entry and its prediction the arg-max. The functions here measure how far confidences are
from the frequencies of being right (:func:`reliability_bins`, :func:`ece`, :func:`mce`), score
the whole probability vector (:func:`brier_score`, :func:`nll`), recalibrate logits with one
temperature fitted on held-out data (:func:`fit_temperature`, Guo et al. 2017), and evaluate a
classifier that may abstain on its least confident inputs (:func:`risk_coverage`,
:func:`selective_risk`, :func:`aurc`, :func:`oracle_aurc`).

Conventions: ``confidences`` is a 1-D array of numbers in ``[0, 1]``; ``correct`` a 1-D array of
the same length of booleans or 0/1 (whether the prediction was right); ``probs`` a ``(n, K)``
array of rows that sum to one; ``logits`` a ``(n, K)`` array; ``labels`` integers in ``0..K-1``.
Everything is NumPy, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import log_softmax, logsumexp

from .checks import positive_float, positive_int, probability

__all__ = ["ReliabilityBins", "reliability_bins", "ece", "mce", "brier_score", "nll", "softmax",
           "temperature_nll", "fit_temperature", "risk_coverage", "selective_risk", "aurc",
           "oracle_aurc", "calibrated_ece_floor"]

Binning = Literal["width", "mass"]


@dataclass(frozen=True)
class ReliabilityBins:
    """The bins of a reliability diagram.

    Attributes (each of shape ``(n_bins,)``; empty bins have ``count`` 0 and NaN means):
        edges: ``(n_bins + 1,)`` bin edges; bin ``b`` is ``(edges[b], edges[b+1]]`` (the first
            bin also holds ``edges[0]``).
        count: number of examples in each bin.
        confidence: mean confidence in each bin.
        accuracy: fraction correct in each bin.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        """``accuracy - confidence`` per bin (NaN for empty bins)."""
        return self.accuracy - self.confidence


def _check_pair(confidences: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(confidences, dtype=float)
    r = np.asarray(correct)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"confidences must be a non-empty 1-D array, got shape {c.shape}.")
    if r.shape != c.shape:
        raise ValueError(f"correct must have the shape of confidences {c.shape}, got {r.shape}.")
    if not np.all(np.isfinite(c)) or c.min() < 0 or c.max() > 1:
        raise ValueError("confidences must be finite numbers in [0, 1].")
    r = r.astype(float)
    if not np.all((r == 0) | (r == 1)):
        raise ValueError("correct must hold booleans or 0/1 values.")
    return c, r


def _bin_index(c: np.ndarray, n_bins: int, binning: Binning) -> tuple[np.ndarray, np.ndarray]:
    """The bin of each confidence, and the edges (see :func:`reliability_bins`)."""
    if binning == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        # bin b holds (b/B, (b+1)/B]; ceil(c B) - 1 is its index, and c = 0 goes to bin 0
        return np.clip(np.ceil(c * n_bins).astype(int) - 1, 0, n_bins - 1), edges
    if binning == "mass":
        if n_bins > c.size:
            raise ValueError(f"n_bins must be at most the number of examples ({c.size}) with "
                             f"binning='mass', got {n_bins}.")
        order = np.argsort(c, kind="stable")
        index = np.empty(c.size, dtype=int)
        index[order] = np.arange(c.size) * n_bins // c.size
        starts = order[np.searchsorted(index[order], np.arange(n_bins))]
        return index, np.append(c[starts], c.max())
    raise ValueError(f"binning must be 'width' or 'mass', got {binning!r}.")


def reliability_bins(confidences: np.ndarray, correct: np.ndarray, n_bins: int = 15,
                     binning: Binning = "width") -> ReliabilityBins:
    """Group examples by confidence and compare each group's mean confidence with its accuracy.

    Args:
        confidences: ``(n,)`` confidences in ``[0, 1]``.
        correct: ``(n,)`` whether each prediction is right.
        n_bins: number of bins (15 in Guo et al. 2017).
        binning: ``"width"``, bins ``(b/B, (b+1)/B]`` of equal width (a confidence of exactly 0
            goes to the first bin, one of exactly 1 to the last); or ``"mass"``, bins holding
            ``n // B`` or ``n // B + 1`` examples each, in order of confidence (ties are broken by
            position, so equal confidences may share two bins).

    Returns:
        a :class:`ReliabilityBins`. With ``"mass"`` the edges are the bins' smallest confidence
        and, last, the largest confidence.
    """
    c, r = _check_pair(confidences, correct)
    index, edges = _bin_index(c, positive_int("n_bins", n_bins), binning)
    n_bins = edges.size - 1
    count = np.bincount(index, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=c, minlength=n_bins) / count
        accuracy = np.bincount(index, weights=r, minlength=n_bins) / count
    return ReliabilityBins(edges=edges, count=count.astype(int), confidence=confidence,
                           accuracy=accuracy)


def ece(confidences: np.ndarray, correct: np.ndarray, n_bins: int = 15,
        binning: Binning = "width") -> float:
    """Expected calibration error: ``sum_b (n_b / n) |accuracy_b - confidence_b|``.

    The plug-in estimator of Naeini et al. (2015) and Guo et al. (2017), with the bins of
    :func:`reliability_bins`; empty bins contribute nothing.
    """
    bins = reliability_bins(confidences, correct, n_bins, binning)
    full = bins.count > 0
    return float(np.sum(bins.count[full] * np.abs(bins.gap[full])) / bins.count.sum())


def mce(confidences: np.ndarray, correct: np.ndarray, n_bins: int = 15,
        binning: Binning = "width") -> float:
    """Maximum calibration error: the largest ``|accuracy_b - confidence_b|`` over non-empty
    bins (Naeini et al. 2015)."""
    bins = reliability_bins(confidences, correct, n_bins, binning)
    return float(np.max(np.abs(bins.gap[bins.count > 0])))


def _check_probs(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=float)
    y = np.asarray(labels)
    if p.ndim != 2 or p.size == 0:
        raise ValueError(f"probs must be a non-empty (n, K) array, got shape {p.shape}.")
    if not np.all(np.isfinite(p)) or p.min() < 0 or not np.allclose(p.sum(axis=1), 1.0,
                                                                     atol=1e-6):
        raise ValueError("probs must hold non-negative rows that sum to one.")
    return p, _check_labels(y, p.shape)


def _check_labels(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be an integer array of shape ({shape[0]},), got "
                         f"{y.dtype} of shape {y.shape}.")
    if y.min() < 0 or y.max() >= shape[1]:
        raise ValueError(f"labels must lie in 0..{shape[1] - 1}.")
    return y


def brier_score(probs: np.ndarray, labels: np.ndarray) -> float:
    """Multi-class Brier score ``mean_i sum_k (p_ik - [y_i = k])^2`` (Brier 1950), in ``[0, 2]``."""
    p, y = _check_probs(probs, labels)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def _check_logits(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(f"logits must be an (n, K) array with n >= 1 and K >= 2, got shape "
                         f"{z.shape}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite.")
    return z, _check_labels(labels, z.shape)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise ``softmax(logits / temperature)``; ``logits`` is ``(n, K)``, returns ``(n, K)``."""
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must be an (n, K) array, got shape {z.shape}.")
    return np.exp(log_softmax(z / positive_float("temperature", temperature), axis=1))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood ``-mean_i log softmax(z_i / T)[y_i]`` (natural log)."""
    z, y = _check_logits(logits, labels)
    logp = log_softmax(z / positive_float("temperature", temperature), axis=1)
    return float(-np.mean(logp[np.arange(len(y)), y]))


def temperature_nll(logits: np.ndarray, labels: np.ndarray,
                    beta: float) -> tuple[float, float, float]:
    """NLL of ``softmax(beta * z)`` as a function of the inverse temperature ``beta = 1/T``.

    Returns ``(value, first derivative, second derivative)`` in ``beta``:
    ``f(beta) = mean_i [logsumexp(beta z_i) - beta z_iy]``,
    ``f'(beta) = mean_i [E_{p_i}(z_i) - z_iy]``, ``f''(beta) = mean_i Var_{p_i}(z_i) >= 0``,
    where ``p_i = softmax(beta z_i)``: ``f`` is convex in ``beta``.
    """
    z, y = _check_logits(logits, labels)
    if not np.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta!r}.")
    s = beta * z
    p = np.exp(log_softmax(s, axis=1))
    zy = z[np.arange(len(y)), y]
    mean_z = np.sum(p * z, axis=1)
    var_z = np.sum(p * (z - mean_z[:, None]) ** 2, axis=1)
    value = float(np.mean(logsumexp(s, axis=1) - beta * zy))
    return value, float(np.mean(mean_z - zy)), float(np.mean(var_z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tol: float = 1e-10,
                    max_iter: int = 100) -> float:
    """The temperature ``T > 0`` minimizing the NLL of ``softmax(z / T)`` on ``(logits, labels)``.

    Temperature scaling (Guo et al. 2017): fitted on a validation split, applied to the test
    split. The NLL is convex in ``beta = 1/T`` (:func:`temperature_nll`), so damped Newton steps
    in ``beta`` from ``beta = 1`` find its minimum; a step that does not lower the NLL is halved.

    Raises:
        ValueError: if the minimum is not at a positive finite ``beta``: every label has the
            largest logit (the NLL keeps falling as ``T -> 0``), or the labels' logits are on
            average no larger than the mean logit (the best ``T`` is infinite).
    """
    z, y = _check_logits(logits, labels)
    tol = positive_float("tol", tol)
    max_iter = positive_int("max_iter", max_iter)
    zy = z[np.arange(len(y)), y]
    # f'(beta) increases from f'(0) = mean(mean_k z_k - z_y) to f'(inf) = mean(max_k z_k - z_y):
    # a minimum at 0 < beta < inf exists iff f'(0) < 0 < f'(inf)
    if not np.mean(z.max(axis=1) - zy) > 0:
        raise ValueError("the NLL has no minimum at a positive inverse temperature: every "
                         "label has the largest logit, so the NLL falls as T -> 0.")
    if not np.mean(z.mean(axis=1) - zy) < 0:
        raise ValueError("the NLL has no minimum at a positive inverse temperature: the logits "
                         "carry no evidence for the labels (the best T is infinite).")
    beta = 1.0
    value, grad, hess = temperature_nll(z, y, beta)
    for _ in range(max_iter):
        if hess <= 0:
            break
        step = grad / hess
        while True:
            trial = beta - step
            new_value, new_grad, new_hess = temperature_nll(z, y, trial)
            if new_value <= value or abs(step) < 1e-15:
                break
            step /= 2
        beta, value, grad, hess = trial, new_value, new_grad, new_hess
        if abs(step) <= tol * max(1.0, abs(beta)):
            break
    if not beta > 0 or abs(grad) > 1e-6 * max(1.0, np.abs(z).max()):
        raise RuntimeError(f"Newton's method did not converge (beta = {beta:.4g}, slope "
                           f"{grad:.3g}).")
    return 1.0 / beta


def risk_coverage(confidences: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The risk-coverage curve of abstaining on the least confident inputs.

    Examples are accepted in order of decreasing confidence (ties in order of position). After
    accepting ``k`` of ``n`` examples, the coverage is ``k / n`` and the selective risk the error
    rate on the accepted ones.

    Returns:
        ``(coverage, risk)``, each of shape ``(n,)``, for ``k = 1, ..., n``.
    """
    c, r = _check_pair(confidences, correct)
    order = np.argsort(-c, kind="stable")
    errors = np.cumsum(1.0 - r[order])
    k = np.arange(1, c.size + 1)
    return k / c.size, errors / k


def selective_risk(confidences: np.ndarray, correct: np.ndarray, coverage: float) -> float:
    """Error rate on the ``ceil(coverage * n)`` most confident examples (``0 < coverage <= 1``)."""
    c, r = _check_pair(confidences, correct)
    coverage = probability("coverage", coverage)
    if coverage == 0:
        raise ValueError("coverage must be a number in (0, 1], got 0.")
    k = max(1, int(np.ceil(coverage * c.size - 1e-9)))
    return float(risk_coverage(c, r)[1][k - 1])


def aurc(confidences: np.ndarray, correct: np.ndarray) -> float:
    """Area under the risk-coverage curve, ``(1/n) sum_k risk_k`` (Geifman et al. 2019)."""
    return float(np.mean(risk_coverage(confidences, correct)[1]))


def oracle_aurc(correct: np.ndarray) -> float:
    """The smallest AURC any ordering of these examples reaches: right ones first.

    With ``m`` errors among ``n`` examples, ``(1/n) sum_{k > n - m} (k - n + m) / k``.
    """
    r = np.asarray(correct).astype(float)
    if r.ndim != 1 or r.size == 0 or not np.all((r == 0) | (r == 1)):
        raise ValueError("correct must be a non-empty 1-D array of booleans or 0/1 values.")
    n = r.size
    m = int(round(n - r.sum()))
    k = np.arange(1, n + 1)
    return float(np.mean(np.maximum(k - (n - m), 0) / k))


def calibrated_ece_floor(confidences: np.ndarray, n_bins: int = 15, binning: Binning = "width",
                         draws: int = 200, rng: np.random.Generator | None = None
                         ) -> tuple[float, float]:
    """The ECE a perfectly calibrated predictor gets with these confidences, and its approximation.

    A predictor is right with probability equal to its confidence; its ECE is then pure sampling
    noise. Returns ``(simulated, gaussian)``: the mean ECE over ``draws`` draws of
    ``correct_i ~ Bernoulli(c_i)``, and the normal approximation
    ``sum_b (n_b / n) sqrt(2 v_b / (pi n_b))`` with ``v_b`` the mean of ``c (1 - c)`` in bin ``b``.
    """
    c = np.asarray(confidences, dtype=float)
    c, _ = _check_pair(c, np.ones_like(c))
    draws = positive_int("draws", draws)
    n_bins = positive_int("n_bins", n_bins)
    if rng is None:
        raise ValueError("rng must be a numpy Generator (pass one seeded by the caller).")
    sims = [ece(c, rng.random(c.size) < c, n_bins, binning) for _ in range(draws)]
    index, _ = _bin_index(c, n_bins, binning)
    count = np.bincount(index, minlength=n_bins)
    full = count > 0
    v = np.bincount(index, weights=c * (1 - c), minlength=n_bins)[full] / count[full]
    gaussian = float(np.sum(count[full] / c.size * np.sqrt(2 * v / (np.pi * count[full]))))
    return float(np.mean(sims)), gaussian
