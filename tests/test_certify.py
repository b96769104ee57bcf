"""Tests of dlscience.certify: interval bounds against brute force and hand values, randomized
smoothing's statistics against scipy and against the closed form of a linear classifier."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from dlscience import certify, data, robust
from dlscience.models import MLP
from scipy import stats
from torch import nn


def _net(seed: int = 0, widths: tuple[int, ...] = (3, 8, 8, 4)) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).double()


def _corners(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """All 2^d corners of the box [low, high] (low, high of shape (d,))."""
    signs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=low.numel())),
                         dtype=low.dtype)
    return low + signs * (high - low)


def test_interval_affine_by_hand() -> None:
    w = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    b = torch.tensor([0.5, -1.0])
    low, high = certify.interval_affine(w, b, torch.tensor([[0.0, -1.0]]),
                                        torch.tensor([[2.0, 1.0]]))
    # centre (1, 0), radius (1, 1): W c + b = (1.5, 2), |W| r = (3, 3.5)
    torch.testing.assert_close(low, torch.tensor([[-1.5, -1.5]]))
    torch.testing.assert_close(high, torch.tensor([[4.5, 5.5]]))


def test_interval_affine_is_exact_for_one_layer() -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    b = torch.randn(5, generator=gen, dtype=torch.float64)
    low = torch.randn(1, 4, generator=gen, dtype=torch.float64)
    high = low + torch.rand(1, 4, generator=gen, dtype=torch.float64)
    out_low, out_high = certify.interval_affine(w, b, low, high)
    images = _corners(low[0], high[0]) @ w.T + b
    torch.testing.assert_close(out_low[0], images.min(dim=0).values)
    torch.testing.assert_close(out_high[0], images.max(dim=0).values)


def test_interval_bounds_contain_sampled_outputs_and_are_loose_for_two_layers() -> None:
    net = _net()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, generator=gen, dtype=torch.float64)
    low, high = x - 0.3, x + 0.3
    out_low, out_high = certify.interval_bounds(net, low, high)
    for i in range(len(x)):
        z = low[i] + (high[i] - low[i]) * torch.rand(20000, 3, generator=gen,
                                                     dtype=torch.float64)
        z = torch.cat([z, _corners(low[i], high[i])])
        with torch.no_grad():
            out = net(z)
        assert bool((out >= out_low[i] - 1e-12).all() and (out <= out_high[i] + 1e-12).all())
    # with two hidden layers the boxes are strictly wider than the true range somewhere
    with torch.no_grad():
        z = low[0] + (high[0] - low[0]) * torch.rand(20000, 3, generator=gen,
                                                     dtype=torch.float64)
        assert bool((net(z).max(dim=0).values < out_high[0] - 1e-3).any())


def test_margin_bounds_below_true_margins_and_tighter_than_logit_bounds() -> None:
    net = _net(2)
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(5, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0])
    eps = 0.2
    m = certify.margin_lower_bounds(net, x, y, eps, bounds=(0.0, 1.0))
    torch.testing.assert_close(m[torch.arange(5), y], torch.zeros(5, dtype=torch.float64))
    out_low, out_high = certify.interval_bounds(net, (x - eps).clamp(0, 1), (x + eps).clamp(0, 1))
    naive = out_low[torch.arange(5), y][:, None] - out_high
    assert bool((m >= naive - 1e-12).all())
    for i in range(5):
        lo, hi = (x[i] - eps).clamp(0, 1), (x[i] + eps).clamp(0, 1)
        z = torch.cat([lo + (hi - lo) * torch.rand(5000, 3, generator=gen, dtype=torch.float64),
                       _corners(lo, hi)])
        with torch.no_grad():
            out = net(z)
        true = out[:, y[i]][:, None] - out
        assert bool((true >= m[i] - 1e-12).all())


def test_margin_bounds_exact_for_a_linear_model() -> None:
    lin = nn.Sequential(nn.Linear(3, 4)).double()
    torch.manual_seed(4)
    x = torch.rand(3, 3, dtype=torch.float64)
    y = torch.tensor([1, 0, 3])
    m = certify.margin_lower_bounds(lin, x, y, 0.1)
    for i in range(3):
        with torch.no_grad():
            out = lin(_corners(x[i] - 0.1, x[i] + 0.1))
        torch.testing.assert_close(m[i], (out[:, y[i]][:, None] - out).min(dim=0).values)


def test_mlp_supported_and_matches_sequential() -> None:
    torch.manual_seed(0)
    mlp = MLP([3, 5, 2], init="torch-default")
    seq = nn.Sequential(mlp.layers[0], nn.ReLU(), mlp.layers[1])
    x = torch.rand(4, 3)
    for a, b in zip(certify.interval_bounds(mlp, x - 0.1, x + 0.1),
                    certify.interval_bounds(seq, x - 0.1, x + 0.1)):
        torch.testing.assert_close(a, b)


@pytest.fixture()
def one_thread():
    """Small tensors: one thread is faster than many on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_certified_points_survive_pgd_and_ibp_training_certifies_more(one_thread: None) -> None:
    split = data.digits(seed=0)
    xt, yt = torch.tensor(split.x_train[:400]), torch.tensor(split.y_train[:400])
    xs, ys = torch.tensor(split.x_test[:200]), torch.tensor(split.y_test[:200])
    eps = 0.1
    cert = {}
    for method in ("standard", "ibp"):
        torch.manual_seed(0)
        model = MLP([64, 32, 10], init="torch-default")
        certify.ibp_fit(model, xt, yt, eps=eps if method == "ibp" else 0.0, epochs=30,
                        batch_size=50, warmup=2, ramp=15, bounds=(0.0, 1.0), lr=3e-3)
        ok = certify.certified(model, xs, ys, eps, bounds=(0.0, 1.0))
        adv = robust.pgd(model, xs, ys, eps, alpha=eps / 4, steps=20, restarts=2,
                         bounds=(0.0, 1.0), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            broken = model(adv).argmax(dim=1) != ys
        assert not bool((ok & broken).any())
        cert[method] = float(ok.float().mean())
    assert cert["standard"] < 0.05 < 0.3 < cert["ibp"]


def test_ibp_schedule_by_hand() -> None:
    kw = dict(warmup=2, ramp=4, eps=0.2, kappa_end=0.5)
    assert certify.ibp_schedule(0, **kw) == (0.0, 1.0)
    assert certify.ibp_schedule(1, **kw) == (0.0, 1.0)
    e, k = certify.ibp_schedule(3, **kw)
    assert e == pytest.approx(0.1) and k == pytest.approx(0.75)
    assert certify.ibp_schedule(9, **kw) == (pytest.approx(0.2), pytest.approx(0.5))


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (517, 1000), (99, 100)])
def test_clopper_pearson_matches_scipy(alternative: str, k: int, n: int) -> None:
    low, high = certify.clopper_pearson(k, n, 0.01, alternative=alternative)
    ref = stats.binomtest(k, n, alternative=alternative).proportion_ci(0.99, method="exact")
    assert float(low) == pytest.approx(ref.low, abs=1e-12)
    assert float(high) == pytest.approx(ref.high, abs=1e-12)


