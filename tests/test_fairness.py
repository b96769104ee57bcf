import warnings

import numpy as np
import pytest
from dlscience import fairness as fa
from dlscience.calibration import ece
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    true_positive_rate,
)
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_curve


def _random_data(seed, n=3000, groups=3):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, groups, n)
    y = (rng.random(n) < 0.2 + 0.2 * a).astype(int)
    score = expit(rng.normal(size=n) + 1.5 * (2 * y - 1) * (1 + 0.3 * a))
    return y, score, a


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_fairlearn(seed):
    y, score, a = _random_data(seed)
    pred = (score >= 0.5).astype(int)
    assert fa.demographic_parity_difference(pred, a) == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=a), abs=1e-12)
    assert fa.equalized_odds_difference(y, pred, a) == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=a), abs=1e-12)
    frame = MetricFrame(metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
                        y_true=y, y_pred=pred, sensitive_features=a)
    r = fa.group_rates(y, pred, a)
    np.testing.assert_allclose(r.tpr, frame.by_group["tpr"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(r.fpr, frame.by_group["fpr"].to_numpy(), atol=1e-12)


def test_group_rates_by_hand_and_randomized():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    pred = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    r = fa.group_rates(y, pred, a)
    np.testing.assert_allclose(r.base_rate, [0.5, 0.25])
    np.testing.assert_allclose(r.tpr, [0.5, 1.0])
    np.testing.assert_allclose(r.fpr, [0.5, 1 / 3])
    np.testing.assert_allclose(r.ppv, [0.5, 0.5])
    np.testing.assert_allclose(r.selection_rate, [0.5, 0.5])
    np.testing.assert_allclose(r.accuracy, [0.5, 0.75])
    # a randomized classifier: the expected rates are the mean probabilities
    prob = np.full(8, 0.3)
    r2 = fa.group_rates(y, prob, a)
    np.testing.assert_allclose(r2.tpr, [0.3, 0.3])
    np.testing.assert_allclose(r2.ppv, r2.base_rate)


@pytest.mark.parametrize("seed", [0, 1])
def test_chouldechova_identity_is_exact(seed):
    y, score, a = _random_data(seed)
    for t in (0.2, 0.5, 0.8):
        r = fa.group_rates(y, (score >= t).astype(int), a)
        np.testing.assert_allclose(fa.chouldechova_fpr(r.base_rate, r.ppv, r.fnr), r.fpr,
                                   rtol=1e-12)
    # it also holds for the expected rates of a randomized classifier
    r = fa.group_rates(y, 0.5 * score, a)
    np.testing.assert_allclose(fa.chouldechova_fpr(r.base_rate, r.ppv, r.fnr), r.fpr, rtol=1e-12)


def test_calibration_within_groups_with_the_shared_ece():
    # the page measures calibration within groups with dlscience.calibration's estimator
    y = np.array([0, 1, 1, 1])
    s = np.array([0.05, 0.15, 0.95, 1.0])
    assert ece(s, y, n_bins=2) == pytest.approx(0.5 * 0.4 + 0.5 * 0.025)
    # the Bayes score of the population is calibrated within each group: small ECE on a large
    # sample; a group-blind constant score (the pooled base rate) is not
    prob = fa.FairnessProblem()
    d = fa.sample_population(prob, 200_000, np.random.default_rng(0))
    s = fa.bayes_score(prob, d.x, d.a)
    pooled = np.full(d.y.shape, d.y.mean())
    for g in (0, 1):
        m = d.a == g
        assert ece(s[m], d.y[m], n_bins=10) < 0.01
        assert ece(pooled[m], d.y[m], n_bins=10) == pytest.approx(
            abs(d.y.mean() - d.y[m].mean()), abs=1e-12)
        assert abs(d.y.mean() - d.y[m].mean()) > 0.05


def test_population_rates_match_monte_carlo():
    prob = fa.FairnessProblem(group_share=0.4, base_rates=(0.2, 0.6), separations=(1.5, 0.7))
    d = fa.sample_population(prob, 400_000, np.random.default_rng(1))
    s = fa.bayes_score(prob, d.x, d.a)
    r = fa.group_rates(d.y, (s >= 0.4).astype(int), d.a)
    for g in (0, 1):
        fpr, tpr = fa.population_rates(prob, g, 0.4)
        assert r.fpr[g] == pytest.approx(fpr, abs=0.005)
        assert r.tpr[g] == pytest.approx(tpr, abs=0.005)
        assert fa.population_roc(prob, g, np.array([fpr]))[0] == pytest.approx(tpr, abs=1e-12)
    assert np.mean(d.a) == pytest.approx(0.4, abs=0.005)
    np.testing.assert_allclose(r.base_rate, [0.2, 0.6], atol=0.005)


def test_population_equalized_odds_matches_lp_on_a_large_sample():
    prob = fa.FairnessProblem()
    f, t, acc = fa.population_equalized_odds(prob)
    assert t == pytest.approx(fa.population_roc(prob, 1, np.array([f]))[0])   # weaker group
    # a grid search over F gives the same optimum
    grid = np.linspace(0, 1, 20001)
    tt = np.minimum(fa.population_roc(prob, 0, grid), fa.population_roc(prob, 1, grid))
    pi, p = np.array([0.65, 0.35]), np.array(prob.base_rates)
    accs = (pi * p).sum() * tt + (pi * (1 - p)).sum() * (1 - grid)
    assert acc == pytest.approx(accs.max(), abs=1e-8)
    d = fa.sample_population(prob, 300_000, np.random.default_rng(5))
    post = fa.fit_equalized_odds(d.y, fa.bayes_score(prob, d.x, d.a), d.a)
    assert 1 - post.error == pytest.approx(acc, abs=0.004)
    assert post.fpr == pytest.approx(f, abs=0.02) and post.tpr == pytest.approx(t, abs=0.02)


def test_population_generalized_rates_monte_carlo_and_calibration_line():
    prob = fa.FairnessProblem(group_share=0.5, base_rates=(0.25, 0.6), separations=(1.0, 0.6))
    gfpr, gfnr = fa.population_generalized_rates(prob)
    d = fa.sample_population(prob, 400_000, np.random.default_rng(6))
    p, neg, pos = fa.generalized_rates(d.y, fa.bayes_score(prob, d.x, d.a), d.a)
    np.testing.assert_allclose(gfpr, neg, atol=0.003)
    np.testing.assert_allclose(gfnr, 1 - pos, atol=0.003)
    # Kleinberg et al.'s line holds exactly for the (calibrated) Bayes score
    pr = np.array(prob.base_rates)
    np.testing.assert_allclose((1 - pr) * gfpr, pr * gfnr, rtol=1e-10)


def test_fit_logistic_first_order_conditions_and_sklearn():
    from sklearn.linear_model import LogisticRegression

    prob = fa.FairnessProblem()
    d = fa.sample_population(prob, 5000, np.random.default_rng(2))
    f = fa.design_matrix(d.x, d.a)
    assert f.shape == (5000, 2 + 2 * prob.dim)
    w = fa.fit_logistic(f, d.y)
    s = fa.logistic_score(f, w)
    # group indicators are in the span of the columns: mean score = base rate in each group
    p, neg, pos = fa.generalized_rates(d.y, s, d.a)
    np.testing.assert_allclose((1 - p) * neg + p * pos, p, atol=1e-8)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000, fit_intercept=False)
    ref.fit(f, d.y)
    np.testing.assert_allclose(w, ref.coef_[0], atol=1e-4)


def test_roc_points_match_sklearn_and_hull():
    y, score, _ = _random_data(3, n=500)
    score = np.round(score, 2)                           # ties
    thr, fpr, tpr = fa.roc_points(y, score)
    ref_fpr, ref_tpr, _ = roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, ref_tpr, atol=1e-12)
    assert thr[0] == np.inf and thr[-1] == -np.inf
    h = fa.convex_hull(fpr, tpr)
    # every point lies below the upper hull; hull vertices include (0, 0) and (1, 1)
    assert 0 in h and len(fpr) - 1 in h
    up = h[np.argsort(fpr[h])]
    upper_at = np.interp(fpr, fpr[up][tpr[up] >= fpr[up]], tpr[up][tpr[up] >= fpr[up]])
    assert (tpr <= upper_at + 1e-12).all()
    square = fa.convex_hull(np.array([0, 1, 0, 1, 0.5]), np.array([0, 0, 1, 1, 0.5]))
    assert sorted(square.tolist()) == [0, 1, 2, 3]


