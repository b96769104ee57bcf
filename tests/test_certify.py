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


# --- argument checks: each bad value is rejected with a message naming the argument -----------

def _tiny() -> tuple[nn.Sequential, torch.Tensor, torch.Tensor]:
    """A 3-in, 4-class network and two examples."""
    return _net(), torch.rand(2, 3, dtype=torch.float64), torch.tensor([0, 1])


@pytest.mark.parametrize("kwargs,message", [
    (dict(eps=-0.1), r"^eps must be a finite non-negative number, got -0\.1\."),
    (dict(eps=float("inf")), r"^eps must be a finite non-negative number"),
    (dict(eps=float("nan")), r"^eps must be a finite non-negative number"),
    (dict(eps=True), r"^eps must be a finite non-negative number"),
    (dict(eps="0.1"), r"^eps must be a finite non-negative number"),
    (dict(eps=0.1, bounds=(1.0, 0.0)), r"^bounds must be None or a pair \(low, high\) with low < "
                                       r"high, got \(1\.0, 0\.0\)\."),
    (dict(eps=0.1, bounds=(0.5, 0.5)), r"^bounds must be None or a pair"),
    (dict(eps=0.1, bounds=(0.0, 1.0, 2.0)), r"^bounds must be None or a pair"),
    (dict(eps=0.1, bounds=0.5), r"^bounds must be None or a pair"),
])
def test_margin_lower_bounds_rejects_bad_eps_and_bounds(kwargs: dict, message: str) -> None:
    """eps must be finite and >= 0, bounds a pair with low < high."""
    net, x, y = _tiny()
    eps = kwargs.pop("eps")
    with pytest.raises(ValueError, match=message):
        certify.margin_lower_bounds(net, x, y, eps, **kwargs)


def test_margin_lower_bounds_accepts_boundary_eps_and_list_bounds() -> None:
    """eps = 0 gives the exact margins of the clean logits; bounds may be a list."""
    net, x, y = _tiny()
    m = certify.margin_lower_bounds(net, x, y, 0, bounds=[0.0, 1.0])
    with torch.no_grad():
        out = net(x)
    torch.testing.assert_close(m, out[torch.arange(2), y][:, None] - out)


def test_check_labels_messages() -> None:
    """x and y must be tensors (TypeError naming both types) with matching leading sizes."""
    net, x, y = _tiny()
    with pytest.raises(TypeError, match=r"^x and y must be torch tensors, got list and Tensor\.$"):
        certify.margin_lower_bounds(net, x.tolist(), y, 0.1)
    with pytest.raises(TypeError, match=r"^x and y must be torch tensors, got Tensor and list\.$"):
        certify.margin_lower_bounds(net, x, y.tolist(), 0.1)
    for xb, yb, shapes in [(x, y[:1], r"\(2, 3\) and \(1,\)"),
                           (x, y[:, None], r"\(2, 3\) and \(2, 1\)"),
                           (x[0], y[:1], r"\(3,\) and \(1,\)")]:
        with pytest.raises(ValueError, match=r"^x must have shape \(n, \.\.\.\) and y shape "
                                             r"\(n,\), got " + shapes + r"\.$"):
            certify.margin_lower_bounds(net, xb, yb, 0.1)


def test_interval_and_model_checks_messages() -> None:
    """Shape, ordering, layer and model-type errors of the interval functions."""
    net, x, _ = _tiny()
    with pytest.raises(ValueError, match=r"^low and high must both have shape \(n, 3\), got "
                                         r"\(2, 3\) and \(2, 2\)\.$"):
        certify.interval_affine(torch.eye(3), None, x, x[:, :2])
    with pytest.raises(ValueError, match=r"^low and high must both have shape \(n, 2\)"):
        certify.interval_affine(torch.eye(2), None, x, x)
    with pytest.raises(ValueError, match=r"^low and high must be tensors of the same shape\.$"):
        certify.interval_bounds(net, x, x[:, :2])
    with pytest.raises(ValueError, match=r"^low and high must be tensors of the same shape\.$"):
        certify.interval_bounds(net, x.tolist(), x)
    with pytest.raises(ValueError, match=r"^low and high must be tensors of the same shape\.$"):
        certify.interval_bounds(net, x, x.tolist())
    with pytest.raises(TypeError, match=r"^model must be an nn\.Sequential of Linear/ReLU/Flatten "
                                        r"layers or a dlscience\.models\.MLP, got Linear\.$"):
        certify.interval_bounds(nn.Linear(3, 2), x.float(), x.float())
    with pytest.raises(TypeError, match=r"^interval bounds do not support the layer Tanh; use "
                                        r"Linear, ReLU and Flatten\.$"):
        certify.interval_bounds(nn.Sequential(nn.Linear(3, 2), nn.Tanh()), x.float(), x.float())
    with pytest.raises(ValueError, match=r"^interval bounds support MLPs with ReLU activations "
                                         r"only\.$"):
        certify.interval_bounds(MLP([3, 4, 2], activation="tanh"), x.float(), x.float())
    with pytest.raises(ValueError, match=r"^the model's last layer must be nn\.Linear\.$"):
        certify.margin_lower_bounds(nn.Sequential(nn.Linear(3, 2), nn.ReLU()).double(), x,
                                    torch.tensor([0, 1]), 0.1)


