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


# ---------------------------------------------------------------------------------------------
# Closed forms and autograd references for the iterations, the record argument, float64 promise
# ---------------------------------------------------------------------------------------------

def test_gd_least_squares_from_w0_matches_closed_form_at_recorded_steps():
    # overdetermined full-rank X: w_k = w* + (I - eta X^T X / n)^k (w0 - w*), w* = lstsq(X, y)
    X, y = _data(n=12, d=3, seed=4)
    w0 = np.array([1.0, -2.0, 0.5])
    eta, n = 0.3, len(y)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    A = np.eye(3) - eta * X.T @ X / n
    rec, W = L.gd_least_squares(X, y, eta, 7, w0=w0, record=[7, 0, 3, 1, 3])
    np.testing.assert_array_equal(rec, [0, 1, 3, 7])
    for k, w in zip(rec, W, strict=True):
        ref = w_star + np.linalg.matrix_power(A, int(k)) @ (w0 - w_star)
        np.testing.assert_allclose(w, ref, atol=1e-12)
    # one recorded step only, and the default record holds only the last step
    rec1, W1 = L.gd_least_squares(X, y, eta, 7, w0=w0, record=[3])
    assert rec1.tolist() == [3] and np.allclose(W1[0], W[2], atol=1e-14)
    recd, Wd = L.gd_least_squares(X, y, eta, 7, w0=w0)
    assert recd.tolist() == [7] and Wd.shape == (1, 3) and np.allclose(Wd[0], W[3], atol=1e-14)


def test_least_squares_float32_input_is_computed_in_float64():
    # the module promises float64: a float32 design gives the float64 answer of the same values
    X, y = _data(n=8, d=3, seed=5)
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)
    np.testing.assert_allclose(L.min_norm_solution(X32, y), np.linalg.lstsq(X64, y, rcond=None)[0],
                               rtol=1e-12, atol=1e-13)
    ref = np.linalg.solve(X64.T @ X64 / 8 + 0.5 * np.eye(3), X64.T @ y / 8)  # ridge closed form
    np.testing.assert_allclose(L.ridge_path(X32, y, [0.5])[0], ref, rtol=1e-12, atol=1e-13)


def test_gradient_flow_least_squares_edge_times_and_zero_design():
    X, y = _data(n=6, d=3, seed=6)
    F = L.gradient_flow_least_squares(X, y, [0, 0.5, 1e6])
    assert np.all(F[0] == 0.0)                                  # w(0) = 0
    # full column rank: w(t) = (I - exp(-t H)) w*, H = X^T X / n, w* = lstsq
    lam, Q = np.linalg.eigh(X.T @ X / 6)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    ref = Q @ ((1 - np.exp(-0.5 * lam)) * (Q.T @ w_star))
    np.testing.assert_allclose(F[1], ref, atol=1e-12)
    np.testing.assert_allclose(F[2], w_star, atol=1e-10)
    # a zero design has no direction to move in: the flow stays at 0 (no 0/0)
    Z = L.gradient_flow_least_squares(np.zeros((3, 2)), np.ones(3), [1.0, 2.0])
    np.testing.assert_array_equal(Z, np.zeros((2, 2)))


def test_logistic_gd_several_steps_match_torch_autograd():
    X, y = _data(n=10, d=3, seed=7)
    y = np.sign(y)
    eta, steps = 0.7, 4
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)
    ref = [w.detach().numpy().copy()]
    for _ in range(steps):
        loss = torch.nn.functional.softplus(-ty * (tx @ w)).mean()
        (g,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= eta * g
        ref.append(w.detach().numpy().copy())
    rec, W = L.logistic_gd(X, y, eta, steps, record=[0, 2, 4])
    assert rec.tolist() == [0, 2, 4]
    np.testing.assert_allclose(W, np.array(ref)[[0, 2, 4]], atol=1e-13)


def _tight_separable(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 2))
    return X, np.sign(X[:, 0] + 0.3 * X[:, 1])


