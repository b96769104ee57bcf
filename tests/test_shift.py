import re

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


# --- exact argument checks, defaults and hand-computed edge cases ------------------------------

def _raises(exc: type[Exception], msg: str):
    """pytest.raises matching the whole message exactly (argument name and expectation)."""
    return pytest.raises(exc, match="^" + re.escape(msg) + "$")


_P = sh.SpuriousProblem()
_D8 = sh.sample_groups(_P, 8, 0.5, np.random.default_rng(0))
_RNG = np.random.default_rng(0)

_BAD_ARGUMENTS = [
    (lambda: sh.SpuriousProblem(core_mean=0.0), ValueError,
     "core_mean must be a finite number in (0.0, inf], got 0.0."),
    (lambda: sh.SpuriousProblem(core_std=True), ValueError,
     "core_std must be a real number, got True."),
    (lambda: sh.SpuriousProblem(core_std=-1.0), ValueError,
     "core_std must be a finite number in (0.0, inf], got -1.0."),
    (lambda: sh.SpuriousProblem(spurious_scale=np.inf), ValueError,
     "spurious_scale must be a finite number in (0.0, inf], got inf."),
    (lambda: sh.SpuriousProblem(spurious_scale=0), ValueError,
     "spurious_scale must be a finite number in (0.0, inf], got 0."),
    (lambda: sh.SpuriousProblem(noise_std=-1.0), ValueError,
     "noise_std must be a finite number in [0.0, inf], got -1.0."),
    (lambda: sh.SpuriousProblem(noise_dims=1.0), ValueError,
     "noise_dims must be a non-negative integer, got 1.0."),
    (lambda: sh.SpuriousProblem(noise_dims=True), ValueError,
     "noise_dims must be a non-negative integer, got True."),
    (lambda: sh.SpuriousProblem(noise_dims=-1), ValueError,
     "noise_dims must be a non-negative integer, got -1."),
    (lambda: sh.group_counts(4, -0.1), ValueError,
     "rho must be a finite number in [0.0, 1.0], got -0.1."),
    (lambda: sh.group_counts(4, 1.1), ValueError,
     "rho must be a finite number in [0.0, 1.0], got 1.1."),
    (lambda: sh.group_counts(0, 0.5), ValueError, "n must be a positive integer, got 0."),
    (lambda: sh.sample_groups(None, 4, 0.5, _RNG), TypeError,
     "problem must be a SpuriousProblem, got NoneType."),
    (lambda: sh.sample_groups(_P, 4, 0.5, 0), TypeError,
     "rng must be a numpy.random.Generator, got int."),
    (lambda: sh.group_accuracy(np.zeros(2), np.zeros(3), np.zeros(3)), ValueError,
     "pred and y must be 1-D of the same shape, got (2,) and (3,)."),
    (lambda: sh.group_accuracy(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2)), ValueError,
     "pred and y must be 1-D of the same shape, got (2, 2) and (2, 2)."),
    (lambda: sh.group_accuracy(np.zeros(2), np.zeros(2), np.zeros(3)), ValueError,
     "g must have shape (2,), got (3,)."),
    (lambda: sh.group_accuracy(np.zeros(2), np.zeros(2), np.array([-1, 0])), ValueError,
     "g must hold groups in 0..3."),
    (lambda: sh.group_losses(np.zeros(2), 0.0, np.zeros((2, 2)), np.zeros(2),
                             np.array([0, 4])), ValueError, "g must hold groups in 0..3."),
    (lambda: sh.linear_group_accuracy(np.zeros(3), 0.0, _P), ValueError,
     "w must have shape (2,), got (3,)."),
    (lambda: sh.linear_group_accuracy(np.zeros(2), np.nan, _P), ValueError,
     "b must be a finite number in [-inf, inf], got nan."),
    (lambda: sh.population_erm_weights(_P, 0.0), ValueError,
     "rho must be a finite number in (0.0, 1.0), got 0.0."),
    (lambda: sh.population_erm_weights(_P, -0.5), ValueError,
     "rho must be a finite number in (0.0, 1.0), got -0.5."),
    (lambda: sh.population_erm_weights(_P, 1.0), ValueError,
     "rho must be a finite number in (0.0, 1.0), got 1.0."),
    (lambda: sh.population_logistic_fit("p", 0.5), TypeError,
     "problem must be a SpuriousProblem, got str."),
    (lambda: sh.population_logistic_fit(_P, 1.0), ValueError,
     "rho must be a finite number in (0.0, 1.0), got 1.0."),
    (lambda: sh.population_logistic_fit(_P, 0.5, l2=-0.1), ValueError,
     "l2 must be a finite number in [0.0, inf], got -0.1."),
    (lambda: sh.population_logistic_fit(_P, 0.5, objective="dro"), ValueError,
     "objective must be 'erm' or 'balanced', got 'dro'."),
    (lambda: sh.eg_update(np.array([1.0]), np.zeros(2), 0.1), ValueError,
     "q and losses must be 1-D of the same shape, got (1,) and (2,)."),
    (lambda: sh.eg_update(np.ones((1, 1)), np.zeros((1, 1)), 0.1), ValueError,
     "q and losses must be 1-D of the same shape, got (1, 1) and (1, 1)."),
    (lambda: sh.eg_update(np.array([0.5, 0.5]), np.zeros(2), -1.0), ValueError,
     "eta must be a finite number in [0.0, inf], got -1.0."),
    (lambda: sh.train_linear(None, method="erm", l2=0.0, steps=1, lr=0.1), TypeError,
     "data must be a GroupData, got NoneType."),
    (lambda: sh.train_linear(_D8, method="sgd", l2=0.0, steps=1, lr=0.1), ValueError,
     "method must be one of ('erm', 'reweight', 'dro'), got 'sgd'."),
    (lambda: sh.train_linear(_D8, method="erm", l2=-0.1, steps=1, lr=0.1), ValueError,
     "l2 must be a finite number in [0.0, inf], got -0.1."),
    (lambda: sh.train_linear(_D8, method="erm", l2=0.0, steps=0, lr=0.1), ValueError,
     "steps must be a positive integer, got 0."),
    (lambda: sh.train_linear(_D8, method="erm", l2=0.0, steps=1, lr=0.0), ValueError,
     "lr must be a finite number in (0.0, inf], got 0.0."),
    (lambda: sh.train_linear(_D8, method="erm", l2=0.0, steps=1, lr=0.1, eta_q=-1.0),
     ValueError, "eta_q must be a finite number in [0.0, inf], got -1.0."),
    (lambda: sh.apply_trigger(np.zeros(3), [0]), ValueError,
     "x must have shape (n, d), got (3,)."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), []), ValueError,
     "pixels must be a non-empty 1-D list of integer indices, got []."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), [[0]]), ValueError,
     "pixels must be a non-empty 1-D list of integer indices, got [[0]]."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), [0.0]), ValueError,
     "pixels must be a non-empty 1-D list of integer indices, got [0.0]."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), [-1]), ValueError,
     "pixels must be indices in 0..2, got [-1]."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), [0, 3]), ValueError,
     "pixels must be indices in 0..2, got [0, 3]."),
    (lambda: sh.apply_trigger(np.zeros((2, 3)), [0], value="1"), ValueError,
     "value must be a real number, got '1'."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(2), 0.1, 0, [0], _RNG), ValueError,
     "x and y must have shapes (n, d) and (n,), got (3, 2) and (2,)."),
    (lambda: sh.poison(np.zeros(3), np.zeros(3), 0.1, 0, [0], _RNG), ValueError,
     "x and y must have shapes (n, d) and (n,), got (3,) and (3,)."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros((3, 1)), 0.1, 0, [0], _RNG), ValueError,
     "x and y must have shapes (n, d) and (n,), got (3, 2) and (3, 1)."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(3), -0.1, 0, [0], _RNG), ValueError,
     "fraction must be a finite number in [0.0, 1.0], got -0.1."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(3), 1.5, 0, [0], _RNG), ValueError,
     "fraction must be a finite number in [0.0, 1.0], got 1.5."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(3), 0.1, 1.0, [0], _RNG), ValueError,
     "target must be an integer class, got 1.0."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(3), 0.1, True, [0], _RNG), ValueError,
     "target must be an integer class, got True."),
    (lambda: sh.poison(np.zeros((3, 2)), np.zeros(3), 0.1, 1, [0], 0), TypeError,
     "rng must be a numpy.random.Generator, got int."),
    (lambda: sh.poison(np.zeros((4, 2)), np.array([0, 0, 0, 1]), 0.5, 0, [0], _RNG),
     ValueError, "fraction=0.5 asks for 2 poisoned examples, but only 1 are not of class 0."),
    (lambda: sh.attack_success_rate(np.zeros(2), np.zeros(3), 0), ValueError,
     "pred and y must be 1-D of the same shape, got (2,) and (3,)."),
    (lambda: sh.attack_success_rate(np.zeros((1, 2)), np.zeros((1, 2)), 0), ValueError,
     "pred and y must be 1-D of the same shape, got (1, 2) and (1, 2)."),
    (lambda: sh.attack_success_rate(np.array([1, 1]), np.array([1, 1]), 1), ValueError,
     "no example has a true class other than target=1."),
    (lambda: sh.max_margin_separator(np.zeros(3), np.zeros(3)), ValueError,
     "x and y must have shapes (n, d) and (n,), got (3,) and (3,)."),
    (lambda: sh.max_margin_separator(np.zeros((3, 1)), np.zeros(2)), ValueError,
     "x and y must have shapes (n, d) and (n,), got (3, 1) and (2,)."),
    (lambda: sh.max_margin_separator(np.zeros((2, 3)), np.array([0, -1])), ValueError,
     "y must hold labels in {0, 1}."),
    (lambda: sh.max_margin_separator(np.ones((5, 2)), np.array([0, 1, 0, 1, 0])), ValueError,
     "the Gram matrix of the augmented inputs is singular: this solver needs linearly "
     "independent inputs (n <= d + 1)."),
]