def test_interval_bounds_through_flatten_and_identity() -> None:
    """Flatten / Identity layers act on both ends of the box: a flattened (n, 1, 3) box gives the
    same bounds as the (n, 3) box through the layers after it."""
    net = _net(7)
    seq = nn.Sequential(nn.Flatten(), nn.Identity(), *net)
    gen = torch.Generator().manual_seed(0)
    low = torch.rand(4, 1, 3, generator=gen, dtype=torch.float64)
    high = low + 0.2
    got = certify.interval_bounds(seq, low, high)
    ref = certify.interval_bounds(net, low[:, 0], high[:, 0])
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b)
    # and a single point box gives the network's output on both ends
    with torch.no_grad():
        out = seq(low)
    for a in certify.interval_bounds(seq, low, low):
        torch.testing.assert_close(a, out)


def test_certified_by_hand_for_a_linear_model() -> None:
    """Logits (x1, x2): the margin of class 0 over the linf ball is x1 - x2 - 2 eps, exactly."""
    lin = nn.Linear(2, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2, dtype=torch.float64))
        lin.bias.zero_()
    model = nn.Sequential(lin)
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.5], [0.0, 0.5]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 0])
    # margins 1 - 2 eps, 1 - 2 eps, 0.5 - 2 eps, -0.5 - 2 eps; certified means margin > 0
    assert certify.certified(model, x, y, 0.4).tolist() == [True, True, False, False]
    assert certify.certified(model, x, y, 0.5).tolist() == [False, False, False, False]
    assert certify.certified(model, x, y, 0.25).tolist() == [True, True, False, False]
    assert certify.certified(model, x, y, 0.2).tolist() == [True, True, True, False]
    m = certify.margin_lower_bounds(model, x, y, 0.1)
    torch.testing.assert_close(m, torch.tensor([[0.0, 0.8], [0.0, 0.8], [0.3, 0.0], [0.0, -0.7]],
                                               dtype=torch.float64))


@pytest.mark.parametrize("kwargs,message", [
    (dict(epochs=0), r"^epochs must be a positive integer, got 0\."),
    (dict(batch_size=0), r"^batch_size must be a positive integer, got 0\."),
    (dict(batch_size=4), r"^batch_size must be at most the number of examples 3, got 4\.$"),
    (dict(seed=-1), r"^seed must be a non-negative integer, got -1\.$"),
    (dict(seed=True), r"^seed must be a non-negative integer, got True\.$"),
    (dict(seed=1.0), r"^seed must be a non-negative integer, got 1\.0\.$"),
    (dict(lr=0.0), r"^lr must be positive, got 0\.0\.$"),
    (dict(lr=-1.0), r"^lr must be a finite non-negative number, got -1\.0\.$"),
    (dict(sigma=-0.5), r"^sigma must be a finite non-negative number, got -0\.5\.$"),
])
def test_noise_fit_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    """Every argument of noise_fit is checked, with a message naming it."""
    net = _net()
    x, y = torch.rand(3, 3, dtype=torch.float64), torch.tensor([0, 1, 2])
    args = dict(sigma=0.1, epochs=1, batch_size=2) | kwargs
    with pytest.raises(ValueError, match=message):
        certify.noise_fit(net, x, y, **args)


