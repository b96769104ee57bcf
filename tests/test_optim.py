"""Tests of dlscience.optim: problems, optimizers against references, theory and measurement."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from dlscience import optim


def _problem(kappa: float = 50.0, dim: int = 6, seed: int = 0) -> optim.Quadratic:
    return optim.quadratic(optim.spectrum(kappa, dim), minimizer=np.arange(dim) / dim, seed=seed)


def test_spectrum_and_quadratic() -> None:
    lam = optim.spectrum(100, 5, L=2.0)
    assert lam[0] == pytest.approx(0.02) and lam[-1] == pytest.approx(2.0)
    q = optim.quadratic(lam, seed=3)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.hessian), lam, rtol=1e-10)
    assert q.kappa == pytest.approx(100)
    assert np.allclose(q.hessian, q.hessian.T)
    x = np.random.default_rng(0).normal(size=(4, 5))
    # value and grad agree with a dense computation and with autograd
    e = x - q.minimizer
    np.testing.assert_allclose(q.value(x), 0.5 * np.sum(e @ q.hessian * e, axis=1))
    xt = torch.tensor(x[0], requires_grad=True)
    h = torch.tensor(q.hessian)
    (0.5 * (xt - torch.tensor(q.minimizer)) @ h @ (xt - torch.tensor(q.minimizer))).backward()
    np.testing.assert_allclose(q.grad(x[0]), xt.grad.numpy(), rtol=1e-12)


def test_gd_matches_matrix_power() -> None:
    q = _problem()
    x0 = np.ones(q.dim)
    eta = 1.5 / q.L
    xs = optim.run(optim.GD(eta), q.grad, x0, 30).values
    expected = q.minimizer + np.linalg.matrix_power(np.eye(q.dim) - eta * q.hessian, 30) @ (
        x0 - q.minimizer)
    np.testing.assert_allclose(xs[-1], expected, atol=1e-12)
    assert xs.shape == (31, q.dim)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_torch(nesterov: bool) -> None:
    q = _problem(kappa=30.0)
    x0 = np.random.default_rng(1).normal(size=q.dim)
    method = (optim.tuned_nesterov if nesterov else optim.tuned_heavy_ball)(q.L, q.mu)
    ours = optim.run(method, q.grad, x0, 40).values
    w = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=method.lr, momentum=method.momentum, nesterov=nesterov)
    h, xs = torch.tensor(q.hessian), torch.tensor(q.minimizer)
    theirs = [x0.copy()]
    for _ in range(40):
        opt.zero_grad()
        (0.5 * (w - xs) @ h @ (w - xs)).backward()
        opt.step()
        theirs.append(w.detach().numpy().copy())
    theirs = np.array(theirs)
    if nesterov:  # torch's iterates are the look-ahead points y_t = x_t + beta (x_t - x_{t-1})
        prev = np.vstack([ours[:1], ours[:-1]])
        ours = ours + method.momentum * (ours - prev)
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def test_rates_match_iteration_matrix() -> None:
    q = _problem(kappa=100.0, dim=8)
    hb = optim.tuned_heavy_ball(q.L, q.mu)
    # spectral radius of the dense 2d x 2d heavy-ball iteration matrix
    d = q.dim
    big = np.block([[(1 + hb.momentum) * np.eye(d) - hb.lr * q.hessian, -hb.momentum * np.eye(d)],
                    [np.eye(d), np.zeros((d, d))]])
    dense = np.max(np.abs(scipy.linalg.eigvals(big)))
    assert optim.momentum_rate(hb.lr, hb.momentum, q.eigenvalues) == pytest.approx(dense, rel=1e-6)
    assert dense == pytest.approx(0.9 / 1.1, rel=1e-6)
    nes = optim.tuned_nesterov(q.L, q.mu)
    rate = optim.momentum_rate(nes.lr, nes.momentum, q.eigenvalues, nesterov=True)
    assert rate == pytest.approx(0.9, rel=1e-6)
    gd = optim.tuned_gd(q.L, q.mu)
    assert optim.gd_rate(gd.lr, q.eigenvalues) == pytest.approx(99 / 101)


def test_fit_rate_and_power_law() -> None:
    t = np.arange(50)
    assert optim.fit_rate(3.0 * 0.7**t) == pytest.approx(0.7)
    assert optim.fit_rate(3.0 * 0.7**t, start=10, stop=40) == pytest.approx(0.7)
    assert optim.fit_power_law([1, 2, 4, 8], [3, 6, 12, 24]) == pytest.approx((1.0, 3.0))
    assert optim.fit_power_law([1, 100, 1e4], [2, 20, 200]) == pytest.approx((0.5, 2.0))
    assert optim.iterations_to(np.array([1.0, 0.5, 0.1, 0.2]), 0.2) == 2
    with pytest.raises(ValueError, match="tol"):
        optim.iterations_to(np.array([1.0, 0.5]), 0.1)
    with pytest.raises(ValueError, match="start"):
        optim.fit_rate(np.ones(5), start=4)


def test_schedules() -> None:
    assert optim.constant(0.1)(7) == 0.1
    assert optim.inverse_time(1.0, 10)(10) == pytest.approx(0.5)
    assert optim.step_decay(1.0, 0.5, 3)(7) == pytest.approx(0.25)
    xs = optim.run(optim.GD(optim.inverse_time(0.5, 1)), lambda x: x, np.ones(1), 3).values
    np.testing.assert_allclose(xs[:, 0], [1, 0.5, 0.5 * (1 - 0.25), 0.375 * (1 - 0.5 / 3)])


def test_least_squares_against_lstsq() -> None:
    p = optim.random_least_squares(40, 5, noise=0.3, kappa=3.0, seed=2)
    ref = scipy.linalg.lstsq(p.features, p.targets)[0]
    np.testing.assert_allclose(p.minimizer, ref, rtol=1e-10)
    np.testing.assert_allclose(p.grad(ref), 0, atol=1e-12)
    x = np.random.default_rng(0).normal(size=5)
    np.testing.assert_allclose(p.example_grads(x).mean(axis=0), p.grad(x), atol=1e-12)
    np.testing.assert_allclose(p.hessian, p.features.T @ p.features / 40)


def test_stochastic_oracle_is_unbiased_with_covariance_c_over_b() -> None:
    p = optim.random_least_squares(30, 3, noise=0.5, seed=0)
    x = np.random.default_rng(1).normal(size=3)
    oracle = p.stochastic_oracle(4, np.random.default_rng(2))
    g = oracle(np.broadcast_to(x, (20_000, 3)))
    assert g.shape == (20_000, 3)
    np.testing.assert_allclose(g.mean(axis=0), p.grad(x), atol=0.03)
    np.testing.assert_allclose(np.cov(g.T), p.noise_covariance(x) / 4, atol=0.03, rtol=0.05)


def test_stationary_covariance_is_fixed_point_of_moment_recursion() -> None:
    p = optim.random_least_squares(50, 4, noise=0.5, seed=1)
    for b in (1, 3):
        exact = optim.sgd_excess_loss(p, 0.2, b)
        trace = optim.sgd_expected_excess(p, 0.2, p.minimizer, 600, batch_size=b, every=600)
        assert trace.values[-1] == pytest.approx(exact, rel=1e-8)
        first = optim.sgd_excess_loss(p, 1e-5, b, first_order=True)
        assert optim.sgd_excess_loss(p, 1e-5, b) == pytest.approx(first, rel=1e-3)
    with pytest.raises(ValueError, match="stability"):
        optim.sgd_stationary_covariance(p, 10.0)


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="lr"):
        optim.GD(lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        optim.HeavyBall(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="kappa"):
        optim.spectrum(0.5, 3)
    with pytest.raises(ValueError, match="eigenvalues"):
        optim.quadratic([1.0, -1.0])
    with pytest.raises(ValueError, match="steps"):
        optim.run(optim.GD(0.1), lambda x: x, np.ones(2), 0)
    with pytest.raises(ValueError, match="batch_size"):
        optim.random_least_squares(10, 2, 0.1).stochastic_oracle(0, np.random.default_rng())