@pytest.mark.parametrize("call, exc, msg", _BAD_ARGUMENTS)
def test_bad_arguments_exact_messages(call, exc, msg):
    """Each check raises the documented exception naming the argument and the expected range."""
    with _raises(exc, msg):
        call()


def test_array_valued_messages():
    """Messages that print an offending array start with the argument and the rule."""
    with pytest.raises(ValueError, match=r"^q must be a probability vector \(non-negative, "
                                         r"sum 1\), got \[ ?0\.5 +0\.6\]\.$"):
        sh.eg_update(np.array([0.5, 0.6]), np.zeros(2), 0.1)
    with pytest.raises(ValueError, match=r"^q must be a probability vector"):
        sh.eg_update(np.array([1.5, -0.5]), np.zeros(2), 0.1)     # sums to 1, negative entry
    with pytest.raises(ValueError, match=r"^losses must be finite, got \[ ?0\. +inf\]\.$"):
        sh.eg_update(np.array([0.5, 0.5]), np.array([0.0, np.inf]), 0.1)


def test_boundary_values_are_accepted():
    """Closed ends of the ranges are valid: noise_std = 0, rho in {0, 1}, eta = 0, l2 = 0,
    fraction = 1 when enough examples qualify, the last pixel index, group 3."""
    prob = sh.SpuriousProblem(noise_dims=2, noise_std=0.0)
    assert prob.noise_std == 0.0 and prob.dim == 4
    assert sh.group_counts(6, 0.0).tolist() == [0, 3, 3, 0]
    assert sh.group_counts(6, 1.0).tolist() == [3, 0, 0, 3]
    assert sh.group_counts(1, 0.5).tolist() == [0, 1, 0, 0]    # round(0.5) = 0 (half to even)
    np.testing.assert_allclose(sh.eg_update(np.array([0.2, 0.8]), np.array([5.0, 0.0]), 0),
                               [0.2, 0.8])
    _, yp, chosen = sh.poison(np.zeros((3, 1)), np.array([1, 1, 1]), 1.0, 0, [0],
                              np.random.default_rng(0))
    assert chosen.tolist() == [0, 1, 2] and yp.tolist() == [0, 0, 0]
    assert sh.apply_trigger(np.zeros((1, 3)), [2]).tolist() == [[0.0, 0.0, 1.0]]
    assert sh.group_accuracy(np.array([1]), np.array([1]), np.array([3]))[3] == 1.0