@pytest.mark.parametrize("kwargs,message", [
    (dict(eps=-1.0), r"^eps must be a finite non-negative number, got -1\.0\.$"),
    (dict(epochs=0), r"^epochs must be a positive integer, got 0\."),
    (dict(batch_size=0), r"^batch_size must be a positive integer, got 0\."),
    (dict(batch_size=4), r"^batch_size must be at most the number of examples 3, got 4\.$"),
    (dict(warmup=-1), r"^warmup must be a non-negative integer, got -1\.$"),
    (dict(warmup=0.5), r"^warmup must be a non-negative integer, got 0\.5\.$"),
    (dict(ramp=-1), r"^ramp must be a non-negative integer, got -1\.$"),
    (dict(ramp=True), r"^ramp must be a non-negative integer, got True\.$"),
    (dict(seed=-1), r"^seed must be a non-negative integer, got -1\.$"),
    (dict(kappa_end=1.5), r"^kappa_end must be a number in \[0, 1\], got 1\.5\.$"),
    (dict(kappa_end=-0.1), r"^kappa_end must be a number in \[0, 1\], got -0\.1\.$"),
    (dict(kappa_end=True), r"^kappa_end must be a number in \[0, 1\], got True\.$"),
    (dict(kappa_end="1"), r"^kappa_end must be a number in \[0, 1\]"),
    (dict(lr=0.0), r"^lr must be positive, got 0\.0\.$"),
    (dict(bounds=(1.0, 0.0)), r"^bounds must be None or a pair"),
])
def test_ibp_fit_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    """Every argument of ibp_fit is checked, with a message naming it."""
    net = _net()
    x, y = torch.rand(3, 3, dtype=torch.float64), torch.tensor([0, 1, 2])
    args = dict(eps=0.1, epochs=1, batch_size=2) | kwargs
    with pytest.raises(ValueError, match=message):
        certify.ibp_fit(net, x, y, **args)


