"""Tests of dlscience.latent against independent references (SciPy, scikit-learn, torch
distributions, Gauss-Hermite quadrature, Monte Carlo)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from dlscience import latent as lat
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from torch.distributions import MultivariateNormal, kl_divergence


@pytest.fixture
def mixture_data():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [4.0, 0.0], [2.0, 3.0]])
    labels = rng.integers(0, 3, size=300)
    x = means[labels] + rng.normal(size=(300, 2)) * np.array([1.0, 0.6])
    w0 = np.full(3, 1 / 3)
    m0 = x[[0, 1, 2]]
    c0 = np.repeat(np.cov(x.T, bias=True)[None], 3, axis=0)
    return x, w0, m0, c0


def test_gaussian_log_likelihood_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    mean = rng.normal(size=4)
    x = rng.normal(size=(50, 4))
    expected = multivariate_normal(mean, cov).logpdf(x).mean()
    assert lat.gaussian_log_likelihood(x, mean, cov) == pytest.approx(expected, rel=1e-12)


def test_gaussian_log_likelihood_rejects_bad_cov():
    with pytest.raises(ValueError, match="positive definite"):
        lat.gaussian_log_likelihood(np.zeros((3, 2)), np.zeros(2), -np.eye(2))
    with pytest.raises(ValueError, match="mean must have shape"):
        lat.gaussian_log_likelihood(np.zeros((3, 2)), np.zeros(3), np.eye(2))


def test_gmm_log_likelihood_matches_scipy(mixture_data):
    x, w0, m0, c0 = mixture_data
    dens = sum(w * multivariate_normal(m, c).pdf(x) for w, m, c in zip(w0, m0, c0))
    assert lat.gmm_log_likelihood(x, w0, m0, c0) == pytest.approx(np.log(dens).mean(),
                                                                  rel=1e-12)


def test_gmm_em_matches_sklearn_and_is_monotone(mixture_data):
    x, w0, m0, c0 = mixture_data
    fit = lat.gmm_em(x, w0, m0, c0, steps=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = GaussianMixture(3, covariance_type="full", reg_covar=0.0, tol=0.0, max_iter=30,
                             init_params="random", weights_init=w0, means_init=m0,
                             precisions_init=np.linalg.inv(c0), random_state=0).fit(x)
    np.testing.assert_allclose(fit.weights, sk.weights_, rtol=1e-9)
    np.testing.assert_allclose(fit.means, sk.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.covs, sk.covariances_, rtol=1e-9, atol=1e-12)
    assert fit.log_likelihood[-1] == pytest.approx(sk.score(x), rel=1e-12)
    assert fit.log_likelihood[0] == pytest.approx(lat.gmm_log_likelihood(x, w0, m0, c0))
    assert np.diff(fit.log_likelihood).min() >= -1e-12
    assert len(fit.log_likelihood) == 31


def test_gmm_em_validates(mixture_data):
    x, w0, m0, c0 = mixture_data
    with pytest.raises(ValueError, match="steps"):
        lat.gmm_em(x, w0, m0, c0, steps=0)
    with pytest.raises(ValueError, match="weights"):
        lat.gmm_em(x, np.array([0.5, 0.6, -0.1]), m0, c0, steps=1)
    with pytest.raises(ValueError, match="means must have shape"):
        lat.gmm_em(x, w0, m0[:, :1], c0, steps=1)


def test_ppca_matches_sklearn_pca_and_formula():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 1.0
    model = lat.ppca_mle(x, 2)
    n = len(x)
    # scikit-learn's PCA is the same model with the unbiased (n - 1) covariance.
    pca = PCA(n_components=2).fit(x)
    np.testing.assert_allclose(model.cov, pca.get_covariance() * (n - 1) / n, rtol=1e-9,
                               atol=1e-12)
    direct = lat.gaussian_log_likelihood(x, model.mean, model.cov)
    assert lat.ppca_max_log_likelihood(x, 2) == pytest.approx(direct, rel=1e-12)
    # A maximum: perturbing W or sigma2 lowers the likelihood.
    for _ in range(5):
        w = model.w + 0.05 * rng.normal(size=model.w.shape)
        cov = w @ w.T + model.sigma2 * 1.05 * np.eye(6)
        assert lat.gaussian_log_likelihood(x, model.mean, cov) < direct


def test_ppca_validates():
    with pytest.raises(ValueError, match="k must be below"):
        lat.ppca_mle(np.random.default_rng(0).normal(size=(10, 3)), 3)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        lat.ppca_mle(np.zeros((10, 3)), 0)


def _random_linear_vae(rng, d=5, k=2):
    return (rng.normal(size=d), rng.normal(size=(d, k)), 0.7, rng.normal(size=(k, d)) * 0.3,
            np.array([0.4, 0.9]))


def test_linear_vae_elbo_identity_and_monte_carlo():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5))
    mean, w, sigma2, v, tau2 = _random_linear_vae(rng)
    t = {k: torch.as_tensor(a, dtype=torch.float64) for k, a in
         dict(mean=mean, w=w, sigma2=sigma2, v=v, tau2=tau2).items()}
    elbo = float(lat.linear_vae_elbo(torch.as_tensor(x), **t))
    # Monte Carlo ELBO from the definition, with scipy densities.
    n_mc = 4000
    vals = []
    for xi in x[:5]:
        qm = v @ (xi - mean)
        z = qm + np.sqrt(tau2) * rng.normal(size=(n_mc, 2))
        log_joint = (multivariate_normal(np.zeros(2), np.eye(2)).logpdf(z)
                     + multivariate_normal(np.zeros(5), sigma2 * np.eye(5)).logpdf(
                         xi - mean - z @ w.T))
        vals.append((log_joint - multivariate_normal(qm, np.diag(tau2)).logpdf(z)).mean())
    elbo5 = float(lat.linear_vae_elbo(torch.as_tensor(x[:5]), **t))
    assert np.mean(vals) == pytest.approx(elbo5, abs=0.1)
    # The ELBO identity with independently computed terms.
    loglik = lat.gaussian_log_likelihood(x, mean, w @ w.T + sigma2 * np.eye(5))
    kl = lat.linear_vae_posterior_kl(x, mean, w, sigma2, v, tau2)
    assert loglik - elbo == pytest.approx(kl, rel=1e-10)
    assert kl > 0


def test_linear_vae_posterior_kl_matches_torch():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5))
    mean, w, sigma2, v, tau2 = _random_linear_vae(rng)
    m_mat = w.T @ w + sigma2 * np.eye(2)
    kls = []
    for xi in x:
        post = MultivariateNormal(torch.as_tensor(np.linalg.solve(m_mat, w.T @ (xi - mean))),
                                  torch.as_tensor(sigma2 * np.linalg.inv(m_mat)))
        q = MultivariateNormal(torch.as_tensor(v @ (xi - mean)), torch.as_tensor(np.diag(tau2)))
        kls.append(float(kl_divergence(q, post)))
    assert lat.linear_vae_posterior_kl(x, mean, w, sigma2, v, tau2) == pytest.approx(
        np.mean(kls), rel=1e-9)


def test_fit_linear_vae_reaches_ppca():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(300, 6))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny matrices: more threads only contend
    try:
        model = lat.fit_linear_vae(x, 2, rounds=10, seed=0)
    finally:
        torch.set_num_threads(threads)
    best = lat.ppca_max_log_likelihood(x, 2)
    assert model.history["elbo"][-1] == pytest.approx(best, abs=1e-6)
    assert model.history["elbo"][-1] <= best + 1e-10
    assert len(model.history["kl"]) == 11
    with pytest.raises(ValueError, match="rounds"):
        lat.fit_linear_vae(x, 2, rounds=0, seed=0)


def test_quadratic_gradient_variances_match_quadrature():
    a, b, c, m, s = -1.3, 2.0, 0.7, 0.4, 0.6
    nodes, weights = np.polynomial.hermite_e.hermegauss(30)
    weights = weights / weights.sum()
    z = m + s * nodes
    f = a * z ** 2 + b * z + c
    rp, sf = 2 * a * z + b, f * nodes / s
    grad, var_rp, var_sf = lat.quadratic_gradient_variances(a, b, c, m, s)
    for est, var in ((rp, var_rp), (sf, var_sf)):
        mean = weights @ est
        assert mean == pytest.approx(grad, rel=1e-10)
        assert weights @ (est - mean) ** 2 == pytest.approx(var, rel=1e-10)
    with pytest.raises(ValueError, match="s must be positive"):
        lat.quadratic_gradient_variances(a, b, c, m, 0.0)


def test_gradient_estimates_are_unbiased():
    rng = np.random.default_rng(6)
    rp, sf = lat.gradient_estimates(np.sin, np.cos, 0.3, 0.5, 200_000, rng)
    exact = np.cos(0.3) * np.exp(-0.5 * 0.5 ** 2)        # d/dm E sin(m + s eps)
    assert rp.mean() == pytest.approx(exact, abs=4 * rp.std() / np.sqrt(len(rp)))
    assert sf.mean() == pytest.approx(exact, abs=4 * sf.std() / np.sqrt(len(sf)))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        lat.gradient_estimates(np.sin, np.cos, 0.0, 1.0, 0, rng)


def test_vae_bounds():
    torch.manual_seed(0)
    model = lat.VAE(dim=6, latent=2, hidden=8)
    x = torch.randn(4, 6)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = model.elbo(x, samples=20_000, generator=gen)
        iw1 = model.iw_bound(x, samples=1, generator=gen)
        iw_many = model.iw_bound(x.repeat(5000, 1), samples=1, generator=gen)
        iw_many = iw_many.reshape(5000, 4).mean(dim=0)
        iw_k = model.iw_bound(x.repeat(50, 1), samples=50, generator=gen).reshape(50, 4).mean(0)
        # K = 1 with the definition, from torch distributions.
        gen_a = torch.Generator().manual_seed(7)
        gen_b = torch.Generator().manual_seed(7)
        one = model.iw_bound(x, samples=1, generator=gen_a)
        mu, log_var = model.encode(x)
        z = mu + (0.5 * log_var).exp() * torch.randn((1, *mu.shape), generator=gen_b)[0]
        q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
        prior = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
        lik = torch.distributions.Normal(model.decode(z), model.log_sigma2.exp().sqrt())
        by_hand = (lik.log_prob(x).sum(1) + prior.log_prob(z).sum(1) - q.log_prob(z).sum(1))
    torch.testing.assert_close(one, by_hand, rtol=1e-5, atol=1e-5)
    assert iw1.shape == (4,)
    # E[L_1] is the ELBO (analytic KL); L_50 is above it.
    torch.testing.assert_close(iw_many, elbo, rtol=0, atol=0.1)
    assert bool((iw_k > elbo).all())
    assert model(x).shape == (4,)
    with pytest.raises(ValueError, match="latent"):
        lat.VAE(dim=6, latent=0, hidden=8)


def test_linear_vae_at_ppca_optimum_attains_the_maximum_and_rotation_costs_hadamard_gap():
    """Proposition lv-prop-linear-vae and Exercise 3: at the PPCA maximum with R = I, the encoder
    V = Lambda^{-1} W^T, tau2 = sigma2 / lambda makes the ELBO equal the maximal log-likelihood;
    with a rotated decoder W R the best diagonal encoder leaves the gap
    (sum_j log P_jj - log det P) / 2, P = (W^T W + sigma2 I) / sigma2 (Hadamard's inequality)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 7)) + 0.2 * rng.normal(size=(400, 7))
    k = 3
    model = lat.ppca_mle(x, k)
    best = lat.ppca_max_log_likelihood(x, k)
    lam = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1][:k]

    def elbo(w, v, tau2):
        t = {name: torch.as_tensor(a, dtype=torch.float64) for name, a in
             dict(mean=model.mean, w=w, sigma2=model.sigma2, v=v, tau2=tau2).items()}
        return float(lat.linear_vae_elbo(torch.as_tensor(x), **t))

    v_opt = np.diag(1 / lam) @ model.w.T
    assert elbo(model.w, v_opt, model.sigma2 / lam) == pytest.approx(best, abs=1e-9)
    # A rotation that is not a signed permutation: same likelihood, strictly lower best ELBO.
    angle = 0.6
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]])
    w_rot = model.w @ rot
    m_mat = w_rot.T @ w_rot + model.sigma2 * np.eye(k)
    prec = m_mat / model.sigma2
    v_rot = np.linalg.solve(m_mat, w_rot.T)
    tau2_rot = 1 / np.diag(prec)
    gap = 0.5 * (np.log(np.diag(prec)).sum() - np.linalg.slogdet(prec)[1])
    assert gap > 1e-3
    assert elbo(w_rot, v_rot, tau2_rot) == pytest.approx(best - gap, abs=1e-9)
    # ... and that encoder is the best diagonal one: perturbing it lowers the ELBO.
    for _ in range(5):
        dv = 1e-3 * rng.normal(size=v_rot.shape)
        dt = np.exp(1e-2 * rng.normal(size=k))
        assert elbo(w_rot, v_rot + dv, tau2_rot * dt) < elbo(w_rot, v_rot, tau2_rot)


