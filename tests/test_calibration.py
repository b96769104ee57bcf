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