def _data(n: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(11)
    return (torch.rand(n, 3, generator=gen, dtype=torch.float64),
            torch.randint(0, 4, (n,), generator=gen))


def _assert_same_params(a: nn.Module, b: nn.Module) -> None:
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def _reference_fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                   batch_size: int, lr: float, seed: int, sigma: float = 0.0, eps: float = 0.0,
                   warmup: int = 0, ramp: int = 0, kappa_end: float = 1.0,
                   bounds: tuple[float, float] | None = None) -> list[float]:
    """The documented training loops written out: Adam, a seeded random order per epoch, noise
    drawn after the order from the same generator (noise_fit), and the IBP loss
    kappa CE(clean) + (1 - kappa) CE(-margins) on the ibp_schedule (ibp_fit)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for epoch in range(epochs):
        eps_t, kappa = certify.ibp_schedule(epoch, warmup=warmup, ramp=ramp, eps=eps,
                                            kappa_end=kappa_end)
        order = torch.randperm(len(y), generator=gen)
        batches = [order[i:i + batch_size] for i in range(0, len(y), batch_size)]
        total = 0.0
        for idx in batches:
            xb = x[idx]
            if sigma > 0:
                xb = xb + sigma * torch.randn(xb.shape, generator=gen, dtype=x.dtype)
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            if kappa < 1 and eps_t > 0:
                m = certify.margin_lower_bounds(model, x[idx], y[idx], eps_t, bounds=bounds)
                loss = kappa * loss + (1 - kappa) * nn.functional.cross_entropy(-m, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(y))
    return losses


def test_noise_fit_matches_the_documented_loop() -> None:
    """noise_fit == the written-out loop (last batch partial: 7 = 3 + 3 + 1), and leaves the
    model in eval mode."""
    x, y = _data()
    model, ref = _net(8), _net(8)
    losses = certify.noise_fit(model, x, y, sigma=0.3, epochs=2, batch_size=3, lr=0.01, seed=5)
    ref_losses = _reference_fit(ref, x, y, epochs=2, batch_size=3, lr=0.01, seed=5, sigma=0.3)
    assert losses == pytest.approx(ref_losses, rel=1e-12)
    _assert_same_params(model, ref)
    assert not model.training


def test_noise_fit_defaults_and_full_batch() -> None:
    """Defaults lr = 1e-3, seed = 0; batch_size = n is allowed; sigma = 0 is plain training."""
    x, y = _data()
    model, ref = _net(9), _net(9)
    losses = certify.noise_fit(model, x, y, sigma=0.5, epochs=2, batch_size=7)
    ref_losses = _reference_fit(ref, x, y, epochs=2, batch_size=7, lr=1e-3, seed=0, sigma=0.5)
    assert losses == pytest.approx(ref_losses, rel=1e-12)
    _assert_same_params(model, ref)
    model, ref = _net(9), _net(9)
    losses = certify.noise_fit(model, x, y, sigma=0, epochs=1, batch_size=2, seed=0)
    assert losses == pytest.approx(_reference_fit(ref, x, y, epochs=1, batch_size=2, lr=1e-3,
                                                  seed=0), rel=1e-12)
    _assert_same_params(model, ref)


def test_noise_fit_noise_has_the_input_dtype() -> None:
    """float32 data: the noise is drawn in float32 (a float64 draw would consume the generator
    differently and change the result)."""
    x, y = _data()
    x = x.float()
    model, ref = _net(10).float(), _net(10).float()
    losses = certify.noise_fit(model, x, y, sigma=0.2, epochs=1, batch_size=4, lr=0.01, seed=1)
    ref_losses = _reference_fit(ref, x, y, epochs=1, batch_size=4, lr=0.01, seed=1, sigma=0.2)
    assert losses == pytest.approx(ref_losses, rel=1e-6)
    _assert_same_params(model, ref)


def test_ibp_fit_matches_the_documented_loop() -> None:
    """ibp_fit == the written-out IBP loop through warmup, ramp and plateau, with bounds that
    clip the box (x in [0, 1], eps 0.4)."""
    x, y = _data()
    model, ref = _net(12), _net(12)
    kw = dict(epochs=4, batch_size=3, lr=0.01, seed=3, eps=0.4, warmup=1, ramp=2,
              kappa_end=0.25, bounds=(0.0, 1.0))
    losses = certify.ibp_fit(model, x, y, **kw)
    ref_losses = _reference_fit(ref, x, y, **kw)
    assert losses == pytest.approx(ref_losses, rel=1e-12)
    _assert_same_params(model, ref)
    assert not model.training


def test_ibp_fit_defaults() -> None:
    """Defaults warmup = ramp = 0, kappa_end = 0.5, bounds None, lr = 1e-3, seed = 0; eps = 0 and
    kappa_end = 1 are ordinary training; batch_size = n allowed."""
    x, y = _data()
    model, ref = _net(13), _net(13)
    losses = certify.ibp_fit(model, x, y, eps=0.3, epochs=2, batch_size=3)
    ref_losses = _reference_fit(ref, x, y, epochs=2, batch_size=3, lr=1e-3, seed=0, eps=0.3,
                                kappa_end=0.5)
    assert losses == pytest.approx(ref_losses, rel=1e-12)
    _assert_same_params(model, ref)
    for kw in (dict(eps=0, kappa_end=0.0), dict(eps=0.3, kappa_end=1)):
        model, ref = _net(13), _net(13)
        losses = certify.ibp_fit(model, x, y, epochs=1, batch_size=7, seed=0, **kw)
        assert losses == pytest.approx(_reference_fit(ref, x, y, epochs=1, batch_size=7, lr=1e-3,
                                                      seed=0), rel=1e-12)
        _assert_same_params(model, ref)


@pytest.mark.parametrize("k,n,message", [
    (3.0, 10, r"^k and n must be integers\.$"),
    (3, 10.0, r"^k and n must be integers\.$"),
    (0, 0, r"^need integers 0 <= k <= n with n >= 1\.$"),
    (-1, 10, r"^need integers 0 <= k <= n with n >= 1\.$"),
    (11, 10, r"^need integers 0 <= k <= n with n >= 1\.$"),
    ([1, -1], [5, 5], r"^need integers 0 <= k <= n with n >= 1\.$"),
])
def test_clopper_pearson_rejects_bad_counts(k: object, n: object, message: str) -> None:
    """k, n integers with 0 <= k <= n and n >= 1 (each condition on its own)."""
    with pytest.raises(ValueError, match=message):
        certify.clopper_pearson(k, n, 0.05)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5, True, "0.1"])
def test_alpha_checked(alpha: object) -> None:
    """alpha must be a number strictly inside (0, 1)."""
    with pytest.raises(ValueError, match=r"^alpha must be a number in \(0, 1\), got "):
        certify.clopper_pearson(3, 10, alpha)


def test_clopper_pearson_alternative_message_and_n_one() -> None:
    """n = 1 is allowed (by hand: two-sided 0.95 interval for 1 of 1 is [0.025, 1], for 0 of 1
    [0, 0.975]); vectorized over arrays; exact message for a bad alternative."""
    low, high = certify.clopper_pearson(np.array([0, 1]), 1, 0.05)
    np.testing.assert_allclose(low, [0.0, 0.025], rtol=1e-12)
    np.testing.assert_allclose(high, [0.975, 1.0], rtol=1e-12)
    low, high = certify.clopper_pearson(np.array([2, 5]), np.array([5, 5]), 0.1,
                                        alternative="greater")
    ref = stats.binomtest(2, 5, alternative="greater").proportion_ci(0.9, method="exact")
    np.testing.assert_allclose(low, [ref.low, 0.1 ** (1 / 5)], rtol=1e-12)
    np.testing.assert_allclose(high, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"^alternative must be 'two-sided' or 'greater', got "
                                         r"'less'\.$"):
        certify.clopper_pearson(3, 10, 0.05, alternative="less")


def test_smoothing_radius_edges_and_messages() -> None:
    """p_lower in [0, 1] inclusive (radius -inf / inf); sigma checked with its name."""
    np.testing.assert_array_equal(certify.smoothing_radius([0.0, 1.0], 2.0), [-np.inf, np.inf])
    assert float(certify.smoothing_radius(0.975, 2.0)) == pytest.approx(
        2 * 1.959963984540054, rel=1e-12)
    for p in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError, match=r"^p_lower must lie in \[0, 1\]\.$"):
            certify.smoothing_radius(p, 1.0)
    with pytest.raises(ValueError, match=r"^sigma must be positive, got 0\.0\.$"):
        certify.smoothing_radius(0.9, 0.0)
    with pytest.raises(ValueError, match=r"^sigma must be a finite non-negative number, got -1"):
        certify.smoothing_radius(0.9, -1)


class _Recorder(nn.Module):
    """A linear 3-class classifier that records its inputs and whether it was in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]], dtype=torch.float64)
        self.seen: list[torch.Tensor] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        self.modes.append(self.training)
        return x @ self.w


