import numpy as np
import pytest
import torch
from dlscience import shift as sh
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression


def test_group_counts_shares_and_total():
    counts = sh.group_counts(400, 0.95)
    assert counts.tolist() == [190, 10, 10, 190]
    odd = sh.group_counts(101, 0.9)
    assert odd.sum() == 101
    assert odd[0] + odd[1] == 51 and odd[2] + odd[3] == 50      # labels balanced
    assert sh.group_counts(8, 0.5).tolist() == [2, 2, 2, 2]


def test_sample_groups_exact_counts_and_features():
    prob = sh.SpuriousProblem(core_mean=1.5, core_std=0.5, spurious_scale=2.0, noise_dims=50,
                              noise_std=3.0)
    d = sh.sample_groups(prob, 20_000, 0.9, np.random.default_rng(0))
    assert d.x.shape == (20_000, 52)
    np.testing.assert_array_equal(np.bincount(d.g, minlength=4), sh.group_counts(20_000, 0.9))
    np.testing.assert_array_equal(d.g, 2 * d.y + d.a)
    # the spurious feature is a noise-free copy of the attribute
    np.testing.assert_array_equal(d.x[:, 1], (2 * d.a - 1) * 2.0)
    # core feature: mean +-mu, std sigma
    assert abs(d.x[d.y == 1, 0].mean() - 1.5) < 0.02
    assert abs(d.x[d.y == 0, 0].mean() + 1.5) < 0.02
    assert abs(d.x[:, 0][d.y == 1].std() - 0.5) < 0.02
    # noise: total variance noise_std^2 spread over the coordinates
    assert abs(d.x[:, 2:].var(axis=0).sum() - 9.0) < 0.3


def test_group_accuracy_by_hand():
    pred = np.array([1, 0, 1, 1, 0, 0])
    y = np.array([1, 1, 1, 0, 0, 1])
    g = np.array([3, 3, 2, 1, 0, 2])
    acc = sh.group_accuracy(pred, y, g)
    # group 0: [0 vs 0] -> 1; group 1: [1 vs 0] -> 0; group 2: [1 vs 1, 0 vs 1] -> 0.5;
    # group 3: [1 vs 1, 0 vs 1] -> 0.5
    np.testing.assert_allclose(acc, [1.0, 0.0, 0.5, 0.5])
    assert sh.worst_group_accuracy(pred, y, g) == 0.0
    acc_missing = sh.group_accuracy(np.array([1]), np.array([1]), np.array([3]))
    assert np.isnan(acc_missing[:3]).all() and acc_missing[3] == 1.0


def test_linear_group_accuracy_matches_monte_carlo():
    prob = sh.SpuriousProblem(core_mean=1.0, core_std=1.3, spurious_scale=0.7, noise_dims=5,
                              noise_std=2.0)
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=7), 0.3
    exact = sh.linear_group_accuracy(w, b, prob)
    d = sh.sample_groups(prob, 400_000, 0.5, np.random.default_rng(2))
    pred = (d.x @ w + b > 0).astype(int)
    mc = sh.group_accuracy(pred, d.y, d.g)
    np.testing.assert_allclose(exact, mc, atol=0.005)


def test_population_erm_weights_formula_and_accuracy():
    prob = sh.SpuriousProblem(core_mean=1.0, core_std=1.0, spurious_scale=1.0)
    w, b = sh.population_erm_weights(prob, 0.95)
    np.testing.assert_allclose(w, [2.0, np.log(19.0)])
    acc = sh.linear_group_accuracy(w, b, prob)
    lam, delta = np.log(19.0), 2.0
    np.testing.assert_allclose(acc[[1, 2]], norm.cdf(delta / 2 - lam / delta))
    np.testing.assert_allclose(acc[[0, 3]], norm.cdf(delta / 2 + lam / delta))


def test_population_erm_weights_match_large_sample_logistic_regression():
    prob = sh.SpuriousProblem(core_mean=0.8, core_std=1.2, spurious_scale=1.5)
    d = sh.sample_groups(prob, 200_000, 0.85, np.random.default_rng(3))
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(d.x, d.y)
    w, _ = sh.population_erm_weights(prob, 0.85)
    np.testing.assert_allclose(lr.coef_[0], w, rtol=0.03)
    assert abs(lr.intercept_[0]) < 0.03