# ---------------------------------------------------------------------------------------------
# Closed forms by hand, exact boundaries and the error messages (anchored: the argument's name).


def _diagonal_data():
    """Four rows about the mean (1, 2, 3) whose sample covariance (over n) is diag(0.36, 0.09,
    0.01): the signs make every cross product sum to zero."""
    a = np.array([0.6, -0.6, 0.6, -0.6])
    b = np.array([0.3, 0.3, -0.3, -0.3])
    c = np.array([0.1, -0.1, -0.1, 0.1])
    return np.c_[a, b, c] + np.array([1.0, 2.0, 3.0])


def test_ppca_by_hand_on_diagonal_covariance():
    """k = 1: sigma2 = (0.09 + 0.01) / 2 = 0.05, W = +-e1 sqrt(0.36 - 0.05), and the maximal
    mean log-likelihood is -(3 log 2 pi + log 0.36 + 2 log 0.05 + 3) / 2."""
    x = _diagonal_data()
    model = lat.ppca_mle(x, 1)
    np.testing.assert_allclose(model.mean, [1.0, 2.0, 3.0], atol=1e-14)
    assert model.sigma2 == pytest.approx(0.05, rel=1e-12)
    np.testing.assert_allclose(np.abs(model.w[:, 0]), [np.sqrt(0.31), 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(model.cov, np.diag([0.36, 0.05, 0.05]), atol=1e-12)
    best = -(3 * np.log(2 * np.pi) + np.log(0.36) + 2 * np.log(0.05) + 3) / 2
    assert lat.ppca_max_log_likelihood(x, 1) == pytest.approx(best, rel=1e-12)
    # k = 2 keeps the two largest directions: sigma2 = 0.01
    assert lat.ppca_mle(x, 2).sigma2 == pytest.approx(0.01, rel=1e-10)


def test_ppca_rejects_data_without_discarded_variance():
    """Data on the first axis: the discarded eigenvalue is exactly 0, sigma2 would be 0."""
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [3.0, 0.0]])
    with pytest.raises(ValueError, match=r"^the discarded eigenvalues are all zero: sigma2 "
                                         r"would be 0\.$"):
        lat.ppca_mle(x, 1)
    with pytest.raises(ValueError, match=r"^k must be below the dimension d = 2, got 2\.$"):
        lat.ppca_mle(x, 2)