def test_gaussian_counts_chunks_and_noise_by_hand() -> None:
    """With N = 2 inputs and batch_size 7 the n = 8 draws come in chunks of 7 // 2 = 3 rows per
    input: 3, 3, 2; each chunk is x + sigma * randn((m, N, d)) from the generator, the counts are
    the argmax tallies; the model runs in eval mode and gets its mode back."""
    x = torch.tensor([[0.2, -0.1], [0.0, 0.3]], dtype=torch.float64)
    model = _Recorder()
    model.train()
    counts = certify.gaussian_counts(model, x, 0.7, 8, num_classes=3, batch_size=7,
                                     generator=torch.Generator().manual_seed(4))
    assert model.training and model.modes == [False, False, False]
    gen = torch.Generator().manual_seed(4)
    ref = torch.zeros(2, 3, dtype=torch.int64)
    for m, seen in zip([3, 3, 2], model.seen):
        z = x[None] + 0.7 * torch.randn((m, 2, 2), generator=gen, dtype=torch.float64)
        torch.testing.assert_close(seen, z.reshape(2 * m, 2))
        for lab in (z @ model.w).argmax(dim=2).reshape(-1, 2):
            ref[0, lab[0]] += 1
            ref[1, lab[1]] += 1
    assert len(model.seen) == 3
    assert counts.dtype == torch.int64
    assert torch.equal(counts, ref)


def test_gaussian_counts_default_batch_and_unused_classes() -> None:
    """Default batch_size 10 000 and 1 input: n = 10 001 draws come in chunks of 10 000 and 1;
    classes never predicted get a zero column (num_classes 5 > the 3 logits' classes)."""
    x = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    model = _Recorder()
    model.eval()
    counts = certify.gaussian_counts(model, x, 0.1, 10_001, num_classes=5,
                                     generator=torch.Generator().manual_seed(0))
    assert [z.shape for z in model.seen] == [(10_000, 2), (1, 2)]
    assert not model.training and model.modes == [False, False]
    # logits (x1, x2, -x1 - x2) near (0.5, 0.5) with sigma 0.1: class 0 or 1, never 2, 3, 4
    assert counts.shape == (1, 5) and int(counts.sum()) == 10_001
    assert counts[0, 2:].tolist() == [0, 0, 0]


@pytest.mark.parametrize("kwargs,message", [
    (dict(sigma=0.0), r"^sigma must be positive, got 0\.0\.$"),
    (dict(n=0), r"^n must be a positive integer, got 0\."),
    (dict(num_classes=0), r"^num_classes must be a positive integer, got 0\."),
    (dict(batch_size=0), r"^batch_size must be a positive integer, got 0\."),
    (dict(x=torch.zeros(3)), r"^x must be a tensor of shape \(N, \.\.\.\)\.$"),
    (dict(x=[[0.0, 0.0]]), r"^x must be a tensor of shape \(N, \.\.\.\)\.$"),
])
def test_gaussian_counts_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    """Every argument of gaussian_counts is checked, with a message naming it."""
    args = dict(x=torch.zeros(2, 2, dtype=torch.float64), sigma=0.5, n=10, num_classes=3) | kwargs
    with pytest.raises(ValueError, match=message):
        certify.gaussian_counts(_Recorder(), args.pop("x"), args.pop("sigma"), args.pop("n"),
                                **args)


