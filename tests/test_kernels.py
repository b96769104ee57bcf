import copy

import numpy as np
import pytest
import torch
from dlscience import kernels
from sklearn.kernel_ridge import KernelRidge


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread avoids oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _circle(n, bias=0.5):
    t = 2 * np.pi * np.arange(n) / n
    return np.c_[np.cos(t), np.sin(t), bias * np.ones(n)]


def _manual_ntk(model, x):
    """J J^T with one autograd call per input: the reference for empirical_ntk."""
    rows = []
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(model(x[i:i + 1]).sum(), list(model.parameters()))
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    jac = torch.stack(rows)
    return (jac @ jac.T).numpy()


def test_arccos_kernels_match_monte_carlo_over_random_weights():
    rng = np.random.default_rng(0)
    x = np.array([[1.0, 0.0, 0.5], [0.3, -0.8, 0.5], [-1.0, 0.2, 0.5]])
    w = rng.standard_normal((400_000, 3))
    pre = w @ x.T
    mc1 = 2 * np.maximum(pre, 0).T @ np.maximum(pre, 0) / len(w)
    mc0 = 2 * (pre > 0).T.astype(float) @ (pre > 0).astype(float) / len(w)
    np.testing.assert_allclose(kernels.arccos_kernel(x, x, 1), mc1, atol=0.02)
    np.testing.assert_allclose(kernels.arccos_kernel(x, x, 0), mc0, atol=0.01)
    np.testing.assert_allclose(np.diag(kernels.arccos_kernel(x, x, 1)), np.sum(x**2, axis=1))


def test_two_layer_nngp_is_the_covariance_of_random_networks():
    # For the two-layer network E[f(x) f(x')] equals the NNGP at every width, here width 3.
    x = _circle(4)
    nngp, _ = kernels.relu_kernels(x, x)
    out = kernels.sample_outputs(x, width=3, n_nets=200_000, rng=np.random.default_rng(1))
    assert out.shape == (200_000, 4)
    np.testing.assert_allclose(out.T @ out / len(out), nngp, atol=0.01)


def test_two_layer_ntk_is_the_mean_empirical_ntk():
    x = torch.from_numpy(_circle(5))
    _, ntk = kernels.relu_kernels(x.numpy(), x.numpy())
    torch.manual_seed(0)
    # one very wide network: its kernel fluctuates by about 2 / sqrt(width) = 2%
    assert kernels.relative_error(kernels.empirical_ntk(kernels.NTKNet(3, 8000), x), ntk) < 0.06


def test_deep_kernels_match_wide_random_networks():
    x = torch.from_numpy(_circle(4))
    nngp, ntk = kernels.relu_kernels(x.numpy(), x.numpy(), depth=2)
    torch.manual_seed(0)
    # Monte Carlo over random depth-2 networks; over seeds 0..5 the errors were 0.6-2% (NNGP,
    # 200 nets of width 256) and 3-4.5% (NTK, 8 nets of width 512); a wrong recursion gives 30%.
    emp_nngp = np.mean([kernels.empirical_nngp(kernels.NTKNet(3, 256, depth=2), x)
                        for _ in range(200)], axis=0)
    emp_ntk = np.mean([kernels.empirical_ntk(kernels.NTKNet(3, 512, depth=2), x)
                       for _ in range(8)], axis=0)
    assert kernels.relative_error(emp_nngp, nngp) < 0.04
    assert kernels.relative_error(emp_ntk, ntk) < 0.08
    # depth 1 reduces to the arc-cosine formulas on x / sqrt(d)
    n1, t1 = kernels.relu_kernels(x.numpy(), x.numpy(), depth=1)
    xs = x.numpy() / np.sqrt(3)
    np.testing.assert_allclose(n1, kernels.arccos_kernel(xs, xs, 1), atol=1e-12)
    np.testing.assert_allclose(t1, n1 + xs @ xs.T * kernels.arccos_kernel(xs, xs, 0), atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
def test_empirical_ntk_equals_manual_jacobian_product(depth):
    torch.manual_seed(0)
    net = kernels.NTKNet(3, 16, depth=depth)
    x = torch.from_numpy(_circle(6))
    np.testing.assert_allclose(kernels.empirical_ntk(net, x), _manual_ntk(net, x), atol=1e-12)
    cross = kernels.empirical_ntk(net, x[:2], x[2:])
    np.testing.assert_allclose(cross, _manual_ntk(net, x)[:2, 2:], atol=1e-12)


def test_empirical_ntk_of_a_generic_module():
    torch.manual_seed(0)
    layers = [torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)]
    net = torch.nn.Sequential(*layers).double()
    x = torch.from_numpy(_circle(5))
    np.testing.assert_allclose(kernels.empirical_ntk(net, x), _manual_ntk(net, x), atol=1e-12)
    two_out = torch.nn.Linear(3, 2).double()
    with pytest.raises(ValueError, match="scalar-output"):
        kernels.empirical_ntk(two_out, x)


def test_kernel_regression_matches_scikit_learn():
    x = _circle(10)
    _, k = kernels.relu_kernels(x, x)
    xt = _circle(7, bias=0.4)
    _, kt = kernels.relu_kernels(xt, x)
    y = np.sin(2 * np.pi * np.arange(10) / 10)
    for ridge in (1e-3, 0.5):
        ref = KernelRidge(alpha=ridge, kernel="precomputed").fit(k, y).predict(kt)
        np.testing.assert_allclose(kernels.kernel_regression(k, kt, y, ridge), ref, atol=1e-10)
    np.testing.assert_allclose(kernels.kernel_regression(k, k, y), y, atol=1e-9)


