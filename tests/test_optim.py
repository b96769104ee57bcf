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


# --- error messages, defaults and less-used helpers -----------------------------------------


@pytest.mark.parametrize(("call", "message"), [
    (lambda: optim.constant(0.0), r"^lr must be a positive number, got 0\.0\."),
    (lambda: optim.inverse_time(0, 1.0), r"^lr must be a positive number"),
    (lambda: optim.inverse_time(1.0, 0), r"^decay_steps must be a positive number"),
    (lambda: optim.step_decay(-1.0, 0.5, 2), r"^lr must be a positive number"),
    (lambda: optim.step_decay(1.0, 0.0, 2), r"^factor must be in \(0, 1\], got 0\.0\."),
    (lambda: optim.step_decay(1.0, 1.5, 2), r"^factor must be in \(0, 1\]"),
    (lambda: optim.step_decay(1.0, 0.5, 0), r"^every must be a positive integer"),
    (lambda: optim.power_decay(0.0, 1.0, 1.0), r"^lr must be a positive number"),
    (lambda: optim.power_decay(1.0, 0.0, 1.0), r"^decay_steps must be a positive number"),
    (lambda: optim.power_decay(1.0, 1.0, 0.0), r"^power must be a positive number"),
    (lambda: optim.tuned_gd(0.0, 1.0), r"^L must be a positive number"),
    (lambda: optim.tuned_gd(1.0, 0.0), r"^mu must be a positive number"),
    (lambda: optim.tuned_nesterov(0.0, 1.0), r"^L must be a positive number"),
    (lambda: optim.tuned_nesterov(1.0, 0.0), r"^mu must be a positive number"),
    (lambda: optim.tuned_heavy_ball(0.0, 1.0), r"^L must be a positive number"),
    (lambda: optim.tuned_heavy_ball(1.0, 0.0), r"^mu must be a positive number"),
    (lambda: optim.gd_rate(0.0, [1.0]), r"^lr must be a positive number"),
    (lambda: optim.momentum_rate(0.0, 0.5, [1.0]), r"^lr must be a positive number"),
    (lambda: optim.worst_case_quadratic(0), r"^dim must be a positive integer"),
    (lambda: optim.worst_case_quadratic(3, L=0.0), r"^L must be a positive number"),
    (lambda: optim.GD(lr=True), r"^lr must be a positive number, got True\."),
    (lambda: optim.GD(lr="0.1"), r"^lr must be a positive number"),
    (lambda: optim.GD(lr=np.array([])), r"^lr must hold positive step sizes"),
    (lambda: optim.GD(lr=np.array([0.1, 0.0])), r"^lr must hold positive step sizes"),
    (lambda: optim.HeavyBall(0.1, -0.1), r"^momentum must be in \[0, 1\), got -0\.1\."),
    (lambda: optim.Nesterov(0.1, 1.0), r"^momentum must be in \[0, 1\)"),
    (lambda: optim.Nesterov(0.0, 0.5), r"^lr must be a positive number"),
    (lambda: optim.NesterovConvex(0.0), r"^lr must be a positive number"),
    (lambda: optim.Averaged(optim.GD(0.1), start=-1), r"^start must be a non-negative integer"),
    (lambda: optim.Averaged(optim.GD(0.1), start=True), r"^start must be a non-negative integer"),
    (lambda: optim.Averaged(optim.GD(0.1), start=1.5), r"^start must be a non-negative integer"),
    (lambda: optim.run(optim.GD(0.1), lambda x: x, np.ones(2), 0),
     r"^steps must be a positive integer"),
    (lambda: optim.run(optim.GD(0.1), lambda x: x, np.ones(2), 3, every=0),
     r"^every must be a positive integer"),
    (lambda: optim.fit_rate(np.array([1.0, 0.0])),
     r"^errors must be positive in the fitted window"),
    (lambda: optim.fit_rate(np.ones(5), stop=6), r"^need a 1-D errors array"),
    (lambda: optim.fit_rate(np.ones((2, 3))), r"^need a 1-D errors array"),
    (lambda: optim.fit_rate(np.ones(5), start=-1), r"^need a 1-D errors array"),
    (lambda: optim.iterations_to(np.array([1.0, 0.5]), 0.1),
     r"^errors never reach tol=0\.1 \(smallest value 0\.5\); run more steps\.$"),
    (lambda: optim.fit_power_law([1.0, 2.0, 3.0], [1.0, 2.0]),
     r"^x and y must have the same shape with at least 2 points"),
    (lambda: optim.fit_power_law([1.0], [1.0]),
     r"^x and y must have the same shape with at least 2 points"),
    (lambda: optim.standardize(np.ones(3)), r"^features must have shape \(n, d\), got \(3,\)"),
    (lambda: optim.standardize(np.ones((4, 2))),
     r"^features has a constant column; drop it before standardizing\.$"),
    (lambda: optim.spectrum(0.5, 3), r"^kappa must be a number >= 1, got 0\.5\."),
    (lambda: optim.spectrum("2", 3), r"^kappa must be a number >= 1"),
    (lambda: optim.spectrum(2.0, 0), r"^dim must be a positive integer"),
    (lambda: optim.spectrum(2.0, 1), r"^dim must be at least 2 to hold both L and L / kappa"),
    (lambda: optim.spectrum(2.0, 3, L=0.0), r"^L must be a positive number"),
    (lambda: optim.spectrum(2.0, 3, spacing="cubic"),
     r"^spacing must be 'log' or 'linear', got 'cubic'\."),
    (lambda: optim.quadratic([]), r"^eigenvalues must be a non-empty 1-D array of positive"),
    (lambda: optim.quadratic([[1.0, 2.0]]), r"^eigenvalues must be a non-empty 1-D array"),
    (lambda: optim.quadratic([1.0, 0.0]), r"^eigenvalues must be a non-empty 1-D array"),
    (lambda: optim.quadratic([1.0, 2.0], minimizer=np.zeros(3)),
     r"^minimizer must have shape \(2,\), got \(3,\)\."),
    (lambda: optim.LeastSquares(np.ones(3), np.ones(3)),
     r"^features must have shape \(n, d\) and targets \(n,\)"),
    (lambda: optim.LeastSquares(np.ones((3, 2)), np.ones(2)),
     r"^features must have shape \(n, d\) and targets \(n,\)"),
    (lambda: optim.LeastSquares(np.ones((3, 2)), np.ones((3, 1))),
     r"^features must have shape \(n, d\) and targets \(n,\)"),
    (lambda: optim.random_least_squares(0, 2, 0.1), r"^n must be a positive integer"),
    (lambda: optim.random_least_squares(5, 0, 0.1), r"^dim must be a positive integer"),
    (lambda: optim.random_least_squares(5, 2, -0.1), r"^noise must be non-negative, got -0\.1\."),
    (lambda: optim.random_least_squares(10, 2, 0.1).stochastic_oracle(0, np.random.default_rng()),
     r"^batch_size must be a positive integer"),
])
def test_bad_inputs_give_precise_messages(call, message) -> None:
    """Each check names the argument first and says what was expected."""
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(("call", "message"), [
    (lambda p: optim.sgd_expected_excess(p, 0.0, np.zeros(2), 3), r"^lr must be a positive"),
    (lambda p: optim.sgd_expected_excess(p, 0.1, np.zeros(2), 0), r"^steps must be a positive"),
    (lambda p: optim.sgd_expected_excess(p, 0.1, np.zeros(2), 3, every=0),
     r"^every must be a positive"),
    (lambda p: optim.sgd_expected_excess(p, 0.1, np.zeros(2), 3, batch_size=0),
     r"^batch_size must be a positive"),
    (lambda p: optim.sgd_stationary_covariance(p, 0.0), r"^lr must be a positive number"),
    (lambda p: optim.sgd_stationary_covariance(p, 0.1, 0), r"^batch_size must be a positive"),
    (lambda p: optim.sgd_stationary_covariance(p, 10.0, 2),
     r"^lr=10\.0 is beyond the stability limit of SGD with batch size 2: no stationary"),
    (lambda p: optim.sgd_excess_loss(p, 0.0), r"^lr must be a positive number"),
    (lambda p: optim.sgd_excess_loss(p, 0.1, 0), r"^batch_size must be a positive"),
    (lambda p: optim.sgd_excess_loss(p, 0.1, 0, first_order=True),
     r"^batch_size must be a positive"),
    (lambda p: optim.sgd_stability_limit(p, 0), r"^batch_size must be a positive"),
    (lambda p: optim.sgd_stability_limit(p, 1, tol=0.0), r"^tol must be a positive number"),
])
def test_sgd_theory_bad_inputs(call, message) -> None:
    """The SGD moment computations check their arguments and name them."""
    p = optim.random_least_squares(6, 2, noise=0.5, seed=0)
    with pytest.raises(ValueError, match=message):
        call(p)