def test_predict_smoothed_at_the_alpha_boundary() -> None:
    """A constant classifier has n_A = n, n_B = 0: p-value 2 * 2^-n = 1/16 for n = 5, so it answers
    at alpha = 1/16 (p <= alpha) and abstains just below; num_classes 2 is the least allowed."""
    model = _Linear2(torch.zeros(2, dtype=torch.float64), 1.0)
    x = torch.zeros(2, 2, dtype=torch.float64)
    assert certify.predict_smoothed(model, x, 0.5, n=5, alpha=1 / 16,
                                    num_classes=2).tolist() == [1, 1]
    assert certify.predict_smoothed(model, x, 0.5, n=5, alpha=0.0624,
                                    num_classes=2).tolist() == [certify.ABSTAIN] * 2
    with pytest.raises(ValueError, match=r"^num_classes must be at least 2 for PREDICT, got 1\.$"):
        certify.predict_smoothed(model, x, 0.5, n=5, alpha=0.1, num_classes=1)
    with pytest.raises(ValueError, match=r"^alpha must be a number in \(0, 1\)"):
        certify.predict_smoothed(model, x, 0.5, n=5, alpha=1.0, num_classes=2)


def test_certify_smoothed_messages() -> None:
    """alpha and n0 checked with their names."""
    model = _Linear2(torch.zeros(2, dtype=torch.float64), 1.0)
    x = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^n0 must be a positive integer, got 0\."):
        certify.certify_smoothed(model, x, 0.5, n0=0, n=10, alpha=0.01, num_classes=2)
    with pytest.raises(ValueError, match=r"^alpha must be a number in \(0, 1\), got 0\.0\."):
        certify.certify_smoothed(model, x, 0.5, n0=1, n=10, alpha=0.0, num_classes=2)