def test_kernel_gd_predict_matches_explicit_iteration():
    x = _circle(8)
    _, k = kernels.relu_kernels(x, x)
    xt = _circle(5, bias=0.3)
    _, kt = kernels.relu_kernels(xt, x)
    y = np.cos(2 * np.pi * np.arange(8) / 8)
    lr, steps = 1.5 * 8 / np.linalg.eigvalsh(k).max(), 37   # some rates exceed 1: oscillating
    coef = np.zeros(8)     # the linear model g = K(., X) coef, started at g = 0
    for _ in range(steps):
        coef -= lr * (k @ coef - y) / 8
    np.testing.assert_allclose(kernels.kernel_gd_predict(k, kt, y, lr, steps), kt @ coef,
                               atol=1e-10)
    long = kernels.kernel_gd_predict(k, kt, y, 0.9 * 8 / np.linalg.eigvalsh(k).max(), 10**6)
    np.testing.assert_allclose(long, kernels.kernel_regression(k, kt, y), atol=1e-8)
    with pytest.raises(ValueError, match="unstable"):
        kernels.kernel_gd_predict(k, kt, y, 3 * 8 / np.linalg.eigvalsh(k).max(), 5)


def test_fit_centered_is_zero_at_init_and_reaches_the_target():
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(8))
    y = torch.sin(torch.arange(8, dtype=torch.float64))
    model = kernels.Centered(kernels.NTKNet(3, 64), alpha=2.0)
    assert torch.equal(model(x), torch.zeros(8, dtype=torch.float64))
    hist = kernels.fit_centered(model, x, y, lr=1.0, loss_target=1e-2, max_steps=2000)
    assert hist["loss"][-1] <= 1e-2 < hist["loss"][0]
    with torch.no_grad():
        assert 0.5 * float(((model(x) - y) ** 2).mean()) == pytest.approx(hist["loss"][-1])
    assert 0 < kernels.relative_change(model.model, model.initial) < 1
    with pytest.raises(RuntimeError, match="max_steps"):
        kernels.fit_centered(kernels.Centered(kernels.NTKNet(3, 8)), x, y, lr=0.01,
                             loss_target=1e-9, max_steps=3)


def test_fit_slope_recovers_a_power_law():
    x = np.array([1.0, 10.0, 100.0])
    assert kernels.fit_slope(x, 3 * x**-0.5) == pytest.approx(-0.5)


def test_bad_arguments_name_the_argument():
    x = _circle(3)
    with pytest.raises(ValueError, match="order"):
        kernels.arccos_kernel(x, x, 2)
    with pytest.raises(ValueError, match="depth"):
        kernels.relu_kernels(x, x, depth=0)
    with pytest.raises(ValueError, match="x1"):
        kernels.relu_kernels(x[0], x)
    with pytest.raises(ValueError, match="width"):
        kernels.NTKNet(3, 0)
    with pytest.raises(ValueError, match="alpha"):
        kernels.Centered(kernels.NTKNet(3, 4), alpha=0.0)
    with pytest.raises(ValueError, match="ridge"):
        kernels.kernel_regression(np.eye(3), np.eye(3), np.ones(3), ridge=-1.0)
    with pytest.raises(ValueError, match="k_train"):
        kernels.kernel_regression(np.eye(2), np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match="n_nets"):
        kernels.sample_outputs(x, 4, 0, np.random.default_rng(0))


def test_two_layer_ntk_equals_autograd_and_freezes_patterns():
    torch.manual_seed(0)
    net = kernels.NTKNet(3, 32)
    x = torch.from_numpy(_circle(7))
    np.testing.assert_allclose(kernels.two_layer_ntk(net, x), _manual_ntk(net, x), atol=1e-12)
    # move the weights: with the patterns of a copy taken before the move, the kernel is the
    # one computed by hand with the old patterns and the new weights
    before = kernels.NTKNet(3, 32)
    before.load_state_dict(net.state_dict())
    with torch.no_grad():
        net.hidden[0].add_(0.3 * torch.randn_like(net.hidden[0]))
        net.readout.mul_(1.5)
    xb = x.numpy() / np.sqrt(3)
    w, a, w0 = (t.detach().numpy() for t in (net.hidden[0], net.readout, before.hidden[0]))
    mask = (xb @ w0.T > 0).astype(float)
    by_hand = sum(np.outer(mask[:, r] * (xb @ w[r]), mask[:, r] * (xb @ w[r]))
                  + a[r] ** 2 * np.outer(mask[:, r], mask[:, r]) * (xb @ xb.T)
                  for r in range(32)) * 2 / 32
    np.testing.assert_allclose(kernels.two_layer_ntk(net, x, masks_from=before), by_hand,
                               atol=1e-12)
    assert kernels.relative_error(kernels.two_layer_ntk(net, x, masks_from=before),
                                  _manual_ntk(net, x)) > 1e-3   # some units did switch
    with pytest.raises(ValueError, match="two-layer"):
        kernels.two_layer_ntk(kernels.NTKNet(3, 8, depth=2), x)


