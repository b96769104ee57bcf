"""Latent-variable models: Gaussian mixtures by EM, probabilistic PCA, linear and deep VAEs.

Everything here comes with an exact reference where one exists, so that a page can check the
approximations against it:

- :func:`gmm_em` runs expectation-maximization on a Gaussian mixture with full covariances and
  records the log-likelihood before the first and after every step (:func:`gmm_log_likelihood`);
- :func:`ppca_mle` is the closed-form maximum-likelihood probabilistic PCA of Tipping and Bishop
  (1999), whose marginal density is a Gaussian (:func:`gaussian_log_likelihood`);
- :func:`linear_vae_elbo` is the ELBO of a linear-Gaussian VAE in closed form, and
  :func:`linear_vae_posterior_kl` the KL divergence from its encoder to the exact posterior;
  :func:`fit_linear_vae` maximizes the ELBO and records ELBO, exact log-likelihood and KL;
- :func:`quadratic_gradient_variances` gives the per-sample variances of the reparameterization
  and score-function estimators of ``d/dm E_{N(m, s^2)}[a z^2 + b z + c]``, and
  :func:`gradient_estimates` draws both estimators;
- :class:`VAE` is a small MLP VAE with an isotropic Gaussian decoder, trained with the book's
  loop (:func:`dlscience.train.fit`); :meth:`VAE.elbo` and :meth:`VAE.iw_bound` evaluate it.

All log-likelihoods and ELBOs are *means over the rows* of ``x`` (nats per example).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.special import logsumexp
from torch import nn

from dlscience.checks import positive_int as _positive_int

__all__ = ["GMMFit", "gaussian_log_likelihood", "gmm_log_likelihood", "gmm_em", "PPCA",
           "ppca_mle", "ppca_max_log_likelihood", "LinearVAE", "linear_vae_elbo",
           "linear_vae_posterior_kl", "fit_linear_vae", "quadratic_gradient_variances",
           "gradient_estimates", "VAE"]

LOG_2PI = float(np.log(2 * np.pi))


def _matrix(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a 2-D array (n, d) with n >= 1, got shape {arr.shape}.")
    return arr


def _component_log_densities(x: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """``log N(x_i; means[k], covs[k])`` as an ``(n, K)`` array, by Cholesky factors."""
    n, d = x.shape
    out = np.empty((n, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covs)):
        chol = np.linalg.cholesky(cov)
        sol = np.linalg.solve(chol, (x - mu).T)
        out[:, k] = (-0.5 * (sol ** 2).sum(axis=0) - np.log(np.diag(chol)).sum()
                     - 0.5 * d * LOG_2PI)
    return out


def gaussian_log_likelihood(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """Mean log-density of the rows of ``x`` (``(n, d)``) under ``N(mean, cov)``.

    Raises:
        ValueError: on shapes that do not match, or if ``cov`` is not positive definite.
    """
    x = _matrix("x", x)
    d = x.shape[1]
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    if mean.shape != (d,) or cov.shape != (d, d):
        raise ValueError(f"mean must have shape ({d},) and cov ({d}, {d}), got {mean.shape} "
                         f"and {cov.shape}.")
    try:
        return float(_component_log_densities(x, mean[None], cov[None]).mean())
    except np.linalg.LinAlgError:
        raise ValueError("cov must be positive definite.") from None


def _check_mixture(x: np.ndarray, weights: np.ndarray, means: np.ndarray,
                   covs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = x.shape[1]
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    k = len(weights)
    if weights.ndim != 1 or k < 1 or np.any(weights <= 0) or abs(weights.sum() - 1) > 1e-9:
        raise ValueError("weights must be a 1-D array of positive numbers summing to 1.")
    if means.shape != (k, d) or covs.shape != (k, d, d):
        raise ValueError(f"means must have shape ({k}, {d}) and covs ({k}, {d}, {d}), got "
                         f"{means.shape} and {covs.shape}.")
    return weights, means, covs


def gmm_log_likelihood(x: np.ndarray, weights: np.ndarray, means: np.ndarray,
                       covs: np.ndarray) -> float:
    """Mean log-likelihood of the rows of ``x`` (``(n, d)``) under a Gaussian mixture.

    Args:
        weights: ``(K,)`` mixing weights; means: ``(K, d)``; covs: ``(K, d, d)``.
    """
    x = _matrix("x", x)
    weights, means, covs = _check_mixture(x, weights, means, covs)
    logp = _component_log_densities(x, means, covs) + np.log(weights)
    return float(logsumexp(logp, axis=1).mean())


@dataclass(frozen=True)
class GMMFit:
    """The result of :func:`gmm_em`.

    Attributes:
        weights, means, covs: the parameters after the last step, shapes ``(K,)``, ``(K, d)``,
            ``(K, d, d)``.
        log_likelihood: ``(steps + 1,)``: the mean log-likelihood at the initial parameters and
            after each EM step.
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    log_likelihood: np.ndarray


