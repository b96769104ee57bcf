import numpy as np
import pytest
import torch
from dlscience import calibration as cal
from scipy.optimize import minimize_scalar


def test_ece_by_hand_equal_width():
    # 4 bins of width 0.25: (0, .25], (.25, .5], (.5, .75], (.75, 1]
    conf = np.array([0.3, 0.4, 0.6, 0.7, 0.9, 1.0])
    correct = np.array([1, 0, 1, 1, 0, 1])
    # bin 1: conf .35, acc .5, n 2; bin 2: conf .65, acc 1, n 2; bin 3: conf .95, acc .5, n 2
    expected = (2 * 0.15 + 2 * 0.35 + 2 * 0.45) / 6
    assert cal.ece(conf, correct, n_bins=4) == pytest.approx(expected, abs=1e-12)
    assert cal.mce(conf, correct, n_bins=4) == pytest.approx(0.45, abs=1e-12)
    bins = cal.reliability_bins(conf, correct, n_bins=4)
    assert bins.count.tolist() == [0, 2, 2, 2]
    assert np.isnan(bins.accuracy[0]) and np.isnan(bins.confidence[0])   # empty bin
    np.testing.assert_allclose(bins.edges, [0, 0.25, 0.5, 0.75, 1.0])


def test_bin_edges_confidence_one_and_zero_and_boundaries():
    # confidence exactly 1.0 goes to the last bin, 0.0 to the first; 0.5 (an edge) to (.25, .5]
    bins = cal.reliability_bins(np.array([1.0, 0.0, 0.5, 0.75]), np.array([1, 0, 1, 0]), n_bins=4)
    assert bins.count.tolist() == [1, 1, 1, 1]
    assert bins.confidence[3] == 1.0 and bins.confidence[0] == 0.0
    # all examples in one bin: ECE is |accuracy - mean confidence|
    assert cal.ece(np.ones(5), np.array([1, 1, 1, 0, 1])) == pytest.approx(0.2)
    # a perfectly right, fully confident predictor has ECE 0
    assert cal.ece(np.ones(3), np.ones(3, dtype=bool)) == 0.0


def test_equal_mass_bins_by_hand():
    conf = np.array([0.9, 0.2, 0.5, 0.4, 0.8, 0.3])
    correct = np.array([1, 0, 1, 1, 0, 0])
    bins = cal.reliability_bins(conf, correct, n_bins=3, binning="mass")
    # sorted: .2 .3 | .4 .5 | .8 .9
    assert bins.count.tolist() == [2, 2, 2]
    np.testing.assert_allclose(bins.confidence, [0.25, 0.45, 0.85])
    np.testing.assert_allclose(bins.accuracy, [0.0, 1.0, 0.5])
    np.testing.assert_allclose(bins.edges, [0.2, 0.4, 0.8, 0.9])
    assert cal.ece(conf, correct, 3, "mass") == pytest.approx((0.25 + 0.55 + 0.35) / 3)
    # unequal sizes differ by at most one
    sizes = cal.reliability_bins(np.linspace(0, 1, 17), np.ones(17), 5, "mass").count
    assert sizes.sum() == 17 and sizes.max() - sizes.min() <= 1


def test_ece_at_least_global_gap():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.1, 1, 500)
    correct = rng.random(500) < conf ** 2
    for binning in ("width", "mass"):
        assert cal.ece(conf, correct, 15, binning) >= abs(correct.mean() - conf.mean()) - 1e-12


def test_brier_and_nll_against_torch():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 4)) * 3
    y = rng.integers(0, 4, 50)
    p = torch.softmax(torch.tensor(z) / 1.7, dim=1).numpy()
    onehot = np.eye(4)[y]
    assert cal.brier_score(p, y) == pytest.approx(((p - onehot) ** 2).sum(1).mean(), rel=1e-12)
    ref = torch.nn.functional.cross_entropy(torch.tensor(z) / 1.7, torch.tensor(y)).item()
    assert cal.nll(z, y, temperature=1.7) == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(cal.softmax(z, 1.7), p, rtol=1e-12)


