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