def test_linear_cka_matches_hsic_and_is_invariant():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 5)), rng.normal(size=(30, 8))
    h = np.eye(30) - np.ones((30, 30)) / 30

    def hsic(k, m):
        return np.trace(k @ h @ m @ h)

    ka, kb = a @ a.T, b @ b.T
    ref = hsic(ka, kb) / np.sqrt(hsic(ka, ka) * hsic(kb, kb))
    assert kernels.linear_cka(a, b) == pytest.approx(ref, rel=1e-12)
    q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    assert kernels.linear_cka(a, 3.0 * a @ q + 2.0) == pytest.approx(1.0, rel=1e-12)
    assert 0 <= kernels.linear_cka(a, b) < 1
    with pytest.raises(ValueError, match="rows"):
        kernels.linear_cka(a, b[:10])


def test_kernel_alignment_by_hand():
    y = np.array([1.0, -2.0, 0.5])
    assert kernels.kernel_alignment(4.0 * np.outer(y, y), y) == pytest.approx(1.0)
    k = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]])
    ref = np.sum(k * np.outer(y, y)) / (np.linalg.norm(k) * np.linalg.norm(np.outer(y, y)))
    assert kernels.kernel_alignment(k, y) == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match="shape"):
        kernels.kernel_alignment(k, y[:2])


def test_gp_posterior_equals_bayesian_linear_regression_in_weight_space():
    # A GP with kernel phi(x) . phi(x') is the linear model phi(x) . w with prior w ~ N(0, I):
    # its posterior can be computed in weight space, an independent route.
    rng = np.random.default_rng(1)
    phi, phi_test = rng.normal(size=(6, 10)), rng.normal(size=(4, 10))
    y = rng.normal(size=6)
    for noise in (0.0, 0.3):
        mean, var = kernels.gp_posterior(phi @ phi.T, phi_test @ phi.T,
                                         np.sum(phi_test**2, axis=1), y, noise=noise)
        if noise == 0:   # condition w ~ N(0, I) on phi w = y exactly
            proj = phi.T @ np.linalg.solve(phi @ phi.T, phi)
            w_mean, w_cov = np.linalg.pinv(phi) @ y, np.eye(10) - proj
        else:
            w_cov = np.linalg.inv(phi.T @ phi / noise + np.eye(10))
            w_mean = w_cov @ phi.T @ y / noise
        np.testing.assert_allclose(mean, phi_test @ w_mean, atol=1e-10)
        np.testing.assert_allclose(var, np.sum((phi_test @ w_cov) * phi_test, axis=1),
                                   atol=1e-10)
    with pytest.raises(ValueError, match="noise"):
        kernels.gp_posterior(phi @ phi.T, phi_test @ phi.T, np.ones(4), y, noise=-1.0)


def test_readout_ensemble_is_the_limit_of_gradient_descent_on_the_readout():
    x, xt = _circle(5), _circle(7, bias=0.3)
    y = np.sin(np.arange(5.0))
    preds = kernels.readout_ensemble(x, y, np.vstack([x, xt]), 16, 3, np.random.default_rng(2))
    np.testing.assert_allclose(preds[:, :5], np.tile(y, (3, 1)), atol=1e-9)   # interpolates
    # the same draws, trained by plain gradient descent on the readout from a_0
    rng = np.random.default_rng(2)
    for i in range(3):
        w, a = rng.standard_normal((16, 3)), rng.standard_normal(16)
        phi = np.sqrt(2 / 16) * np.maximum(x @ w.T / np.sqrt(3), 0)
        lr = 1.0 / np.linalg.eigvalsh(phi @ phi.T).max()
        for _ in range(20_000):
            a -= lr * phi.T @ (phi @ a - y)
        phi_t = np.sqrt(2 / 16) * np.maximum(xt @ w.T / np.sqrt(3), 0)
        np.testing.assert_allclose(preds[i, 5:], phi_t @ a, atol=1e-6)
    with pytest.raises(ValueError, match="width"):
        kernels.readout_ensemble(x, y, xt, 4, 2, np.random.default_rng(0))