def test_max_margin_default_is_hard_margin_and_soft_c_is_rescaled():
    # tightly separated data, where C = 1 would give a different (soft-margin) direction
    X, y = _tight_separable()
    Z = X * y[:, None]
    cons = {"type": "ineq", "fun": lambda v: Z @ v - 1, "jac": lambda v: Z}
    ref = optimize.minimize(lambda v: v @ v, np.ones(2), jac=lambda v: 2 * v,
                            constraints=[cons], method="SLSQP", options={"ftol": 1e-14}).x
    np.testing.assert_allclose(L.max_margin(X, y), ref, rtol=1e-5)
    # any C: the result is scaled so that the smallest margin is exactly 1
    for C in (1.0, 10.0):
        w = L.max_margin(X, y, C=C)
        assert np.min(y * (X @ w)) == pytest.approx(1.0, abs=1e-12)


def test_max_margin_rejects_non_separable_data():
    # the same point with both labels: no w separates them, SVC returns w = 0 (margin 0)
    with pytest.raises(ValueError, match=r"^X, y is not linearly separable through the origin"):
        L.max_margin(np.array([[1.0], [1.0]]), np.array([1.0, -1.0]))


def test_nuclear_norm_float32_input_uses_float64_svd():
    A = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    ref = np.linalg.svd(A.astype(np.float64), compute_uv=False).sum()
    assert L.nuclear_norm(A) == pytest.approx(ref, rel=1e-13)
    import scipy.linalg
    B = np.random.default_rng(4).normal(size=(3, 6))            # rectangular, not PSD
    assert L.nuclear_norm(B) == pytest.approx(scipy.linalg.svdvals(B).sum(), rel=1e-13)


def _torch_completion_steps(M, mask, U0, eta, steps):
    tu = torch.tensor(U0, requires_grad=True)
    P, tm = torch.from_numpy(mask.astype(np.float64)), torch.from_numpy(M)
    for _ in range(steps):
        (g,) = torch.autograd.grad(0.5 * (P * (tu @ tu.T - tm) ** 2).sum(), tu)
        with torch.no_grad():
            tu -= eta * g
    return tu.detach().numpy()


def test_completion_gd_several_steps_match_autograd_single_and_batched():
    rng = np.random.default_rng(5)
    B = rng.normal(size=(4, 2))
    M = B @ B.T
    mask = np.triu(rng.random((4, 4)) < 0.6)
    mask = mask | mask.T
    U0 = rng.normal(size=(2, 4, 3))
    single = L.completion_gd(M, mask, U0[0], 0.02, 5)
    assert single.shape == (4, 3)
    np.testing.assert_allclose(single, _torch_completion_steps(M, mask, U0[0], 0.02, 5),
                               atol=1e-12)
    batch = L.completion_gd(M, mask, U0, [0.02, 0.03], 5)
    assert batch.shape == (2, 4, 3)
    np.testing.assert_allclose(batch[1], _torch_completion_steps(M, mask, U0[1], 0.03, 5),
                               atol=1e-12)
    # a float32 start is computed in float64 from the same values
    U32 = U0[0].astype(np.float32)
    np.testing.assert_allclose(L.completion_gd(M, mask, U32, 0.02, 1),
                               _torch_completion_steps(M, mask, U32.astype(np.float64), 0.02, 1),
                               rtol=0, atol=1e-13)


def test_completion_gd_rejects_bad_input():
    M, mask, U0 = np.eye(3), np.ones((3, 3), bool), np.ones((3, 2))
    asym = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    half = np.triu(mask)
    cases = [
        (dict(M=np.ones((2, 3)), U0=np.ones((2, 2))), r"^M must be a symmetric square array, got "
                                                       r"shape \(2, 3\)"),
        (dict(M=asym), r"^M must be a symmetric square array"),
        (dict(M=np.ones(3)), r"^M must be a symmetric square array"),
        (dict(mask=half), r"^mask must be a symmetric boolean array with the shape of M\.$"),
        (dict(mask=np.ones((2, 2), bool)), r"^mask must be a symmetric boolean array"),
        (dict(U0=np.ones((1, 4, 2))), r"^U0 must have shape \(3, k\) or \(K, 3, k\), "
                                      r"got \(1, 4, 2\)\.$"),
        (dict(eta=0.0), r"^eta must be positive, got 0\.0"),
        (dict(steps=0), r"^steps must be a positive integer"),
    ]
    for override, pattern in cases:
        kw = dict(M=M, mask=mask, U0=U0, eta=0.1, steps=1) | override
        with pytest.raises(ValueError, match=pattern):
            L.completion_gd(**kw)