def test_temperature_nll_derivatives_match_autograd():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(30, 5)) * 2
    y = rng.integers(0, 5, 30)
    beta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional.cross_entropy(beta * torch.tensor(z), torch.tensor(y))
    (g,) = torch.autograd.grad(f, beta, create_graph=True)
    (h,) = torch.autograd.grad(g, beta)
    value, grad, hess = cal.temperature_nll(z, y, 0.7)
    assert value == pytest.approx(f.item(), rel=1e-12)
    assert grad == pytest.approx(g.item(), rel=1e-10)
    assert hess == pytest.approx(h.item(), rel=1e-10)


def test_fit_temperature_matches_scipy_and_keeps_argmax():
    rng = np.random.default_rng(3)
    n, k = 400, 6
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += 1.5
    z *= 4.0                                          # over-confident logits: T > 1
    t_fit = cal.fit_temperature(z, y)
    ref = minimize_scalar(lambda t: cal.nll(z, y, t), bounds=(0.05, 50), method="bounded",
                          options={"xatol": 1e-10})
    assert t_fit == pytest.approx(ref.x, rel=1e-5)
    assert t_fit > 1
    assert cal.nll(z, y, t_fit) <= ref.fun + 1e-12
    np.testing.assert_array_equal(cal.softmax(z, t_fit).argmax(1), z.argmax(1))


def test_fit_temperature_no_minimum_raises():
    # every example right: the NLL falls forever as T -> 0
    z = np.array([[3.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="no minimum"):
        cal.fit_temperature(z, np.array([0, 1]))


def test_risk_coverage_by_hand():
    conf = np.array([0.9, 0.6, 0.8, 0.7])
    correct = np.array([1, 0, 0, 1])
    coverage, risk = cal.risk_coverage(conf, correct)
    # order .9 (right), .8 (wrong), .7 (right), .6 (wrong)
    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 1 / 2, 1 / 3, 2 / 4])
    assert cal.aurc(conf, correct) == pytest.approx((0 + 0.5 + 1 / 3 + 0.5) / 4)
    assert cal.selective_risk(conf, correct, 0.5) == pytest.approx(0.5)
    assert cal.selective_risk(conf, correct, 0.6) == pytest.approx(1 / 3)   # ceil(2.4) = 3
    # oracle: right ones first: risks 0, 0, 1/3, 2/4
    assert cal.oracle_aurc(correct) == pytest.approx((1 / 3 + 0.5) / 4)
    assert cal.oracle_aurc(correct) <= cal.aurc(conf, correct)


def test_random_order_aurc_is_full_risk_on_average():
    rng = np.random.default_rng(4)
    correct = rng.random(60) < 0.7
    vals = [cal.aurc(rng.random(60), correct) for _ in range(4000)]
    assert np.mean(vals) == pytest.approx(1 - correct.mean(), abs=0.005)


def test_calibrated_floor_gaussian_matches_simulation():
    rng = np.random.default_rng(5)
    conf = rng.uniform(0.1, 1.0, 30_000)
    sim, gauss = cal.calibrated_ece_floor(conf, 15, "mass", draws=100, rng=rng)
    assert sim == pytest.approx(gauss, rel=0.05)
    with pytest.raises(ValueError, match="rng"):
        cal.calibrated_ece_floor(conf)