def test_single_row_and_single_component_are_valid():
    """n = 1 is allowed; a one-component mixture is the Gaussian itself (scipy reference)."""
    x = np.array([[0.3, -1.2]])
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    ref = multivariate_normal(np.zeros(2), cov).logpdf(x[0])
    assert lat.gaussian_log_likelihood(x, np.zeros(2), cov) == pytest.approx(ref, rel=1e-12)
    assert lat.gmm_log_likelihood(x, [1.0], np.zeros((1, 2)), cov[None]) == pytest.approx(
        ref, rel=1e-12)


def test_gmm_weights_boundaries():
    """Weights summing to 1 up to 1e-12 pass; a zero weight or a sum of 1.5 does not."""
    x = np.array([[0.0, 1.0], [2.0, -1.0]])
    means, covs = np.zeros((2, 2)), np.repeat(np.eye(2)[None], 2, axis=0)
    ref = multivariate_normal(np.zeros(2), np.eye(2)).logpdf(x).mean()
    assert lat.gmm_log_likelihood(x, [0.3, 0.7 + 1e-12], means, covs) == pytest.approx(ref)
    msg = r"^weights must be a 1-D array of positive numbers summing to 1\.$"
    for weights in ([0.0, 1.0], [0.5, 1.0], [[0.5, 0.5]], [-0.5, 1.5]):
        with pytest.raises(ValueError, match=msg):
            lat.gmm_log_likelihood(x, weights, means, covs)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: lat.gaussian_log_likelihood(np.ones(3), np.zeros(3), np.eye(3)),
     r"x must be a 2-D array \(n, d\) with n >= 1, got shape \(3,\)\.$"),
    (lambda: lat.gaussian_log_likelihood(np.ones((0, 2)), np.zeros(2), np.eye(2)),
     r"x must be a 2-D array \(n, d\) with n >= 1, got shape \(0, 2\)\.$"),
    (lambda: lat.gaussian_log_likelihood(np.ones((2, 2)), np.zeros(3), np.eye(2)),
     r"mean must have shape \(2,\) and cov \(2, 2\), got \(3,\) and \(2, 2\)\.$"),
    (lambda: lat.gaussian_log_likelihood(np.ones((2, 2)), np.zeros(2), np.eye(3)),
     r"mean must have shape \(2,\) and cov \(2, 2\), got \(2,\) and \(3, 3\)\.$"),
    (lambda: lat.gaussian_log_likelihood(np.ones((2, 2)), np.zeros(2), -np.eye(2)),
     r"cov must be positive definite\.$"),
    (lambda: lat.gmm_log_likelihood(np.ones(2), [1.0], np.zeros((1, 2)), np.eye(2)[None]),
     r"x must be a 2-D array"),
    (lambda: lat.gmm_log_likelihood(np.ones((2, 2)), [0.5, 0.5], np.zeros((2, 2)),
                                    np.eye(2)[None]),
     r"means must have shape \(2, 2\) and covs \(2, 2, 2\), got \(2, 2\) and \(1, 2, 2\)\.$"),
    (lambda: lat.gmm_em(np.ones(2), [1.0], np.zeros((1, 2)), np.eye(2)[None], 1),
     r"x must be a 2-D array"),
    (lambda: lat.gmm_em(np.eye(3), [1.0], np.zeros((1, 3)), np.eye(3)[None], 0),
     r"steps must be a positive integer, got 0\.$"),
    (lambda: lat.ppca_mle(np.ones(3), 1), r"x must be a 2-D array"),
    (lambda: lat.ppca_mle(np.eye(3), 0), r"k must be a positive integer, got 0\.$"),
    (lambda: lat.ppca_max_log_likelihood(np.ones(3), 1), r"x must be a 2-D array"),
    (lambda: lat.linear_vae_posterior_kl(np.ones(3), np.zeros(3), np.ones((3, 1)), 1.0,
                                         np.ones((1, 3)), np.ones(1)), r"x must be a 2-D array"),
    (lambda: lat.fit_linear_vae(np.ones(3), 1, 1, 0), r"x must be a 2-D array"),
    (lambda: lat.fit_linear_vae(np.eye(3), 0, 1, 0), r"k must be a positive integer"),
    (lambda: lat.fit_linear_vae(np.eye(3), 1, 0, 0), r"rounds must be a positive integer"),
    (lambda: lat.fit_linear_vae(np.eye(3), 1, 1, 0, iters_per_round=0),
     r"iters_per_round must be a positive integer"),
    (lambda: lat.gradient_estimates(np.sin, np.cos, 0.0, 0.0, 3, np.random.default_rng(0)),
     r"s must be positive, got 0\.0\.$"),
    (lambda: lat.gradient_estimates(np.sin, np.cos, 0.0, 1.0, 0, np.random.default_rng(0)),
     r"n must be a positive integer"),
    (lambda: lat.quadratic_gradient_variances(1.0, 0.0, 0.0, 0.0, -1.0),
     r"s must be positive, got -1\.0\.$"),
    (lambda: lat.VAE(0, 2, 4), r"dim must be a positive integer"),
    (lambda: lat.VAE(3, 0, 4), r"latent must be a positive integer"),
    (lambda: lat.VAE(3, 2, 0), r"hidden must be a positive integer"),
])
def test_bad_arguments_get_a_message_naming_them(call, message):
    """Each rejected input gets a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match="^" + message):
        call()


@pytest.mark.parametrize(("shapes", "text"), [
    (((5,), (5, 2), (2, 5)), r"x \(5,\), w \(5, 2\), v \(2, 5\)"),
    (((4, 5), (5, 3), (2, 5)), r"x \(4, 5\), w \(5, 3\), v \(2, 5\)"),
    (((4, 5), (5, 2), (2, 4)), r"x \(4, 5\), w \(5, 2\), v \(2, 4\)"),
])
def test_linear_vae_elbo_checks_shapes(shapes, text):
    """x must be (n, d), w (d, k) and v (k, d); the message lists the three shapes."""
    x, w, v = (torch.ones(s, dtype=torch.float64) for s in shapes)
    one = torch.ones(w.shape[1], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^shapes do not match: " + text + r"\.$"):
        lat.linear_vae_elbo(x, torch.zeros(5, dtype=torch.float64), w, torch.tensor(1.0), v, one)


def test_gradient_estimates_are_the_two_formulas_on_the_same_draws():
    """With eps the generator's normals: df(m + s eps) and f(m + s eps) eps / s exactly."""
    m, s = 0.3, 0.5
    rp, sf = lat.gradient_estimates(np.sin, np.cos, m, s, 5, np.random.default_rng(11))
    eps = np.random.default_rng(11).standard_normal(5)
    np.testing.assert_allclose(rp, np.cos(m + s * eps), rtol=1e-15)
    np.testing.assert_allclose(sf, np.sin(m + s * eps) * eps / s, rtol=1e-14)