def gmm_em(x: np.ndarray, weights: np.ndarray, means: np.ndarray, covs: np.ndarray,
           steps: int) -> GMMFit:
    """Run ``steps`` steps of EM on a Gaussian mixture with full covariances, from the given
    initial parameters (no regularization of the covariances: the exact EM of Dempster, Laird
    and Rubin, 1977).

    The E-step computes the responsibilities ``r_ik = p(k | x_i)``; the M-step sets
    ``weights_k = mean_i r_ik``, ``means_k`` to the ``r``-weighted mean and ``covs_k`` to the
    ``r``-weighted covariance about it.

    Args:
        x: data ``(n, d)``.
        weights, means, covs: initial parameters, shapes ``(K,)``, ``(K, d)``, ``(K, d, d)``.
        steps: number of EM steps.

    Returns:
        a :class:`GMMFit` with the final parameters and the log-likelihood history.

    Raises:
        numpy.linalg.LinAlgError: if a covariance becomes singular (a component collapsed onto
            fewer than ``d + 1`` points), which exact EM cannot recover from.
    """
    x = _matrix("x", x)
    steps = _positive_int("steps", steps)
    weights, means, covs = (a.copy() for a in _check_mixture(x, weights, means, covs))
    history = np.empty(steps + 1)
    for t in range(steps + 1):
        logp = _component_log_densities(x, means, covs) + np.log(weights)
        norm = logsumexp(logp, axis=1)
        history[t] = norm.mean()
        if t == steps:
            break
        resp = np.exp(logp - norm[:, None])                        # E-step
        mass = resp.sum(axis=0)                                    # M-step
        weights = mass / len(x)
        means = (resp.T @ x) / mass[:, None]
        for k in range(len(weights)):
            centred = x - means[k]
            covs[k] = (resp[:, k, None] * centred).T @ centred / mass[k]
    return GMMFit(weights, means, covs, history)


@dataclass(frozen=True)
class PPCA:
    """Probabilistic PCA: ``x = mean + W z + noise``, ``z ~ N(0, I_k)``, noise ``N(0, sigma2 I)``.

    Attributes:
        mean: ``(d,)``; w: ``(d, k)``; sigma2: the noise variance.
    """

    mean: np.ndarray
    w: np.ndarray
    sigma2: float

    @property
    def cov(self) -> np.ndarray:
        """The marginal covariance ``W W^T + sigma2 I``, ``(d, d)``."""
        return self.w @ self.w.T + self.sigma2 * np.eye(len(self.mean))


def _sorted_eigh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    centred = x - mean
    eig, vec = np.linalg.eigh(centred.T @ centred / len(x))
    order = np.argsort(eig)[::-1]
    return mean, eig[order], vec[:, order]


def ppca_mle(x: np.ndarray, k: int) -> PPCA:
    """The maximum-likelihood PPCA with ``k`` latent dimensions (Tipping and Bishop, 1999).

    With ``lambda_1 >= ... >= lambda_d`` the eigenvalues of the sample covariance (divided by
    ``n``) and ``U_k`` the top ``k`` eigenvectors: ``sigma2 = mean(lambda_{k+1..d})`` and
    ``W = U_k (Lambda_k - sigma2 I)^{1/2}`` (the rotation ``R`` of the theorem set to ``I``).

    Raises:
        ValueError: if ``k >= d`` or the discarded eigenvalues are all zero.
    """
    x = _matrix("x", x)
    k = _positive_int("k", k)
    d = x.shape[1]
    if k >= d:
        raise ValueError(f"k must be below the dimension d = {d}, got {k}.")
    mean, eig, vec = _sorted_eigh(x)
    sigma2 = float(eig[k:].mean())
    if sigma2 <= 0:
        raise ValueError("the discarded eigenvalues are all zero: sigma2 would be 0.")
    w = vec[:, :k] * np.sqrt(np.maximum(eig[:k] - sigma2, 0.0))
    return PPCA(mean, w, sigma2)