@pytest.mark.parametrize("call, match", [
    (lambda: cal.ece(np.array([0.5, 1.2]), np.array([1, 0])), "confidences"),
    (lambda: cal.ece(np.array([0.5, 0.2]), np.array([1, 2])), "correct"),
    (lambda: cal.ece(np.array([0.5, 0.2]), np.array([1])), "shape"),
    (lambda: cal.ece(np.array([0.5]), np.array([1]), n_bins=0), "n_bins"),
    (lambda: cal.ece(np.array([0.5]), np.array([1]), binning="quantile"), "binning"),
    (lambda: cal.ece(np.array([0.5]), np.array([1]), n_bins=2, binning="mass"), "n_bins"),
    (lambda: cal.brier_score(np.array([[0.5, 0.6]]), np.array([0])), "probs"),
    (lambda: cal.nll(np.zeros((2, 3)), np.array([0, 3])), "labels"),
    (lambda: cal.nll(np.zeros((2, 3)), np.array([0.0, 1.0])), "labels"),
    (lambda: cal.nll(np.zeros((2, 3)), np.array([0, 1]), temperature=0.0), "temperature"),
    (lambda: cal.softmax(np.zeros(3)), "logits"),
    (lambda: cal.selective_risk(np.array([0.5]), np.array([1]), 0.0), "coverage"),
    (lambda: cal.oracle_aurc(np.array([2, 0])), "correct"),
    (lambda: cal.selective_risk(np.array([0.5]), np.array([1]), 1.5), "coverage"),
    (lambda: cal.softmax(np.zeros((2, 3)), temperature=True), "temperature"),
    (lambda: cal.fit_temperature(np.eye(3), np.array([0, 1, 2]), tol=0.0), "tol"),
    (lambda: cal.fit_temperature(np.eye(3), np.array([0, 1, 2]), max_iter=0), "max_iter"),
    (lambda: cal.calibrated_ece_floor(np.array([0.5, 0.7]), draws=0,
                                      rng=np.random.default_rng(0)), "draws"),
    (lambda: cal.calibrated_ece_floor(np.array([0.5, 0.7]), n_bins=2.0,
                                      rng=np.random.default_rng(0)), "n_bins"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fit_temperature_infinite_temperature_raises():
    # the labels' logits are below the mean logit: the best T is infinite
    z = np.array([[3.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="infinite"):
        cal.fit_temperature(z, np.array([1, 0]))


# --- exact messages, boundaries, defaults, ties and the Gaussian floor by hand --------------------

LN3 = float(np.log(3.0))


@pytest.mark.parametrize("call, message", [
    (lambda: cal.ece(np.ones((2, 2)), np.ones((2, 2))),
     "confidences must be a non-empty 1-D array, got shape (2, 2)."),
    (lambda: cal.ece(np.array([-0.1, 0.5]), np.array([1, 0])),
     "confidences must be finite numbers in [0, 1]."),
    (lambda: cal.ece(np.array([np.nan, 0.5]), np.array([1, 0])),
     "confidences must be finite numbers in [0, 1]."),
    (lambda: cal.ece(np.array([0.5, 0.2]), np.array([1, 2])),
     "correct must hold booleans or 0/1 values."),
    (lambda: cal.ece(np.array([0.5]), np.array([1]), n_bins=0),
     "n_bins must be a positive integer, got 0."),
    (lambda: cal.brier_score(np.array([0.5, 0.5]), np.array([0])),
     "probs must be a non-empty (n, K) array, got shape (2,)."),
    (lambda: cal.brier_score(np.array([[1.5, -0.5]]), np.array([0])),
     "probs must hold non-negative rows that sum to one."),
    (lambda: cal.brier_score(np.array([[0.5, 0.6]]), np.array([0])),
     "probs must hold non-negative rows that sum to one."),
    (lambda: cal.brier_score(np.full((2, 3), 1 / 3), np.array([0, 1, 2])),
     "labels must be an integer array of shape (2,), got int64 of shape (3,)."),
    (lambda: cal.nll(np.zeros((2, 3)), np.array([0, 3])), "labels must lie in 0..2."),
    (lambda: cal.nll(np.zeros((2, 1)), np.array([0, 0])),
     "logits must be an (n, K) array with n >= 1 and K >= 2, got shape (2, 1)."),
    (lambda: cal.nll(np.zeros(3), np.array([0, 0, 0])),
     "logits must be an (n, K) array with n >= 1 and K >= 2, got shape (3,)."),
    (lambda: cal.nll(np.zeros((0, 3)), np.zeros(0, dtype=int)),
     "logits must be an (n, K) array with n >= 1 and K >= 2, got shape (0, 3)."),
    (lambda: cal.nll(np.array([[0.0, np.nan]]), np.array([0])), "logits must be finite."),
    (lambda: cal.nll(np.zeros((2, 3)), np.array([0, 1]), temperature=0.0),
     "temperature must be a positive finite number, got 0.0."),
    (lambda: cal.softmax(np.zeros((2, 3)), temperature=-1.0),
     "temperature must be a positive finite number, got -1.0."),
    (lambda: cal.temperature_nll(np.zeros((2, 3)), np.array([0, 1]), float("nan")),
     "beta must be finite, got nan."),
    (lambda: cal.fit_temperature(np.eye(3), np.array([0, 1, 2]), tol=0.0),
     "tol must be a positive finite number, got 0.0."),
    (lambda: cal.fit_temperature(np.eye(3), np.array([0, 1, 2]), max_iter=0),
     "max_iter must be a positive integer, got 0."),
    (lambda: cal.fit_temperature(np.array([[3.0, 0.0], [0.0, 2.0]]), np.array([0, 1])),
     "the NLL has no minimum at a positive inverse temperature: every label has the largest "
     "logit, so the NLL falls as T -> 0."),
    (lambda: cal.fit_temperature(np.array([[3.0, 0.0], [0.0, 2.0]]), np.array([1, 0])),
     "the NLL has no minimum at a positive inverse temperature: the logits carry no evidence "
     "for the labels (the best T is infinite)."),
    (lambda: cal.selective_risk(np.array([0.5]), np.array([1]), 1.5),
     "coverage must be a probability in [0, 1], got 1.5."),
    (lambda: cal.selective_risk(np.array([0.5]), np.array([1]), 0.0),
     "coverage must be a number in (0, 1], got 0."),
    (lambda: cal.oracle_aurc(np.ones((2, 2))),
     "correct must be a non-empty 1-D array of booleans or 0/1 values."),
    (lambda: cal.calibrated_ece_floor(np.array([0.5, 0.7]), draws=0,
                                      rng=np.random.default_rng(0)),
     "draws must be a positive integer, got 0."),
    (lambda: cal.calibrated_ece_floor(np.array([0.5, 0.7]), n_bins=2.0,
                                      rng=np.random.default_rng(0)),
     "n_bins must be a positive integer, got 2.0."),
    (lambda: cal.calibrated_ece_floor(np.array([0.5, 0.7])),
     "rng must be a numpy Generator (pass one seeded by the caller)."),
])
def test_invalid_arguments_exact_messages(call, message):
    """Each bad input gets the exact documented message, naming the argument."""
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_infinite_temperature_at_the_boundary():
    """Labels' logits exactly at the mean logit on average (f'(0) = 0): the best T is infinite.
    Rows (1, 0) with labels 0 and 1: mean(mean_k z - z_y) = (-0.5 + 0.5) / 2 = 0."""
    z = np.array([[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"infinite\)\.$"):
        cal.fit_temperature(z, np.array([0, 1]))


def test_default_n_bins_is_15():
    """Confidences 0.13 and 0.135 straddle the edge 2/15 (but not with 16 bins, both in
    (0.125, 0.1875]): ECE = (|1 - 0.13| + |0 - 0.135|) / 2 and MCE = 0.87 by hand."""
    conf, correct = np.array([0.13, 0.135]), np.array([1, 0])
    np.testing.assert_allclose(cal.reliability_bins(conf, correct).edges, np.linspace(0, 1, 16))
    assert cal.ece(conf, correct) == pytest.approx((0.87 + 0.135) / 2, abs=1e-12)
    assert cal.mce(conf, correct) == pytest.approx(0.87, abs=1e-12)


def test_single_example_bins_count():
    """Bins with one example are bins like any other: 0.3 and 0.9 right, two bins of width .5:
    ECE = (0.7 + 0.1) / 2, MCE = 0.7."""
    conf, correct = np.array([0.3, 0.9]), np.array([1, 1])
    assert cal.ece(conf, correct, n_bins=2) == pytest.approx(0.4, abs=1e-12)
    assert cal.mce(conf, correct, n_bins=2) == pytest.approx(0.7, abs=1e-12)


def test_mce_uses_the_binning_asked_for():
    """Equal mass, 2 bins: .2 .3 .4 | .5 .8 .9 with accuracies 1/3 and 2/3, gaps 0.1/3 and
    0.2/3; equal width would give bins (0, .5], (.5, 1] and MCE 0.35."""
    conf = np.array([0.9, 0.2, 0.5, 0.4, 0.8, 0.3])
    correct = np.array([1, 0, 1, 1, 0, 0])
    assert cal.mce(conf, correct, 2, "mass") == pytest.approx(0.2 / 3, abs=1e-12)
    assert cal.mce(conf, correct, 2, "width") == pytest.approx(0.35, abs=1e-12)


def test_empty_trailing_bins_are_counted_silently():
    """Every bin is reported, empty ones last included, with integer counts and no warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bins = cal.reliability_bins(np.array([0.1, 0.2]), np.array([1, 0]), n_bins=4)
    assert bins.count.tolist() == [2, 0, 0, 0] and np.issubdtype(bins.count.dtype, np.integer)
    assert np.isnan(bins.accuracy[1:]).all() and bins.accuracy[0] == 0.5


def test_mass_bins_as_many_as_examples():
    """n_bins = n is allowed with equal-mass bins: one example per bin, sorted by confidence."""
    bins = cal.reliability_bins(np.array([0.8, 0.2, 0.5]), np.array([1, 0, 1]), 3, "mass")
    assert bins.count.tolist() == [1, 1, 1]
    np.testing.assert_allclose(bins.confidence, [0.2, 0.5, 0.8])
    np.testing.assert_allclose(bins.accuracy, [0.0, 1.0, 1.0])


# Confidences alternate between two values: ties that a non-stable sort reorders.
TIED = np.tile([0.7, 0.5], 12)
TIED_CORRECT = (np.arange(24) % 5 < 2).astype(int)


def test_mass_bins_break_ties_by_position():
    """Equal-mass bins follow the stable order (Python's sorted), 4 bins of 6 examples."""
    order = sorted(range(24), key=lambda i: TIED[i])
    expected = [TIED_CORRECT[order[6 * b:6 * b + 6]].mean() for b in range(4)]
    bins = cal.reliability_bins(TIED, TIED_CORRECT, 4, "mass")
    np.testing.assert_allclose(bins.accuracy, expected, rtol=0, atol=1e-15)


def test_risk_coverage_breaks_ties_by_position():
    """Accepted in decreasing confidence, ties in order of position (Python's stable sorted)."""
    order = sorted(range(24), key=lambda i: -TIED[i])
    errors = np.cumsum([1 - TIED_CORRECT[i] for i in order])
    _, risk = cal.risk_coverage(TIED, TIED_CORRECT)
    np.testing.assert_allclose(risk, errors / np.arange(1, 25), rtol=0, atol=1e-15)


def test_risk_coverage_accepts_boolean_confidences():
    """A hard 0/1 rule: confident (True) examples first, then the others, by position."""
    _, risk = cal.risk_coverage(np.array([False, True, True]), np.array([1, 0, 1]))
    np.testing.assert_allclose(risk, [1.0, 0.5, 1 / 3])


def test_single_row_probs_and_logits_by_hand():
    """n = 1 is a valid sample. One-hot probabilities (zeros allowed) have Brier score 0;
    p = (.75, .25) with label 0 has (0.25^2 + 0.25^2); logits (0, ln 3) give softmax
    (1/4, 3/4) and NLL ln(4/3) for label 1 at the default temperature 1."""
    assert cal.brier_score(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])) == 0.0
    assert cal.brier_score(np.array([[0.75, 0.25]]), np.array([0])) == pytest.approx(0.125)
    z = np.array([[0.0, LN3]])
    np.testing.assert_allclose(cal.softmax(z), [[0.25, 0.75]], rtol=1e-12)
    assert cal.nll(z, np.array([1])) == pytest.approx(np.log(4 / 3), rel=1e-12)


def test_fit_temperature_with_small_logit_gaps_matches_scipy():
    """Rows (2, 0) and (0, 0.5), both labelled 0: the labels' logits are on average only 0.25
    below the largest, yet there is a finite optimum; it agrees with scipy's 1-D minimizer."""
    z, y = np.array([[2.0, 0.0], [0.0, 0.5]]), np.array([0, 0])
    t_fit = cal.fit_temperature(z, y)
    ref = minimize_scalar(lambda t: cal.nll(z, y, t), bounds=(0.05, 50), method="bounded",
                          options={"xatol": 1e-10})
    assert t_fit == pytest.approx(ref.x, rel=1e-5)


def test_fit_temperature_reports_non_convergence():
    """One Newton step from beta = 1 does not reach the optimum of over-confident logits: the
    slope there is checked against autograd-free temperature_nll, and fit says so."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 40)
    z = rng.normal(size=(40, 4))
    z[np.arange(40), y] += 1.0
    z *= 5.0
    beta = 1 / cal.fit_temperature(z, y)
    assert abs(cal.temperature_nll(z, y, beta)[1]) < 1e-8
    with pytest.raises(RuntimeError, match=r"^Newton's method did not converge \(beta = "):
        cal.fit_temperature(z, y, max_iter=1)


def test_selective_risk_of_the_single_most_confident():
    """coverage 0.25 of 4 examples keeps ceil(1) = 1 example, the most confident (right)."""
    conf, correct = np.array([0.9, 0.6, 0.8, 0.7]), np.array([1, 0, 0, 1])
    assert cal.selective_risk(conf, correct, 0.25) == 0.0
    assert cal.selective_risk(conf, correct, 0.1) == 0.0


def test_oracle_aurc_of_one_example():
    """n = 1: the AURC is the single risk, 1 for an error and 0 for a right answer."""
    assert cal.oracle_aurc(np.array([0])) == 1.0
    assert cal.oracle_aurc(np.array([True])) == 0.0


def test_calibrated_floor_defaults_by_hand():
    """Defaults (15 equal-width bins, 200 draws): 0.13 and 0.135 fall in two single-example bins,
    so the Gaussian floor is sum_b (1/2) sqrt(2 c_b (1 - c_b) / pi); the simulation is the mean
    ECE of 200 Bernoulli(c) draws from the same generator."""
    conf = np.array([0.13, 0.135])
    sim, gauss = cal.calibrated_ece_floor(conf, rng=np.random.default_rng(0))
    assert gauss == pytest.approx(sum(0.5 * np.sqrt(2 * c * (1 - c) / np.pi) for c in conf))
    rng = np.random.default_rng(0)
    draws = [cal.ece(conf, rng.random(2) < conf, 15, "width") for _ in range(200)]
    assert sim == pytest.approx(np.mean(draws), abs=1e-15)


def test_calibrated_floor_with_mass_bins():
    """Equal-mass bins reach the simulation too: 2 bins of 2 examples each, .2 .3 | .4 .9
    (equal-width bins would be .2 .3 .4 | .9)."""
    conf = np.array([0.2, 0.3, 0.4, 0.9])
    sim, gauss = cal.calibrated_ece_floor(conf, 2, "mass", draws=50, rng=np.random.default_rng(1))
    v = [(0.2 * 0.8 + 0.3 * 0.7) / 2, (0.4 * 0.6 + 0.9 * 0.1) / 2]
    assert gauss == pytest.approx(sum(0.5 * np.sqrt(2 * vb / (np.pi * 2)) for vb in v))
    rng = np.random.default_rng(1)
    draws = [cal.ece(conf, rng.random(4) < conf, 2, "mass") for _ in range(50)]
    assert sim == pytest.approx(np.mean(draws), abs=1e-15)


def test_probs_with_no_classes_get_the_shape_message() -> None:
    """Shape (n, 0) is rejected by the shape check, not by NumPy's reduction error."""
    message = r"^probs must be a non-empty \(n, K\) array, got shape \(2, 0\)"
    with pytest.raises(ValueError, match=message):
        cal.brier_score(np.zeros((2, 0)), np.array([0, 1]))