class _ScoreColumn(ClassifierMixin, BaseEstimator):
    """A fitted 'estimator' whose prediction is the first column of X (a given score)."""

    def fit(self, x, y):
        self.fitted_ = True
        return self

    def predict(self, x):
        return np.asarray(x)[:, 0]


@pytest.mark.parametrize("seed", [0, 1])
def test_equalized_odds_lp_meets_constraint_and_matches_fairlearn(seed):
    from fairlearn.postprocessing import ThresholdOptimizer

    y, score, a = _random_data(seed, n=4000, groups=2)
    post = fa.fit_equalized_odds(y, score, a)
    r = fa.group_rates(y, post.proba(score, a), a)
    # the constraint holds on the data it was fitted on, to LP tolerance
    np.testing.assert_allclose(r.tpr, post.tpr, atol=1e-7)
    np.testing.assert_allclose(r.fpr, post.fpr, atol=1e-7)
    err = 1 - (r.accuracy * r.n).sum() / r.n.sum()
    assert err == pytest.approx(post.error, abs=1e-9)
    for w in post.weights:
        assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    opt = ThresholdOptimizer(estimator=_ScoreColumn().fit(None, None),
                             constraints="equalized_odds", objective="accuracy_score",
                             prefit=True, predict_method="predict", grid_size=2000)
    x = score[:, None]
    opt.fit(x, y, sensitive_features=a)
    p_fl = opt._pmf_predict(x, sensitive_features=a)[:, 1]
    r_fl = fa.group_rates(y, p_fl, a)
    err_fl = 1 - (r_fl.accuracy * r_fl.n).sum() / r_fl.n.sum()
    # the LP is exact; Fairlearn searches a grid of FPRs: it cannot do better, and is close
    assert post.error <= err_fl + 1e-9
    assert err_fl - post.error < 2e-3
    assert abs(opt._x_best - post.fpr) < 5e-3 and abs(opt._y_best - post.tpr) < 5e-3
    # both satisfy equalized odds on the training data
    assert fa.equalized_odds_difference(y, p_fl, a) < 1e-6