def ppca_max_log_likelihood(x: np.ndarray, k: int) -> float:
    """The maximal mean log-likelihood of PPCA with ``k`` latent dimensions, by its formula
    ``-(d log 2 pi + sum_{j <= k} log lambda_j + (d - k) log sigma2 + d) / 2``."""
    x = _matrix("x", x)
    model = ppca_mle(x, k)
    _, eig, _ = _sorted_eigh(x)
    d = x.shape[1]
    return float(-0.5 * (d * LOG_2PI + np.log(eig[:k]).sum() + (d - k) * np.log(model.sigma2)
                         + d))


@dataclass
class LinearVAE:
    """A linear-Gaussian VAE: decoder ``p(x|z) = N(mean + W z, sigma2 I)`` with ``z ~ N(0, I)``,
    encoder ``q(z|x) = N(V (x - mean), diag(tau2))`` (a covariance shared by all inputs, as in
    Lucas et al., 2019).

    Attributes:
        mean ``(d,)``, w ``(d, k)``, sigma2, v ``(k, d)``, tau2 ``(k,)``: the parameters.
        history: per recorded step, ``elbo``, ``log_likelihood`` (exact, of the decoder's
            marginal ``N(mean, W W^T + sigma2 I)``) and ``kl`` (mean KL from the encoder to the
            exact posterior), all means over the data.
    """

    mean: np.ndarray
    w: np.ndarray
    sigma2: float
    v: np.ndarray
    tau2: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)


def linear_vae_elbo(x: torch.Tensor, mean: torch.Tensor, w: torch.Tensor, sigma2: torch.Tensor,
                    v: torch.Tensor, tau2: torch.Tensor) -> torch.Tensor:
    """Mean ELBO of a :class:`LinearVAE` on the rows of ``x`` (``(n, d)``), in closed form:

    ``E_q log p(x|z) = -d/2 log(2 pi sigma2) - (|x - mean - W m|^2 + sum_j tau2_j |W_j|^2)
    / (2 sigma2)`` and ``KL(q || N(0, I)) = sum_j (tau2_j + m_j^2 - 1 - log tau2_j) / 2``, with
    ``m = V (x - mean)``. Differentiable in every parameter.
    """
    if x.ndim != 2 or w.shape != (x.shape[1], v.shape[0]) or v.shape[1] != x.shape[1]:
        raise ValueError(f"shapes do not match: x {tuple(x.shape)}, w {tuple(w.shape)}, "
                         f"v {tuple(v.shape)}.")
    d = x.shape[1]
    r = x - mean
    m = r @ v.T
    resid = ((r - m @ w.T) ** 2).sum(dim=1) + (tau2 * (w ** 2).sum(dim=0)).sum()
    recon = -0.5 * d * torch.log(2 * torch.pi * sigma2) - resid / (2 * sigma2)
    kl = 0.5 * (tau2.sum() + (m ** 2).sum(dim=1) - len(tau2) - torch.log(tau2).sum())
    return (recon - kl).mean()


def linear_vae_posterior_kl(x: np.ndarray, mean: np.ndarray, w: np.ndarray, sigma2: float,
                            v: np.ndarray, tau2: np.ndarray) -> float:
    """Mean over the rows of ``x`` of ``KL(q(z|x) || p(z|x))``, the encoder against the exact
    posterior ``p(z|x) = N(M^{-1} W^T (x - mean), sigma2 M^{-1})``, ``M = W^T W + sigma2 I``."""
    x = _matrix("x", x)
    k = w.shape[1]
    m_mat = w.T @ w + sigma2 * np.eye(k)
    post_mean = np.linalg.solve(m_mat, w.T @ (x - mean).T).T           # (n, k)
    post_prec = m_mat / sigma2                                         # inverse covariance
    q_mean = (x - mean) @ v.T
    diff = post_mean - q_mean
    trace = float(np.sum(np.diag(post_prec) * tau2))
    maha = np.einsum("ni,ij,nj->n", diff, post_prec, diff)
    logdet_post = -np.linalg.slogdet(post_prec)[1]
    return float(np.mean(0.5 * (trace + maha - k + logdet_post - np.log(tau2).sum())))