def test_eg_update_by_hand():
    q = np.full(4, 0.25)
    out = sh.eg_update(q, np.array([1.0, 0.0, 0.0, 0.0]), eta=np.log(2.0))
    np.testing.assert_allclose(out, [2 / 5, 1 / 5, 1 / 5, 1 / 5])
    q2 = np.array([0.5, 0.5, 0.0, 0.0])
    out2 = sh.eg_update(q2, np.array([0.0, 2.0, 5.0, 1.0]), eta=0.5)
    np.testing.assert_allclose(out2, [1 / (1 + np.e), np.e / (1 + np.e), 0.0, 0.0])
    # stable for huge eta * L: all weight on the worst group
    np.testing.assert_allclose(sh.eg_update(q, np.array([0.0, 1.0, 2.0, 3.0]), 1e4),
                               [0, 0, 0, 1], atol=1e-12)


def _torch_reference(data, method, l2, steps, lr, eta_q):
    """Group DRO / ERM / reweighting by autograd on the weighted group losses."""
    x = torch.tensor(data.x)
    sign = torch.tensor(2.0 * data.y - 1.0, dtype=torch.float64)
    g = torch.tensor(data.g)
    counts = torch.bincount(g, minlength=4).double()
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    q = {"erm": counts / counts.sum(), "reweight": torch.full((4,), 0.25, dtype=torch.float64),
         "dro": torch.full((4,), 0.25, dtype=torch.float64)}[method]
    for _ in range(steps):
        losses = torch.stack([torch.nn.functional.softplus(-sign[g == k] * (x[g == k] @ w + b))
                              .mean() for k in range(4)])
        if method == "dro":
            q = q * torch.exp(eta_q * losses.detach())
            q = q / q.sum()
        total = (q * losses).sum() + 0.5 * l2 * (w * w).sum()
        gw, gb = torch.autograd.grad(total, (w, b))
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    return w.detach().numpy(), float(b.detach()), q.numpy()


@pytest.mark.parametrize("method", sh.METHODS)
def test_train_linear_matches_autograd(method):
    prob = sh.SpuriousProblem(noise_dims=3)
    d = sh.sample_groups(prob, 60, 0.8, np.random.default_rng(4))
    fit = sh.train_linear(d, method=method, l2=0.05, steps=25, lr=0.5, eta_q=0.3)
    w, b, q = _torch_reference(d, method, 0.05, 25, 0.5, 0.3)
    np.testing.assert_allclose(fit.w, w, rtol=1e-9, atol=1e-12)
    assert abs(fit.b - b) < 1e-10
    np.testing.assert_allclose(fit.q[-1], q, rtol=1e-9)


def test_train_linear_erm_converges_to_sklearn():
    prob = sh.SpuriousProblem(noise_dims=2)
    d = sh.sample_groups(prob, 300, 0.9, np.random.default_rng(5))
    l2 = 0.05
    fit = sh.train_linear(d, method="erm", l2=l2, steps=4000, lr=1.0)
    ref = LogisticRegression(C=1 / (l2 * len(d.y)), tol=1e-10, max_iter=10_000).fit(d.x, d.y)
    np.testing.assert_allclose(fit.w, ref.coef_[0], atol=1e-4)
    assert abs(fit.b - ref.intercept_[0]) < 1e-4


def test_dro_raises_worst_group_weight():
    prob = sh.SpuriousProblem()
    d = sh.sample_groups(prob, 400, 0.95, np.random.default_rng(6))
    fit = sh.train_linear(d, method="dro", l2=0.1, steps=500, lr=1.0, eta_q=0.1)
    assert fit.q[-1, 1] + fit.q[-1, 2] > 0.3
    np.testing.assert_allclose(fit.q.sum(axis=1), 1.0)