def test_spurious_problem_defaults_and_noise_free_sample():
    """Defaults mu = sigma = s = 1, no noise coordinates; x = [core, spurious] only."""
    assert (_P.core_mean, _P.core_std, _P.spurious_scale, _P.noise_dims, _P.noise_std) == \
        (1.0, 1.0, 1.0, 0, 1.0)
    assert _P.dim == 2
    d = sh.sample_groups(sh.SpuriousProblem(core_std=1e-9), 12, 0.5, np.random.default_rng(1))
    assert d.x.shape == (12, 2)
    assert d.y.dtype == d.a.dtype == d.g.dtype == np.int64
    # with a tiny core_std the core feature is 2y - 1 and the spurious one 2a - 1
    np.testing.assert_allclose(d.x, np.column_stack([2 * d.y - 1, 2 * d.a - 1]), atol=1e-8)
    assert np.bincount(d.g, minlength=4).tolist() == [3, 3, 3, 3]


def test_group_losses_by_hand():
    """Mean logistic loss log(1 + exp(-(2y - 1) score)) per group; nan for an empty group;
    a group with one example counts once."""
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [3.0, 0.0]])
    y = np.array([1, 0, 0, 1])
    g = np.array([0, 0, 1, 2])                            # group 3 empty, group 1 and 2 single
    w, b = np.array([1.0, -0.5]), 0.25
    scores = x @ w + b                                    # 1.25, -0.75, -1.25, 3.25
    margins = np.array([1.25, 0.75, 1.25, 3.25])
    per = np.log1p(np.exp(-margins))
    assert np.allclose(scores * (2 * y - 1), margins)
    out = sh.group_losses(w, b, x, y, g)
    np.testing.assert_allclose(out[:3], [(per[0] + per[1]) / 2, per[2], per[3]], rtol=1e-12)
    assert np.isnan(out[3])