def test_equalized_odds_three_groups_and_predict():
    y, score, a = _random_data(4, n=3000, groups=3)
    post = fa.fit_equalized_odds(y, score, a)
    r = fa.group_rates(y, post.proba(score, a), a)
    assert np.ptp(r.tpr) < 1e-7 and np.ptp(r.fpr) < 1e-7
    hard = post.predict(score, a, np.random.default_rng(0))
    assert set(np.unique(hard)) <= {0, 1}
    # the post-processed classifier is no better than the unconstrained Bayes-like thresholds
    base = fa.group_rates(y, (score >= 0.5).astype(int), a)
    assert post.error >= 1 - (base.accuracy * base.n).sum() / base.n.sum() - 0.02


def test_invalid_arguments():
    y, score, a = _random_data(0, n=100, groups=2)
    with pytest.raises(ValueError, match="y must hold only 0 and 1"):
        fa.group_rates(y + 1, score, a)
    with pytest.raises(ValueError, match="pred must have shape"):
        fa.group_rates(y, score[:-1], a)
    with pytest.raises(ValueError, match=r"pred must hold numbers in \[0, 1\]"):
        fa.group_rates(y, score * 2, a)
    with pytest.raises(ValueError, match="a \\(the group attribute\\) must have shape"):
        fa.demographic_parity_difference(score, a[:-1])
    with pytest.raises(ValueError, match="no positive or no negative"):
        fa.group_rates(np.zeros(4, int), np.zeros(4), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="base_rate must be in"):
        fa.chouldechova_fpr(1.0, 0.5, 0.1)
    with pytest.raises(ValueError, match="ppv must be in"):
        fa.chouldechova_fpr(0.5, 0.0, 0.1)
    with pytest.raises(ValueError, match="nodes must be a positive integer"):
        fa.population_generalized_rates(fa.FairnessProblem(), nodes=0)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        fa.FairnessProblem(dim=0)
    with pytest.raises(ValueError, match="group_share must be a number in"):
        fa.FairnessProblem(group_share=1.0)
    with pytest.raises(ValueError, match=r"separations\[1\] must be a positive number"):
        fa.FairnessProblem(separations=(1.0, 0.0))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fa.sample_population(fa.FairnessProblem(), 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be"):
        fa.sample_population(fa.FairnessProblem(), 10, 0)
    with pytest.raises(ValueError, match="l2 must be a non-negative number"):
        fa.fit_logistic(np.ones((4, 1)), np.array([0, 1, 0, 1]), l2=-1.0)
    with pytest.raises(ValueError, match="threshold must be a number in"):
        fa.population_rates(fa.FairnessProblem(), 0, 1.5)
    with pytest.raises(ValueError, match="both classes"):
        fa.roc_points(np.ones(3, int), np.arange(3.0))
    post = fa.fit_equalized_odds(y, score, a)
    with pytest.raises(ValueError, match="groups not seen when fitting"):
        post.proba(score, a + 5)
    with pytest.raises(ValueError, match="score must hold finite numbers"):
        fa.fit_equalized_odds(y, np.full(100, np.nan), a)


# --- Argument checks, hand values and independent references --------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"group_share": 0.0}, r"^group_share must be a number in \(0, 1\), got 0.0\.$"),
    ({"group_share": 1}, r"^group_share must be a number in \(0, 1\), got 1\.$"),
    ({"group_share": True}, r"^group_share must be a number in \(0, 1\), got True\.$"),
    ({"group_share": "0.5"}, r"^group_share must be a number in \(0, 1\), got '0.5'\.$"),
    ({"base_rates": (0.0, 0.5)}, r"^base_rates\[0\] must be a number in \(0, 1\), got 0.0"),
    ({"base_rates": (0.5, 1.0)}, r"^base_rates\[1\] must be a number in \(0, 1\), got 1.0"),
    ({"base_rates": (0.3, 0.4, 0.5)},
     r"^base_rates and separations must each hold two numbers, one per group\.$"),
    ({"separations": (1.0,)},
     r"^base_rates and separations must each hold two numbers, one per group\.$"),
    ({"separations": (0.0, 1.0)}, r"^separations\[0\] must be a positive number, got 0.0\.$"),
    ({"separations": (1.0, np.inf)}, r"^separations\[1\] must be a positive number, got inf"),
    ({"separations": (True, 1.0)}, r"^separations\[0\] must be a positive number, got True"),
    ({"separations": ("1", 1.0)}, r"^separations\[0\] must be a positive number, got '1'"),
    ({"dim": 0}, r"^dim must be a positive integer, got 0\.$"),
])
def test_fairness_problem_validation(kwargs, message):
    """Each field of the population is checked with a message naming it."""
    with pytest.raises(ValueError, match=message):
        fa.FairnessProblem(**kwargs)