def test_boundary_values_are_accepted() -> None:
    """The edges of the documented ranges are valid: factor 1, momentum 0, start 0, kappa 1."""
    assert optim.step_decay(2.0, 1.0, 1)(5) == 2.0
    assert optim.HeavyBall(0.1, 0.0).momentum == 0.0
    assert optim.Averaged(optim.GD(0.1)).start == 0
    np.testing.assert_allclose(optim.spectrum(1, 1, L=3.0), [3.0])
    np.testing.assert_allclose(optim.spectrum(1.0, 3), [1.0, 1.0, 1.0])
    # fit_rate with the smallest window, two points: 1 -> 0.5 is the rate 0.5
    assert optim.fit_rate(np.array([1.0, 0.5])) == pytest.approx(0.5)
    # fit_power_law with exactly two points: y = x^2
    assert optim.fit_power_law([1.0, 2.0], [1.0, 4.0]) == pytest.approx((2.0, 1.0))
    # iterations_to counts errors equal to tol as reached
    assert optim.iterations_to(np.array([1.0, 0.5, 0.25]), 0.5) == 1
    assert optim.GD(lr=np.float32(0.5)).lr == np.float32(0.5)
    optim.GD(lr=np.array([0.1, 0.2]))  # an array of positive steps is valid


def test_spectrum_values_by_hand() -> None:
    """Geometric and linear spacings from L / kappa to L, default L = 1 and log spacing."""
    np.testing.assert_allclose(optim.spectrum(100, 3), [0.01, 0.1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(optim.spectrum(4, 3, L=2.0, spacing="linear"), [0.5, 1.25, 2.0])
    np.testing.assert_allclose(optim.spectrum(4, 3, L=2.0, spacing="log"), [0.5, 1.0, 2.0])


def test_quadratic_construction_details() -> None:
    """Sorted spectrum, diagonal without rotation, zero default minimizer, seeded rotation."""
    q = optim.quadratic([3.0, 1.0, 2.0], rotate=False)
    np.testing.assert_array_equal(q.hessian, np.diag([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(q.eigenvalues, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(q.minimizer, np.zeros(3))
    assert (q.dim, q.L, q.mu, q.kappa) == (3, 3.0, 1.0, 3.0)
    q0, q0b, q1 = optim.quadratic([1, 2, 5]), optim.quadratic([1, 2, 5], seed=0), \
        optim.quadratic([1, 2, 5], seed=1)
    np.testing.assert_array_equal(q0.hessian, q0b.hessian)          # default seed is 0
    assert not np.allclose(q0.hessian, q1.hessian)
    np.testing.assert_array_equal(q0.hessian, q0.hessian.T)         # exactly symmetric
    np.testing.assert_allclose(np.linalg.eigvalsh(q0.hessian), [1, 2, 5], rtol=1e-12)
    # the rotation is the Q of numpy's QR of a seeded Gaussian matrix, signs fixed by diag(R)
    qq, r = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    qq = qq * np.sign(np.diag(r))
    np.testing.assert_allclose(q0.hessian, qq @ np.diag([1.0, 2.0, 5.0]) @ qq.T, atol=1e-12)
    # an integer minimizer is stored as floats
    q2 = optim.quadratic([1.0, 2.0], minimizer=[1, 2], rotate=False)
    assert q2.minimizer.dtype == np.float64
    # integer eigenvalues give a float Hessian and spectrum
    q3 = optim.quadratic([2, 1], rotate=False)
    assert q3.hessian.dtype == np.float64 and q3.eigenvalues.dtype == np.float64
    np.testing.assert_allclose(q2.grad(np.array([[2.0, 2.0], [1.0, 3.0]])), [[1, 0], [0, 2]])


def test_quadratic_distance_and_batched_value() -> None:
    """distance is the Euclidean norm of each row of x - x*, value 0.5 e^T A e row by row."""
    q = optim.quadratic([1.0, 4.0], minimizer=np.array([1.0, -1.0]), rotate=False)
    x = np.array([[[4.0, 3.0], [1.0, -1.0], [1.0, 0.0]], [[0.0, -1.0], [2.0, 0.0], [1.0, 1.0]]])
    np.testing.assert_allclose(q.distance(x), [[5.0, 0.0, 1.0], [1.0, np.sqrt(2), 2.0]])
    np.testing.assert_allclose(q.value(x), [[0.5 * (9 + 64), 0.0, 2.0], [0.5, 2.5, 8.0]])
    assert q.distance(np.array([4.0, 3.0])) == pytest.approx(5.0)


def test_least_squares_loss_and_gradients_by_hand() -> None:
    """Loss 0.5 mean (a_i . x - y_i)^2 row by row; per-example gradients; noise covariance."""
    p = optim.LeastSquares(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
                           np.array([1.0, 2.0, 0.0]))
    assert (p.n, p.dim) == (3, 2)
    x = np.array([[[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]])
    # residuals of [0, 0]: (-1, -2, 0) -> loss 0.5 * 5 / 3; of [1, 1]: (0, 0, 2) -> 0.5 * 4 / 3
    # [2, 0]: (1, -2, 2) -> 1.5; [1, 0]: (0, -2, 1) -> 5/6; [0, 1]: (-1, 0, 1) -> 1/3;
    # [1, -1]: (0, -4, 0) -> 8/3
    np.testing.assert_allclose(p.loss(x), [[5 / 6, 2 / 3, 1.5], [5 / 6, 1 / 3, 8 / 3]])
    assert p.loss(np.array([1.0, 1.0])) == pytest.approx(2 / 3)
    g = p.example_grads(np.array([1.0, 1.0]))
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(p.grad(np.array([1.0, 1.0])), [2 / 3, 2 / 3])
    # covariance of one draw: E g g^T - E g E g^T = [[4/3, 4/3]]*... - (2/3)^2
    c = np.full((2, 2), 4 / 3 - 4 / 9)
    np.testing.assert_allclose(p.noise_covariance(np.array([1.0, 1.0])), c)
    np.testing.assert_allclose(p.noise_covariance(np.array([0.5, -0.3])),
                               np.cov(p.example_grads(np.array([0.5, -0.3])).T, bias=True))


def test_stochastic_oracle_draws_every_index_per_row() -> None:
    """Batch size 1: each draw is one of the n example gradients, each about 1/n of the time,
    every row its own; a single point of shape (d,) gives a gradient of shape (d,)."""
    p = optim.LeastSquares(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
                           np.array([1.0, 2.0, 0.0]))
    x = np.zeros(2)
    ex = p.example_grads(x)  # residuals (-1, -2, 0): gradients (-1, 0), (0, -4), (0, 0)
    np.testing.assert_allclose(ex, [[-1.0, 0.0], [0.0, -4.0], [0.0, 0.0]])
    oracle = p.stochastic_oracle(1, np.random.default_rng(0))
    g = oracle(np.zeros((2, 300, 2)))
    assert g.shape == (2, 300, 2)
    matches = np.all(np.abs(g[..., None, :] - ex) < 1e-12, axis=-1)  # (2, 300, 3)
    assert np.all(matches.sum(axis=-1) == 1)
    counts = matches.reshape(-1, 3).sum(axis=0)  # 600 draws, 200 expected each (sd 11.5)
    assert np.all((counts > 150) & (counts < 250))
    one = oracle(x)
    assert one.shape == (2,)
    assert any(np.allclose(one, e) for e in ex)
    # batch size 4 on one point: the mean of 4 example gradients, multiples of 1/4
    g4 = p.stochastic_oracle(4, np.random.default_rng(1))(x)
    assert g4.shape == (2,)
    np.testing.assert_allclose(g4 * 4, np.round(g4 * 4), atol=1e-12)


def test_random_least_squares_structure() -> None:
    """Noise 0 interpolates; features have the geometric variances; the default seed is 0."""
    p = optim.random_least_squares(4000, 3, noise=0.0, kappa=16.0)
    np.testing.assert_allclose(p.features @ p.minimizer, p.targets, atol=1e-10)
    np.testing.assert_allclose(p.features.var(axis=0), [1 / 16, 1 / 4, 1.0], rtol=0.1)
    q = optim.random_least_squares(4000, 3, noise=0.0, kappa=16.0, seed=0)
    np.testing.assert_array_equal(p.features, q.features)
    # reproduce the draw: features, then weights, then the noise, from one generator
    rng = np.random.default_rng(7)
    a = rng.normal(size=(50, 2)) * np.sqrt([0.5, 1.0])
    y = a @ rng.normal(size=2) + 0.3 * rng.normal(size=50)
    r = optim.random_least_squares(50, 2, noise=0.3, kappa=2.0, seed=7)
    np.testing.assert_allclose(r.features, a, rtol=1e-12)
    np.testing.assert_allclose(r.targets, y, rtol=1e-12)
    # default kappa is 1: unit variances; dim 1 works
    rng = np.random.default_rng(3)
    a = rng.normal(size=(20, 2))
    np.testing.assert_allclose(optim.random_least_squares(20, 2, 0.1, seed=3).features, a)
    assert optim.random_least_squares(5, 1, 0.1).features.shape == (5, 1)
    # in dimension 1 there is one variance, 1, whatever kappa
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(optim.random_least_squares(5, 1, 0.1, kappa=4.0).features,
                               rng.normal(size=(5, 1)))


def _enumerated_sgd_excess(p: optim.LeastSquares, lrs: list[float], x0: np.ndarray,
                           b: int) -> float:
    """E f(x_T) - f* by enumerating every sequence of minibatches (indices with replacement)."""
    import itertools

    x_star = p.minimizer
    f_star = float(p.loss(x_star))
    batches = list(itertools.product(range(p.n), repeat=b))
    xs = np.array([x0], dtype=float)
    for lr in lrs:
        new = []
        for batch in batches:
            rows = p.features[list(batch)]
            r = xs @ rows.T - p.targets[list(batch)]
            new.append(xs - lr * (r @ rows) / b)
        xs = np.concatenate(new)
    return float(np.mean(p.loss(xs))) - f_star


@pytest.mark.parametrize("b", [1, 2])
def test_sgd_expected_excess_against_enumeration(b: int) -> None:
    """The moment recursion equals the exact average over all minibatch sequences."""
    p = optim.LeastSquares(np.array([[1.0, 0.5], [0.2, 1.0], [-0.7, 0.3]]),
                           np.array([1.0, -0.5, 0.8]))
    x0 = np.array([0.3, -0.4])
    schedule = optim.inverse_time(0.6, 2.0)
    lrs = [schedule(t) for t in range(4)]
    trace = optim.sgd_expected_excess(p, schedule, x0, 4, batch_size=b, every=3)
    np.testing.assert_array_equal(trace.steps, [0, 3, 4])
    f_star = float(p.loss(p.minimizer))
    assert trace.values[0] == pytest.approx(float(p.loss(x0)) - f_star, rel=1e-12)
    assert trace.values[1] == pytest.approx(_enumerated_sgd_excess(p, lrs[:3], x0, b), rel=1e-10)
    assert trace.values[2] == pytest.approx(_enumerated_sgd_excess(p, lrs, x0, b), rel=1e-10)
    if b == 1:  # default batch size 1 and every 1
        default = optim.sgd_expected_excess(p, 0.4, x0, 3)
        np.testing.assert_array_equal(default.steps, [0, 1, 2, 3])
        assert default.values[3] == pytest.approx(_enumerated_sgd_excess(p, [0.4] * 3, x0, 1),
                                                  rel=1e-10)


@pytest.mark.parametrize("b", [1, 2])
def test_stationary_covariance_against_enumerated_fixed_point(b: int) -> None:
    """S is the fixed point of S -> E_B[(I - lr H_B) S (I - lr H_B) + lr^2 m_B m_B^T],
    the average written out over every minibatch B of b indices drawn with replacement."""
    import itertools

    p = optim.LeastSquares(np.array([[1.0, 0.5], [0.2, 1.0], [-0.7, 0.3], [0.4, -0.2]]),
                           np.array([1.0, -0.5, 0.8, 0.1]))
    lr = 0.5
    s = optim.sgd_stationary_covariance(p, lr, b) if b > 1 else \
        optim.sgd_stationary_covariance(p, lr)
    r = p.targets - p.features @ p.minimizer
    image = np.zeros((2, 2))
    batches = list(itertools.product(range(p.n), repeat=b))
    for batch in batches:
        rows = p.features[list(batch)]
        h_b = rows.T @ rows / b
        m_b = rows.T @ r[list(batch)] / b
        step = np.eye(2) - lr * h_b
        image += (step @ s @ step.T + lr**2 * np.outer(m_b, m_b)) / len(batches)
    np.testing.assert_allclose(s, image, rtol=1e-10, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(s) > 0)
    # excess loss tr(H S) / 2, and the small-step formula lr tr(C) / (4 b) by hand
    excess = optim.sgd_excess_loss(p, lr, b) if b > 1 else optim.sgd_excess_loss(p, lr)
    assert excess == pytest.approx(0.5 * np.trace(p.hessian @ s), rel=1e-12)
    c = (p.features.T * r**2) @ p.features / p.n
    first = optim.sgd_excess_loss(p, lr, b, first_order=True) if b > 1 else \
        optim.sgd_excess_loss(p, lr, first_order=True)
    assert first == pytest.approx(lr * np.trace(c) / (4 * b), rel=1e-12)


@pytest.mark.parametrize("b", [1, 2])
def test_sgd_stability_limit_against_kronecker_spectral_radius(b: int) -> None:
    """The second-moment map as a d^2 x d^2 matrix, sum over minibatches of kron(M_B, M_B):
    its spectral radius crosses 1 at the returned step."""
    import itertools

    p = optim.LeastSquares(np.array([[1.0, 0.5, 0.1], [0.2, 1.0, -0.3], [-0.7, 0.3, 0.9],
                                     [0.4, -0.6, 0.5]]), np.array([1.0, -0.5, 0.8, 0.2]))
    batches = list(itertools.product(range(p.n), repeat=b))

    def radius(lr: float) -> float:
        m = sum(np.kron(np.eye(3) - lr * p.features[list(B)].T @ p.features[list(B)] / b,
                        np.eye(3) - lr * p.features[list(B)].T @ p.features[list(B)] / b)
                for B in batches) / len(batches)
        return float(np.max(np.abs(np.linalg.eigvals(m))))

    limit = optim.sgd_stability_limit(p, b) if b > 1 else optim.sgd_stability_limit(p)
    assert radius(limit * (1 - 1e-7)) < 1 < radius(limit * (1 + 1e-7))
    assert optim.sgd_stability_limit(p, b, tol=1e-3) == pytest.approx(limit, rel=2e-3)


def test_sgd_stability_limit_of_a_single_example_is_gd() -> None:
    """With one example every minibatch is the full batch: the limit is GD's 2 / L."""
    p = optim.LeastSquares(np.array([[2.0]]), np.array([1.0]))
    assert optim.sgd_stability_limit(p) == pytest.approx(2 / 4, rel=1e-9)


def test_run_records_every_and_last_step() -> None:
    """Records at 0, every, 2 every, ... and the last step; record applied to each iterate."""
    q = optim.quadratic([1.0, 2.0], rotate=False)
    x0 = np.array([1.0, 1.0])
    tr = optim.run(optim.GD(0.25), q.grad, x0, 7, record=q.distance, every=3)
    np.testing.assert_array_equal(tr.steps, [0, 3, 6, 7])
    # GD on diag(1, 2) with step 1/4 multiplies the coordinates by 3/4 and 1/2
    expected = [np.hypot(0.75**t, 0.5**t) for t in (0, 3, 6, 7)]
    np.testing.assert_allclose(tr.values, expected, rtol=1e-12)
    tr = optim.run(optim.GD(0.25), q.grad, x0, 2)
    np.testing.assert_array_equal(tr.steps, [0, 1, 2])
    np.testing.assert_allclose(tr.values, [[1, 1], [0.75, 0.5], [0.5625, 0.25]])
    x0[0] = 5.0  # the trace holds copies
    assert tr.values[0, 0] == 1.0


def test_optimizers_start_from_a_float_copy() -> None:
    """init converts x0 to a float array, copied (x_prev equals x0 for momentum methods)."""
    x0 = np.array([1, 2])
    for opt in (optim.GD(0.1), optim.HeavyBall(0.1, 0.5), optim.Nesterov(0.1, 0.5),
                optim.NesterovConvex(0.1), optim.Averaged(optim.GD(0.1))):
        state = opt.init(x0)
        for s in state:
            assert s.dtype == np.float64
            np.testing.assert_array_equal(s, [1.0, 2.0])
            assert not np.shares_memory(s, x0)
    x_prev = optim.HeavyBall(0.1, 0.5).init(x0)
    assert not np.shares_memory(x_prev[0], x_prev[1])
    # an integer start runs like its float version
    tr = optim.run(optim.GD(0.5), lambda x: x, np.array([1, 3]), 1).values
    np.testing.assert_allclose(tr[-1], [0.5, 1.5])


def test_array_step_sizes_run_side_by_side() -> None:
    """An lr array of shape (k, 1) runs k GD problems at once, each as with its scalar lr."""
    q = optim.quadratic([1.0, 3.0], seed=2)
    x0 = np.ones((2, 2))
    lrs = np.array([[0.1], [0.3]])
    both = optim.run(optim.HeavyBall(lrs, 0.4), q.grad, x0, 5).values
    for k, lr in enumerate((0.1, 0.3)):
        single = optim.run(optim.HeavyBall(lr, 0.4), q.grad, np.ones(2), 5).values
        np.testing.assert_allclose(both[:, k], single, rtol=1e-14)


def test_schedules_reach_every_method() -> None:
    """A schedule lr_t is evaluated at the current step t by every optimizer: hand recursions."""
    sched = optim.step_decay(0.5, 0.5, 2)       # 0.5, 0.5, 0.25, 0.25
    lrs = [0.5, 0.5, 0.25, 0.25]
    grad = lambda x: 2.0 * x  # noqa: E731  f = x^2
    # Nesterov: y = x + m (x - x_prev), x+ = y - lr_t * 2 y
    x_prev, x, ref = 1.0, 1.0, [1.0]
    for t in range(4):
        y = x + 0.5 * (x - x_prev)
        x_prev, x = x, y - lrs[t] * 2 * y
        ref.append(x)
    ours = optim.run(optim.Nesterov(sched, 0.5), grad, np.array([1.0]), 4).values[:, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-14)
    # heavy ball: x+ = x - lr_t * 2 x + m (x - x_prev)
    x_prev, x, ref = 1.0, 1.0, [1.0]
    for t in range(4):
        x_prev, x = x, x - lrs[t] * 2 * x + 0.5 * (x - x_prev)
        ref.append(x)
    ours = optim.run(optim.HeavyBall(sched, 0.5), grad, np.array([1.0]), 4).values[:, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-14)
    # NesterovConvex with momentum max(t - 1, 0) / (t + 2)
    x_prev, x, ref = 1.0, 1.0, [1.0]
    for t in range(4):
        y = x + max(t - 1, 0) / (t + 2) * (x - x_prev)
        x_prev, x = x, y - lrs[t] * 2 * y
        ref.append(x)
    ours = optim.run(optim.NesterovConvex(sched), grad, np.array([1.0]), 4).values[:, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-14)
    # Averaged GD: the GD iterates 1, 0, 0, 0.5^2... with lr_t, then their running mean
    gd = [1.0]
    for t in range(4):
        gd.append(gd[-1] * (1 - 2 * lrs[t]))
    avg = optim.run(optim.Averaged(optim.GD(sched), start=0), grad, np.array([1.0]), 4).values
    np.testing.assert_allclose(avg[:, 0], np.cumsum(gd) / np.arange(1, 6), rtol=1e-14)


def test_averaged_gd_and_first_average_is_the_iterate() -> None:
    """Averaging a GD base (one-entry state) from step 2: mean of x_2..x_t; x_bar_2 = x_2."""
    q = optim.quadratic([0.3, 1.7, 0.9], seed=4)
    x0 = np.array([0.37, -1.3, 2.9])
    plain = optim.run(optim.GD(0.7), q.grad, x0, 6).values
    avg = optim.run(optim.Averaged(optim.GD(0.7), start=2), q.grad, x0, 6).values
    np.testing.assert_array_equal(avg[:3], plain[:3])
    np.testing.assert_allclose(avg[2:], np.cumsum(plain[2:], axis=0) / np.arange(1, 6)[:, None],
                               rtol=1e-13)
    state = optim.Averaged(optim.GD(0.7)).init(x0)
    assert len(state) == 2
    np.testing.assert_array_equal(state[0], x0)


def test_tuned_parameters_by_hand() -> None:
    """L = 8, mu = 2 (kappa 4, sqrt 2): GD 2/10; heavy ball 4/18 and 1/9; Nesterov 1/8 and 1/3."""
    assert optim.tuned_gd(8.0, 2.0).lr == pytest.approx(0.2)
    hb = optim.tuned_heavy_ball(8.0, 2.0)
    assert (hb.lr, hb.momentum) == pytest.approx((2 / 9, 1 / 9))
    nes = optim.tuned_nesterov(8.0, 2.0)
    assert (nes.lr, nes.momentum) == pytest.approx((0.125, 1 / 3))


def test_rates_by_hand_on_one_eigenvalue() -> None:
    """Roots of the characteristic polynomials written out for lr = 0.1, beta = 0.5, lambda = 1."""
    # GD: |1 - 0.1 * 1| and |1 - 0.1 * 25| over the spectrum {1, 25}
    assert optim.gd_rate(0.1, [1, 25]) == pytest.approx(1.5)
    # Nesterov: z^2 - 1.5 * 0.9 z + 0.5 * 0.9, roots 0.75 and 0.6
    assert optim.momentum_rate(0.1, 0.5, [1.0], nesterov=True) == pytest.approx(0.75)
    # heavy ball: z^2 - (1.5 - 0.1) z + 0.5, complex roots of modulus sqrt(0.5)
    assert optim.momentum_rate(0.1, 0.5, [1]) == pytest.approx(np.sqrt(0.5))
    # heavy ball, lambda = 10: z^2 - 0.5 z + 0.5 -> modulus sqrt(0.5); lambda = 30: z^2 + 1.5 z
    # + 0.5, roots -1 and -0.5
    assert optim.momentum_rate(0.1, 0.5, [10.0, 30.0]) == pytest.approx(1.0)


def test_fit_rate_window_against_polyfit() -> None:
    """The default window starts at 0 and stops at the end; stop cuts the fit."""
    e = np.array([10.0, 1.0, 0.5, 0.25, 0.125, 1.0, 1.0])
    t = np.arange(7)
    assert optim.fit_rate(e) == pytest.approx(np.exp(np.polyfit(t, np.log(e), 1)[0]))
    assert optim.fit_rate(e, start=1, stop=5) == pytest.approx(0.5)
    assert optim.fit_rate(e, stop=5) == pytest.approx(
        np.exp(np.polyfit(t[:5], np.log(e[:5]), 1)[0]))


def test_worst_case_quadratic_default_L_is_one() -> None:
    """Default L = 1: Hessian A / 4 with A = tridiag(-1, 2, -1)."""
    q = optim.worst_case_quadratic(3)
    a = 2 * np.eye(3) - np.eye(3, k=1) - np.eye(3, k=-1)
    np.testing.assert_allclose(q.hessian, a / 4)
    np.testing.assert_allclose(q.eigenvalues, np.linalg.eigvalsh(a / 4), atol=1e-14)


def test_lessard_distance_and_branches() -> None:
    """|x - 0| on iterates of shape (..., 1); values and slopes of each branch by hand."""
    f = optim.LessardCounterexample()
    x = np.array([[[-2.0], [0.5]], [[1.5], [3.0]]])
    np.testing.assert_allclose(f.distance(x), [[2.0, 0.5], [1.5, 3.0]])
    np.testing.assert_allclose(f.value(x), [[50.0, 3.125], [1.125 + 36 - 12, 112.5 - 72 + 36]])
    np.testing.assert_allclose(f.grad(x)[..., 0], [[-50.0, 12.5], [25.5, 51.0]])
    np.testing.assert_array_equal(f.minimizer, [0.0])


def test_logistic_minimizer_messages() -> None:
    """The default max_iter (100) is in the message; max_iter is checked."""
    separable = optim.Logistic(np.c_[np.ones(4), [-2.0, -1.0, 1.0, 2.0]],
                               np.array([-1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"^Newton's method did not converge to a finite "
                       r"minimizer in 100 steps \(are the classes separable\?\)\.$"):
        separable.minimizer()
    with pytest.raises(ValueError, match=r"^max_iter must be a positive integer"):
        separable.minimizer(max_iter=0)
    with pytest.raises(ValueError, match=r"^x must have shape \(2,\), got \(3,\)\.$"):
        separable.hessian(np.zeros(3))
    with pytest.raises(ValueError, match=r"^labels must be -1 or \+1\.$"):
        optim.Logistic(np.ones((2, 2)), np.array([1.0, 2.0]))
