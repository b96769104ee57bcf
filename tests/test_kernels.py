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