def test_fit_centered_without_target_takes_exactly_max_steps():
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(6))
    y = torch.cos(torch.arange(6, dtype=torch.float64))
    net = kernels.NTKNet(3, 32)
    a, b = kernels.Centered(net), kernels.Centered(copy.deepcopy(net))
    hist = kernels.fit_centered(a, x, y, lr=0.5, loss_target=None, max_steps=25)
    assert hist.steps[-1] == 25 and hist["loss"][-1] < hist["loss"][0]
    # the same 25 steps by hand: plain gradient descent on mean((g - y)^2) / 2
    opt = torch.optim.SGD(b.model.parameters(), lr=0.5)
    for _ in range(25):
        opt.zero_grad()
        (0.5 * ((b(x) - y) ** 2).mean()).backward()
        opt.step()
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Closed forms by hand, exact boundaries and the error messages (anchored: the argument's name).


def test_arccos_kernel_closed_forms_at_special_angles():
    """k0 = 1 - theta / pi and k1 = |x||x'| (sin theta + (pi - theta) cos theta) / pi by hand."""
    x1 = np.array([[2.0, 0.0]])
    x2 = np.array([[0.0, 3.0], [1.0, 1.0], [-0.5, 0.0]])   # angles pi/2, pi/4, pi
    k0 = kernels.arccos_kernel(x1, x2, 0)
    np.testing.assert_allclose(k0, [[0.5, 0.75, 0.0]], atol=1e-15)
    # pi/2: 2 * 3 * (1 + 0) / pi; pi/4: 2 * sqrt(2) * (1 + 3 pi / 4) / (sqrt(2) pi); pi: 0
    k1 = kernels.arccos_kernel(x1, x2, 1)
    np.testing.assert_allclose(k1, [[6 / np.pi, 2 * (1 + 3 * np.pi / 4) / np.pi, 0.0]],
                               atol=1e-15)
    # unit vectors and a single dimension are valid inputs: in 1-D the angle is 0 or pi
    e = np.eye(2)
    np.testing.assert_allclose(kernels.arccos_kernel(e, e, 1), np.diag([1.0, 1.0]) + (1 - np.eye(2))
                               / np.pi, atol=1e-15)
    line = np.array([[2.0], [-1.0]])
    np.testing.assert_allclose(kernels.arccos_kernel(line, line, 0), [[1, 0], [0, 1]], atol=1e-15)
    np.testing.assert_allclose(kernels.arccos_kernel(line, line, 1), [[4, 0], [0, 1]], atol=1e-15)


def test_kernels_clip_the_cosine_of_collinear_inputs():
    """For x' = +-3x the rounded cosine leaves [-1, 1] (here 1 + 2e-16); the kernels stay finite.

    By hand: k0 is 1 and 0, k1 is 3 |x|^2 and 0; with q = |x|^2 / d, the NTK of depth 1 is
    3q + 3q and 0 + (-3q) * 0, and at depth 2 it is 3q + 6q and 3q / pi + 0 * 1/2.
    """
    x = np.array([[0.54, 0.21, 0.36]])
    x2 = np.array([[3.0], [-3.0]]) * x
    n2 = float(x[0] @ x[0])
    np.testing.assert_allclose(kernels.arccos_kernel(x, x2, 0), [[1.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(kernels.arccos_kernel(x, x2, 1), [[3 * n2, 0.0]], atol=1e-12)
    q = n2 / 3
    nngp, ntk = kernels.relu_kernels(x, x2, depth=1)
    np.testing.assert_allclose(nngp, [[3 * q, 0.0]], atol=1e-12)
    np.testing.assert_allclose(ntk, [[6 * q, 0.0]], atol=1e-12)
    nngp, ntk = kernels.relu_kernels(x, x2, depth=2)
    np.testing.assert_allclose(nngp, [[3 * q, 3 * q / np.pi]], atol=1e-12)
    np.testing.assert_allclose(ntk, [[9 * q, 3 * q / np.pi]], atol=1e-12)


def test_relu_kernels_by_hand_for_two_inputs():
    """x = (3, 0), x' = (3, 3), d = 2: q = 4.5 and 9, Sigma_0 = 4.5, the angle is pi/4.

    Depth 1 (the default): NNGP = sqrt(4.5 * 9) (sin + (pi - theta) cos) / pi
    = 4.5 (1 + 3 pi / 4) / pi and NTK = NNGP + 4.5 * (1 - 1/4). On the diagonal the NNGP keeps
    q and the NTK is (depth + 1) q.
    """
    x1, x2 = np.array([[3.0, 0.0]]), np.array([[3.0, 3.0]])
    nngp, ntk = kernels.relu_kernels(x1, x2)
    s1 = 4.5 * (1 + 3 * np.pi / 4) / np.pi
    assert nngp[0, 0] == pytest.approx(s1, rel=1e-13)
    assert ntk[0, 0] == pytest.approx(s1 + 4.5 * 0.75, rel=1e-13)
    # depth 2: the same map applied to the angle arccos(s1 / sqrt(4.5 * 9)) of the new covariance
    t2 = np.arccos(s1 / np.sqrt(4.5 * 9))
    s2 = np.sqrt(4.5 * 9) * (np.sin(t2) + (np.pi - t2) * np.cos(t2)) / np.pi
    nngp2, ntk2 = kernels.relu_kernels(x1, x2, depth=2)
    assert nngp2[0, 0] == pytest.approx(s2, rel=1e-13)
    assert ntk2[0, 0] == pytest.approx(s2 + (s1 + 4.5 * 0.75) * (1 - t2 / np.pi), rel=1e-13)
    for depth in (1, 3):
        nd, td = kernels.relu_kernels(x2, x2, depth=depth)
        assert nd[0, 0] == pytest.approx(9.0, rel=1e-13)
        assert td[0, 0] == pytest.approx(9.0 * (depth + 1), rel=1e-13)
    # unit q = |x|^2 / d = 1 is an ordinary input
    ones = np.ones((1, 3))
    assert kernels.relu_kernels(ones, ones)[1][0, 0] == pytest.approx(2.0, rel=1e-13)


def test_kernels_compute_in_double_precision_from_float32_inputs():
    """Float32 inputs are converted to float64 first: the results equal the float64 ones."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    x64 = x.astype(np.float64)
    for order in (0, 1):
        out = kernels.arccos_kernel(x, x, order)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, kernels.arccos_kernel(x64, x64, order), rtol=1e-14)
    a, b = x[:, :2], x[:, 1:]
    assert kernels.linear_cka(a, b) == kernels.linear_cka(a.astype(float), b.astype(float))
    k = (x @ x.T + np.eye(4, dtype=np.float32) / 3).astype(np.float32)
    y = np.array([0.1, -0.7, 1 / 3, 0.9], dtype=np.float32)
    k64, y64 = k.astype(np.float64), y.astype(np.float64)
    assert kernels.kernel_alignment(k, y) == pytest.approx(
        kernels.kernel_alignment(k64, y64), rel=1e-14)
    lr = 0.7 * 4 / np.linalg.eigvalsh(k64).max()
    np.testing.assert_allclose(kernels.kernel_gd_predict(k, k, y, lr, 5),
                               kernels.kernel_gd_predict(k64, k64, y64, lr, 5), rtol=1e-13)
    xs, ys = np.array([1.0, 3.0, 7.0], np.float32), np.array([0.3, 0.1, 0.07], np.float32)
    assert kernels.fit_slope(xs, ys) == pytest.approx(
        kernels.fit_slope(xs.astype(float), ys.astype(float)), rel=1e-14)


X3 = _circle(3)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: kernels.arccos_kernel(X3[0], X3, 1), r"x1 must be a non-empty array of shape \(n, "
     r"d\), got shape \(3,\)\.$"),
    (lambda: kernels.arccos_kernel(X3, X3[:0], 1), r"x2 must be a non-empty array .* \(0, 3\)"),
    (lambda: kernels.arccos_kernel(X3[:, :0], X3, 1), r"x1 must be a non-empty .* \(3, 0\)"),
    (lambda: kernels.arccos_kernel(X3, X3[:, :2], 0), r"x1 and x2 must have the same dimension, "
     r"got 3 and 2\.$"),
    (lambda: kernels.arccos_kernel(X3, X3, 2), r"order must be 0 or 1, got 2\.$"),
    (lambda: kernels.arccos_kernel(np.zeros((1, 3)), X3, 1), r"arccos_kernel needs non-zero "
     r"inputs \(the angle is undefined at 0\)\.$"),
    (lambda: kernels.arccos_kernel(X3, np.zeros((1, 3)), 0), r"arccos_kernel needs non-zero"),
    (lambda: kernels.relu_kernels(X3[0], X3), r"x1 must be a non-empty array"),
    (lambda: kernels.relu_kernels(X3, X3[None]), r"x2 must be a non-empty array"),
    (lambda: kernels.relu_kernels(X3, X3, depth=0), r"depth must be a positive integer"),
    (lambda: kernels.relu_kernels(X3, X3[:, :2]), r"x1 and x2 must have the same dimension, got "
     r"3 and 2\.$"),
    (lambda: kernels.relu_kernels(np.zeros((1, 3)), X3), r"relu_kernels needs non-zero inputs\.$"),
    (lambda: kernels.relu_kernels(X3, np.zeros((1, 3))), r"relu_kernels needs non-zero inputs"),
    (lambda: kernels.NTKNet(0, 4), r"in_dim must be a positive integer"),
    (lambda: kernels.NTKNet(3, 0), r"width must be a positive integer"),
    (lambda: kernels.NTKNet(3, 4, depth=0), r"depth must be a positive integer"),
    (lambda: kernels.sample_outputs(X3[0], 4, 2, np.random.default_rng(0)), r"x must be a non-"),
    (lambda: kernels.sample_outputs(X3, 0, 2, np.random.default_rng(0)), r"width must be a pos"),
    (lambda: kernels.sample_outputs(X3, 4, 0, np.random.default_rng(0)), r"n_nets must be a pos"),
    (lambda: kernels.sample_outputs(X3, 4, 2, np.random.default_rng(0), chunk=0),
     r"chunk must be a positive integer"),
    (lambda: kernels.relative_error(np.ones(2), np.ones(3)), r"k and k_ref must have the same "
     r"shape, got \(2,\) and \(3,\)\.$"),
    (lambda: kernels.linear_cka(np.ones(3), np.ones((3, 2))), r"a must be a non-empty array"),
    (lambda: kernels.linear_cka(np.ones((3, 2)), np.ones(3)), r"b must be a non-empty array"),
    (lambda: kernels.linear_cka(np.eye(4)[:, :3], np.eye(3)[:, :2]), r"a and b must have the same "
     r"number of rows, got 4 and 3\.$"),
    (lambda: kernels.linear_cka(np.ones((3, 2)), np.eye(3)), r"linear_cka needs representations "
     r"that are not constant across rows\.$"),
    (lambda: kernels.kernel_alignment(np.eye(2), np.zeros(2)), r"kernel_alignment needs a "
     r"non-zero k and y\.$"),
    (lambda: kernels.kernel_alignment(np.zeros((2, 2)), np.ones(2)), r"kernel_alignment needs"),
    (lambda: kernels.fit_slope([1.0, 2.0], [1.0, 2.0, 3.0]), r"x and y must be 1-D of the same "
     r"length >= 2, got \(2,\), \(3,\)\.$"),
    (lambda: kernels.fit_slope([1.0], [1.0]), r"x and y must be 1-D"),
    (lambda: kernels.fit_slope(np.ones((3, 2)), np.ones((3, 2))), r"x and y must be 1-D"),
    (lambda: kernels.fit_slope([0.0, 1.0], [1.0, 2.0]), r"fit_slope needs positive x and y\.$"),
    (lambda: kernels.fit_slope([1.0, 2.0], [2.0, 0.0]), r"fit_slope needs positive x and y\.$"),
])
def test_bad_arguments_get_a_message_naming_them(call, message):
    """Each rejected input gets a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match="^" + message):
        call()


def test_fit_slope_through_two_points():
    """Two points are enough: log(0.5 / 5) / log(100 / 1) = -0.5 exactly."""
    assert kernels.fit_slope([1.0, 100.0], [5.0, 0.5]) == pytest.approx(-0.5, rel=1e-13)


def test_kernel_argument_shapes_are_checked():
    """k_train, k_test_train and k_test_diag must agree with y; messages give the shapes."""
    k, y = np.eye(3), np.ones(3)
    with pytest.raises(ValueError, match=r"^k_test_train must have shape \(n_test, 3\), got "
                                         r"\(3,\)\.$"):
        kernels.kernel_regression(k, np.ones(3), y)
    with pytest.raises(ValueError, match=r"^k_test_train must have shape \(n_test, 3\), got "
                                         r"\(2, 2\)\.$"):
        kernels.kernel_gd_predict(k, np.eye(2), y, 0.5, 3)
    with pytest.raises(ValueError, match=r"^k_train must have shape \(n, n\) for y of shape"):
        kernels.kernel_regression(k, k, np.float64(1.0))       # a 0-d y
    with pytest.raises(ValueError, match=r"^k_test_diag must have shape \(4,\), got \(3,\)\.$"):
        kernels.gp_posterior(k, np.ones((4, 3)), np.ones(3), y)


def test_gp_posterior_default_is_noise_free():
    """Without ``noise`` the posterior interpolates: mean y and variance 0 at the training inputs.

    Off the data, for K = diag(2, 1) and k(test, X) = (1, 1), k(test, test) = 3 by hand:
    mean = y1 / 2 + y2 / 1 and var = 3 - (1 / 2 + 1 / 1).
    """
    k, y = np.diag([2.0, 1.0]), np.array([1.0, -4.0])
    mean, var = kernels.gp_posterior(k, k, np.diag(k), y)
    np.testing.assert_allclose(mean, y, atol=1e-14)
    np.testing.assert_allclose(var, 0.0, atol=1e-14)
    mean, var = kernels.gp_posterior(k, np.ones((1, 2)), np.array([3.0]), y)
    assert mean[0] == pytest.approx(0.5 - 4.0) and var[0] == pytest.approx(1.5)


def _gd_by_iteration(k, kt, y, lr, steps):
    """The linear model g = K(., X) coef from coef = 0, by explicit gradient steps."""
    coef = np.zeros(len(y))
    for _ in range(steps):
        coef -= lr * (k @ coef - y) / len(y)
    return kt @ coef


def test_kernel_gd_predict_closed_form_with_small_and_zero_eigenvalues():
    """K = diag(0, 0.5, 2, 3), n = 4, lr = 2: rates lr lambda / n = 0, 0.25, 1, 1.5.

    On the training inputs g_t = (1 - (1 - rate)^t) y per eigenvector; k(test, X) is arbitrary
    (not orthogonal to the null space), so the zero eigenvalue is seen through coef = t lr / n y.
    """
    k = np.diag([0.0, 0.5, 2.0, 3.0])
    y = np.array([1.0, -2.0, 0.5, 3.0])
    kt = np.array([[1.0, 0.3, -0.2, 0.1], [0.5, -1.0, 0.4, 2.0]])
    rate = np.array([0.0, 0.25, 1.0, 1.5])
    for steps in (0, 1, 2, 7):
        train = kernels.kernel_gd_predict(k, k, y, 2.0, steps)
        np.testing.assert_allclose(train, (1 - (1 - rate) ** steps) * y, atol=1e-12)
        np.testing.assert_allclose(kernels.kernel_gd_predict(k, kt, y, 2.0, steps),
                                   _gd_by_iteration(k, kt, y, 2.0, steps), atol=1e-12)
    np.testing.assert_allclose(kernels.kernel_gd_predict(k, kt, y, 2.0, np.int64(3)),
                               _gd_by_iteration(k, kt, y, 2.0, 3), atol=1e-12)
    # a small step, lr < 1, is as valid as a large one
    np.testing.assert_allclose(kernels.kernel_gd_predict(k, kt, y, 0.3, 4),
                               _gd_by_iteration(k, kt, y, 0.3, 4), atol=1e-12)


def test_kernel_gd_predict_is_stable_for_tiny_eigenvalues():
    """For lambda = 1e-17 the rate rounds 1 - rate to 1, yet the filter gain / lambda must tend to
    its limit t lr / n (here 10 * 1 / 2 = 5) instead of collapsing to 0."""
    k = np.diag([1e-17, 1.0])
    pred = kernels.kernel_gd_predict(k, np.array([[1.0, 0.0]]), np.array([2.0, 0.0]), 1.0, 10)
    assert pred[0] == pytest.approx(5.0 * 2.0, rel=1e-12)


def test_kernel_gd_predict_rejects_exactly_unstable_steps_and_bad_arguments():
    """rate = lr lambda_max / n = 2 exactly (K = diag(1, 4), n = 2, lr = 1) is unstable."""
    k, y = np.diag([1.0, 4.0]), np.ones(2)
    with pytest.raises(ValueError, match=r"^lr=1\.0 is unstable: lr \* lambda_max / n = 2 >= 2"):
        kernels.kernel_gd_predict(k, k, y, 1.0, 3)
    for lr in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"^lr must be positive, got "):
            kernels.kernel_gd_predict(k, k, y, lr, 3)
    for steps in (-1, 2.5, True):
        with pytest.raises(ValueError, match=r"^steps must be a non-negative integer, got "):
            kernels.kernel_gd_predict(k, k, y, 0.5, steps)


def test_empirical_nngp_cross_kernel_and_features_by_hand():
    """features(x) of a depth-2 net by a NumPy forward pass; the cross NNGP is its block."""
    torch.manual_seed(1)
    net = kernels.NTKNet(3, 5, depth=2)
    x = torch.from_numpy(_circle(4))
    w1, w2 = (p.detach().numpy() for p in net.hidden)
    h1 = x.numpy() @ w1.T / np.sqrt(3)
    h2 = np.sqrt(2 / 5) * np.maximum(h1, 0) @ w2.T
    feats = np.sqrt(2 / 5) * np.maximum(h2, 0)
    with torch.no_grad():
        np.testing.assert_allclose(net.features(x).numpy(), feats, atol=1e-14)
        np.testing.assert_allclose(net(x).numpy(), feats @ net.readout.numpy(), atol=1e-14)
    np.testing.assert_allclose(kernels.empirical_nngp(net, x[:1], x[1:]), feats[:1] @ feats[1:].T,
                               atol=1e-14)
    np.testing.assert_allclose(kernels.empirical_nngp(net, x), feats @ feats.T, atol=1e-14)


def test_ntknet_defaults_shapes_and_input_check():
    """Defaults: one hidden layer, float64 parameters; shapes (m, d), (m, m), (m,)."""
    net = kernels.NTKNet(3, 4)
    assert net.depth == 1 and len(net.hidden) == 1
    assert all(p.dtype == torch.float64 for p in net.parameters())
    deep = kernels.NTKNet(3, 4, depth=3, dtype=torch.float32)
    assert [tuple(p.shape) for p in deep.hidden] == [(4, 3), (4, 4), (4, 4)]
    assert tuple(deep.readout.shape) == (4,) and deep.readout.dtype == torch.float32
    for bad, shape in ((torch.ones(3), r"\(3,\)"), (torch.ones(2, 4), r"\(2, 4\)")):
        with pytest.raises(ValueError, match=r"^x must have shape \(n, 3\), got " + shape):
            net(bad.double())


def test_centered_scale_default_and_frozen_copy():
    """g = alpha (f - f0): alpha defaults to 1, any positive alpha (0.5 too) scales g, and the
    frozen copy has no trainable parameter."""
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(4))
    for alpha in (None, 0.5):
        net = kernels.NTKNet(3, 8)
        model = kernels.Centered(net) if alpha is None else kernels.Centered(net, alpha=alpha)
        assert not any(p.requires_grad for p in model.initial.parameters())
        with torch.no_grad():
            f0 = net(x).clone()
            net.readout.add_(1.0)
            expected = (1.0 if alpha is None else alpha) * (net(x) - f0)
            torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match=r"^alpha must be positive, got -1\.0\.$"):
        kernels.Centered(kernels.NTKNet(3, 4), alpha=-1.0)


