"""Tests of dlscience.bounds against brute force, scipy and closed forms."""

import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from dlscience import bounds
from scipy.stats import binom


def test_hoeffding_dominates_exact_binomial_tail():
    n, p = 200, 0.3
    k = np.arange(n + 1)
    pmf = binom.pmf(k, n, p)
    for eps in np.linspace(0.0, 0.3, 31):
        exact = pmf[np.abs(k / n - p) >= eps - 1e-12].sum()
        assert exact <= bounds.hoeffding_tail(n, eps) + 1e-12, eps
        upper = binom.sf(np.ceil(n * (p + eps) - 1e-9) - 1, n, p)  # P(mean >= p + eps)
        assert upper <= bounds.hoeffding_tail(n, eps, two_sided=False) + 1e-12, eps


def test_hoeffding_epsilon_inverts_the_tail():
    eps = bounds.hoeffding_epsilon(500, 0.05)
    assert bounds.hoeffding_tail(500, eps) == pytest.approx(0.05)
    assert bounds.union_bound_epsilon(500, 0.0, 0.05) == pytest.approx(eps)
    assert bounds.union_bound_epsilon(500, math.log(10), 0.05) == pytest.approx(
        bounds.hoeffding_epsilon(500, 0.005))


def test_sauer_log_growth_matches_sum_of_binomials():
    for n, d in [(10, 3), (20, 0), (7, 7), (5, 9), (300, 4)]:
        exact = sum(math.comb(n, i) for i in range(min(d, n) + 1))
        assert bounds.sauer_log_growth(n, d) == pytest.approx(math.log(exact), rel=1e-10)


def test_vc_bound_vacuous_when_dimension_exceeds_n_and_sample_complexity_is_tight():
    assert bounds.vc_gap_bound(100, 100, 0.05) > 1.0
    n = bounds.vc_sample_complexity(10, 0.1, 0.05)
    assert bounds.vc_gap_bound(n, 10, 0.05) <= 0.1 < bounds.vc_gap_bound(n - 1, 10, 0.05)


def test_halfplanes_shatter_three_points_not_four():
    triangle = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert bounds.count_dichotomies(triangle) == 8
    collinear = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert bounds.count_dichotomies(collinear) == 6
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert bounds.count_dichotomies(square) == bounds.cover_count(4, 2) == 14
    assert not bounds.affinely_separable(square, np.array([0, 1, 1, 0]))  # XOR
    side = bounds.radon_partition(square)
    assert side[0] == side[3] and side[1] == side[2] and side[0] != side[1]


def test_cover_count_matches_brute_force_in_general_position():
    rng = np.random.default_rng(0)
    for m in range(1, 7):
        assert bounds.count_dichotomies(rng.normal(size=(m, 2))) == bounds.cover_count(m, 2)


def test_rademacher_linear_against_exact_enumeration():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    exact = np.mean([np.linalg.norm(np.array(s) @ x) for s in
                     itertools.product((-1.0, 1.0), repeat=8)]) * 2.0 / 8
    mc = bounds.rademacher_linear(x, norm_bound=2.0, num_draws=20_000, seed=0)
    assert mc == pytest.approx(exact, rel=0.02)
    bound = bounds.rademacher_linear_bound(x, 2.0)
    assert exact <= bound and exact >= bound / math.sqrt(2)  # Jensen; Khintchine-Kahane


def test_rademacher_finite_of_one_function_is_zero_and_of_sign_flips_is_mean_abs():
    a = np.random.default_rng(2).normal(size=(1, 50))
    assert abs(bounds.rademacher_finite(a, 20_000)) < 0.02
    both = np.vstack([a, -a])  # E|sum sigma_i a_i| / n
    direct = bounds.rademacher_linear(a.T, 1.0, 20_000)  # the 1-d linear class: same quantity
    assert bounds.rademacher_finite(both, 20_000) == pytest.approx(direct, rel=0.03)