def test_min_nuclear_norm_completion_one_admm_iteration_by_hand():
    # M = [[0, 2], [2, 0]], only the off-diagonal observed; the first ADMM step is the proximal
    # step from Z = target: singular values 2, 2 (eigenvalues +-2) shrunk by 1/rho.
    M = np.array([[0.0, 2.0], [2.0, 0.0]])
    mask = np.array([[False, True], [True, False]])
    for psd, rho, w in [(False, 1.0, np.array([[0, 1], [1, 0]])),    # SVT: 2 -> 1
                        (False, 2.0, np.array([[0, 1.5], [1.5, 0]])),  # 2 -> 1.5
                        (True, None, 0.5 * np.ones((2, 2))),         # eig +2 -> 1, -2 -> 0
                        (True, 2.0, 0.75 * np.ones((2, 2)))]:        # eig +2 -> 1.5
        kw = {} if rho is None else {"rho": rho}
        r = L.min_nuclear_norm_completion(M, mask, psd=psd, max_iter=1, **kw)
        np.testing.assert_allclose(r.W, w, atol=1e-14)
        assert r.iterations == 1
        assert r.value == pytest.approx(np.linalg.svd(w, compute_uv=False).sum(), abs=1e-14)
        assert r.residual == pytest.approx(2.0 - w[0, 1], abs=1e-14)
        # dual Y = rho (M - W) on the mask, scaled to norm 1: <Y, M> = 2 * 1 * 2 = 4 = optimum
        assert r.lower_bound == pytest.approx(4.0, abs=1e-12)
    # everything observed, all singular values below 1/rho: W = 0 and Y = rho M = diag(.5, .25)
    # is already dual feasible (norm .5 < 1), so the bound is <Y, M> = .25 + .0625 = .3125
    r = L.min_nuclear_norm_completion(np.diag([0.5, 0.25]), np.ones((2, 2), bool), psd=True,
                                      max_iter=1)
    assert np.all(r.W == 0) and r.value == 0.0 and r.residual == 0.5
    assert r.lower_bound == pytest.approx(0.3125, abs=1e-14)


def test_min_nuclear_norm_completion_rectangular_empty_and_stopping():
    # a row vector's nuclear norm is its Euclidean norm: [[3, 4, ?]] is completed by 0, value 5
    for M, mask in [(np.array([[3.0, 4.0, 7.0]]), np.array([[True, True, False]])),
                    (np.array([[3.0], [4.0], [7.0]]), np.array([[True], [True], [False]]))]:
        r = L.min_nuclear_norm_completion(M, mask)
        np.testing.assert_allclose(r.W, np.where(mask, M, 0.0), atol=1e-9)
        assert r.value == pytest.approx(5.0, abs=1e-9)
        assert r.lower_bound == pytest.approx(5.0, abs=1e-9) and r.residual < 1e-9
        # the stop is tested every 25 iterations and is reached well before max_iter
        assert r.iterations % 25 == 0 and r.iterations < 1000
    # nothing observed: the zero matrix, with zero residual
    r = L.min_nuclear_norm_completion(np.ones((2, 2)), np.zeros((2, 2), bool))
    assert np.all(r.W == 0) and r.value == 0.0 and r.residual == 0.0 and r.lower_bound == 0.0