def test_fairness_problem_defaults_and_direction():
    """Defaults (share 0.35, base rates 0.3/0.5, separations 1.2/0.8, d = 5) and the unit
    direction (1, ..., 1)/sqrt(d)."""
    prob = fa.FairnessProblem()
    assert (prob.group_share, prob.base_rates, prob.separations, prob.dim) == (
        0.35, (0.3, 0.5), (1.2, 0.8), 5)
    np.testing.assert_allclose(prob.direction, np.full(5, 1 / np.sqrt(5)))
    assert np.linalg.norm(fa.FairnessProblem(dim=3).direction) == pytest.approx(1.0)
    # Just inside the open interval is fine.
    assert fa.FairnessProblem(group_share=1e-9, base_rates=(1e-9, 1 - 1e-9)).group_share == 1e-9


def test_sample_population_is_the_documented_construction():
    """The draw, written out: a ~ Bernoulli(share), y | a ~ Bernoulli(p_a), then
    x = (2y - 1) m_a u + N(0, I), from the same generator in that order."""
    prob = fa.FairnessProblem(group_share=0.4, base_rates=(0.2, 0.7), separations=(1.5, 0.5),
                              dim=3)
    d = fa.sample_population(prob, 50, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    a = (rng.random(50) < 0.4).astype(int)
    y = (rng.random(50) < np.where(a == 1, 0.7, 0.2)).astype(int)
    m = np.where(a == 1, 0.5, 1.5)
    x = ((2 * y - 1) * m)[:, None] * np.ones(3) / np.sqrt(3) + rng.standard_normal((50, 3))
    np.testing.assert_array_equal(d.a, a)
    np.testing.assert_array_equal(d.y, y)
    np.testing.assert_allclose(d.x, x, rtol=0, atol=1e-12)
    assert d.a.dtype == np.int64 and d.y.dtype == np.int64


def test_sample_population_type_errors():
    """The problem and the generator are type-checked, and named in the message."""
    with pytest.raises(TypeError, match=r"^problem must be a FairnessProblem, got dict\.$"):
        fa.sample_population({}, 10, np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator, got int\.$"):
        fa.sample_population(fa.FairnessProblem(), 10, 0)
    with pytest.raises(ValueError, match=r"^n must be a positive integer, got 0\.$"):
        fa.sample_population(fa.FairnessProblem(), 0, np.random.default_rng(0))


def test_bayes_score_is_bayes_rule_with_gaussian_densities():
    """P(y = 1 | x, a) from Bayes' rule with SciPy's multivariate normal densities."""
    from scipy.stats import multivariate_normal

    prob = fa.FairnessProblem(base_rates=(0.2, 0.6), separations=(1.1, 0.4), dim=2)
    x = np.array([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1], [0.0, 0.0]])
    a = [0, 1, 1, 0]
    u = prob.direction
    expected = []
    for xi, ai in zip(x, a):
        p, m = prob.base_rates[ai], prob.separations[ai]
        pos = p * multivariate_normal(m * u, np.eye(2)).pdf(xi)
        neg = (1 - p) * multivariate_normal(-m * u, np.eye(2)).pdf(xi)
        expected.append(pos / (pos + neg))
    np.testing.assert_allclose(fa.bayes_score(prob, x, a), expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^x must have shape \(n, 2\), got \(4, 3\)\.$"):
        fa.bayes_score(prob, np.zeros((4, 3)), a)
    with pytest.raises(ValueError, match=r"^a must have length 4, got 3\.$"):
        fa.bayes_score(prob, x, a[:3])
    with pytest.raises(ValueError, match=r"^a must hold only 0 and 1\.$"):
        fa.bayes_score(prob, x, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"^a must be one-dimensional, got shape \(4, 1\)\.$"):
        fa.bayes_score(prob, x, np.zeros((4, 1), int))


def test_population_rates_at_the_base_rate_threshold():
    """At threshold p_a the rule is z >= 0: FPR = Phi(-m_a), TPR = Phi(m_a) (SciPy's norm)."""
    from scipy.stats import norm

    prob = fa.FairnessProblem(base_rates=(0.2, 0.6), separations=(1.5, 0.7))
    for g in (0, 1):
        fpr, tpr = fa.population_rates(prob, g, prob.base_rates[g])
        m = prob.separations[g]
        assert fpr == pytest.approx(norm.cdf(-m), rel=1e-12)
        assert tpr == pytest.approx(norm.cdf(m), rel=1e-12)
    # Threshold 0.5 in group 0: c = (0 - logit 0.2) / (2 * 1.5) = log(4) / 3.
    c = np.log(4) / 3
    fpr, tpr = fa.population_rates(prob, 0, 0.5)
    assert (fpr, tpr) == pytest.approx((norm.cdf(-1.5 - c), norm.cdf(1.5 - c)), rel=1e-12)
    with pytest.raises(ValueError, match=r"^group must be 0 or 1, got 2\.$"):
        fa.population_rates(prob, 2, 0.5)
    with pytest.raises(ValueError, match=r"^threshold must be a number in \(0, 1\), got 0"):
        fa.population_rates(prob, 0, 0)


def test_population_roc_end_points_and_errors():
    """The binormal ROC Phi(2m + Phi^-1(F)) runs from (0, 0) to (1, 1); F = 1/2 gives Phi(2m)."""
    from scipy.stats import norm

    prob = fa.FairnessProblem(separations=(1.2, 0.3))
    np.testing.assert_allclose(fa.population_roc(prob, 1, [0.0, 0.5, 1.0]),
                               [0.0, norm.cdf(0.6), 1.0], atol=1e-15)
    with pytest.raises(ValueError, match=r"^group must be 0 or 1, got -1\.$"):
        fa.population_roc(prob, -1, [0.5])
    for bad in ([-0.1], [1.1]):
        with pytest.raises(ValueError, match=r"^fpr must hold numbers in \[0, 1\]\.$"):
            fa.population_roc(prob, 0, bad)


def test_population_generalized_rates_match_scipy_quad():
    """Default 80-node Gauss-Hermite against adaptive quadrature of E[S | y, a] (SciPy)."""
    from scipy.integrate import quad
    from scipy.special import logit
    from scipy.stats import norm

    prob = fa.FairnessProblem(base_rates=(0.25, 0.6), separations=(0.6, 1.0))
    gfpr, gfnr = fa.population_generalized_rates(prob)
    for g in (0, 1):
        m, p = prob.separations[g], prob.base_rates[g]

        def mean_score(mu, m=m, p=p):
            return quad(lambda z: expit(logit(p) + 2 * m * z) * norm.pdf(z, mu), -np.inf,
                        np.inf, epsabs=1e-13)[0]

        assert gfpr[g] == pytest.approx(mean_score(-m), rel=1e-9)
        assert gfnr[g] == pytest.approx(1 - mean_score(m), rel=1e-9)


def test_design_matrix_columns_by_hand():
    """[1, a, x, a x] with the group indicator as float, and [1, x] when group-blind."""
    x = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]
    a = [1, 0, 1]
    np.testing.assert_array_equal(fa.design_matrix(x, a), [[1, 1, 1, 2, 1, 2],
                                                           [1, 0, 3, -1, 0, 0],
                                                           [1, 1, 0.5, 0, 0.5, 0]])
    blind = fa.design_matrix(x, [5, 6, 7], group_aware=False)   # a is ignored
    np.testing.assert_array_equal(blind, [[1, 1, 2], [1, 3, -1], [1, 0.5, 0]])
    assert fa.design_matrix(x, a).dtype == np.float64
    with pytest.raises(ValueError, match=r"^x must have shape \(n, d\), got \(3,\)\.$"):
        fa.design_matrix([1.0, 2.0, 3.0], a)
    with pytest.raises(ValueError, match=r"^a must have length 3, got 2\.$"):
        fa.design_matrix(x, [0, 1])


def test_fit_logistic_with_l2_matches_sklearn():
    """Mean loss + l2/2 |w|^2 is sklearn's |w|^2/2 + C sum(loss) with C = 1 / (n l2)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    f = np.hstack([np.ones((200, 1)), rng.normal(size=(200, 2))])
    y = (rng.random(200) < expit(f @ np.array([0.3, 1.5, -1.0]))).astype(int)
    w = fa.fit_logistic(f, y, l2=0.05)
    ref = LogisticRegression(C=1 / (200 * 0.05), tol=1e-12, max_iter=10_000,
                             fit_intercept=False).fit(f, y)
    np.testing.assert_allclose(w, ref.coef_[0], atol=1e-6)
    # Integer features and list labels are fine: a 2-point problem with l2 = 1 has the
    # closed form w = 0 by symmetry (labels 0 and 1 at features -1 and +1 ... shifted):
    np.testing.assert_allclose(fa.logistic_score(f, w), expit(f @ ref.coef_[0]), atol=1e-6)


def test_fit_logistic_integer_features_and_errors():
    """Integer features give the same fit as floats; shapes and l2 are checked by name."""
    f = np.array([[1, 0], [1, 1], [1, 2], [1, 3]])
    y = [0, 1, 0, 1]
    np.testing.assert_allclose(fa.fit_logistic(f, y, l2=0.1),
                               fa.fit_logistic(f.astype(float), y, l2=0.1), atol=1e-10)
    with pytest.raises(ValueError, match=r"^features must have shape \(n, k\), got \(4,\)\.$"):
        fa.fit_logistic(np.ones(4), y)
    with pytest.raises(ValueError, match=r"^y must have length 4, got 3\.$"):
        fa.fit_logistic(f, y[:3])
    for l2 in (-0.1, True, "1"):
        with pytest.raises(ValueError, match=r"^l2 must be a non-negative number, got "):
            fa.fit_logistic(f, y, l2=l2)


def test_group_rates_nothing_selected_has_nan_ppv_silently():
    """PPV is nan (documented) when a group selects nothing, with no NumPy warning; the other
    rates by hand; the group values may be strings."""
    y = np.array([1, 0, 1, 0, 0])
    pred = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    a = np.array(["u", "u", "v", "v", "v"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fa.group_rates(y, pred, a)
    np.testing.assert_array_equal(r.groups, ["u", "v"])
    np.testing.assert_array_equal(r.n, [2, 3])
    assert np.isnan(r.ppv[0]) and r.ppv[1] == pytest.approx(0.5)
    np.testing.assert_allclose(r.tpr, [0.0, 1.0])
    np.testing.assert_allclose(r.fnr, [1.0, 0.0])
    np.testing.assert_allclose(r.fpr, [0.0, 0.5])
    np.testing.assert_allclose(r.selection_rate, [0.0, 2 / 3])
    np.testing.assert_allclose(r.accuracy, [0.5, 2 / 3])
    np.testing.assert_allclose(r.base_rate, [0.5, 1 / 3])


@pytest.mark.parametrize(("y", "pred", "a", "message"), [
    ([[0, 1]], [0.5, 0.5], [0, 0], r"^y must be one-dimensional, got shape \(1, 2\)\.$"),
    ([0, 1, 2], [0.5] * 3, [0] * 3, r"^y must hold only 0 and 1\.$"),
    ([0, 1], [0.5], [0, 0], r"^pred must have shape \(2,\), got \(1,\)\.$"),
    ([0, 1], [0.5, np.nan], [0, 0], r"^pred must hold numbers in \[0, 1\]\.$"),
    ([0, 1], [-0.1, 0.5], [0, 0], r"^pred must hold numbers in \[0, 1\]\.$"),
    ([0, 1], [0.5, 1.1], [0, 0], r"^pred must hold numbers in \[0, 1\]\.$"),
    ([0, 1], [0.5, 0.5], [0], r"^a \(the group attribute\) must have shape \(2,\), got \(1,\)"),
    ([], [], [], r"^a \(the group attribute\) is empty\.$"),
    ([0, 1, 1], [0.5] * 3, [0, 0, 1],
     r"^group np.int64\(1\) has no positive or no negative example: its TPR/FPR are undefined"),
])
def test_group_rates_argument_errors(y, pred, a, message):
    """Bad labels, predictions and groups, each with its exact message."""
    with pytest.raises(ValueError, match=message):
        fa.group_rates(y, pred, a)


def test_group_rates_accepts_boundary_probabilities():
    """Probabilities 0 and 1 are valid predictions (hard 0/1 as floats)."""
    r = fa.group_rates([0, 1], [0.0, 1.0], [3, 3])
    assert (r.tpr[0], r.fpr[0], r.ppv[0], r.accuracy[0]) == (1.0, 0.0, 1.0, 1.0)


def test_demographic_parity_by_hand_and_errors():
    """Selection rates 2/3, 1/4 and 1/2 in three groups: difference 2/3 - 1/4."""
    pred = [1, 1, 0, 0, 1, 0, 0, 0.5, 0.5]
    a = [0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert fa.demographic_parity_difference(pred, a) == pytest.approx(2 / 3 - 1 / 4)
    assert fa.demographic_parity_difference([0.3, 0.3], [0, 1]) == 0.0
    with pytest.raises(ValueError, match=r"^pred must hold numbers in \[0, 1\]\.$"):
        fa.demographic_parity_difference([0.5, 2.0], [0, 1])
    with pytest.raises(ValueError, match=r"^pred must have shape "):
        fa.demographic_parity_difference([[0.5, 0.5]], [0, 1])


def test_equalized_odds_difference_by_hand():
    """TPR 1/2 vs 1 (difference 1/2), FPR 1/2 vs 1/3 (1/6): the larger is 1/2."""
    y = [1, 1, 0, 0, 1, 0, 0, 0]
    pred = [1, 0, 1, 0, 1, 1, 0, 0]
    a = [0, 0, 0, 0, 1, 1, 1, 1]
    assert fa.equalized_odds_difference(y, pred, a) == pytest.approx(0.5)
    # Swapping the roles: FPR difference dominates.
    y2 = [0, 0, 1, 1, 0, 1, 1, 1]
    assert fa.equalized_odds_difference(y2, pred, a) == pytest.approx(0.5)


def test_chouldechova_fpr_by_hand_and_boundaries():
    """p/(1-p) (1-PPV)/PPV (1-FNR) by hand; PPV = 1 and FNR in {0, 1} are allowed."""
    assert fa.chouldechova_fpr(0.5, 0.5, 0.2) == pytest.approx(0.8)
    assert fa.chouldechova_fpr(0.2, 0.8, 0.5) == pytest.approx(0.25 * 0.25 * 0.5)
    np.testing.assert_allclose(fa.chouldechova_fpr([0.2, 0.6], [1.0, 0.5], [0.0, 1.0]),
                               [0.0, 0.0])
    np.testing.assert_allclose(fa.chouldechova_fpr([0.25], [0.5], [0.0]), [1 / 3])
    for p in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match=r"^base_rate must be in \(0, 1\)\.$"):
            fa.chouldechova_fpr(p, 0.5, 0.1)
    for ppv in (0.0, 1.01):
        with pytest.raises(ValueError, match=r"^ppv must be in \(0, 1\]\.$"):
            fa.chouldechova_fpr(0.5, ppv, 0.1)
    for fnr in (-0.01, 1.01):
        with pytest.raises(ValueError, match=r"^fnr must be in \[0, 1\]\.$"):
            fa.chouldechova_fpr(0.5, 0.5, fnr)


def test_generalized_rates_by_hand_and_errors():
    """Base rate, mean score of negatives and of positives per group, by hand."""
    y = [1, 0, 0, 1, 1, 0]
    s = [0.9, 0.2, 0.4, 0.6, 0.8, 0.1]
    a = [1, 1, 1, 0, 0, 0]
    p, neg, pos = fa.generalized_rates(y, s, a)
    np.testing.assert_allclose(p, [2 / 3, 1 / 3])
    np.testing.assert_allclose(neg, [0.1, 0.3])
    np.testing.assert_allclose(pos, [0.7, 0.9])
    with pytest.raises(ValueError, match=r"^score must have shape \(6,\), got \(5,\)\.$"):
        fa.generalized_rates(y, s[:5], a)
    with pytest.raises(ValueError, match=r"^score must hold numbers in \[0, 1\]\.$"):
        fa.generalized_rates(y, [1.5] + s[1:], a)
    with pytest.raises(ValueError, match=r"^group np.int64\(2\) has no positive or no negative "
                                         r"example\.$"):
        fa.generalized_rates(y + [1], s + [0.5], a + [2])


def test_roc_points_by_hand():
    """Scores 0.4 (neg), 0.3 (pos), 0.2 (neg), 0.1 (pos), read from the top: hand ROC."""
    thr, fpr, tpr = fa.roc_points([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(thr, [np.inf, 0.4, 0.3, 0.2, -np.inf])
    np.testing.assert_allclose(fpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(tpr, [0, 0, 0.5, 0.5, 1])
    # Ties: one threshold per distinct score; the top scores hold only positives.
    thr, fpr, tpr = fa.roc_points([1, 1, 0, 1], [0.9, 0.9, 0.1, 0.5])
    np.testing.assert_array_equal(thr, [np.inf, 0.9, 0.5, -np.inf])
    np.testing.assert_allclose(fpr, [0, 0, 0, 1])
    np.testing.assert_allclose(tpr, [0, 2 / 3, 1, 1])


@pytest.mark.parametrize(("y", "score", "message"), [
    ([0, 1, 0], [0.1, 0.2], r"^score must hold finite numbers, shape \(3,\), got \(2,\)\.$"),
    ([0, 1, 0], [0.1, np.inf, 0.3], r"^score must hold finite numbers, shape \(3,\), got"),
    ([0, 0, 0], [0.1, 0.2, 0.3], r"^y must hold both classes to define an ROC curve\.$"),
    ([1, 1], [0.1, 0.2], r"^y must hold both classes to define an ROC curve\.$"),
    ([0, 1, 2], [0.1, 0.2, 0.3], r"^y must hold only 0 and 1\.$"),
])
def test_roc_points_argument_errors(y, score, message):
    """Shape, finiteness and both classes, with their messages."""
    with pytest.raises(ValueError, match=message):
        fa.roc_points(y, score)


def test_convex_hull_matches_scipy_qhull():
    """Random points in general position: the same vertex set as SciPy's ConvexHull."""
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(7)
    for _ in range(5):
        pts = rng.random((30, 2))
        h = fa.convex_hull(pts[:, 0], pts[:, 1])
        assert h.dtype == np.int64
        assert sorted(h.tolist()) == sorted(ConvexHull(pts).vertices.tolist())
        assert len(set(h.tolist())) == len(h)


def test_convex_hull_collinear_and_degenerate():
    """Collinear points are dropped, a single point is its own hull, bad shapes are refused."""
    # A triangle with points on its edges and one inside.
    fpr = [0.0, 0.5, 1.0, 1.0, 0.5, 0.6]
    tpr = [0.0, 0.5, 1.0, 0.0, 0.0, 0.3]
    assert sorted(fa.convex_hull(fpr, tpr).tolist()) == [0, 2, 3]
    assert fa.convex_hull([0.3], [0.7]).tolist() == [0]
    assert sorted(fa.convex_hull([0, 1, 0.5], [0, 1, 0.5]).tolist()) == [0, 1]
    for f, t in (([0, 1], [0]), ([], []), ([[0, 1]], [[0, 1]])):
        with pytest.raises(ValueError, match=r"^fpr and tpr must be non-empty one-dimensional "
                                             r"arrays of one shape\.$"):
            fa.convex_hull(f, t)


def _postprocessor():
    return fa.EqualizedOddsPostprocessor(
        groups=np.array([0, 1]), thresholds=(np.array([0.5]), np.array([0.8, 0.2])),
        weights=(np.array([1.0]), np.array([0.25, 0.75])), fpr=0.0, tpr=1.0, error=0.0)


def test_postprocessor_proba_and_predict_by_hand():
    """P(yhat = 1) = sum_k w_k 1[score >= t_k]: group 1 mixes thresholds 0.8 and 0.2."""
    post = _postprocessor()
    score = np.array([0.5, 0.4, 0.9, 0.5, 0.1, 0.8])
    a = np.array([0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(post.proba(score, a), [1.0, 0.0, 1.0, 0.75, 0.0, 1.0])
    hard = post.predict(score, a, np.random.default_rng(4))
    expected = (np.random.default_rng(4).random(6) < post.proba(score, a)).astype(int)
    np.testing.assert_array_equal(hard, expected)
    assert hard.dtype == np.int64
    # Frequencies over many draws approach the probabilities.
    many = post.predict(np.full(4000, 0.5), np.ones(4000, int), np.random.default_rng(1))
    assert many.mean() == pytest.approx(0.75, abs=0.03)


def test_postprocessor_errors():
    """Score shape, group shape, unseen groups and the generator's type, by name."""
    post = _postprocessor()
    with pytest.raises(ValueError, match=r"^score must be one-dimensional, got shape \(1, 2\)"):
        post.proba([[0.1, 0.2]], [0, 1])
    with pytest.raises(ValueError, match=r"^a must have shape \(2,\), got \(3,\)\.$"):
        post.proba([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ValueError, match=r"^a holds groups not seen when fitting: \[2, 7\]\.$"):
        post.proba([0.1, 0.2, 0.3], [7, 2, 0])
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator, got int\.$"):
        post.predict([0.1], [0], 3)


def test_fit_equalized_odds_on_separable_groups():
    """A score that separates both groups perfectly: FPR 0, TPR 1, no error, and the fitted
    rule selects exactly the positives (a single deterministic threshold per group)."""
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    score = np.array([0.1, 0.2, 0.7, 0.9, 0.3, 0.4, 0.8, 0.35])
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    post = fa.fit_equalized_odds(y, score, a)
    assert (post.fpr, post.tpr) == (pytest.approx(0.0, abs=1e-9), pytest.approx(1.0))
    assert post.error == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(post.proba(score, a), y, atol=1e-9)
    np.testing.assert_array_equal(post.groups, [0, 1])


def test_fit_equalized_odds_equalizes_a_weaker_group():
    """Group 0 separable, group 1 with one inverted pair. By hand, the LP keeps group 1's best
    hull point (FPR 1/2, TPR 1/2 ... ) and group 0 matches it: TPR and FPR equal across groups
    (checked with group_rates) and the error is the LP optimum found by brute force over the
    diagonal mixtures of the hull vertices."""
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.7, 0.9, 0.1, 0.3, 0.6, 0.8])
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    post = fa.fit_equalized_odds(y, score, a)
    r = fa.group_rates(y, post.proba(score, a), a)
    np.testing.assert_allclose(r.tpr, [post.tpr, post.tpr], atol=1e-9)
    np.testing.assert_allclose(r.fpr, [post.fpr, post.fpr], atol=1e-9)
    err = 1 - (r.accuracy * r.n).sum() / r.n.sum()
    assert post.error == pytest.approx(err, abs=1e-9)
    # Group 1's ROC hull: (0,0), (0, 1/2), (1/2, 1), (1, 1). A common point (F, T) must lie
    # under it; group 0 can reach anything. Errors: 4 (F/2 * 2... ) -> minimise over the hull's
    # upper boundary: error(F, T) = (2 F + 2 (1 - T)) * 2 / 8 with T = ROC_1(F).
    grid = np.linspace(0, 1, 100001)
    roc1 = np.interp(grid, [0, 0, 0.5, 1], [0, 0.5, 1, 1])
    best = ((2 * grid + 2 * (1 - roc1)) * 2 / 8).min()
    assert post.error == pytest.approx(best, abs=1e-4)


@pytest.mark.parametrize(("y", "score", "a", "message"), [
    ([0, 1, 3, 1], [0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], r"^y must hold only 0 and 1\.$"),
    ([0, 1, 0, 1], [0.1, 0.2, 0.3], [0, 0, 1, 1],
     r"^score must hold finite numbers, shape \(4,\), got \(3,\)\.$"),
    ([0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1],
     r"^group np.int64\(1\) has no positive or no negative example\.$"),
    ([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0, 0, 1],
     r"^a \(the group attribute\) must have shape \(4,\), got \(3,\)\.$"),
])
def test_fit_equalized_odds_argument_errors(y, score, a, message):
    """Labels, scores, groups and per-group classes, each with its exact message."""
    with pytest.raises(ValueError, match=message):
        fa.fit_equalized_odds(y, score, a)


def test_chouldechova_fpr_computes_in_double_precision():
    """Float32 inputs are widened first: the identity evaluated in float64 on the same values."""
    p, ppv, fnr = np.float32(0.3), np.float32(0.15), np.float32(0.2)
    expected = float(p) / (1 - float(p)) * (1 - float(ppv)) / float(ppv) * (1 - float(fnr))
    out = fa.chouldechova_fpr(p, ppv, fnr)
    assert out.dtype == np.float64
    assert float(out) == pytest.approx(expected, rel=1e-15)