def test_linear_group_accuracy_exact_formula_with_noise():
    """Gaussian score: mean w0 (2y-1) mu + w1 (2a-1) s + b, variance
    w0^2 sigma^2 + |w_noise|^2 noise_std^2 / noise_dims; accuracy Phi((2y-1) mean / sd)."""
    prob = sh.SpuriousProblem(core_mean=0.5, core_std=2.0, spurious_scale=3.0, noise_dims=2,
                              noise_std=3.0)
    w, b = np.array([1.0, 0.5, 2.0, -1.0]), -0.2
    sd = np.sqrt(1.0 * 4.0 + (4.0 + 1.0) * 9.0 / 2)
    expected = []
    for yy, aa in ((0, 0), (0, 1), (1, 0), (1, 1)):
        mean = 1.0 * (2 * yy - 1) * 0.5 + 0.5 * (2 * aa - 1) * 3.0 - 0.2
        expected.append(norm.cdf((2 * yy - 1) * mean / sd))
    np.testing.assert_allclose(sh.linear_group_accuracy(w, b, prob), expected, rtol=1e-12)


def test_linear_group_accuracy_deterministic_score():
    """With w_core = 0 and no noise the score is w1 (2a - 1) s + b exactly: the accuracy is
    0 or 1 per group. w = (0, 1), b = 0.5: scores -0.5 (a = 0), 1.5 (a = 1)."""
    acc = sh.linear_group_accuracy(np.array([0.0, 1.0]), 0.5, _P)
    np.testing.assert_array_equal(acc, [1.0, 0.0, 0.0, 1.0])
    assert acc.dtype == np.float64
    # the same classifier on a sample
    d = sh.sample_groups(_P, 8, 0.5, np.random.default_rng(2))
    pred = (d.x @ np.array([0.0, 1.0]) + 0.5 > 0).astype(int)
    np.testing.assert_array_equal(sh.group_accuracy(pred, d.y, d.g), acc)


def test_population_erm_weights_general_parameters():
    """w = (2 mu / sigma^2, log(rho / (1 - rho)) / s, 0, ...), b = 0."""
    prob = sh.SpuriousProblem(core_mean=0.6, core_std=2.0, spurious_scale=4.0, noise_dims=2)
    w, b = sh.population_erm_weights(prob, 0.2)
    np.testing.assert_allclose(w, [2 * 0.6 / 4.0, np.log(0.25) / 4.0, 0.0, 0.0], rtol=1e-12)
    assert b == 0.0