def test_kl_inverse_against_brute_force_grid():
    grid = np.linspace(0.0, 1.0, 200_001)
    for q, c in [(0.0, 0.1), (0.1, 0.05), (0.3, 0.001), (0.5, 2.0), (0.9, 0.3), (1.0, 0.2)]:
        ok = grid[(grid >= q) & (bounds.kl_bernoulli(q, grid) <= c)]
        brute = ok.max()
        assert bounds.kl_inverse(q, c) == pytest.approx(brute, abs=1e-5)
        assert bounds.kl_inverse(q, c) >= brute


def test_pac_bayes_bounds_order_and_limits():
    for emp, kl, n in [(0.05, 100.0, 5000), (0.3, 10.0, 1000), (0.0, 500.0, 60_000)]:
        mca = bounds.mcallester_bound(emp, kl, n, 0.05)
        seeger = bounds.pac_bayes_kl_bound(emp, kl, n, 0.05)
        assert emp <= seeger <= mca  # Pinsker
        catoni = min(bounds.catoni_bound(emp, kl, n, 0.05, b) for b in np.geomspace(0.1, 50, 60))
        assert emp <= catoni < 1
    assert bounds.sample_convergence_bound(0.2, 10**9, 0.01) == pytest.approx(0.2, abs=1e-3)


def test_gaussian_kl_against_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mq, lq, mp = (torch.randn(30, generator=g, dtype=torch.float64) for _ in range(3))
    q = torch.distributions.Normal(mq, lq.exp())
    p = torch.distributions.Normal(mp, torch.full_like(mp, 0.7))
    expected = torch.distributions.kl_divergence(q, p).sum()
    assert torch.allclose(bounds.gaussian_kl(mq, lq, mp, 0.7), expected)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="delta"):
        bounds.hoeffding_epsilon(10, 1.5)
    with pytest.raises(ValueError, match="vc_dim"):
        bounds.vc_gap_bound(10, -1, 0.1)
    with pytest.raises(ValueError, match="labels"):
        bounds.affinely_separable(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="points"):
        bounds.radon_partition(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="q"):
        bounds.kl_inverse(1.2, 0.1)


def test_mlp_logits_matches_the_torch_module_and_gibbs_errors_at_zero_std():
    from dlscience import models

    torch.manual_seed(0)
    widths = [5, 7, 6, 3]
    nets = [models.MLP(widths) for _ in range(3)]
    theta = torch.stack([torch.nn.utils.parameters_to_vector(m.parameters()) for m in nets])
    x = torch.randn(11, 5)
    out = bounds.mlp_logits(theta, x, widths)
    with torch.no_grad():
        for k, m in enumerate(nets):
            assert torch.allclose(out[k], m(x), atol=1e-6)
    y = out[0].argmax(-1)
    y[:3] = (y[:3] + 1) % 3
    errs = bounds.gibbs_errors(theta[0].detach(), torch.zeros(theta.shape[1]), x, y, widths, 4)
    assert np.allclose(errs, 3 / 11)


def test_test_set_bound_is_the_clopper_pearson_limit_and_below_its_chernoff_relaxation():
    from scipy.stats import beta

    for k, m, delta in [(0, 100, 0.05), (3, 100, 0.05), (17, 449, 0.025), (50, 60, 0.2)]:
        b = bounds.test_set_bound(k, m, delta)
        assert b == pytest.approx(beta.ppf(1 - delta, k + 1, m - k), abs=1e-9)
        assert binom.cdf(k, m, b) == pytest.approx(delta, rel=1e-6)
        assert b <= bounds.kl_inverse(k / m, math.log(1 / delta) / m) + 1e-12
    assert bounds.test_set_bound(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100))
    assert bounds.test_set_bound(7, 7, 0.1) == 1.0
    with pytest.raises(ValueError, match="errors"):
        bounds.test_set_bound(8, 7, 0.1)