def test_fit_centered_gradient_steps_scale_with_alpha():
    """With alpha = 3 each step is plain gradient descent on mean((g - y)^2) / (2 alpha^2)."""
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(5))
    y = torch.sin(torch.arange(5, dtype=torch.float64))
    net = kernels.NTKNet(3, 16)
    a, b = kernels.Centered(net, alpha=3.0), kernels.Centered(copy.deepcopy(net), alpha=3.0)
    hist = kernels.fit_centered(a, x, y, lr=0.5, loss_target=None, max_steps=4)
    opt = torch.optim.SGD(b.model.parameters(), lr=0.5)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = 0.5 * ((b(x) - y) ** 2).mean()
        losses.append(float(loss.detach()))
        (loss / 9.0).backward()
        opt.step()
    np.testing.assert_allclose(hist["loss"][:4], losses, rtol=1e-12)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_fit_centered_stops_at_the_first_step_at_or_below_the_target():
    """The target is compared with <= and at most max_steps steps are taken (then an error)."""
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(5))
    y = torch.cos(torch.arange(5, dtype=torch.float64))
    net = kernels.NTKNet(3, 16)
    free = kernels.fit_centered(kernels.Centered(copy.deepcopy(net)), x, y, lr=0.5,
                                loss_target=None, max_steps=6)["loss"]
    assert np.all(np.diff(free) < 0)
    hist = kernels.fit_centered(kernels.Centered(copy.deepcopy(net)), x, y, lr=0.5,
                                loss_target=float(free[5]), max_steps=5)
    assert hist.steps[-1] == 5 and hist["loss"][-1] == free[5]
    with pytest.raises(RuntimeError, match=r"^the loss is .* after 5 steps, above loss_target="):
        kernels.fit_centered(kernels.Centered(copy.deepcopy(net)), x, y, lr=0.5,
                             loss_target=float(free[6]), max_steps=5)