def test_clopper_pearson_all_successes_by_hand() -> None:
    low, _ = certify.clopper_pearson(100, 100, 0.001, alternative="greater")
    assert float(low) == pytest.approx(0.001 ** (1 / 100), rel=1e-12)


def test_smoothing_radius_by_hand() -> None:
    r = certify.smoothing_radius(np.array([stats.norm.cdf(1.0), 0.5, stats.norm.cdf(2.0)]), 0.5)
    np.testing.assert_allclose(r, [0.5, 0.0, 1.0], atol=1e-12)


class _Linear2(nn.Module):
    """A binary linear classifier: logits (0, w.x + b)."""

    def __init__(self, w: torch.Tensor, b: float):
        super().__init__()
        self.w, self.b = w, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x @ self.w + self.b
        return torch.stack([torch.zeros_like(s), s], dim=1)


def test_counts_match_the_gaussian_law_of_a_linear_classifier() -> None:
    w = torch.tensor([3.0, -4.0], dtype=torch.float64)     # ||w|| = 5
    model = _Linear2(w, 0.0)
    x = torch.tensor([[0.5, 0.25], [0.0, 0.0]], dtype=torch.float64)   # w.x = 0.5, 0
    sigma, n = 0.2, 40000
    counts = certify.gaussian_counts(model, x, sigma, n, num_classes=2, batch_size=999,
                                     generator=torch.Generator().manual_seed(0))
    assert counts.sum(dim=1).tolist() == [n, n]
    p = stats.norm.cdf(np.array([0.5, 0.0]) / (sigma * 5))
    sd = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts[:, 1].numpy() / n - p) < 4 * sd)


def test_certify_radius_of_a_linear_classifier_is_below_the_distance_to_its_boundary() -> None:
    # For a linear binary classifier the smoothed classifier's exact radius is the distance to
    # the boundary, (w.x + b)/||w||; CERTIFY's radius is smaller (p_lower < p) but close.
    w = torch.tensor([3.0, -4.0], dtype=torch.float64)
    model = _Linear2(w, 0.0)
    x = torch.tensor([[0.2, 0.0]], dtype=torch.float64)    # distance 0.6 / 5 = 0.12
    pred, radius, p_lower = certify.certify_smoothed(
        model, x, 0.1, n0=100, n=20000, alpha=0.001, num_classes=2,
        generator=torch.Generator().manual_seed(1))
    assert int(pred[0]) == 1
    assert 0.10 < radius[0] < 0.12
    assert radius[0] == pytest.approx(0.1 * stats.norm.ppf(p_lower[0]))


