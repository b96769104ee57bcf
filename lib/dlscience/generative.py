"""Generative versus discriminative classifiers on Gaussian class-conditionals.

A binary problem is a list of Gaussian *components*, each with a weight, a mean, a covariance and
a label; two components with a shared covariance are the setting of Gaussian discriminant
analysis (GDA), more components on one side break it. For such problems the error of any linear
classifier is computed exactly (:func:`linear_error`), so learning curves carry no test-sample
noise. :func:`fit_gda` fits GDA with a shared covariance by maximum likelihood, and
:func:`gda_logistic_parameters` turns its parameters into the logistic form of its posterior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import multivariate_normal, norm

__all__ = ["Component", "GDA", "shared_covariance_problem", "sample", "fit_gda",
           "gda_logistic_parameters", "gda_posterior_bayes", "linear_error"]


@dataclass(frozen=True)
class Component:
    """One Gaussian piece of a class-conditional density: ``weight * N(mean, cov)`` of ``label``.

    The weights of all components of a problem sum to one (they are the joint probabilities
    of the component, hence the class priors add up over a label's components).
    """

    weight: float
    mean: np.ndarray
    cov: np.ndarray
    label: int


def _check_components(components: Sequence[Component]) -> None:
    if not components:
        raise ValueError("components must be a non-empty list of Component.")
    d = len(components[0].mean)
    total = 0.0
    for c in components:
        if c.label not in (0, 1):
            raise ValueError(f"component labels must be 0 or 1, got {c.label!r}.")
        if np.shape(c.mean) != (d,) or np.shape(c.cov) != (d, d):
            raise ValueError(f"every component needs a mean of shape ({d},) and a covariance "
                             f"of shape ({d}, {d}).")
        if c.weight <= 0:
            raise ValueError(f"component weights must be positive, got {c.weight!r}.")
        total += c.weight
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"component weights must sum to 1, got {total!r}.")
    if {c.label for c in components} != {0, 1}:
        raise ValueError("a binary problem needs components of both labels 0 and 1.")


def shared_covariance_problem(dim: int, mahalanobis: float, condition: float,
                              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """Two class means and a shared covariance at a given Mahalanobis distance.

    The covariance has eigenvalues spaced geometrically from ``1/sqrt(condition)`` to
    ``sqrt(condition)`` in a random basis; ``mean0 = 0`` and ``mean1`` points in a random
    direction, scaled so that ``sqrt((mean1 - mean0)^T cov^{-1} (mean1 - mean0)) =
    mahalanobis``. With equal priors the Bayes error is then ``Phi(-mahalanobis / 2)``.

    Returns:
        ``(mean0, mean1, cov)`` of shapes ``(dim,)``, ``(dim,)``, ``(dim, dim)``.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}.")
    if mahalanobis <= 0 or condition < 1:
        raise ValueError("mahalanobis must be positive and condition at least 1, got "
                         f"{mahalanobis!r} and {condition!r}.")
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eig = np.geomspace(condition ** -0.5, condition ** 0.5, dim)
    cov = (q * eig) @ q.T
    u = rng.normal(size=dim)
    u *= mahalanobis / np.sqrt(u @ np.linalg.solve(cov, u))
    return np.zeros(dim), u, cov


def sample(components: Sequence[Component], n: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` labelled points: a component by weight, then a point from its Gaussian.

    Returns:
        ``x`` of shape ``(n, d)`` and labels ``y`` of shape ``(n,)``.
    """
    _check_components(components)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    weights = np.array([c.weight for c in components])
    which = rng.choice(len(components), size=n, p=weights / weights.sum())
    d = len(components[0].mean)
    x = np.empty((n, d))
    y = np.empty(n, dtype=np.int64)
    for j, c in enumerate(components):
        idx = which == j
        chol = np.linalg.cholesky(c.cov)
        x[idx] = c.mean + rng.normal(size=(int(idx.sum()), d)) @ chol.T
        y[idx] = c.label
    return x, y


@dataclass(frozen=True)
class GDA:
    """Gaussian discriminant analysis with a shared covariance, fitted by maximum likelihood."""

    prior1: float
    mean0: np.ndarray
    mean1: np.ndarray
    cov: np.ndarray


def fit_gda(x: np.ndarray, y: np.ndarray) -> GDA:
    """Maximum-likelihood GDA: class frequencies, class means, pooled covariance (divided by n).

    Raises:
        ValueError: if a class is missing or the pooled covariance is singular (n too small
            for the dimension).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (n, d) and y (n,), got {x.shape} and {y.shape}.")
    if not (np.any(y == 0) and np.any(y == 1)) or not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold labels 0 and 1, both present.")
    m0, m1 = x[y == 0].mean(axis=0), x[y == 1].mean(axis=0)
    resid = np.where((y == 1)[:, None], x - m1, x - m0)
    cov = resid.T @ resid / len(y)
    if np.linalg.matrix_rank(cov) < x.shape[1]:
        raise ValueError(f"the pooled covariance is singular: GDA needs more than "
                         f"{x.shape[1] + 1} points in dimension {x.shape[1]}, got {len(y)}.")
    return GDA(float(np.mean(y == 1)), m0, m1, cov)


def gda_logistic_parameters(model: GDA) -> tuple[np.ndarray, float]:
    """The ``(w, b)`` with ``p(y = 1 | x) = sigmoid(w^T x + b)`` under a GDA model:
    ``w = S^{-1}(m1 - m0)``, ``b = (m0^T S^{-1} m0 - m1^T S^{-1} m1) / 2 + log(p1 / p0)``."""
    s_inv_m0 = np.linalg.solve(model.cov, model.mean0)
    s_inv_m1 = np.linalg.solve(model.cov, model.mean1)
    w = s_inv_m1 - s_inv_m0
    b = 0.5 * (model.mean0 @ s_inv_m0 - model.mean1 @ s_inv_m1) + np.log(
        model.prior1 / (1.0 - model.prior1))
    return w, float(b)


def gda_posterior_bayes(model: GDA, x: np.ndarray) -> np.ndarray:
    """``p(y = 1 | x)`` under a GDA model by Bayes' rule on the two Gaussian densities
    (independent of the logistic form, which the chapter checks against it)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    log1 = np.log(model.prior1) + multivariate_normal(model.mean1, model.cov).logpdf(x)
    log0 = np.log(1 - model.prior1) + multivariate_normal(model.mean0, model.cov).logpdf(x)
    return np.atleast_1d(1.0 / (1.0 + np.exp(log0 - log1)))


def linear_error(w: np.ndarray, b: float, components: Sequence[Component]) -> float:
    """Exact error of the classifier ``1[w^T x + b > 0]`` on a mixture of Gaussian components.

    On a component ``N(mu, S)`` the score ``w^T x + b`` is ``N(w^T mu + b, w^T S w)``, so the
    probability of the wrong side is a normal tail; the error is their weighted sum.
    """
    _check_components(components)
    w = np.asarray(w, dtype=float)
    total = 0.0
    for c in components:
        scale = float(np.sqrt(w @ c.cov @ w))
        if scale == 0:
            wrong = float((b > 0) != (c.label == 1))
        else:
            z = (w @ c.mean + b) / scale
            wrong = float(norm.cdf(-z) if c.label == 1 else norm.cdf(z))
        total += c.weight * wrong
    return total