def test_fit_centered_reports_divergence_and_bad_arguments():
    """A huge step overflows the loss: a RuntimeError names the step; bad arguments are named."""
    torch.manual_seed(0)
    x = torch.from_numpy(_circle(5))
    y = torch.ones(5, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"^training diverged at step \d+ \(lr=1e\+200 too"):
        kernels.fit_centered(kernels.Centered(kernels.NTKNet(3, 8)), x, y, lr=1e200,
                             loss_target=None, max_steps=20)
    model = kernels.Centered(kernels.NTKNet(3, 8))
    for kwargs, message in (({"lr": 0.0}, r"lr must be positive, got 0\.0\.$"),
                            ({"loss_target": 0.0}, r"loss_target must be positive, got 0\.0\.$"),
                            ({"max_steps": 0}, r"max_steps must be a positive integer")):
        args = {"lr": 0.1, "loss_target": 0.1, "max_steps": 3} | kwargs
        with pytest.raises(ValueError, match="^" + message):
            kernels.fit_centered(model, x, y, **args)
    with pytest.raises(ValueError, match=r"^x must be \(n, d\) and y \(n,\), got \(5, 3\) and "
                                         r"\(5, 1\)\.$"):
        kernels.fit_centered(model, x, y[:, None], lr=0.1, loss_target=None, max_steps=3)


