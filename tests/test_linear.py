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


def _product_after_step(Ws, T, eta):
    P = None
    for W, G in zip(Ws, L.deep_linear_grads(Ws, T), strict=True):
        step = W - eta * G
        P = step if P is None else step @ P
    return P


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_end_to_end_velocity_is_the_product_velocity_of_balanced_factors(depth):
    rng = np.random.default_rng(depth)
    P, T = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    Ws = L.balanced_factors(P, depth, 5, rng)
    assert [W.shape for W in Ws] == [(5, 4)] + [(5, 5)] * (depth - 2) + [(3, 5)]
    Q = Ws[0]
    for W in Ws[1:]:
        Q = W @ Q
    np.testing.assert_allclose(Q, P, atol=1e-12)
    for D in L.balancedness(Ws):
        assert np.abs(D).max() < 1e-12
    # d/d(eta) of the product after one gradient step, by central differences (error ~ h^2)
    h = 1e-5
    fd = (_product_after_step(Ws, T, h) - _product_after_step(Ws, T, -h)) / (2 * h)
    np.testing.assert_allclose(fd, -L.end_to_end_velocity(P, P - T, depth), atol=1e-8)
    # an unbalanced factorization of the same product moves it differently
    G = np.eye(5) + 0.5 * rng.normal(size=(5, 5))
    Wu = [G @ Ws[0]] + Ws[1:-1] + [Ws[-1] @ np.linalg.inv(G)] if depth == 2 else \
        [G @ Ws[0], Ws[1] @ np.linalg.inv(G)] + Ws[2:]
    fd_u = (_product_after_step(Wu, T, h) - _product_after_step(Wu, T, -h)) / (2 * h)
    assert np.abs(fd_u - fd).max() > 1e-2


def test_end_to_end_velocity_depth_one_and_bad_inputs():
    rng = np.random.default_rng(0)
    P, G = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    np.testing.assert_allclose(L.end_to_end_velocity(P, G, 1), G, atol=1e-12)
    assert np.allclose(L.balanced_factors(P, 1, 4, rng)[0], P)
    with pytest.raises(ValueError, match="hidden"):
        L.balanced_factors(P, 2, 1, rng)
    with pytest.raises(ValueError, match="grad"):
        L.end_to_end_velocity(P, G.T, 2)
    with pytest.raises(ValueError, match="depth"):
        L.end_to_end_velocity(P, G, 0)


def test_min_nuclear_norm_completion_hand_solved_examples():
    # PSD, only the off-diagonal entry c observed: min a + b s.t. ab >= c^2 gives a = b = |c|.
    r = L.min_nuclear_norm_completion(np.array([[0.0, 0.7], [0.7, 0.0]]),
                                      np.array([[False, True], [True, False]]), psd=True)
    np.testing.assert_allclose(r.W, 0.7 * np.ones((2, 2)), atol=1e-8)
    assert abs(r.value - 1.4) < 1e-8 and abs(r.lower_bound - 1.4) < 1e-8
    # no PSD constraint, [[w, 1], [1, 0]]: nuclear norm sqrt(w^2 + 4), smallest at w = 0.
    r = L.min_nuclear_norm_completion(np.array([[5.0, 1.0], [1.0, 0.0]]),
                                      np.array([[False, True], [True, True]]))
    assert abs(r.W[0, 0]) < 1e-8 and abs(r.value - 2.0) < 1e-8 and r.lower_bound <= 2.0 + 1e-12


def _completion_problem(d=5, seed=0, frac=0.6):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(d, 2))
    M = B @ B.T
    mask = np.triu(rng.random((d, d)) < frac)
    return M, mask | mask.T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_nuclear_norm_completion_psd_matches_burer_monteiro_slsqp(seed):
    # independent reference: min ||F||_F^2 = tr(F F^T) over a full factor F with the observed
    # entries of F F^T fixed (Burer-Monteiro with full rank), solved by SLSQP from several starts
    d = 4
    M, mask = _completion_problem(d, seed, frac=0.5)
    iu = [(i, j) for i in range(d) for j in range(i, d) if mask[i, j]]

    def cons(f):
        F = f.reshape(d, d)
        return np.array([(F @ F.T)[i, j] - M[i, j] for i, j in iu])

    best = np.inf
    for start in range(4):
        f0 = np.random.default_rng(start).normal(size=d * d)
        res = optimize.minimize(lambda f: f @ f, f0, jac=lambda f: 2 * f, method="SLSQP",
                                constraints=[{"type": "eq", "fun": cons}],
                                options={"ftol": 1e-14, "maxiter": 2000})
        if res.success and np.abs(cons(res.x)).max() < 1e-7:
            best = min(best, res.fun)
    r = L.min_nuclear_norm_completion(M, mask, psd=True)
    assert np.isfinite(best)
    assert abs(r.value - best) < 1e-5 * max(1.0, best)
    assert r.lower_bound <= best + 1e-9 and r.value - r.lower_bound < 1e-7 * r.value
    assert np.linalg.eigvalsh(r.W).min() > -1e-9 and r.residual < 1e-7