def test_apply_trigger_sets_pixels_and_copies():
    x = np.zeros((3, 8))
    out = sh.apply_trigger(x, [0, 5], value=0.7)
    assert (out[:, [0, 5]] == 0.7).all() and out[:, [1, 2, 3, 4, 6, 7]].sum() == 0
    assert x.sum() == 0                        # input untouched


def test_poison_relabels_and_triggers_only_chosen():
    rng = np.random.default_rng(7)
    x = rng.random((200, 10)) * 0.5
    y = np.repeat(np.arange(4), 50)
    xp, yp, chosen = sh.poison(x, y, 0.1, target=2, pixels=[9], rng=np.random.default_rng(8))
    assert len(chosen) == 20
    assert (y[chosen] != 2).all()
    assert (yp[chosen] == 2).all() and (xp[chosen, 9] == 1.0).all()
    rest = np.setdiff1d(np.arange(200), chosen)
    np.testing.assert_array_equal(xp[rest], x[rest])
    np.testing.assert_array_equal(yp[rest], y[rest])
    np.testing.assert_array_equal(xp[chosen, :9], x[chosen, :9])
    _, _, none = sh.poison(x, y, 0.0, target=2, pixels=[9], rng=np.random.default_rng(8))
    assert len(none) == 0


def test_attack_success_rate_by_hand():
    pred = np.array([0, 0, 1, 0, 2])
    y = np.array([0, 1, 1, 2, 2])
    # non-target examples: indices 1..4, of which 1 and 3 are predicted 0
    assert sh.attack_success_rate(pred, y, target=0) == 0.5