def _population_gradient(prob, rho, l2, w0, w1, b, shares=None):
    """Gradient of sum_g q_g E[log(1 + exp(-m))] + l2/2 (w0^2 + w1^2) by scipy quad."""
    from scipy.integrate import quad
    from scipy.special import expit

    mu, sigma, s = prob.core_mean, prob.core_std, prob.spurious_scale
    if shares is None:
        shares = [rho / 2, (1 - rho) / 2, (1 - rho) / 2, rho / 2]
    grad = np.array([l2 * w0, l2 * w1, 0.0])
    for k, q in enumerate(shares):
        sy, sa = 2 * (k // 2) - 1, 2 * (k % 2) - 1

        def integrand(x0, j, sy=sy, sa=sa):
            m = sy * (w0 * x0 + w1 * sa * s + b)
            feature = (x0, sa * s, 1.0)[j]
            return -sy * expit(-m) * feature * norm.pdf(x0, sy * mu, sigma)

        for j in range(3):
            grad[j] += q * quad(integrand, sy * mu - 12 * sigma, sy * mu + 12 * sigma,
                                args=(j,))[0]
    return grad


@pytest.mark.parametrize("objective", ["erm", "balanced"])
def test_population_logistic_fit_is_stationary_by_quadrature(objective):
    """At the returned (w_core, w_spurious, b) the gradient of the penalized population loss,
    integrated independently with scipy.integrate.quad, vanishes; noise weights are 0."""
    prob = sh.SpuriousProblem(core_mean=0.8, core_std=1.5, spurious_scale=2.0, noise_dims=1)
    rho, l2 = 0.7, 0.3
    w, b = sh.population_logistic_fit(prob, rho, l2=l2, objective=objective)
    assert w.shape == (3,) and w[2] == 0.0
    shares = None if objective == "erm" else [0.25] * 4
    grad = _population_gradient(prob, rho, l2, w[0], w[1], b, shares)
    np.testing.assert_allclose(grad, 0.0, atol=1e-7)
    assert w[0] > 0.1                                     # not the trivial point


def test_population_logistic_fit_balanced_without_decay_is_uncorrelated_erm():
    """Equal group weights without decay: the rho = 1/2 problem, whose minimizer is
    (2 mu / sigma^2, 0) by population_erm_weights' closed form."""
    prob = sh.SpuriousProblem(core_mean=0.5, core_std=1.2, spurious_scale=0.7)
    w, b = sh.population_logistic_fit(prob, 0.9, objective="balanced")
    np.testing.assert_allclose(w, [2 * 0.5 / 1.44, 0.0], atol=1e-6)
    assert abs(b) < 1e-6


def test_train_linear_missing_group_first_step_by_hand():
    """With group 2 absent, reweighting puts q = 1/3 on the three present groups and 0 on the
    absent one; from w = 0 every example has loss gradient -(2y - 1) / 2 w.r.t. its score,
    weighted by q_g / n_g."""
    x = np.array([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0], [-1.0, 0.5]])
    y = np.array([0, 0, 1, 1])
    data = sh.GroupData(x, y, np.array([0, 1, 1, 1]), np.array([0, 1, 3, 3]))
    fit = sh.train_linear(data, method="reweight", l2=0.5, steps=1, lr=0.1)
    np.testing.assert_allclose(fit.q, [[1 / 3, 1 / 3, 0.0, 1 / 3]])
    n_g = np.array([1, 1, 0, 2])
    coef = np.array([-(2 * yi - 1) * 0.5 * (1 / 3) / n_g[gi] for yi, gi in zip(y, data.g)])
    np.testing.assert_allclose(fit.w, -0.1 * (x.T @ coef), rtol=1e-12)
    assert fit.b == pytest.approx(-0.1 * coef.sum(), rel=1e-12)
    # the recorded group losses are those of the final model, nan for the absent group
    m = (2 * y - 1) * (x @ fit.w + fit.b)
    per = np.log1p(np.exp(-m))
    np.testing.assert_allclose(fit.train_group_loss[[0, 1, 3]],
                               [per[0], per[1], (per[2] + per[3]) / 2], rtol=1e-12)
    assert np.isnan(fit.train_group_loss[2])
    # ERM uses the shares 1/4, 1/4, 0, 1/2
    erm = sh.train_linear(data, method="erm", l2=0.0, steps=2, lr=0.1)
    np.testing.assert_allclose(erm.q, [[0.25, 0.25, 0.0, 0.5]] * 2)