def test_min_nuclear_norm_completion_general_matches_variational_slsqp():
    # ||W||_* = min (||A||_F^2 + ||B||_F^2) / 2 over W = A B^T: an independent non-convex form
    d = 4
    M, mask = _completion_problem(d, 3, frac=0.6)
    idx = np.argwhere(mask)

    def cons(f):
        A, B = f[:d * d].reshape(d, d), f[d * d:].reshape(d, d)
        return (A @ B.T)[mask] - M[mask]

    best = min(
        optimize.minimize(lambda f: f @ f / 2, np.random.default_rng(s).normal(size=2 * d * d),
                          jac=lambda f: f, method="SLSQP",
                          constraints=[{"type": "eq", "fun": cons}],
                          options={"ftol": 1e-14, "maxiter": 3000}).fun
        for s in range(4))
    r = L.min_nuclear_norm_completion(M, mask)
    assert len(idx) > 0
    assert abs(r.value - best) < 1e-5 * best
    assert r.lower_bound <= r.value + 1e-9 and r.value - r.lower_bound < 1e-7 * r.value


def test_min_nuclear_norm_completion_certificate_is_a_valid_lower_bound():
    # even after too few iterations the bound is below every feasible completion's trace
    M, mask = _completion_problem(6, 4, frac=0.4)
    r = L.min_nuclear_norm_completion(M, mask, psd=True, max_iter=3)
    assert r.iterations == 3
    assert r.lower_bound <= np.trace(M) + 1e-12              # M is a feasible PSD completion
    full = L.min_nuclear_norm_completion(M, np.ones_like(mask), psd=True)
    np.testing.assert_allclose(full.W, M, atol=1e-7)          # all entries observed: W = M


def test_min_nuclear_norm_completion_rejects_bad_input():
    M, mask = _completion_problem(4, 0)
    with pytest.raises(ValueError, match="mask"):
        L.min_nuclear_norm_completion(M, mask[:3])
    with pytest.raises(ValueError, match="psd"):
        L.min_nuclear_norm_completion(np.ones((2, 3)), np.ones((2, 3), bool), psd=True)
    with pytest.raises(ValueError, match="rho"):
        L.min_nuclear_norm_completion(M, mask, rho=0.0)


def test_relu_net_gd_one_step_matches_autograd_and_loss_decreases():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    W1, W2 = rng.normal(size=(6, 3)), 0.5 * rng.normal(size=(2, 6))
    eta, wd = 0.05, 0.1
    t1 = torch.tensor(W1, requires_grad=True)
    t2 = torch.tensor(W2, requires_grad=True)
    tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
    obj = (0.5 * ((torch.relu(tx @ t1.T) @ t2.T - ty) ** 2).sum() / 30
           + 0.5 * wd * ((t1 ** 2).sum() + (t2 ** 2).sum()))
    obj.backward()
    with torch.no_grad():
        n1, n2 = t1 - eta * t1.grad, t2 - eta * t2.grad
        loss1 = float(0.5 * ((torch.relu(tx @ n1.T) @ n2.T - ty) ** 2).sum() / 30)
        q1 = ((n1 ** 2).sum(1) - (n2 ** 2).sum(0)).numpy()
    _, Q, loss = L.relu_net_gd(X, Y, W1, W2, eta, 1, weight_decay=wd, record=[0, 1])
    assert loss == pytest.approx(loss1, rel=1e-12)
    assert np.allclose(Q[1], q1, atol=1e-12)
    assert np.allclose(Q[0], (W1 ** 2).sum(1) - (W2 ** 2).sum(0), atol=1e-12)
    losses = [L.relu_net_gd(X, Y, W1, W2, 0.05, s)[2] for s in (1, 10, 100)]
    assert losses[0] > losses[1] > losses[2]


def test_completion_gd_one_step_matches_autograd():
    rng = np.random.default_rng(2)
    B = rng.normal(size=(5, 2))
    M = B @ B.T
    mask = rng.random((5, 5)) < 0.5
    mask = mask | mask.T
    U0 = rng.normal(size=(5, 2))
    tu = torch.tensor(U0, requires_grad=True)
    P = torch.from_numpy(mask.astype(np.float64))
    (0.5 * (P * (tu @ tu.T - torch.from_numpy(M)) ** 2).sum()).backward()
    expected = (tu - 0.01 * tu.grad).detach().numpy()
    assert np.allclose(L.completion_gd(M, mask, U0, 0.01, 1), expected, atol=1e-12)


def test_nuclear_norm_hand_values_beyond_psd():
    assert L.nuclear_norm(np.diag([3.0, -2.0])) == pytest.approx(5.0)  # trace would give 1
    A = np.array([[0.0, 2.0], [0.0, 0.0], [1.0, 0.0]])  # singular values 2 and 1
    assert L.nuclear_norm(A) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="W must be a 2-D"):
        L.nuclear_norm(np.ones(3))