def test_soft_smoothed_matches_the_monte_carlo_average() -> None:
    """forward(x) = log(mean_j softmax(f(x + sigma noise_j))) with noise (samples, N, d) from the
    generator (computed here as the log of an average of probabilities)."""
    net = _net(5)
    x = torch.rand(4, 3, dtype=torch.float64)
    soft = certify.SoftSmoothed(net, 0.3, 7, generator=torch.Generator().manual_seed(0))
    assert soft.sigma == 0.3 and soft.samples == 7
    out = soft(x)
    noise = torch.randn((7, 4, 3), generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    probs = torch.stack([torch.softmax(net(x + 0.3 * e), dim=1) for e in noise])
    torch.testing.assert_close(out, probs.mean(dim=0).log())
    with pytest.raises(ValueError, match=r"^samples must be a positive integer, got 0\."):
        certify.SoftSmoothed(net, 0.5, 0)
    with pytest.raises(ValueError, match=r"^sigma must be positive, got 0\."):
        certify.SoftSmoothed(net, 0, 3)


def test_certified_accuracy_message_and_scalar_radius() -> None:
    """Shapes are checked; a scalar r gives a length-1 array; radius >= r is inclusive."""
    pred, y = torch.tensor([0, 1]), torch.tensor([0, 0])
    np.testing.assert_array_equal(certify.certified_accuracy(pred, [0.5, 0.5], y, 0.5), [0.5])
    for radius, p in (([0.5], pred), ([0.5, 0.5], pred[:1])):
        with pytest.raises(ValueError, match=r"^prediction, radius and y must all have shape "
                                             r"\(N,\)\.$"):
            certify.certified_accuracy(p, radius, y, [0.0])


def test_pgd_within_equals_pgd_per_rounded_radius() -> None:
    """Radii 0.257, 0.1234, 0.257, 0.004 round down (default resolution 0.01) to 0.25, 0.12, 0.25,
    0: groups in increasing radius are attacked by robust.pgd with step 0.25 * radius and the
    shared generator; the last example is unchanged. A tensor radius works the same."""
    net = _net(6)
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(4, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3])
    radius = np.array([0.257, 0.1234, 0.257, 0.004])
    adv = certify.pgd_within(net, x, y, torch.tensor(radius), steps=3, restarts=2,
                             bounds=(0.0, 1.0), generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    ref = x.clone()
    for idx, eps in (([1], 0.12), ([0, 2], 0.25)):
        ref[idx] = robust.pgd(net, x[idx], y[idx], eps, alpha=0.25 * eps, steps=3, norm="l2",
                              restarts=2, bounds=(0.0, 1.0), generator=gen)
    torch.testing.assert_close(adv, ref)
    assert not torch.equal(adv[:3], x[:3])


def test_pgd_within_resolution_and_step_fraction() -> None:
    """resolution 0.1 rounds 0.257 down to 0.2; step_fraction 0.5 gives step 0.1."""
    net = _net(6)
    x = torch.rand(2, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = torch.tensor([0, 1])
    adv = certify.pgd_within(net, x, y, [0.257, 0.257], steps=2, restarts=1, step_fraction=0.5,
                             resolution=0.1, generator=torch.Generator().manual_seed(1))
    ref = robust.pgd(net, x, y, 0.2, alpha=0.1, steps=2, norm="l2", restarts=1,
                     generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(adv, ref)


@pytest.mark.parametrize("kwargs,message", [
    (dict(radius=[0.1]), r"^radius must hold 2 finite non-negative numbers\.$"),
    (dict(radius=[0.1, -0.1]), r"^radius must hold 2 finite non-negative numbers\.$"),
    (dict(radius=[0.1, np.inf]), r"^radius must hold 2 finite non-negative numbers\.$"),
    (dict(radius=[0.1, np.nan]), r"^radius must hold 2 finite non-negative numbers\.$"),
    (dict(resolution=0.0), r"^resolution must be positive, got 0\.0\.$"),
    (dict(step_fraction=0.0), r"^step_fraction must be positive, got 0\.0\.$"),
])
def test_pgd_within_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    """Radii, resolution and step_fraction checked, with messages naming them."""
    net, x, y = _tiny()
    args = dict(radius=[0.1, 0.1], steps=1, restarts=1) | kwargs
    with pytest.raises(ValueError, match=message):
        certify.pgd_within(net, x, y, args.pop("radius"), **args)


def test_certify_smoothed_against_counts_and_scipy() -> None:
    """CERTIFY by hand: select = argmax of n0 noisy counts, k = count of select among n fresh
    ones (the same generator stream), p_lower = Beta(alpha; k, n - k + 1) quantile (scipy),
    radius sigma Phi^-1(p_lower) when p_lower > 1/2, else ABSTAIN with radius 0."""
    model = _Linear2(torch.tensor([1.0, 0.0], dtype=torch.float64), 0.0)
    x = torch.tensor([[0.3, 0.0], [0.0, 0.0], [-0.5, 0.0]], dtype=torch.float64)
    kw = dict(num_classes=2, batch_size=100)
    pred, radius, p_lower = certify.certify_smoothed(model, x, 0.5, n0=20, n=500, alpha=0.01,
                                                     generator=torch.Generator().manual_seed(7),
                                                     **kw)
    gen = torch.Generator().manual_seed(7)
    select = certify.gaussian_counts(model, x, 0.5, 20, generator=gen, **kw).argmax(dim=1)
    counts = certify.gaussian_counts(model, x, 0.5, 500, generator=gen, **kw)
    k = counts[torch.arange(3), select].numpy()
    ref_p = stats.beta.ppf(0.01, k, 500 - k + 1)
    np.testing.assert_allclose(p_lower, ref_p, rtol=1e-10)
    ok = ref_p > 0.5
    assert ok.tolist() == [True, False, True]        # P(class 1) = Phi(0.6), 1/2, Phi(-1)
    assert pred.tolist() == [1, certify.ABSTAIN, 0]
    np.testing.assert_allclose(radius, np.where(ok, 0.5 * stats.norm.ppf(ref_p), 0.0),
                               rtol=1e-10)
    assert radius[1] == 0.0


def test_certify_and_predict_default_batch_size() -> None:
    """Default batch_size 10 000: with one input and n = 10 001 the draws come in chunks of
    10 000 and 1, the same as passing batch_size=10_000."""
    model = _Linear2(torch.tensor([1.0, 0.0], dtype=torch.float64), 0.0)
    x = torch.tensor([[0.01, 0.0]], dtype=torch.float64)
    got = certify.certify_smoothed(model, x, 1.0, n0=1, n=10_001, alpha=0.01, num_classes=2,
                                   generator=torch.Generator().manual_seed(0))
    ref = certify.certify_smoothed(model, x, 1.0, n0=1, n=10_001, alpha=0.01, num_classes=2,
                                   batch_size=10_000, generator=torch.Generator().manual_seed(0))
    assert float(got[2][0]) == float(ref[2][0])
    other = certify.certify_smoothed(model, x, 1.0, n0=1, n=10_001, alpha=0.01, num_classes=2,
                                     batch_size=10_001, generator=torch.Generator().manual_seed(0))
    assert float(other[2][0]) != float(ref[2][0])     # the chunking does change the draws
    got = certify.predict_smoothed(model, x, 1.0, n=10_001, alpha=0.5, num_classes=2,
                                   generator=torch.Generator().manual_seed(0))
    counts = certify.gaussian_counts(model, x, 1.0, 10_001, num_classes=2, batch_size=10_000,
                                     generator=torch.Generator().manual_seed(0))
    na, nb = sorted(counts[0].tolist(), reverse=True)
    expected = int(counts[0].argmax()) if stats.binomtest(na, na + nb).pvalue <= 0.5 else -1
    assert got.tolist() == [expected]


class _Three(nn.Module):
    """Three classes with logits (x1, x2, 0.5 - x1 - x2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0], x[:, 1], 0.5 - x[:, 0] - x[:, 1]], dim=1)


def test_predict_smoothed_three_classes_against_binomtest() -> None:
    """With three classes PREDICT tests the top two counts n_A, n_B (scipy.stats.binomtest of n_A
    in n_A + n_B trials at 1/2) and answers the top class or ABSTAIN."""
    x = torch.tensor([[1.0, 0.0], [0.0, 0.8], [0.3, 0.3], [0.05, 0.05]], dtype=torch.float64)
    pred = certify.predict_smoothed(_Three(), x, 0.6, n=200, alpha=0.05, num_classes=3,
                                    generator=torch.Generator().manual_seed(3))
    counts = certify.gaussian_counts(_Three(), x, 0.6, 200, num_classes=3,
                                     generator=torch.Generator().manual_seed(3))
    assert bool((counts.topk(2, dim=1).values[:, 1] > 0).all())     # n_B > 0 everywhere
    expected = []
    for row in counts.tolist():
        na, nb = sorted(row, reverse=True)[:2]
        ok = stats.binomtest(na, na + nb, 0.5).pvalue <= 0.05
        expected.append(int(np.argmax(row)) if ok else certify.ABSTAIN)
    assert pred.tolist() == expected
    assert certify.ABSTAIN in expected and len(set(expected)) > 1


def test_ibp_schedule_edges_by_hand() -> None:
    """ramp = 0 jumps to (eps, kappa_end) at epoch = warmup; ramp = 1 reaches it one epoch in;
    warmup = 0, ramp = 2 is halfway after the first epoch: (eps / 2, 1 - (1 - kappa_end) / 2)."""
    kw = dict(eps=0.4, kappa_end=0.2)
    assert certify.ibp_schedule(1, warmup=2, ramp=0, **kw) == (0.0, 1.0)
    assert certify.ibp_schedule(2, warmup=2, ramp=0, **kw) == (0.4, pytest.approx(0.2))
    assert certify.ibp_schedule(1, warmup=2, ramp=1, **kw) == (0.0, 1.0)
    assert certify.ibp_schedule(2, warmup=2, ramp=1, **kw) == (0.4, pytest.approx(0.2))
    assert certify.ibp_schedule(0, warmup=0, ramp=2, **kw) == (pytest.approx(0.2),
                                                               pytest.approx(0.6))
    assert certify.ibp_schedule(1, warmup=0, ramp=2, **kw) == (0.4, pytest.approx(0.2))


def test_margin_lower_bounds_clip_the_box_to_bounds() -> None:
    """Identity logits, x = (0.95, 0.5), y = 1, eps 0.1: the margin z1 - z0 over the box is
    0.4 - 1.05 = -0.65, or 0.4 - 1.0 = -0.6 once the box is clipped to [0, 1]."""
    lin = nn.Linear(2, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2, dtype=torch.float64))
        lin.bias.copy_(torch.tensor([0.0, 0.0], dtype=torch.float64))
    x, y = torch.tensor([[0.95, 0.5]], dtype=torch.float64), torch.tensor([1])
    free = certify.margin_lower_bounds(nn.Sequential(lin), x, y, 0.1)
    clipped = certify.margin_lower_bounds(nn.Sequential(lin), x, y, 0.1, bounds=(0.0, 1.0))
    torch.testing.assert_close(free, torch.tensor([[-0.65, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(clipped, torch.tensor([[-0.6, 0.0]], dtype=torch.float64))
    assert not bool(certify.certified(nn.Sequential(lin), x, y, 0.1, bounds=(0.0, 1.0))[0])