def fit_linear_vae(x: np.ndarray, k: int, rounds: int, seed: int,
                   iters_per_round: int = 20) -> LinearVAE:
    """Maximize the closed-form ELBO of a :class:`LinearVAE` by L-BFGS (float64, full batch).

    The parameters start at random (``W``, ``V`` with entries ``N(0, 1/d)``, ``sigma2`` the
    mean variance of the data, ``tau2 = 1``, ``mean = 0``). After each of ``rounds`` rounds of
    ``iters_per_round`` L-BFGS iterations (and at the start) the history records the ELBO, the
    exact log-likelihood and the KL to the exact posterior.

    Args:
        x: data ``(n, d)``; k: latent dimension; rounds, iters_per_round: length of training;
        seed: seed of the initialization.
    """
    x = _matrix("x", x)
    k = _positive_int("k", k)
    rounds = _positive_int("rounds", rounds)
    iters_per_round = _positive_int("iters_per_round", iters_per_round)
    n, d = x.shape
    gen = torch.Generator().manual_seed(int(seed))
    xt = torch.as_tensor(x, dtype=torch.float64)
    params = {
        "mean": torch.zeros(d, dtype=torch.float64),
        "w": torch.randn(d, k, generator=gen, dtype=torch.float64) / np.sqrt(d),
        "log_sigma2": torch.tensor(float(np.log(x.var(axis=0).mean())), dtype=torch.float64),
        "v": torch.randn(k, d, generator=gen, dtype=torch.float64) / np.sqrt(d),
        "log_tau2": torch.zeros(k, dtype=torch.float64),
    }
    for p in params.values():
        p.requires_grad_(True)

    def elbo() -> torch.Tensor:
        return linear_vae_elbo(xt, params["mean"], params["w"], params["log_sigma2"].exp(),
                               params["v"], params["log_tau2"].exp())

    opt = torch.optim.LBFGS(list(params.values()), lr=1.0, max_iter=iters_per_round,
                            history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = -elbo()
        loss.backward()
        return loss

    history: dict[str, list[float]] = {"elbo": [], "log_likelihood": [], "kl": []}

    def snapshot() -> LinearVAE:
        with torch.no_grad():
            value = float(elbo())
        arrays = {key: p.detach().numpy().copy() for key, p in params.items()}
        model = LinearVAE(arrays["mean"], arrays["w"], float(np.exp(arrays["log_sigma2"])),
                          arrays["v"], np.exp(arrays["log_tau2"]), history)
        history["elbo"].append(value)
        history["log_likelihood"].append(gaussian_log_likelihood(
            x, model.mean, model.w @ model.w.T + model.sigma2 * np.eye(d)))
        history["kl"].append(linear_vae_posterior_kl(x, model.mean, model.w, model.sigma2,
                                                     model.v, model.tau2))
        return model

    model = snapshot()
    for _ in range(rounds):
        opt.step(closure)
        model = snapshot()
    return model


def quadratic_gradient_variances(a: float, b: float, c: float, m: float,
                                 s: float) -> tuple[float, float, float]:
    """Exact gradient and per-sample estimator variances for ``d/dm E_{z~N(m, s^2)} f(z)``,
    ``f(z) = a z^2 + b z + c``.

    With ``z = m + s eps``: the reparameterization estimator ``f'(z) = 2 a z + b`` has variance
    ``4 a^2 s^2``; the score-function estimator ``f(z) eps / s``, writing
    ``f = A + B eps + C eps^2`` (``A = f(m)``, ``B = f'(m) s``, ``C = a s^2``), has variance
    ``(A^2 + 2 B^2 + 15 C^2 + 6 A C) / s^2``.

    Returns:
        ``(gradient, var_reparameterization, var_score_function)``.
    """
    if not s > 0:
        raise ValueError(f"s must be positive, got {s!r}.")
    big_a = a * m * m + b * m + c
    big_b = (2 * a * m + b) * s
    big_c = a * s * s
    var_score = (big_a ** 2 + 2 * big_b ** 2 + 15 * big_c ** 2 + 6 * big_a * big_c) / s ** 2
    return 2 * a * m + b, 4 * a * a * s * s, var_score


def gradient_estimates(f: Callable[[np.ndarray], np.ndarray],
                       df: Callable[[np.ndarray], np.ndarray], m: float, s: float, n: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` single-sample estimates of ``d/dm E_{z~N(m, s^2)} f(z)`` by each estimator.

    Both use the same draws ``z = m + s eps``: the reparameterization (pathwise) estimator
    ``df(z)`` and the score-function (REINFORCE) estimator ``f(z) (z - m) / s^2``.

    Returns:
        ``(reparameterization, score_function)``, two arrays of shape ``(n,)``.
    """
    n = _positive_int("n", n)
    if not s > 0:
        raise ValueError(f"s must be positive, got {s!r}.")
    eps = rng.standard_normal(n)
    z = m + s * eps
    return df(z), f(z) * eps / s


class VAE(nn.Module):
    """A VAE with MLP encoder and decoder and an isotropic Gaussian decoder (Kingma and
    Welling, 2014).

    Encoder: ``x -> (mu, log var)`` of ``q(z|x) = N(mu, diag(var))``; decoder:
    ``z -> mean`` of ``p(x|z) = N(mean, sigma2 I)`` with one learned ``log sigma2``; prior
    ``N(0, I)``. ``model(x)`` returns the per-example *negative* ELBO with one reparameterized
    sample, the loss :func:`dlscience.train.fit` minimizes.

    Args:
        dim: data dimension ``d``; latent: ``k``; hidden: width of the two hidden layers.
    """

    def __init__(self, dim: int, latent: int, hidden: int) -> None:
        super().__init__()
        self.dim = _positive_int("dim", dim)
        self.latent = _positive_int("latent", latent)
        hidden = _positive_int("hidden", hidden)
        self.encoder = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                     nn.Tanh(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(),
                                     nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        self.log_sigma2 = nn.Parameter(torch.zeros(()))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, log_var)`` of ``q(z|x)``, each ``(n, k)``."""
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder mean, ``(n, d)``, for latents ``z`` ``(n, k)``."""
        return self.decoder(z)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x|z)`` for ``x`` ``(..., d)`` and ``z`` ``(..., k)``, shape ``(...)``."""
        sigma2 = self.log_sigma2.exp()
        sq = ((x - self.decode(z)) ** 2).sum(dim=-1)
        return -0.5 * self.dim * (LOG_2PI + self.log_sigma2) - sq / (2 * sigma2)

    def elbo(self, x: torch.Tensor, samples: int = 1,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-example ELBO ``(n,)``: analytic KL to the prior, reconstruction term averaged
        over ``samples`` reparameterized draws."""
        samples = _positive_int("samples", samples)
        mu, log_var = self.encode(x)
        eps = torch.randn((samples, *mu.shape), generator=generator, dtype=mu.dtype)
        z = mu + (0.5 * log_var).exp() * eps
        recon = self.log_likelihood(x, z).mean(dim=0)
        kl = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=1)
        return recon - kl

    def iw_bound(self, x: torch.Tensor, samples: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-example importance-weighted bound ``log (1/K) sum_k p(x, z_k) / q(z_k|x)``,
        ``z_k ~ q(z|x)`` (Burda et al., 2016), shape ``(n,)``; ``K = samples``."""
        samples = _positive_int("samples", samples)
        mu, log_var = self.encode(x)
        eps = torch.randn((samples, *mu.shape), generator=generator, dtype=mu.dtype)
        z = mu + (0.5 * log_var).exp() * eps
        log_prior = -0.5 * (z ** 2 + LOG_2PI).sum(dim=-1)
        log_q = -0.5 * (eps ** 2 + LOG_2PI + log_var).sum(dim=-1)
        log_w = self.log_likelihood(x, z) + log_prior - log_q
        return torch.logsumexp(log_w, dim=0) - float(np.log(samples))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-example negative ELBO ``(n,)`` with one sample (the training loss)."""
        return -self.elbo(x)