def test_min_nuclear_norm_completion_integer_mask_and_float32_target():
    # a 0/1 integer mask means the same as the boolean one; a float32 M is solved in float64
    M, mask = _completion_problem(4, 1, frac=0.6)
    ref = L.min_nuclear_norm_completion(M, mask, psd=True)
    for r in (L.min_nuclear_norm_completion(M, mask.astype(int), psd=True),
              L.min_nuclear_norm_completion(M.astype(np.float32).astype(np.float64), mask,
                                            psd=True)):
        assert r.residual == pytest.approx(ref.residual, abs=1e-9)
    M32 = M.astype(np.float32)
    r32 = L.min_nuclear_norm_completion(M32, mask, psd=True)
    r64 = L.min_nuclear_norm_completion(M32.astype(np.float64), mask, psd=True)
    np.testing.assert_allclose(r32.W, r64.W, rtol=0, atol=1e-12)
    assert r32.iterations == r64.iterations


@pytest.mark.parametrize(("kw", "pattern"), [
    (dict(M=np.ones(3), mask=np.ones(3, bool)), r"^M must be a 2-D array, got shape \(3,\)"),
    (dict(mask=np.array([[True, True], [False, True]]), psd=True),
     r"^with psd=True, M must be square and symmetric on a symmetric mask\."),
    (dict(rho="big"), r"^rho must be a positive number, got 'big'"),
    (dict(max_iter=0), r"^max_iter must be a positive integer"),
    (dict(tol=0.0), r"^tol must be a positive number"),
])
def test_min_nuclear_norm_completion_error_messages(kw, pattern):
    args = dict(M=np.eye(2), mask=np.ones((2, 2), bool)) | kw
    with pytest.raises(ValueError, match=pattern):
        L.min_nuclear_norm_completion(**args)


def test_diagonal_net_gd_steps_match_torch_autograd_per_scale():
    X, y = _data(n=6, d=4, seed=8)
    alphas, etas, steps = [0.5, 1.2], [0.05, 0.01], 3
    W = L.diagonal_net_gd(X, y, alphas, etas, steps)
    assert W.shape == (2, 4)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)
    for a, eta, w in zip(alphas, etas, W, strict=True):
        u = torch.full((4,), a, dtype=torch.float64, requires_grad=True)
        v = torch.full((4,), a, dtype=torch.float64, requires_grad=True)
        for _ in range(steps):
            loss = 0.5 * ((tx @ (u * u - v * v) - ty) ** 2).sum() / 6
            gu, gv = torch.autograd.grad(loss, (u, v))
            with torch.no_grad():
                u -= eta * gu
                v -= eta * gv
        np.testing.assert_allclose(w, (u * u - v * v).detach().numpy(), atol=1e-13)


def test_diagonal_net_limit_is_exact_and_reports_non_convergence():
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(5, 12)), rng.normal(size=5)
    w = L.diagonal_net_limit(X, y, 0.3)
    assert np.abs(X @ w - y).max() < 1e-9                        # interpolates to solver precision
    # it lies on the family w = 2 alpha^2 sinh(X^T beta): solve for beta by least squares
    beta = np.linalg.lstsq(X.T, np.arcsinh(w / (2 * 0.3 ** 2)), rcond=None)[0]
    np.testing.assert_allclose(2 * 0.3 ** 2 * np.sinh(X.T @ beta), w, atol=1e-9)
    # y off the range of X (n > d): no interpolant, the residual is the distance to the range
    X, y = rng.normal(size=(4, 3)), rng.normal(size=4)
    e = np.linalg.svd(X)[0][:, -1]                               # unit vector orthogonal to range
    y = X @ np.array([1.0, -0.5, 0.2]) + 1e-3 * e
    with pytest.raises(RuntimeError, match=r"^diagonal_net_limit did not converge for "
                                           r"alpha=0\.5: residual ") as info:
        L.diagonal_net_limit(X, y, 0.5)
    reported = float(str(info.value).split("residual ")[1].rstrip("."))
    assert reported == pytest.approx(1e-3 * np.abs(e).max(), rel=0.05)