def test_invalid_arguments():
    with pytest.raises(ValueError, match="rho"):
        sh.group_counts(10, 1.5)
    with pytest.raises(ValueError, match="n must"):
        sh.group_counts(0, 0.5)
    with pytest.raises(ValueError, match="core_std"):
        sh.SpuriousProblem(core_std=0.0)
    with pytest.raises(ValueError, match="noise_dims"):
        sh.SpuriousProblem(noise_dims=-1)
    with pytest.raises(ValueError, match="rho"):
        sh.population_erm_weights(sh.SpuriousProblem(), 1.0)
    with pytest.raises(ValueError, match="probability vector"):
        sh.eg_update(np.array([0.5, 0.6]), np.zeros(2), 0.1)
    with pytest.raises(ValueError, match="eta"):
        sh.eg_update(np.array([0.5, 0.5]), np.zeros(2), -1.0)
    d = sh.sample_groups(sh.SpuriousProblem(), 20, 0.8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="method"):
        sh.train_linear(d, method="sgd", l2=0.0, steps=1, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        sh.train_linear(d, method="erm", l2=0.0, steps=1, lr=0.0)
    with pytest.raises(ValueError, match="steps"):
        sh.train_linear(d, method="erm", l2=0.0, steps=0, lr=0.1)
    with pytest.raises(ValueError, match="w must"):
        sh.linear_group_accuracy(np.zeros(3), 0.0, sh.SpuriousProblem())
    with pytest.raises(ValueError, match="pixels"):
        sh.apply_trigger(np.zeros((2, 4)), [4])
    with pytest.raises(ValueError, match="fraction"):
        sh.poison(np.zeros((4, 2)), np.array([0, 0, 0, 1]), 0.5, 0, [0],
                  np.random.default_rng(0))
    with pytest.raises(ValueError, match="target"):
        sh.attack_success_rate(np.array([0, 0]), np.array([0, 0]), 0)
    with pytest.raises(ValueError, match="g must"):
        sh.group_accuracy(np.array([0, 1]), np.array([0, 1]), np.array([0, 4]))


def test_population_logistic_fit_without_decay_is_the_closed_form():
    prob = sh.SpuriousProblem(core_mean=0.7, core_std=1.3, spurious_scale=2.0, noise_dims=4)
    w, b = sh.population_logistic_fit(prob, 0.9)
    w_ref, b_ref = sh.population_erm_weights(prob, 0.9)
    np.testing.assert_allclose(w, w_ref, atol=1e-6)
    assert abs(b - b_ref) < 1e-6


def test_population_logistic_fit_with_decay_matches_large_sample_sklearn():
    prob = sh.SpuriousProblem(core_mean=1.0, core_std=1.0, spurious_scale=1.0)
    l2, n = 0.1, 400_000
    d = sh.sample_groups(prob, n, 0.95, np.random.default_rng(11))
    ref = LogisticRegression(C=1 / (l2 * n), tol=1e-10, max_iter=1000).fit(d.x, d.y)
    w, b = sh.population_logistic_fit(prob, 0.95, l2=l2)
    np.testing.assert_allclose(w, ref.coef_[0], rtol=0.01)
    assert abs(b - ref.intercept_[0]) < 0.01


def test_population_logistic_fit_balanced_has_no_spurious_weight_and_is_stationary():
    prob = sh.SpuriousProblem(core_mean=1.0, core_std=1.0, spurious_scale=1.0)
    w, b = sh.population_logistic_fit(prob, 0.95, l2=0.1, objective="balanced")
    assert abs(w[1]) < 1e-8 and abs(b) < 1e-8
    # stationarity in w_core by Monte Carlo: E[-(2y-1) sigmoid(-margin) x_core] + l2 w_core = 0
    d = sh.sample_groups(prob, 400_000, 0.5, np.random.default_rng(12))
    sign = 2.0 * d.y - 1.0
    grad = np.mean(-sign * (1 / (1 + np.exp(sign * (d.x @ w + b)))) * d.x[:, 0]) + 0.1 * w[0]
    assert abs(grad) < 2e-3


def test_max_margin_separator_kkt_and_sklearn():
    from sklearn.svm import SVC

    rng = np.random.default_rng(13)
    x = rng.normal(size=(30, 50))
    y = rng.integers(0, 2, size=30)
    w, b = sh.max_margin_separator(x, y)
    z = (2 * y - 1)[:, None] * np.hstack([x, np.ones((30, 1))])
    margins = z @ np.append(w, b)
    assert margins.min() > 1 - 1e-8                      # feasible
    # KKT: u = Z^T alpha with alpha >= 0 supported on the margin-1 examples
    active = margins < 1 + 1e-6
    alpha, *_ = np.linalg.lstsq(z[active].T, np.append(w, b), rcond=None)
    np.testing.assert_allclose(z[active].T @ alpha, np.append(w, b), atol=1e-8)
    assert alpha.min() > -1e-8
    # with a huge constant input the bias costs nothing, and sklearn's SVM (free intercept)
    # on the unaugmented data must agree with ours on (x, c) for the direction of w
    c = 1e3
    w2, b2 = sh.max_margin_separator(np.hstack([x, np.full((30, 1), c)]), y)
    ref = SVC(kernel="linear", C=1e8, tol=1e-10).fit(x, y)
    np.testing.assert_allclose(w2[:-1], ref.coef_[0], rtol=1e-3, atol=1e-4)


def test_gradient_descent_approaches_max_margin_direction():
    prob = sh.SpuriousProblem(noise_dims=60)
    d = sh.sample_groups(prob, 40, 0.8, np.random.default_rng(14))
    w, b = sh.max_margin_separator(d.x, d.y)
    u = np.append(w, b)
    cosines = []
    for steps in (100, 5000):
        fit = sh.train_linear(d, method="erm", l2=0.0, steps=steps, lr=1.0)
        v = np.append(fit.w, fit.b)
        cosines.append(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    assert cosines[1] > cosines[0] and cosines[1] > 0.95


def test_new_functions_refuse_bad_arguments():
    with pytest.raises(ValueError, match="objective"):
        sh.population_logistic_fit(sh.SpuriousProblem(), 0.9, objective="dro")
    with pytest.raises(ValueError, match="l2"):
        sh.population_logistic_fit(sh.SpuriousProblem(), 0.9, l2=-1.0)
    with pytest.raises(ValueError, match="rho"):
        sh.population_logistic_fit(sh.SpuriousProblem(), 0.0)
    with pytest.raises(ValueError, match="singular"):
        sh.max_margin_separator(np.ones((5, 2)), np.array([0, 1, 0, 1, 0]))
    with pytest.raises(ValueError, match="y must"):
        sh.max_margin_separator(np.zeros((2, 3)), np.array([0, 2]))
