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


# --- convex problems, the Lessard counterexample, averaging, stability limit ----------------


def test_nesterov_convex_matches_momentum_formula_and_bound() -> None:
    q = optim.worst_case_quadratic(9, L=2.0)
    x0 = np.zeros(9)
    xs = optim.run(optim.NesterovConvex(0.5), q.grad, x0, 6).values
    # reference: the recursion written out by hand, momentum (k - 1)/(k + 2) at step k >= 1
    x_prev, x = x0.copy(), x0.copy()
    ref = [x0]
    for t in range(6):
        y = x + (max(t - 1, 0) / (t + 2)) * (x - x_prev)
        x_prev, x = x, y - 0.5 * q.grad(y)
        ref.append(x)
    np.testing.assert_allclose(xs, np.array(ref), atol=1e-14)
    # Su-Boyd-Candes bound f(x_t) - f* <= 2 L ||x0 - x*||^2 / (t + 1)^2 on a long run
    long = optim.run(optim.NesterovConvex(0.5), q.grad, x0, 200, record=q.value).values
    t = np.arange(201)
    assert np.all(long <= 2 * 2.0 * np.sum(q.minimizer**2) / (t + 1) ** 2 + 1e-15)


def test_worst_case_quadratic_against_dense_and_krylov_structure() -> None:
    d, L = 11, 3.0
    q = optim.worst_case_quadratic(d, L=L)
    a = 2 * np.eye(d) - np.eye(d, k=1) - np.eye(d, k=-1)
    np.testing.assert_allclose(q.eigenvalues, np.linalg.eigvalsh(L / 4 * a), atol=1e-12)
    np.testing.assert_allclose(q.minimizer, np.linalg.solve(a, np.eye(d)[0]), atol=1e-12)
    # value is f(x) - f* with f(x) = L/4 (x^T A x / 2 - x_1) and f* = L/8 (-1 + 1/(d+1))
    x = np.random.default_rng(0).normal(size=d)
    f = L / 4 * (0.5 * x @ a @ x - x[0])
    assert float(q.value(x)) == pytest.approx(f - L / 8 * (-1 + 1 / (d + 1)), rel=1e-12)
    # from 0, GD's x_t lives on the first t coordinates (up to rounding)
    xs = optim.run(optim.GD(1 / L), q.grad, np.zeros(d), 4).values
    for t in range(5):
        np.testing.assert_allclose(xs[t, t:], 0, atol=1e-15)
        assert np.all(np.abs(xs[t, :t]) > 1e-3)


def test_lessard_counterexample_is_smooth_strongly_convex_and_cycles() -> None:
    f = optim.LessardCounterexample()
    z = np.linspace(-3, 4, 7001)[:, None]
    # gradient against central finite differences of the value, and continuity at the joints
    h = 1e-6
    fd = (f.value(z + h) - f.value(z - h)) / (2 * h)
    np.testing.assert_allclose(f.grad(z)[:, 0], fd, atol=1e-5)
    for joint in (1.0, 2.0):
        assert f.value(np.array([joint - 1e-12])) == pytest.approx(f.value(np.array([joint])))
    # slopes of the gradient between mu = 1 and L = 25
    slopes = np.diff(f.grad(z)[:, 0]) / np.diff(z[:, 0])
    assert slopes.min() == pytest.approx(1.0) and slopes.max() == pytest.approx(25.0)
    # the tuned heavy ball from x0 = 3.3 ends on the period-3 cycle (792, 2592, -2208) / 1225
    hb = optim.tuned_heavy_ball(f.L, f.mu)
    xs = optim.run(hb, f.grad, np.array([3.3]), 600).values[:, 0]
    np.testing.assert_allclose(sorted(xs[-3:]), np.array([-2208, 792, 2592]) / 1225, atol=1e-9)


def test_averaged_matches_cumulative_mean() -> None:
    q = _problem()
    x0 = np.ones(q.dim)
    base = optim.HeavyBall(0.05, 0.5)
    plain = optim.run(base, q.grad, x0, 30).values
    avg = optim.run(optim.Averaged(base, start=4), q.grad, x0, 30).values
    np.testing.assert_allclose(avg[4:], np.cumsum(plain[4:], axis=0)
                               / np.arange(1, 28)[:, None], atol=1e-12)
    np.testing.assert_allclose(avg[:4], plain[:4])
    assert optim.power_decay(2.0, 10, 0.5)(30) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="start"):
        optim.Averaged(base, start=-1)