def test_gibbs_errors_streams_reproducibly_and_matches_module_forward_passes():
    from dlscience import models

    torch.manual_seed(1)
    widths = [4, 6, 3]
    mean = torch.nn.utils.parameters_to_vector(models.MLP(widths).parameters()).detach()
    std = torch.full_like(mean, 0.3)
    x = torch.randn(20, 4)
    y = torch.randint(0, 3, (20,))
    errs = bounds.gibbs_errors(mean, std, x, y, widths, 23, seed=5, chunk=7)  # 3 full + 1 part
    assert errs.shape == (23,) and np.all((errs >= 0) & (errs <= 1))
    assert np.array_equal(errs, bounds.gibbs_errors(mean, std, x, y, widths, 23, seed=5, chunk=7))
    # The same draws, replayed chunk by chunk, through torch modules.
    gen = torch.Generator().manual_seed(5)
    expected = []
    for k in (7, 7, 7, 2):
        for theta in mean + std * torch.randn(k, mean.numel(), generator=gen):
            net = models.MLP(widths)
            torch.nn.utils.vector_to_parameters(theta, net.parameters())
            with torch.no_grad():
                expected.append(float((net(x).argmax(1) != y).float().mean()))
    assert np.allclose(errs, expected)
    with pytest.raises(ValueError, match="y must"):
        bounds.gibbs_errors(mean, std, x, y[:5], widths, 3)


def test_realizable_epsilon_solves_the_union_bound_equation():
    for n, k, delta in [(100, 10, 0.05), (1000, 4097, 0.01), (7, 1, 0.5)]:
        eps = bounds.realizable_epsilon(n, math.log(k), delta)
        assert k * math.exp(-n * eps) == pytest.approx(delta)
        assert k * (1 - min(eps, 1.0)) ** n <= delta + 1e-15  # (1 - eps)^n <= e^(-n eps)
    with pytest.raises(ValueError, match="log_class_size"):
        bounds.realizable_epsilon(10, -1.0, 0.05)


def test_ridge_stability_bound_by_hand_and_against_replace_one_experiments():
    assert bounds.ridge_stability_bound(1.0, 1.0, 1.0, 1) == pytest.approx(16.0)
    assert bounds.ridge_stability_bound(2.0, 0.5, 0.25, 10) == pytest.approx(
        (2 * 0.5 * (1 + 2 / 0.5)) ** 2 * 4 / (0.25 * 10))
    rng = np.random.default_rng(0)
    d, n = 3, 20

    def ridge(x, y, lam):
        return np.linalg.solve(x.T @ x / len(y) + lam * np.eye(x.shape[1]), x.T @ y / len(y))

    def sphere(k):
        u = rng.normal(size=(k, d))
        return u / np.linalg.norm(u, axis=1, keepdims=True)

    for lam in (0.01, 0.1, 1.0):
        worst = 0.0
        for _ in range(50):
            x, y = sphere(n), rng.choice([-1.0, 1.0], size=n)
            w = ridge(x, y, lam)
            assert np.linalg.norm(w) <= 1 / math.sqrt(lam) + 1e-12
            x2, y2 = x.copy(), y.copy()
            x2[0], y2[0] = sphere(1)[0], -y[0]
            w2 = ridge(x2, y2, lam)
            xt = sphere(200)
            for yt in (-1.0, 1.0):
                worst = max(worst, np.abs((xt @ w - yt) ** 2 - (xt @ w2 - yt) ** 2).max())
        assert 0 < worst <= bounds.ridge_stability_bound(1.0, 1.0, lam, n)
    with pytest.raises(ValueError, match="lam"):
        bounds.ridge_stability_bound(1.0, 1.0, 0.0, 10)


def test_hoeffding_and_union_bound_hand_values():
    # 2 exp(-2 n eps^2) at n = 100, eps = 0.1 is 2 e^-2; one side e^-2; capped at 1.
    assert float(bounds.hoeffding_tail(100, 0.1)) == pytest.approx(2 * math.exp(-2), rel=1e-12)
    assert float(bounds.hoeffding_tail(100, 0.1, two_sided=False)) == pytest.approx(
        math.exp(-2), rel=1e-12)
    assert float(bounds.hoeffding_tail(100, 0.0)) == 1.0
    # sqrt(log(2/0.05) / (2*500)) and sqrt(log(1/0.05) / 1000), written out.
    assert bounds.hoeffding_epsilon(500, 0.05) == pytest.approx(
        math.sqrt(math.log(40.0) / 1000.0), rel=1e-12)
    assert bounds.hoeffding_epsilon(500, 0.05, two_sided=False) == pytest.approx(
        math.sqrt(math.log(20.0) / 1000.0), rel=1e-12)
    assert bounds.union_bound_epsilon(200, math.log(1000), 0.01) == pytest.approx(
        math.sqrt((math.log(1000) + math.log(200)) / 400.0), rel=1e-12)