def test_basis_pursuit_reports_infeasible_system():
    with pytest.raises(RuntimeError, match=r"^basis_pursuit: linprog failed"):
        L.basis_pursuit(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


def _torch_deep_linear_steps(Ws, T, eta, steps):
    tw = [torch.tensor(W, requires_grad=True) for W in Ws]
    tt = torch.from_numpy(T)
    out = [[W.copy() for W in Ws]]
    for _ in range(steps):
        P = tw[0]
        for W in tw[1:]:
            P = W @ P
        grads = torch.autograd.grad(0.5 * ((tt - P) ** 2).sum(), tw)
        with torch.no_grad():
            for W, G in zip(tw, grads, strict=True):
                W -= eta * G
        out.append([W.detach().numpy().copy() for W in tw])
    return out


def test_deep_linear_gd_recorded_steps_match_torch_autograd():
    rng = np.random.default_rng(10)
    Ws = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    T = rng.normal(size=(2, 2))
    ref = _torch_deep_linear_steps(Ws, T, 0.05, 3)
    rec, snaps = L.deep_linear_gd(Ws, T, 0.05, 3, record=[0, 1, 2, 3])
    assert rec.tolist() == [0, 1, 2, 3] and len(snaps) == 4
    for snap, want in zip(snaps, ref, strict=True):
        for W, R in zip(snap, want, strict=True):
            np.testing.assert_allclose(W, R, atol=1e-13)
    rec, snaps = L.deep_linear_gd(Ws, T, 0.05, 3)                 # default: only the last step
    assert rec.tolist() == [3] and len(snaps) == 1
    np.testing.assert_allclose(snaps[0][1], ref[3][1], atol=1e-13)


def test_deep_linear_flow_of_a_scalar_mode_follows_saxe():
    # 1x1 factors started balanced at sqrt(u0): the product solves du/dt = 2 u (s - u), whose
    # solution is u(t) = s / (1 + (s/u0 - 1) exp(-2 s t)), written out here by hand
    s, u0 = 1.5, 0.1
    for t in (0.5, 2.0):
        Wf = L.deep_linear_flow([[[np.sqrt(u0)]], [[np.sqrt(u0)]]], [[s]], t)
        want = s / (1 + (s / u0 - 1) * np.exp(-2 * s * t))
        assert Wf[1][0, 0] * Wf[0][0, 0] == pytest.approx(want, rel=1e-9)
        assert L.saxe_mode(s, u0, t) == pytest.approx(want, rel=1e-14)


def test_saxe_mode_checks_and_float64():
    assert L.saxe_mode(0.5, 0.1, 0.0) == pytest.approx(0.1, rel=1e-15)   # s < 1 is allowed
    # float32 inputs are computed in float64 (same values)
    s, u0, t = np.float32(1.3), np.float32(0.01), np.float32(0.7)
    want = float(s) / (1 + (float(s) / float(u0) - 1) * np.exp(-2 * float(s) * float(t)))
    assert float(L.saxe_mode(s, u0, t)) == pytest.approx(want, rel=1e-14)
    for bad_s, bad_u0 in [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (1.0, -1.0)]:
        with pytest.raises(ValueError, match=r"^s and u0 must be positive\.$"):
            L.saxe_mode(bad_s, bad_u0, 1.0)


def test_deep_linear_float32_weights_are_computed_in_float64():
    rng = np.random.default_rng(11)
    Ws32 = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32)]
    Ws64 = [W.astype(np.float64) for W in Ws32]
    T = rng.normal(size=(2, 2))
    for G32, G64 in zip(L.deep_linear_grads(Ws32, T), L.deep_linear_grads(Ws64, T), strict=True):
        np.testing.assert_allclose(G32, G64, rtol=1e-14, atol=1e-14)
    ref = Ws64[1].T @ Ws64[1] - Ws64[0] @ Ws64[0].T
    np.testing.assert_allclose(L.balancedness(Ws32)[0], ref, rtol=1e-14, atol=1e-14)


