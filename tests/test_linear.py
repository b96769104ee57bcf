"""Tests of dlscience.linear against reference implementations (NumPy, scikit-learn, torch)."""

import numpy as np
import pytest
import torch
from dlscience import linear as L
from scipy import optimize
from sklearn.linear_model import Ridge


def _data(n=15, d=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


def test_gd_least_squares_reaches_pinv():
    X, y = _data()
    eta = 1.0 / np.linalg.eigvalsh(X.T @ X / len(y)).max()
    _, W = L.gd_least_squares(X, y, eta, 2000)
    assert np.allclose(W[-1], np.linalg.pinv(X) @ y, atol=1e-9)
    assert np.allclose(L.min_norm_solution(X, y), np.linalg.lstsq(X, y, rcond=None)[0])


def test_ridge_path_matches_sklearn():
    X, y = _data(n=30, d=10)
    lam = [0.1, 1.0]
    R = L.ridge_path(X, y, lam)
    for r, la in zip(R, lam, strict=True):
        ref = Ridge(alpha=la * len(y), fit_intercept=False).fit(X, y).coef_
        assert np.allclose(r, ref, atol=1e-10)


def test_gradient_flow_matches_small_step_gd():
    X, y = _data()
    eta, steps = 1e-3, 3000
    _, W = L.gd_least_squares(X, y, eta, steps)
    F = L.gradient_flow_least_squares(X, y, [eta * steps])
    assert np.linalg.norm(W[-1] - F[0]) / np.linalg.norm(F[0]) < 1e-2


def test_logistic_gd_gradient_matches_torch():
    X, y = _data(n=10, d=3)
    y = np.sign(y)
    _, W = L.logistic_gd(X, y, 0.5, 1)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.softplus(-torch.from_numpy(y) * (torch.from_numpy(X) @ w)).mean().backward()
    assert np.allclose(W[-1], -0.5 * w.grad.numpy(), atol=1e-14)


def test_max_margin_matches_qp():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(20, 3)) + np.array([3.0, 0, 0])
    y = np.where(rng.random(20) < 0.5, 1.0, -1.0)
    X = Z * y[:, None]
    w = L.max_margin(X, y)
    cons = {"type": "ineq", "fun": lambda v: Z @ v - 1, "jac": lambda v: Z}
    ref = optimize.minimize(lambda v: v @ v, np.ones(3), jac=lambda v: 2 * v,
                            constraints=[cons], method="SLSQP", options={"ftol": 1e-14}).x
    assert np.allclose(w, ref, atol=1e-5)


def test_basis_pursuit_recovers_sparse_vector_and_limits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(25, 60))
    w = np.zeros(60)
    w[[3, 17]] = [1.5, -2.0]
    y = X @ w
    assert np.allclose(L.basis_pursuit(X, y), w, atol=1e-7)
    small, large = L.diagonal_net_limit(X, y, 1e-3), L.diagonal_net_limit(X, y, 30.0)
    assert np.linalg.norm(small - w) < 0.05 * np.linalg.norm(w)
    l2 = np.linalg.pinv(X) @ y
    assert np.linalg.norm(large - l2) < 1e-3 * np.linalg.norm(l2)


def test_diagonal_net_gd_reaches_flow_limit():
    X, y = _data(n=10, d=20)
    W = L.diagonal_net_gd(X, y, [0.5], [0.02], 20000)
    lim = L.diagonal_net_limit(X, y, 0.5)
    assert np.linalg.norm(W[0] - lim) < 0.01 * np.linalg.norm(lim)


def test_completion_gd_batch_equals_single_and_nuclear_norm():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(6, 2))
    M = B @ B.T
    mask = rng.random((6, 6)) < 0.6
    mask = mask | mask.T
    U0 = 0.1 * rng.normal(size=(2, 6, 6))
    batch = L.completion_gd(M, mask, U0, [0.01, 0.02], 50)
    assert np.allclose(batch[1], L.completion_gd(M, mask, U0[1], 0.02, 50))
    assert np.isclose(L.nuclear_norm(M), np.trace(M))


def test_deep_linear_grads_match_torch():
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(4, 3)), rng.normal(size=(5, 4)), rng.normal(size=(2, 5))]
    T = rng.normal(size=(2, 3))
    tw = [torch.tensor(W, requires_grad=True) for W in Ws]
    (0.5 * ((torch.from_numpy(T) - tw[2] @ tw[1] @ tw[0]) ** 2).sum()).backward()
    for G, t in zip(L.deep_linear_grads(Ws, T), tw, strict=True):
        assert np.allclose(G, t.grad.numpy(), atol=1e-12)


def test_balancedness_step_is_exactly_second_order():
    rng = np.random.default_rng(0)
    W1, W2, T = rng.normal(size=(4, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    eta = 0.01
    G1, G2 = L.deep_linear_grads([W1, W2], T)
    _, snaps = L.deep_linear_gd([W1, W2], T, eta, 1)
    change = L.balancedness(snaps[-1])[0] - L.balancedness([W1, W2])[0]
    assert np.allclose(change, eta ** 2 * (G2.T @ G2 - G1 @ G1.T), atol=1e-14)
    Wf = L.deep_linear_flow([W1, W2], T, 1.0)
    assert np.abs(L.balancedness(Wf)[0] - L.balancedness([W1, W2])[0]).max() < 1e-8


def test_saxe_mode_solves_its_ode():
    t = np.linspace(0, 3, 7)
    u = L.saxe_mode(2.0, 1e-3, t)
    h = 1e-6
    du = (L.saxe_mode(2.0, 1e-3, t + h) - L.saxe_mode(2.0, 1e-3, t - h)) / (2 * h)
    assert np.allclose(du, 2 * u * (2.0 - u), rtol=1e-5)
    assert np.isclose(u[0], 1e-3)


def test_relu_net_gd_conservation_without_decay():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    _, Q, _ = L.relu_net_gd(X, Y, rng.normal(size=(8, 3)), rng.normal(size=(1, 8)), 1e-3, 200,
                            record=[0, 200])
    assert np.abs(Q[1] - Q[0]).max() < 5e-3 * np.abs(Q[0]).max()


def test_bad_inputs_raise():
    X, y = _data()
    with pytest.raises(ValueError, match="steps"):
        L.gd_least_squares(X, y, 0.1, 0)
    with pytest.raises(ValueError, match="eta"):
        L.gd_least_squares(X, y, -1.0, 10)
    with pytest.raises(ValueError, match="y must"):
        L.logistic_gd(X, y, 0.1, 10)
    with pytest.raises(ValueError, match="chain"):
        L.deep_linear_grads([np.ones((2, 3)), np.ones((2, 4))], np.ones((2, 3)))