def test_vc_gap_bound_hand_value():
    # n = 10, d = 2: Pi(10) <= 1 + 10 + 45 = 56 (Sauer);
    # gap = sqrt(2 log 56 / 10) + sqrt(log 20 / 20).
    expected = math.sqrt(2 * math.log(56) / 10) + math.sqrt(math.log(20) / 20)
    assert bounds.vc_gap_bound(10, 2, 0.05) == pytest.approx(expected, rel=1e-12)


def test_pac_bayes_bounds_hand_values():
    emp, kl, n, delta = 0.1, 20.0, 1000, 0.05
    budget = (kl + math.log(2 * math.sqrt(n) / delta)) / n  # Maurer's log(2 sqrt(n) / delta)
    assert bounds.mcallester_bound(emp, kl, n, delta) == pytest.approx(
        emp + math.sqrt(budget / 2), rel=1e-12)
    p = bounds.pac_bayes_kl_bound(emp, kl, n, delta)
    assert p > emp
    assert emp * math.log(emp / p) + (1 - emp) * math.log((1 - emp) / (1 - p)) == pytest.approx(
        budget, rel=1e-8)  # the kl-bound is the kl-inverse at exactly that budget
    beta = 2.0
    catoni = (1 - math.exp(-beta * emp - (kl + math.log(1 / delta)) / n)) / (1 - math.exp(-beta))
    assert bounds.catoni_bound(emp, kl, n, delta, beta) == pytest.approx(catoni, rel=1e-12)
    # Langford and Caruana: kl-inverse at log(2/delta)/m.
    q = bounds.sample_convergence_bound(0.2, 400, 0.01)
    assert 0.2 * math.log(0.2 / q) + 0.8 * math.log(0.8 / (1 - q)) == pytest.approx(
        math.log(200) / 400, rel=1e-8)


_VALID = {
    bounds.hoeffding_tail: dict(n=100, eps=0.1),
    bounds.hoeffding_epsilon: dict(n=100, delta=0.05),
    bounds.union_bound_epsilon: dict(n=100, log_class_size=1.0, delta=0.05),
    bounds.sauer_log_growth: dict(n=10, vc_dim=2),
    bounds.vc_gap_bound: dict(n=10, vc_dim=2, delta=0.05),
    bounds.vc_sample_complexity: dict(vc_dim=2, eps=0.1, delta=0.05),
    bounds.cover_count: dict(m=5, d=2),
    bounds.kl_inverse: dict(q=0.1, c=0.2),
    bounds.mcallester_bound: dict(emp_risk=0.1, kl=5.0, n=100, delta=0.05),
    bounds.pac_bayes_kl_bound: dict(emp_risk=0.1, kl=5.0, n=100, delta=0.05),
    bounds.catoni_bound: dict(emp_risk=0.1, kl=5.0, n=100, delta=0.05, beta=1.0),
    bounds.sample_convergence_bound: dict(emp_error=0.1, num_samples=100, delta=0.05),
    bounds.test_set_bound: dict(errors=3, m=100, delta=0.05),
    bounds.realizable_epsilon: dict(n=100, log_class_size=1.0, delta=0.05),
    bounds.ridge_stability_bound: dict(radius=1.0, y_max=1.0, lam=0.1, n=100),
    bounds.rademacher_finite: dict(outputs=np.ones((2, 5)), num_draws=10),
    bounds.rademacher_linear: dict(x=np.ones((5, 2)), norm_bound=1.0, num_draws=10),
    bounds.rademacher_linear_bound: dict(x=np.ones((5, 2)), norm_bound=1.0),
}
_BAD = {  # argument -> values a function must refuse, naming the argument
    "n": [0, -3, 2.5, True], "m": [0, 2.5], "d": [0], "vc_dim": [-1, 1.5],
    "num_samples": [0], "num_draws": [0], "errors": [-1, 101],
    "eps": [-0.1], "delta": [0.0, 1.0, 1.5], "log_class_size": [-1.0], "kl": [-0.5],
    "emp_risk": [-0.1, 1.1], "emp_error": [1.1], "q": [1.2, -0.2], "c": [-1.0],
    "beta": [0.0, -1.0], "radius": [0.0, float("inf")], "y_max": [-1.0], "lam": [0.0],
    "norm_bound": [-1.0], "outputs": [np.ones(5)], "x": [np.ones(5)],
}