def test_deep_linear_chain_error_messages():
    W1, W2, W3 = np.ones((4, 3)), np.ones((5, 4)), np.ones((2, 5))
    with pytest.raises(ValueError, match=r"^weights must be a non-empty list of 2-D arrays "
                                         r"\[W_1, \.\.\., W_N\]\.$"):
        L.deep_linear_grads([], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^weights must be a non-empty list of 2-D arrays"):
        L.deep_linear_grads([np.ones(3)], np.ones(3))
    with pytest.raises(ValueError, match=r"^weights do not chain: W_1 has shape \(2, 3\) and "
                                         r"W_2 has shape \(2, 4\)\.$"):
        L.deep_linear_grads([np.ones((2, 3)), np.ones((2, 4))], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^weights do not chain: W_2 has shape \(5, 4\) and "
                                         r"W_3 has shape \(2, 4\)\.$"):
        L.deep_linear_grads([W1, W2, np.ones((2, 4))], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^target must have shape \(2, 3\), got \(3, 3\)\.$"):
        L.deep_linear_grads([W1, W2, W3], np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"^balancedness needs at least two weight matrices\.$"):
        L.balancedness([W1])


def test_relu_net_gd_float32_weights_and_shape_errors():
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    W1, W2 = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    _, Q, _ = L.relu_net_gd(X, Y, W1, W2, 0.1, 1, record=[0])
    W1d, W2d = W1.astype(np.float64), W2.astype(np.float64)
    np.testing.assert_allclose(Q[0], (W1d ** 2).sum(1) - (W2d ** 2).sum(0), rtol=1e-14)
    cases = [
        ((X, Y[:4], W1, W2), {}, r"^X \(n, d\) and Y \(n, m\) must be 2-D with equal n, got "
                                 r"\(5, 3\), \(4, 2\)\.$"),
        ((X[:, 0], Y[:, :1], W1, W2), {}, r"^X \(n, d\) and Y \(n, m\) must be 2-D"),
        ((X, Y, W1[:, :2], W2), {}, r"^W1 must be \(h, 3\) and W2 \(2, h\), got \(4, 2\), "
                                    r"\(2, 4\)\.$"),
        ((X, Y, W1, W2.T), {}, r"^W1 must be \(h, 3\) and W2 \(2, h\)"),
        ((X, Y, W1, W2), {"eta": "x"}, r"^eta must be a positive number"),
        ((X, Y, W1, W2), {"steps": 0}, r"^steps must be a positive integer"),
        ((X, Y, W1, W2), {"weight_decay": -0.1}, r"^weight_decay must be non-negative, got -0\.1"),
    ]
    for args, kw, pattern in cases:
        kw = {"eta": 0.1, "steps": 1} | kw
        with pytest.raises(ValueError, match=pattern):
            L.relu_net_gd(*args, **kw)


def test_balanced_factors_float32_square_hidden_and_checks():
    rng = np.random.default_rng(13)
    P = rng.normal(size=(3, 2)).astype(np.float32)
    Ws = L.balanced_factors(P, 3, 2, rng)                         # hidden = min(3, 2) is enough
    np.testing.assert_allclose(Ws[2] @ Ws[1] @ Ws[0], P.astype(np.float64), rtol=0, atol=1e-13)
    for D in L.balancedness(Ws):
        assert np.abs(D).max() < 1e-13
    for args, pattern in [((np.ones(3), 2, 3), r"^product must be a 2-D array, got shape \(3,\)"),
                          ((P, 0, 3), r"^depth must be a positive integer"),
                          ((P, 2, 0), r"^hidden must be a positive integer"),
                          ((P, 2, 1), r"^hidden must be at least min\(d_out, d_in\) = 2, got 1")]:
        with pytest.raises(ValueError, match=pattern):
            L.balanced_factors(*args, rng)


def test_end_to_end_velocity_float32_product_and_depth_message():
    rng = np.random.default_rng(14)
    P32, G = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 3))
    P = P32.astype(np.float64)
    # depth 2: (W W^T)^(1/2) G + G (W^T W)^(1/2), square roots by scipy
    import scipy.linalg
    ref = (np.real(scipy.linalg.sqrtm(P @ P.T)) @ G
           + G @ np.real(scipy.linalg.sqrtm(P.T @ P + 0j)))
    np.testing.assert_allclose(L.end_to_end_velocity(P32, G, 2), ref, atol=1e-7)
    np.testing.assert_allclose(L.end_to_end_velocity(P32, G, 2), L.end_to_end_velocity(P, G, 2),
                               rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match=r"^depth must be a positive integer"):
        L.end_to_end_velocity(P, G, 0)


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda X, y: L.gd_least_squares(X, y, "fast", 3), r"^eta must be a positive number, got "
                                                        r"'fast'\.$"),
    (lambda X, y: L.gd_least_squares(X, y, 0.1, 0), r"^steps must be a positive integer"),
    (lambda X, y: L.gd_least_squares(X, y, 0.1, 3, w0=np.ones(4)),
     r"^w0 must have shape \(3,\), got \(4,\)\.$"),
    (lambda X, y: L.gd_least_squares(X[:, 0], y, 0.1, 3), r"^X must be a 2-D array \(n, d\), "
                                                          r"got shape \(5,\)\.$"),
    (lambda X, y: L.gd_least_squares(X, y[:4], 0.1, 3), r"^y must have shape \(5,\) to match X, "
                                                        r"got \(4,\)\.$"),
    (lambda X, y: L.ridge_path(X, y, [1.0, 0.0]), r"^lambdas must be positive, got \[1\.0, 0\.0\]"),
    (lambda X, y: L.ridge_path(X, y, [-1.0]), r"^lambdas must be positive"),
    (lambda X, y: L.gradient_flow_least_squares(X, y, [-0.5]),
     r"^times must be non-negative, got \[-0\.5\]"),
    (lambda X, y: L.logistic_gd(X, y, 0.1, 3), r"^y must hold labels in \{-1, \+1\}\.$"),
    (lambda X, y: L.logistic_gd(X, np.sign(y), 0.0, 3), r"^eta must be a positive number"),
    (lambda X, y: L.logistic_gd(X, np.sign(y), 0.1, 0), r"^steps must be a positive integer"),
    (lambda X, y: L.max_margin(X, np.sign(y), C=0.0), r"^C must be a positive number"),
    (lambda X, y: L.diagonal_net_gd(X, y, [0.5, 0.0], 0.1, 3), r"^alphas must be positive, got "
                                                               r"\[0\.5, 0\.0\]"),
    (lambda X, y: L.diagonal_net_gd(X, y, [0.5], [0.0], 3), r"^eta must be positive, got \[0\.0\]"),
    (lambda X, y: L.diagonal_net_gd(X, y, [0.5], 0.1, 0), r"^steps must be a positive integer"),
    (lambda X, y: L.diagonal_net_limit(X, y, 0.0), r"^alpha must be a positive number"),
    (lambda X, y: L.deep_linear_gd([np.eye(2)], np.eye(2), 0.0, 3), r"^eta must be a positive"),
    (lambda X, y: L.deep_linear_gd([np.eye(2)], np.eye(2), 0.1, 0), r"^steps must be a positive"),
    (lambda X, y: L.deep_linear_flow([np.eye(2)], np.eye(2), 0.0), r"^t_end must be a positive"),
])
def test_argument_error_messages_name_the_argument(call, pattern):
    X, y = _data(n=5, d=3, seed=15)
    with pytest.raises(ValueError, match=pattern):
        call(X, y)


@pytest.mark.parametrize(("record", "steps"), [([], 5), ([-1, 3], 5), ([0, 3, 11], 10),
                                               ([0, 11], 10)])
def test_record_outside_zero_to_steps_is_rejected(record, steps):
    X, y = _data(n=5, d=3, seed=16)
    pattern = rf"^record must hold step counts in \[0, steps={steps}\], got "
    with pytest.raises(ValueError, match=pattern):
        L.gd_least_squares(X, y, 0.1, steps, record=record)


def test_zero_times_and_bounds_accepted():
    X, y = _data(n=5, d=3, seed=17)
    assert np.all(L.gradient_flow_least_squares(X, y, 0.0) == 0.0)   # t = 0 is allowed
    rec, W = L.gd_least_squares(X, y, 0.1, 4, record=[0, 4])            # both ends allowed
    assert rec.tolist() == [0, 4] and np.all(W[0] == 0.0)