def test_sgd_stability_limit_against_moment_recursion() -> None:
    p = optim.random_least_squares(40, 3, noise=0.5, kappa=2.0, seed=0)
    for b in (1, 4):
        limit = optim.sgd_stability_limit(p, b)
        assert 0 < limit <= 2 / np.linalg.eigvalsh(p.hessian)[-1]
        # just below the limit the exact expected excess settles; just above it grows
        below = optim.sgd_expected_excess(p, 0.97 * limit, p.minimizer + 1, 3000, b, every=1000)
        above = optim.sgd_expected_excess(p, 1.03 * limit, p.minimizer + 1, 3000, b, every=1000)
        assert below.values[-1] < 10 * below.values[1]
        assert above.values[-1] > 100 * above.values[1]
    # a larger batch is stable up to a larger step, approaching full-batch GD's 2 / L
    assert optim.sgd_stability_limit(p, 1) < optim.sgd_stability_limit(p, 4)


# --- Logistic regression and standardization (chapter "Gradient descent and conditioning") ---


def _logistic(seed: int = 0, n: int = 60) -> optim.Logistic:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3)) * np.array([1.0, 3.0, 0.5]) + np.array([0.0, 2.0, -1.0])
    y = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-(z @ np.array([1.0, -0.5, 2.0])))),
                 1.0, -1.0)
    return optim.Logistic(np.c_[np.ones(n), z], y)


def test_logistic_gradient_and_hessian_match_autograd() -> None:
    p = _logistic()
    a = torch.tensor(p.features)
    y = torch.tensor(p.labels)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(-y * (a @ x)).mean()

    for x in (np.zeros(p.dim), np.array([0.3, -1.0, 0.2, 2.0])):
        xt = torch.tensor(x, requires_grad=True)
        np.testing.assert_allclose(p.loss(x), loss(xt).item(), rtol=1e-12)
        (g,) = torch.autograd.grad(loss(xt), xt)
        np.testing.assert_allclose(p.grad(x), g.numpy(), rtol=1e-10, atol=1e-14)
        h = torch.autograd.functional.hessian(loss, torch.tensor(x)).numpy()
        np.testing.assert_allclose(p.hessian(x), h, rtol=1e-10, atol=1e-14)
    # batched evaluation, row by row
    xs = np.random.default_rng(1).normal(size=(2, 3, p.dim))
    np.testing.assert_allclose(p.grad(xs)[1, 2], p.grad(xs[1, 2]))
    np.testing.assert_allclose(p.loss(xs)[0, 1], p.loss(xs[0, 1]))


def test_logistic_minimizer_and_smoothness() -> None:
    from scipy.optimize import minimize

    p = _logistic(2, n=200)
    x_star = p.minimizer()
    assert np.linalg.norm(p.grad(x_star)) < 1e-14
    reference = minimize(p.loss, np.zeros(p.dim), jac=p.grad, method="BFGS", tol=1e-12).x
    np.testing.assert_allclose(x_star, reference, atol=1e-6)
    # L = lambda_max(A^T A) / (4 n) bounds the Hessian everywhere and is attained at 0
    assert p.L == pytest.approx(np.linalg.eigvalsh(p.hessian(np.zeros(p.dim)))[-1], rel=1e-12)
    for x in np.random.default_rng(3).normal(size=(5, p.dim)):
        assert np.linalg.eigvalsh(p.hessian(x))[-1] <= p.L * (1 + 1e-12)


def test_standardize_keeps_the_minimum_loss() -> None:
    p = _logistic(4, n=150)
    a = optim.standardize(p.features[:, 1:])
    np.testing.assert_allclose(a.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.std(axis=0), 1, rtol=1e-12)
    q = optim.Logistic(np.c_[np.ones(p.n), a], p.labels)
    assert q.loss(q.minimizer()) == pytest.approx(p.loss(p.minimizer()), abs=1e-13)


def test_logistic_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="labels"):
        optim.Logistic(np.ones((3, 2)), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        optim.Logistic(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="constant column"):
        optim.standardize(np.ones((4, 2)))
    separable = optim.Logistic(np.c_[np.ones(4), [-2.0, -1.0, 1.0, 2.0]],
                               np.array([-1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="did not converge"):
        separable.minimizer(max_iter=30)