@pytest.mark.parametrize("fn", list(_VALID), ids=lambda f: f.__name__)
def test_every_argument_is_validated_and_named(fn):
    fn(**_VALID[fn])  # the valid call works
    for name in _VALID[fn]:
        for bad in _BAD[name]:
            args = dict(_VALID[fn], **{name: bad})
            with pytest.raises(ValueError, match=rf"^{name}\b") as err:
                fn(**args)
            assert "must" in str(err.value), (fn.__name__, name, str(err.value))


def test_count_dichotomies_bounds_the_number_of_points_not_the_dimension():
    """One point in R^20 has both labelings realized (2 = Cover's count); m must be in [1, 16]."""
    assert bounds.count_dichotomies(np.arange(20.0)[None, :]) == 2 == bounds.cover_count(1, 20)
    with pytest.raises(ValueError, match=r"^points must be an \(m, d\) array with 1 <= m <= 16"):
        bounds.count_dichotomies(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"^points must be an \(m, d\) array"):
        bounds.count_dichotomies(np.zeros(3))


def test_affine_separator_labels_error_names_the_number_of_points():
    """Three points in R^2 need three labels; the message states the expected shape (3,)."""
    with pytest.raises(ValueError, match=r"^labels must be an \(3,\) array of 0/1"):
        bounds.affine_separator(np.zeros((3, 2)), np.array([0, 1]))