def test_two_layer_ntk_unit_at_its_kink_and_argument_checks():
    """A unit whose pre-activation is exactly 0 is off, as relu'(0) = 0 in autograd."""
    net = kernels.NTKNet(3, 4)
    with torch.no_grad():
        net.hidden[0][0] = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)
    x = torch.tensor([[1.0, 1.0, 0.5], [0.3, -0.2, 1.0]], dtype=torch.float64)
    np.testing.assert_allclose(kernels.two_layer_ntk(net, x), _manual_ntk(net, x), atol=1e-13)
    model_msg = r"^model must be a two-layer NTKNet \(depth 1\)\.$"
    for bad in (kernels.NTKNet(3, 4, depth=2), torch.nn.Linear(3, 1)):
        with pytest.raises(ValueError, match=model_msg):
            kernels.two_layer_ntk(bad, x)
    masks_msg = r"^masks_from must be a two-layer NTKNet with the shape of model\.$"
    for other in (kernels.NTKNet(3, 4, depth=2), kernels.NTKNet(3, 5), kernels.NTKNet(2, 4),
                  torch.nn.Linear(3, 1)):
        with pytest.raises(ValueError, match=masks_msg):
            kernels.two_layer_ntk(net, x, masks_from=other)
    for bad_x, shape in ((x[0], r"\(3,\)"), (x[:, :2], r"\(2, 2\)")):
        with pytest.raises(ValueError, match=r"^x must have shape \(n, 3\), got " + shape):
            kernels.two_layer_ntk(net, bad_x)