def test_train_linear_dro_with_missing_group():
    """DRO starts from 1/3 on the present groups; the absent group keeps weight 0 and the
    first update is eg_update(1/3, log 2 each) = unchanged (all losses equal at w = 0)."""
    x = np.array([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0], [-1.0, 0.5]])
    data = sh.GroupData(x, np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]),
                        np.array([0, 1, 3, 3]))
    fit = sh.train_linear(data, method="dro", l2=0.0, steps=3, lr=0.1, eta_q=1.0)
    np.testing.assert_allclose(fit.q[0], [1 / 3, 1 / 3, 0.0, 1 / 3], rtol=1e-12)
    assert np.all(fit.q[:, 2] == 0.0)
    np.testing.assert_allclose(fit.q.sum(axis=1), 1.0)


def test_train_linear_dro_default_eta_matches_autograd():
    """The default eta_q is 0.1: same result as the torch reference with eta_q = 0.1."""
    d = sh.sample_groups(sh.SpuriousProblem(noise_dims=1), 24, 0.75, np.random.default_rng(9))
    fit = sh.train_linear(d, method="dro", l2=0.0, steps=6, lr=0.5)
    w, b, q = _torch_reference(d, "dro", 0.0, 6, 0.5, 0.1)
    np.testing.assert_allclose(fit.w, w, rtol=1e-9, atol=1e-12)
    assert abs(fit.b - b) < 1e-10
    np.testing.assert_allclose(fit.q[-1], q, rtol=1e-9)


def test_apply_trigger_default_value_and_poison_passes_value():
    """apply_trigger writes 1.0 by default; poison stamps the value it is given."""
    assert sh.apply_trigger(np.zeros((2, 2)), np.array([1])).tolist() == [[0, 1], [0, 1]]
    x = np.zeros((4, 3))
    y = np.array([0, 1, 1, 1])
    xp, yp, chosen = sh.poison(x, y, 0.5, np.int64(0), [0, 2], np.random.default_rng(3),
                               value=0.3)
    assert len(chosen) == 2 and set(chosen.tolist()) <= {1, 2, 3}
    np.testing.assert_array_equal(xp[chosen], [[0.3, 0.0, 0.3]] * 2)
    assert (yp[chosen] == 0).all() and x.sum() == 0
    # round(fraction * n): 0.3 * 4 = 1.2 -> 1 example
    assert len(sh.poison(x, y, 0.3, 0, [0], np.random.default_rng(3))[2]) == 1


def test_max_margin_separator_by_hand():
    """Two points in 1-D. x = (1, -1), y = (1, 0): (w, b) = (1, 0). x = (2, 0), y = (1, 0):
    minimize w^2 + b^2 subject to 2w + b >= 1, -b >= 1, so b = -1, w = 1."""
    w, b = sh.max_margin_separator(np.array([[1.0], [-1.0]]), np.array([1, 0]))
    np.testing.assert_allclose(w, [1.0], atol=1e-12)
    assert abs(b) < 1e-12
    w, b = sh.max_margin_separator(np.array([[2.0], [0.0]]), np.array([1, 0]))
    np.testing.assert_allclose(w, [1.0], atol=1e-12)
    assert b == pytest.approx(-1.0, abs=1e-12)


def test_linear_group_accuracy_score_exactly_zero():
    """A constant score of exactly 0 predicts class 0 (the rule is ``1[score > 0]``), so the
    y = 0 groups are all right and the y = 1 groups all wrong. w = (0, 0), b = 0: every score
    is 0, so the exact accuracy is (1, 1, 0, 0); checked against the same rule on a sample.
    (Found by the mutation work: the zero-variance branch used ``sign * mean > 0`` and gave 0
    for y = 0.)"""
    w = np.array([0.0, 0.0])
    acc = sh.linear_group_accuracy(w, 0.0, _P)
    np.testing.assert_array_equal(acc, [1.0, 1.0, 0.0, 0.0])
    d = sh.sample_groups(_P, 8, 0.5, np.random.default_rng(3))
    pred = (d.x @ w + 0.0 > 0).astype(int)
    np.testing.assert_array_equal(sh.group_accuracy(pred, d.y, d.g), acc)
    # w = (0, 1), b = 1 with s = 1: scores 0 (a = 0) and 2 (a = 1), per group (y, a)
    prob = sh.SpuriousProblem(spurious_scale=1.0)
    np.testing.assert_array_equal(sh.linear_group_accuracy(np.array([0.0, 1.0]), 1.0, prob),
                                  [1.0, 0.0, 0.0, 1.0])