def test_kl_bernoulli_hand_values_edges_and_range_checks():
    """kl(q || p) by hand, with 0 log 0 = 0 and no warnings at the edges p in {0, 1}."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # divide-by-zero at the edges must stay silent
        assert bounds.kl_bernoulli(0.0, 0.5) == pytest.approx(math.log(2))  # log(1 / 0.5)
        assert bounds.kl_bernoulli(1.0, 0.25) == pytest.approx(math.log(4))  # log(1 / 0.25)
        assert bounds.kl_bernoulli(0.5, 0.0) == np.inf  # 0.5 log(0.5 / 0) = inf
        assert bounds.kl_bernoulli(0.5, 1.0) == np.inf
        assert bounds.kl_bernoulli(0.0, 0.0) == 0.0 and bounds.kl_bernoulli(1.0, 1.0) == 0.0
    # 0.3 log(0.3 / 0.6) + 0.7 log(0.7 / 0.4)
    expected = 0.3 * math.log(0.5) + 0.7 * math.log(1.75)
    assert bounds.kl_bernoulli(0.3, 0.6) == pytest.approx(expected, rel=1e-12)
    for q, p in [(-0.1, 0.5), (1.5, 0.5), (0.5, -0.1), (0.5, 1.5)]:
        with pytest.raises(ValueError, match=r"^q and p must lie in \[0, 1\]"):
            bounds.kl_bernoulli(q, p)


def test_mlp_logits_and_gibbs_errors_shape_errors_name_the_argument():
    """Wrong shapes are refused with messages giving the expected shape from the widths."""
    widths = [5, 7, 3]
    theta = torch.zeros(2, 5 * 7 + 7 + 7 * 3 + 3)
    with pytest.raises(ValueError, match=r"^x must be an \(n, 5\) array, got shape \(4, 6\)"):
        bounds.mlp_logits(theta, torch.zeros(4, 6), widths)
    # 5 * 7 + 7 + 7 * 3 + 3 = 66 parameters
    msg = r"^theta must be a \(K, 66\) array for widths \[5, 7, 3\], got shape \(2, 65\)"
    with pytest.raises(ValueError, match=msg):
        bounds.mlp_logits(theta[:, :-1], torch.zeros(4, 5), widths)
    mean, x, y = theta[0], torch.zeros(4, 5), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"^mean and std must be vectors of the same shape"):
        bounds.gibbs_errors(mean, mean[:-1], x, y, widths, 3)
    with pytest.raises(ValueError, match=r"^chunk must be a positive integer"):
        bounds.gibbs_errors(mean, mean, x, y, widths, 3, chunk=0)
    with pytest.raises(ValueError, match=r"^num_samples must be a positive integer"):
        bounds.gibbs_errors(mean, mean, x, y, widths, 0)
    with pytest.raises(ValueError, match=r"^y must be a vector of 4 labels, got shape \(3,\)"):
        bounds.gibbs_errors(mean, mean, x, y[:3], widths, 3)


def test_gibbs_errors_draws_in_the_dtype_of_the_mean():
    """Float64 parameters are drawn in float64: replay the default seed 0 and chunk 50 through
    double-precision torch modules."""
    from dlscience import models

    torch.manual_seed(2)
    widths = [3, 4, 3]
    mean = torch.nn.utils.parameters_to_vector(models.MLP(widths).parameters()).detach().double()
    std = torch.full_like(mean, 1.0)
    x = torch.randn(40, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    errs = bounds.gibbs_errors(mean, std, x, y, widths, 60)  # seed 0, chunks of 50 and 10
    gen = torch.Generator().manual_seed(0)
    expected = []
    for k in (50, 10):
        for theta in mean + std * torch.randn(k, mean.numel(), generator=gen, dtype=torch.float64):
            net = models.MLP(widths).double()
            torch.nn.utils.vector_to_parameters(theta, net.parameters())
            with torch.no_grad():
                expected.append(float((net(x).argmax(1) != y).double().mean()))
    assert np.array_equal(errs, expected)


def _cover_instance(m: int, trial: int, dim: int = 25, seed: int = 100):
    """The random-labels page's draw at (m, trial): points and labels (paper scale, offset 0)."""
    rng = np.random.default_rng(seed)
    for size in range(2, m + 1, 2):
        for k in range(400):
            x, y = rng.normal(size=(size, dim)), rng.integers(0, 2, size=size)
            if size == m and k == trial:
                return x, y
    raise AssertionError("unreachable")


def test_affine_separator_decides_where_highs_default_gives_up():
    # HiGHS's dual simplex ends this one with status "unknown"; the page's paper run raised.
    x, y = _cover_instance(60, 213)
    assert not bounds.affinely_separable(x, y)
    # the independent margin problem agrees: the largest margin in the unit box is 0
    signs = 2.0 * y - 1.0
    a = np.c_[-signs[:, None] * np.c_[x, np.ones(len(y))], np.ones(len(y))]
    cost = np.zeros(x.shape[1] + 2)
    cost[-1] = -1.0
    res = scipy.optimize.linprog(cost, A_ub=a, b_ub=np.zeros(len(y)),
                                 bounds=[(-1, 1)] * (x.shape[1] + 1) + [(None, 1)])
    assert res.status == 0 and res.x[-1] <= 1e-9


def test_affine_separator_margin_fallback(monkeypatch):
    """When every feasibility solve fails, the margin problem decides, and its answer is right."""
    real = bounds.linprog

    def failing_feasibility(c, *args, **kwargs):
        if not np.any(c):  # the feasibility problems have a zero objective
            return scipy.optimize.OptimizeResult(status=4, message="planted failure")
        return real(c, *args, **kwargs)

    monkeypatch.setattr(bounds, "linprog", failing_feasibility)
    square = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert bounds.affine_separator(square, np.array([0, 1, 1, 0])) is None  # XOR
    labels = np.array([0, 0, 1, 1])
    w = bounds.affine_separator(square, labels)
    assert w is not None
    scores = square @ w[:-1] + w[-1]
    assert np.all((2 * labels - 1) * scores >= 1 - 1e-9)