def test_fit_linear_vae_starts_from_the_documented_initialization():
    """The first recorded ELBO is the one of W, V ~ N(0, 1/d) (drawn in that order from the
    seeded generator), sigma2 = mean data variance, tau2 = 1, mean = 0; the default is 20
    L-BFGS iterations per round."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(30, 2)) @ rng.normal(size=(2, 4)) + 0.5 * rng.normal(size=(30, 4))
    model = lat.fit_linear_vae(x, 2, rounds=1, seed=3)
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(4, 2, generator=gen, dtype=torch.float64) / 2.0
    v = torch.randn(2, 4, generator=gen, dtype=torch.float64) / 2.0
    sigma2 = torch.tensor(x.var(axis=0).mean(), dtype=torch.float64)
    start = lat.linear_vae_elbo(torch.as_tensor(x), torch.zeros(4, dtype=torch.float64), w,
                                sigma2, v, torch.ones(2, dtype=torch.float64))
    assert model.history["elbo"][0] == pytest.approx(float(start), rel=1e-12)
    assert sorted(model.history) == ["elbo", "kl", "log_likelihood"]
    assert len(model.history["elbo"]) == 2 and model.history["elbo"][1] > model.history["elbo"][0]
    explicit = lat.fit_linear_vae(x, 2, rounds=1, seed=3, iters_per_round=20)
    np.testing.assert_array_equal(model.w, explicit.w)
    assert model.history == explicit.history
    # the recorded terms are those of the returned parameters
    cov = model.w @ model.w.T + model.sigma2 * np.eye(4)
    assert model.history["log_likelihood"][-1] == pytest.approx(
        multivariate_normal(model.mean, cov).logpdf(x).mean(), rel=1e-10)
    assert model.history["kl"][-1] == pytest.approx(lat.linear_vae_posterior_kl(
        x, model.mean, model.w, model.sigma2, model.v, model.tau2), rel=1e-10)