def test_sample_outputs_are_the_networks_of_the_documented_draws():
    """Networks drawn chunk by chunk: W (b, m, d) then a (b, m); f = sqrt(2/m) a . relu(Wx/sqrt d).

    The default chunk is 4096: 4097 networks split into 4096 + 1.
    """
    x = np.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 0.3]])

    def by_hand(rng, n_nets, width, chunk):
        rows = []
        for start in range(0, n_nets, chunk):
            b = min(chunk, n_nets - start)
            w, a = rng.standard_normal((b, width, 2)), rng.standard_normal((b, width))
            for i in range(b):
                rows.append(np.sqrt(2 / width) * a[i] @ np.maximum(w[i] @ x.T / np.sqrt(2), 0))
        return np.array(rows)

    out = kernels.sample_outputs(x, 3, 5, np.random.default_rng(4), chunk=2)
    np.testing.assert_allclose(out, by_hand(np.random.default_rng(4), 5, 3, 2), atol=1e-14)
    out = kernels.sample_outputs(x[:1], 1, 4097, np.random.default_rng(5))
    ref = kernels.sample_outputs(x[:1], 1, 4097, np.random.default_rng(5), chunk=4096)
    np.testing.assert_array_equal(out, ref)
    assert not np.array_equal(out, kernels.sample_outputs(x[:1], 1, 4097,
                                                          np.random.default_rng(5), chunk=4097))


def test_relative_change_and_relative_error_by_hand():
    """||(3, 1, 4) - (3, 0, 4)|| / ||(3, 0, 4)|| = 1 / 5, for parameters and for arrays."""
    ref, moved = torch.nn.Linear(2, 1).double(), torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([[3.0, 0.0]]))
        ref.bias.fill_(4.0)
        moved.weight.copy_(torch.tensor([[3.0, 1.0]]))
        moved.bias.fill_(4.0)
    assert kernels.relative_change(moved, ref) == pytest.approx(0.2, rel=1e-14)
    assert kernels.relative_error([3.0, 1.0, 4.0], [3.0, 0.0, 4.0]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"^model and reference must have the same parameters, "
                                         r"got 3 and 4 scalars\.$"):
        kernels.relative_change(ref, torch.nn.Linear(3, 1))


def test_empirical_ntk_input_check():
    """x1 must be 2-D; the message gives its shape."""
    with pytest.raises(ValueError, match=r"^x1 must have shape \(n, d\), got \(3,\)\.$"):
        kernels.empirical_ntk(kernels.NTKNet(3, 4), torch.ones(3, dtype=torch.float64))


def test_readout_ensemble_argument_checks_and_width_equal_to_n():
    """width = n is enough to interpolate; each bad argument is named in the message."""
    x, y = _circle(5), np.sin(np.arange(5.0))
    preds = kernels.readout_ensemble(x, y, x, 5, 2, np.random.default_rng(0))
    np.testing.assert_allclose(preds, np.tile(y, (2, 1)), atol=1e-8)
    rng = np.random.default_rng(0)
    for args, message in (
            ((x[0], y, x, 8, 2), r"x_train must be a non-empty array"),
            ((x, y, x[0], 8, 2), r"x_test must be a non-empty array"),
            ((x, y[:4], x, 8, 2), r"y must have shape \(5,\), got \(4,\)\.$"),
            ((x, y, x[:, :2], 8, 2), r"x_train and x_test must have the same dimension, got 3 "
                                     r"and 2\.$"),
            ((x, y, x, 0, 2), r"width must be a positive integer"),
            ((x, y, x, 8, 0), r"n_nets must be a positive integer"),
            ((x, y, x, 4, 2), r"width must be at least the number of training points 5, got 4\.$")):
        with pytest.raises(ValueError, match="^" + message):
            kernels.readout_ensemble(*args, rng)