def test_constant_classifier_certificate_and_prediction() -> None:
    model = _Linear2(torch.zeros(2, dtype=torch.float64), 1.0)    # always class 1
    x = torch.zeros(3, 2, dtype=torch.float64)
    pred, radius, _ = certify.certify_smoothed(model, x, 0.5, n0=10, n=200, alpha=0.01,
                                               num_classes=2)
    assert pred.tolist() == [1, 1, 1]
    np.testing.assert_allclose(radius, 0.5 * stats.norm.ppf(0.01 ** (1 / 200)), rtol=1e-12)
    assert certify.predict_smoothed(model, x, 0.5, n=50, alpha=0.01,
                                    num_classes=2).tolist() == [1, 1, 1]


def test_predict_abstains_exactly_when_the_binomial_test_fails() -> None:
    # a classifier at its boundary: p = 1/2, so the test rarely rejects at alpha = 0.001
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    model = _Linear2(w, 0.0)
    x = torch.zeros(40, 2, dtype=torch.float64)
    gen = torch.Generator().manual_seed(2)
    gen_copy = torch.Generator().manual_seed(2)
    pred = certify.predict_smoothed(model, x, 1.0, n=100, alpha=0.05, num_classes=2,
                                    generator=gen)
    counts = certify.gaussian_counts(model, x, 1.0, 100, num_classes=2, generator=gen_copy)
    for i in range(len(x)):
        na, nb = sorted(counts[i].tolist(), reverse=True)
        pv = stats.binomtest(na, na + nb, 0.5).pvalue
        expected = int(counts[i].argmax()) if pv <= 0.05 else certify.ABSTAIN
        assert int(pred[i]) == expected


def test_soft_smoothed_returns_log_probabilities() -> None:
    net = _net(5)
    soft = certify.SoftSmoothed(net, 0.3, 7, generator=torch.Generator().manual_seed(0))
    out = soft(torch.rand(4, 3, dtype=torch.float64))
    torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(4, dtype=torch.float64))


def test_pgd_within_respects_each_radius() -> None:
    net = _net(6).float()
    x = torch.rand(6, 3)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    radius = np.array([0.0, 0.05, 0.3, 0.3, 0.123, 0.004])
    adv = certify.pgd_within(net, x, y, radius, steps=5, restarts=2,
                             generator=torch.Generator().manual_seed(0))
    norms = (adv - x).norm(dim=1).numpy()
    assert np.all(norms <= radius + 1e-6)
    torch.testing.assert_close(adv[[0, 5]], x[[0, 5]])      # rounded down to radius 0


def test_certified_accuracy_by_hand() -> None:
    pred = torch.tensor([0, 1, certify.ABSTAIN, 2])
    y = torch.tensor([0, 1, 2, 0])
    acc = certify.certified_accuracy(pred, np.array([0.5, 0.2, 0.0, 0.9]), y, [0.0, 0.3, 0.6])
    np.testing.assert_allclose(acc, [0.5, 0.25, 0.0])


def test_invalid_arguments() -> None:
    net = _net()
    x = torch.rand(2, 3, dtype=torch.float64)
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="eps"):
        certify.margin_lower_bounds(net, x, y, -0.1)
    with pytest.raises(ValueError, match="bounds"):
        certify.margin_lower_bounds(net, x, y, 0.1, bounds=(1.0, 0.0))
    with pytest.raises(TypeError, match="Tanh"):
        certify.interval_bounds(nn.Sequential(nn.Linear(3, 2), nn.Tanh()), x, x)
    with pytest.raises(ValueError, match="ReLU"):
        certify.interval_bounds(MLP([3, 4, 2], activation="tanh"), x.float(), x.float())
    with pytest.raises(ValueError, match="low must be <= high"):
        certify.interval_affine(torch.eye(3), None, x + 1, x)
    with pytest.raises(ValueError, match="alpha"):
        certify.clopper_pearson(3, 10, 1.5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        certify.clopper_pearson(11, 10, 0.05)
    with pytest.raises(ValueError, match="alternative"):
        certify.clopper_pearson(3, 10, 0.05, alternative="less")
    with pytest.raises(ValueError, match="sigma"):
        certify.smoothing_radius(0.9, 0.0)
    with pytest.raises(ValueError, match="p_lower"):
        certify.smoothing_radius(1.2, 1.0)
    with pytest.raises(ValueError, match="n must"):
        certify.gaussian_counts(net, x, 0.5, 0, num_classes=4)
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        certify.predict_smoothed(net, x, 0.5, n=10, alpha=0.01, num_classes=1)
    with pytest.raises(ValueError, match="n0"):
        certify.certify_smoothed(net, x, 0.5, n0=0, n=10, alpha=0.01, num_classes=4)
    with pytest.raises(ValueError, match="samples"):
        certify.SoftSmoothed(net, 0.5, 0)
    with pytest.raises(ValueError, match="kappa_end"):
        certify.ibp_fit(net, x, y, eps=0.1, epochs=1, batch_size=2, kappa_end=2.0)
    with pytest.raises(ValueError, match="batch_size"):
        certify.noise_fit(net, x, y, sigma=0.1, epochs=1, batch_size=3)
    with pytest.raises(ValueError, match="radius"):
        certify.pgd_within(net, x, y, np.array([0.1]), steps=1, restarts=1)
