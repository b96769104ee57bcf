"""Tests of dlscience.attribution: against Captum 0.9 on the same model, autograd, SciPy, and by
hand."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
from dlscience import attribution as at
from dlscience.models import MLP
from scipy.special import roots_legendre
from scipy.stats import spearmanr
from torch import nn

CAPTUM_RULE = {"left": "riemann_left", "right": "riemann_right", "midpoint": "riemann_middle",
               "gausslegendre": "gausslegendre"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread avoids oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mlp(activation: str, seed: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return MLP([6, 16, 16, 4], activation=activation, bias_std=0.3).to(dtype).eval()


def _inputs(seed: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(5, 6, generator=gen, dtype=dtype)
    base = 0.3 * torch.randn(5, 6, generator=gen, dtype=dtype)
    target = torch.tensor([0, 1, 2, 3, 1])
    return x, base, target


@pytest.mark.parametrize("rule", sorted(CAPTUM_RULE))
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_integrated_gradients_equals_captum(rule, activation):
    model = _mlp(activation, 0)
    x, base, target = _inputs(1)
    ours = at.integrated_gradients(model, x, target, baseline=base, steps=37, rule=rule)
    theirs = IntegratedGradients(model).attribute(x, baselines=base, target=target, n_steps=37,
                                                  method=CAPTUM_RULE[rule])
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_captum_trapezoid_is_ours_times_n_minus_1_over_n():
    """Captum's riemann_trapezoid weights sum to (n-1)/n, not 1 (see quadrature's note)."""
    model = _mlp("tanh", 2, torch.float64)
    x, base, target = _inputs(3, torch.float64)
    n = 20
    ours = at.integrated_gradients(model, x, target, baseline=base, steps=n, rule="trapezoid")
    theirs = IntegratedGradients(model).attribute(x, baselines=base, target=target, n_steps=n,
                                                  method="riemann_trapezoid")
    torch.testing.assert_close(theirs, ours * (n - 1) / n, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("rule", at.RULES)
def test_quadrature_weights_and_exactness(rule):
    alphas, weights = at.quadrature(rule, 8)
    assert alphas.shape == weights.shape == (8,)
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert alphas.min() >= 0 and alphas.max() <= 1
    exact_degree = {"left": 0, "right": 0, "midpoint": 1, "trapezoid": 1, "gausslegendre": 15}
    for deg in range(exact_degree[rule] + 1):
        assert (weights * alphas ** deg).sum() == pytest.approx(1 / (deg + 1), abs=1e-13)
    if rule != "gausslegendre":    # not exact one degree higher
        deg = exact_degree[rule] + 1
        assert abs((weights * alphas ** deg).sum() - 1 / (deg + 1)) > 1e-4


def test_trapezoid_and_midpoint_error_rates_on_a_smooth_integrand():
    """Error of int_0^1 e^a da: (e - 1) h^2 / 12 + O(h^4) (trapezoid), half of it (midpoint)."""
    exact = np.e - 1
    for n in (17, 33, 65):
        a, w = at.quadrature("trapezoid", n)
        h = 1 / (n - 1)
        assert (w * np.exp(a)).sum() - exact == pytest.approx((np.e - 1) * h ** 2 / 12, rel=1e-2)
        a, w = at.quadrature("midpoint", n)
        assert exact - (w * np.exp(a)).sum() == pytest.approx((np.e - 1) / n ** 2 / 24, rel=1e-2)


def test_completeness_on_a_smooth_mlp():
    model = _mlp("tanh", 4, torch.float64)
    x, base, target = _inputs(5, torch.float64)
    with torch.no_grad():
        delta_f = (model(x) - model(base)).gather(1, target[:, None]).squeeze(1)
    ig = at.integrated_gradients(model, x, target, baseline=base, steps=40, rule="gausslegendre")
    torch.testing.assert_close(ig.sum(dim=1), delta_f, rtol=1e-10, atol=1e-12)
    # the integrand's quadrature is the sum of the attributions, rule by rule
    for rule in ("trapezoid", "midpoint"):
        alphas, weights = at.quadrature(rule, 9)
        g = at.path_integrand(model, x, target, alphas, baseline=base)
        ig = at.integrated_gradients(model, x, target, baseline=base, steps=9, rule=rule)
        torch.testing.assert_close(g @ torch.as_tensor(weights), ig.sum(dim=1))


def test_completeness_on_a_relu_mlp_within_the_bounded_variation_bound():
    model = _mlp("relu", 6, torch.float64)
    x, base, target = _inputs(7, torch.float64)
    with torch.no_grad():
        delta_f = (model(x) - model(base)).gather(1, target[:, None]).squeeze(1)
    fine = at.path_integrand(model, x, target, np.linspace(0, 1, 20001), baseline=base)
    variation = (fine[:, 1:] - fine[:, :-1]).abs().sum(dim=1)
    for n in (5, 17, 65):
        ig = at.integrated_gradients(model, x, target, baseline=base, steps=n, rule="trapezoid")
        err = (ig.sum(dim=1) - delta_f).abs()
        assert torch.all(err <= variation / (2 * (n - 1)) + 1e-12)
    ig = at.integrated_gradients(model, x, target, baseline=base, steps=4001)
    torch.testing.assert_close(ig.sum(dim=1), delta_f, rtol=1e-3, atol=1e-3)


def test_relu_integrand_is_piecewise_constant():
    """Along a line, the gradient of a ReLU net's logit takes finitely many values."""
    model = _mlp("relu", 8, torch.float64)
    x, base, target = _inputs(9, torch.float64)
    g = at.path_integrand(model, x[:1], target[:1], np.linspace(0, 1, 2001), baseline=base[:1])
    jumps = int(((g[0, 1:] - g[0, :-1]).abs() > 1e-9).sum())
    assert 0 < jumps < 60       # at most a few dozen kinks among 2000 grid cells


@pytest.mark.parametrize("rule", at.RULES)
def test_ig_equals_gradient_times_input_on_a_linear_model(rule):
    torch.manual_seed(10)
    model = nn.Linear(6, 4).double()
    x, _, target = _inputs(11, torch.float64)
    ig = at.integrated_gradients(model, x, target, steps=5, rule=rule)
    torch.testing.assert_close(ig, at.gradient_x_input(model, x, target), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ig, x * model.weight[target].detach(), rtol=1e-12, atol=1e-12)


def test_gradient_equals_autograd_and_captum_saliency():
    model = _mlp("tanh", 12, torch.float64)
    x, _, target = _inputs(13, torch.float64)
    ours = at.gradient(model, x, target)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: model(v[None])[0], x[i])
        torch.testing.assert_close(ours[i], jac[target[i]])
    theirs = Saliency(model).attribute(x.clone().requires_grad_(True), target=target, abs=False)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(at.gradient(model, x, 2), at.gradient(model, x, [2] * len(x)))


def test_smoothgrad_matches_captum_noise_tunnel_in_expectation():
    model = _mlp("relu", 14, torch.float64)
    x, _, target = _inputs(15, torch.float64)
    x, target = x[:2], target[:2]
    n, sigma = 4000, 0.5
    ours = at.smoothgrad(model, x, target, sigma=sigma, samples=n,
                         generator=torch.Generator().manual_seed(16))
    torch.manual_seed(17)
    theirs = NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=n,
                                                    stdevs=sigma, target=target, abs=False)
    # per-sample spread of the noisy gradients, for the Monte Carlo tolerance
    gen = torch.Generator().manual_seed(18)
    noisy = x + sigma * torch.randn((n, *x.shape), generator=gen, dtype=x.dtype)
    grads = at.gradient(model, noisy.reshape(-1, 6), target.repeat(n)).reshape(n, *x.shape)
    se = grads.std(dim=0) * np.sqrt(2 / n)
    assert torch.all((ours - theirs).abs() <= 5 * se + 1e-12)
    # and not merely the plain gradient: the smoothing changes the map
    assert (ours - at.gradient(model, x, target)).abs().max() > 10 * se.max()


def test_smoothgrad_special_cases():
    model = _mlp("relu", 19, torch.float64)
    x, _, target = _inputs(20, torch.float64)
    gen = torch.Generator().manual_seed(0)
    torch.testing.assert_close(at.smoothgrad(model, x, target, sigma=0.0, samples=3,
                                             generator=gen), at.gradient(model, x, target))
    linear = nn.Linear(6, 4).double()
    torch.testing.assert_close(at.smoothgrad(linear, x, target, sigma=2.0, samples=3,
                                             generator=gen), at.gradient(linear, x, target))
    sq = at.smoothgrad(linear, x, target, sigma=2.0, samples=3, generator=gen, squared=True)
    torch.testing.assert_close(sq, at.gradient(linear, x, target) ** 2)


def test_randomize_top_layers():
    model = _mlp("relu", 21)
    before = [p.detach().clone() for p in model.parameters()]
    layers = at.weight_layers(model)
    assert len(layers) == 3 and layers[-1].out_features == 4
    for k in range(4):
        new = at.randomize_top_layers(model, k, torch.Generator().manual_seed(k))
        for i, (old, fresh) in enumerate(zip(layers, at.weight_layers(new))):
            same = torch.equal(old.weight, fresh.weight)
            assert same == (i < 3 - k)
            if not same:
                assert torch.equal(fresh.bias, torch.zeros_like(fresh.bias))
    for p, q in zip(before, model.parameters()):          # the original is untouched
        assert torch.equal(p, q)
    big = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 10))
    w = at.weight_layers(at.randomize_top_layers(big, 2, torch.Generator().manual_seed(0)))[0]
    assert w.weight.std().item() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_rank_correlation_equals_scipy_spearman():
    rng = np.random.default_rng(22)
    a = rng.normal(size=(6, 4, 5))
    b = a + rng.normal(size=(6, 4, 5))
    a[:, 0, :] = 0.0                                       # ties, as in maps with a background
    b[:, 0, :2] = 0.0
    for absolute in (False, True):
        ours = at.rank_correlation(torch.tensor(a), b, absolute=absolute)
        f = np.abs if absolute else (lambda v: v)
        ref = [spearmanr(f(a[i]).ravel(), f(b[i]).ravel()).statistic for i in range(6)]
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert np.allclose(at.rank_correlation(a, a), 1.0)
    assert np.allclose(at.rank_correlation(a, -a), -1.0)


def test_edge_map_by_hand():
    img = np.zeros((1, 5, 6))
    img[0, :, 3:] = 1.0                                    # a vertical step between columns 2 and 3
    edges = at.edge_map(img)
    # Sobel: [1, 2, 1] smoothing (sum 4) times the difference across the step (1)
    np.testing.assert_allclose(edges[0, 1:4, 2], 4.0)
    np.testing.assert_allclose(edges[0, 1:4, 3], 4.0)
    np.testing.assert_allclose(edges[0, :, 0], 0.0)


def test_deletion_curve_by_hand():
    model = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    x = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)
    scores = torch.tensor([[0.5, 0.1, 0.9]])               # order: feature 2, then 0, then 1
    probs = at.deletion_curve(model, x, 0, scores, [0, 1, 2, 3])
    logits = np.array([6.0, 3.0, 2.0, 0.0])                # after deleting 2, then 0, then 1
    np.testing.assert_allclose(probs[0], 1 / (1 + np.exp(-logits)))
    filled = at.deletion_curve(model, x, 0, scores, [3], fill=1.0)
    np.testing.assert_allclose(filled[0], 1 / (1 + np.exp(-6.0)))


def test_invalid_arguments():
    model = _mlp("relu", 23)
    x, base, target = _inputs(24)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="rule"):
        at.quadrature("simpson", 5)
    with pytest.raises(ValueError, match="steps must be at least 2 for the trapezoid"):
        at.quadrature("trapezoid", 1)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        at.integrated_gradients(model, x, target, steps=0)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        at.quadrature("midpoint", 2.0)
    with pytest.raises(ValueError, match="target"):
        at.gradient(model, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="target"):
        at.gradient(model, x, 7)
    with pytest.raises(ValueError, match="x must"):
        at.gradient(model, x[0], 0)
    with pytest.raises(ValueError, match="baseline"):
        at.integrated_gradients(model, x, target, baseline=torch.zeros(3))
    with pytest.raises(ValueError, match="alphas"):
        at.path_integrand(model, x, target, [0.5, 1.5])
    with pytest.raises(ValueError, match="sigma"):
        at.smoothgrad(model, x, target, sigma=-1.0, samples=4, generator=gen)
    with pytest.raises(ValueError, match="sigma"):
        at.smoothgrad(model, x, target, sigma=float("inf"), samples=4, generator=gen)
    with pytest.raises(ValueError, match="samples must be a positive integer"):
        at.smoothgrad(model, x, target, sigma=0.1, samples=0, generator=gen)
    with pytest.raises(ValueError, match="generator"):
        at.smoothgrad(model, x, target, sigma=0.1, samples=4, generator=0)
    with pytest.raises(ValueError, match="k must"):
        at.randomize_top_layers(model, 4, gen)
    with pytest.raises(ValueError, match="same shape"):
        at.rank_correlation(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="images"):
        at.edge_map(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="counts"):
        at.deletion_curve(model, x, target, torch.zeros_like(x), [7])
    with pytest.raises(ValueError, match="scores"):
        at.deletion_curve(model, x, target, torch.zeros(5, 3), [1])


def test_long_paths_are_evaluated_in_chunks_with_the_same_result(monkeypatch):
    model = _mlp("tanh", 25, torch.float64)
    x, base, target = _inputs(26, torch.float64)
    whole = at.integrated_gradients(model, x, target, baseline=base, steps=13)
    g_whole = at.path_integrand(model, x, target, np.linspace(0, 1, 13), baseline=base)
    monkeypatch.setattr(at, "MAX_ROWS", 12)            # two nodes of five examples per pass
    torch.testing.assert_close(at.integrated_gradients(model, x, target, baseline=base,
                                                       steps=13), whole)
    torch.testing.assert_close(at.path_integrand(model, x, target, np.linspace(0, 1, 13),
                                                 baseline=base), g_whole)


# --- closed forms on polynomial models, replayed generators, and exact messages ---------------

class _Cubic(nn.Module):
    """Logits (sum x^3 / 3, -sum x^3 / 3): the class-0 gradient is x^2, the class-1 one -x^2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = (x ** 3).flatten(1).sum(1) / 3
        return torch.stack([f, -f], dim=1)


class _Quadratic(nn.Module):
    """Logits (sum x^2 / 2, 0): the class-0 gradient is x itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = (x ** 2).flatten(1).sum(1) / 2
        return torch.stack([f, torch.zeros_like(f)], dim=1)


def _cubic_ig(x: torch.Tensor, b: torch.Tensor, s1: float, s2: float) -> torch.Tensor:
    """IG of class 0 of _Cubic by hand: d * sum_k w_k (b + a_k d)^2 with d = x - b,
    sum w_k = 1, S1 = sum w_k a_k and S2 = sum w_k a_k^2."""
    d = x - b
    return d * (b ** 2 + 2 * b * d * s1 + d ** 2 * s2)


def test_integrated_gradients_defaults_and_scalar_baseline_by_hand():
    """Defaults: zero baseline, trapezoid rule, 50 nodes: S1 = 1/2, S2 = 1/3 + h^2/6 with
    h = 1/49. A number as baseline is a constant input; the left rule with 4 nodes has
    S1 = (0 + 1 + 2 + 3) / 16 and S2 = (0 + 1 + 4 + 9) / 64. Class 1 flips the sign."""
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)
    target = torch.tensor([0, 1])
    sign = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    h = 1 / 49
    ref = sign * _cubic_ig(x, torch.zeros_like(x), 0.5, 1 / 3 + h ** 2 / 6)
    torch.testing.assert_close(at.integrated_gradients(_Cubic(), x, target), ref,
                               rtol=1e-12, atol=1e-12)
    ref = sign * _cubic_ig(x, torch.full_like(x, 0.5), 6 / 16, 14 / 64)
    torch.testing.assert_close(at.integrated_gradients(_Cubic(), x, target, baseline=0.5,
                                                       steps=4, rule="left"), ref,
                               rtol=1e-12, atol=1e-12)
    # an integer baseline and a broadcast row baseline give the same as the full tensor
    torch.testing.assert_close(at.integrated_gradients(_Cubic(), x, target, baseline=1, steps=3),
                               at.integrated_gradients(_Cubic(), x, target, steps=3,
                                                       baseline=torch.ones(3)))


def test_path_integrand_of_a_cubic_by_hand():
    """g(a) = grad f(a x) . x = a^2 sum x^3 for class 0 (zero baseline), minus that for class 1;
    a single point and the ends 0 and 1 are valid."""
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)
    cube = (x ** 3).sum(1)
    g = at.path_integrand(_Cubic(), x, torch.tensor([0, 1]), [0.0, 0.5, 1.0])
    a2 = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    torch.testing.assert_close(g, torch.stack([cube[0] * a2, -cube[1] * a2]))
    g1 = at.path_integrand(_Cubic(), x, 0, np.array([0.5]))
    torch.testing.assert_close(g1, 0.25 * cube[:, None])


def test_smoothgrad_replays_the_generators_noise():
    """On _Quadratic the gradient is the input, so SmoothGrad is the mean of x + sigma * noise
    (and SmoothGrad-squared the mean of its square), the noise being float64 standard normals
    of shape (samples, *x.shape) from the caller's generator."""
    x = torch.tensor([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    noise = torch.randn((4, 3, 2), generator=torch.Generator().manual_seed(9),
                        dtype=torch.float64)
    ours = at.smoothgrad(_Quadratic(), x, 0, sigma=0.3, samples=4,
                         generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(ours, (x + 0.3 * noise).mean(0), rtol=1e-13, atol=1e-13)
    sq = at.smoothgrad(_Quadratic(), x, 0, sigma=0.3, samples=4, squared=True,
                       generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(sq, ((x + 0.3 * noise) ** 2).mean(0), rtol=1e-13, atol=1e-13)


def test_randomize_top_layers_draws_he_normal_weights_top_first():
    """Replays the generator: the top layer is drawn first, N(0, 2 / fan_in) as
    randn * sqrt(2 / fan_in), then the layer below; biases become zero. A single-output top
    layer (a binary score) is fine; a NumPy integer k is accepted."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    new = at.randomize_top_layers(model, np.int64(2), torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    top = torch.randn((1, 4), generator=gen) * np.sqrt(2.0 / 4)
    bottom = torch.randn((4, 3), generator=gen) * np.sqrt(2.0 / 3)
    torch.testing.assert_close(new[2].weight.detach(), top)
    torch.testing.assert_close(new[0].weight.detach(), bottom)
    assert torch.equal(new[0].bias, torch.zeros(4)) and torch.equal(new[2].bias, torch.zeros(1))
    one = at.randomize_top_layers(model, 1, torch.Generator().manual_seed(5))
    torch.testing.assert_close(one[2].weight.detach(), top)
    assert torch.equal(one[0].weight, model[0].weight)


def test_deletion_curve_breaks_ties_by_index():
    """Tied scores: the first m features by index are deleted. With weights j / 100 on the
    ones vector, the class-0 logit after m deletions is 7.8 - m (m - 1) / 200."""
    d = 40
    model = nn.Linear(d, 2, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
        model.weight[0] = torch.arange(d, dtype=torch.float64) / 100
    x = torch.ones(2, d, dtype=torch.float64)
    counts = [0, 7, 25, 40]
    probs = at.deletion_curve(model, x, 0, np.zeros((2, d)), counts)
    logits = np.array([7.8 - m * (m - 1) / 200 for m in counts])
    np.testing.assert_allclose(probs, np.tile(1 / (1 + np.exp(-logits)), (2, 1)), rtol=1e-12)


def _m23() -> nn.Module:
    return _mlp("relu", 23)


def _x() -> torch.Tensor:
    return _inputs(24)[0]


_GEN = torch.Generator().manual_seed(0)


@pytest.mark.parametrize("call, message", [
    (lambda: at.quadrature("simpson", 5),
     "rule must be one of ('left', 'right', 'midpoint', 'trapezoid', 'gausslegendre'), "
     "got 'simpson'."),
    (lambda: at.quadrature("left", 0), "steps must be a positive integer, got 0."),
    (lambda: at.quadrature("trapezoid", 1),
     "steps must be at least 2 for the trapezoid rule, got 1."),
    (lambda: at.gradient(_m23(), _x()[0], 0),
     "x must be a floating-point tensor of shape (batch, ...) with at least two dimensions, "
     "got Tensor of shape (6,)."),
    (lambda: at.gradient(_m23(), torch.ones(5, 6, dtype=torch.long), 0),
     "x must be a floating-point tensor of shape (batch, ...) with at least two dimensions, "
     "got Tensor of shape (5, 6)."),
    (lambda: at.gradient(_m23(), [[1.0] * 6], 0),
     "x must be a floating-point tensor of shape (batch, ...) with at least two dimensions, "
     "got list."),
    (lambda: at.gradient(_m23(), _x(), [0, 1]),
     "target must be an int or 5 class indices (one per example), got [0, 1]."),
    (lambda: at.gradient(_m23(), _x(), True),
     "target must be an int or 5 class indices (one per example), got True."),
    (lambda: at.gradient(_m23(), _x(), [0.0] * 5),
     "target must be an int or 5 class indices (one per example), got [0.0, 0.0, 0.0, 0.0, 0.0]."),
    (lambda: at.gradient(_m23(), _x(), 4),
     "target must be class indices in 0..3, got values 4..4."),
    (lambda: at.gradient(_m23(), _x(), [0, 1, -1, 3, 2]),
     "target must be class indices in 0..3, got values -1..3."),
    (lambda: at.gradient(lambda v: v[:4, :3], _x(), 0),
     "model must map a batch of 5 inputs to logits of shape (5, classes), got (4, 3)."),
    (lambda: at.gradient(lambda v: v.reshape(5, 2, 3), _x(), 0),
     "model must map a batch of 5 inputs to logits of shape (5, classes), got (5, 2, 3)."),
    (lambda: at.integrated_gradients(_m23(), _x(), 0, baseline="a"),
     "baseline must be None, a number or a tensor, got 'a'."),
    (lambda: at.integrated_gradients(_m23(), _x(), 0, baseline=True),
     "baseline must be None, a number or a tensor, got True."),
    (lambda: at.integrated_gradients(_m23(), _x(), 0, baseline=torch.zeros(3)),
     "baseline of shape (3,) does not broadcast to the input's shape (5, 6)."),
    (lambda: at.path_integrand(_m23(), _x(), 0, [0.5, 1.5]),
     "alphas must be a non-empty 1-D array of points in [0, 1], got shape (2,)."),
    (lambda: at.path_integrand(_m23(), _x(), 0, [-0.5]),
     "alphas must be a non-empty 1-D array of points in [0, 1], got shape (1,)."),
    (lambda: at.path_integrand(_m23(), _x(), 0, []),
     "alphas must be a non-empty 1-D array of points in [0, 1], got shape (0,)."),
    (lambda: at.path_integrand(_m23(), _x(), 0, [[0.5]]),
     "alphas must be a non-empty 1-D array of points in [0, 1], got shape (1, 1)."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma=-1.0, samples=2, generator=_GEN),
     "sigma must be a non-negative finite number, got -1.0."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma=True, samples=2, generator=_GEN),
     "sigma must be a non-negative finite number, got True."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma="1", samples=2, generator=_GEN),
     "sigma must be a non-negative finite number, got '1'."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma=float("inf"), samples=2, generator=_GEN),
     "sigma must be a non-negative finite number, got inf."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma=0.1, samples=0, generator=_GEN),
     "samples must be a positive integer, got 0."),
    (lambda: at.smoothgrad(_m23(), _x(), 0, sigma=0.1, samples=2, generator=0),
     "generator must be a torch.Generator, got 0."),
    (lambda: at.randomize_top_layers(_m23(), 4, _GEN),
     "k must be an integer in 0..3 (the model has 3 weight layers), got 4."),
    (lambda: at.randomize_top_layers(_m23(), -1, _GEN),
     "k must be an integer in 0..3 (the model has 3 weight layers), got -1."),
    (lambda: at.randomize_top_layers(_m23(), True, _GEN),
     "k must be an integer in 0..3 (the model has 3 weight layers), got True."),
    (lambda: at.randomize_top_layers(_m23(), 1.0, _GEN),
     "k must be an integer in 0..3 (the model has 3 weight layers), got 1.0."),
    (lambda: at.randomize_top_layers(_m23(), 1, None),
     "generator must be a torch.Generator, got None."),
    (lambda: at.rank_correlation(np.zeros((2, 3)), np.zeros((2, 4))),
     "a and b must be batches of maps of the same shape (batch, ...), got (2, 3) and (2, 4)."),
    (lambda: at.rank_correlation(np.zeros(3), np.zeros(3)),
     "a and b must be batches of maps of the same shape (batch, ...), got (3,) and (3,)."),
    (lambda: at.edge_map(np.zeros((8, 8))), "images must have shape (batch, H, W), got (8, 8)."),
    (lambda: at.deletion_curve(_m23(), _x(), 0, torch.zeros(5, 6), [7]),
     "counts must be a non-empty list of integers in 0..6, got [7]."),
    (lambda: at.deletion_curve(_m23(), _x(), 0, torch.zeros(5, 6), [0, -1]),
     "counts must be a non-empty list of integers in 0..6, got [0, -1]."),
    (lambda: at.deletion_curve(_m23(), _x(), 0, torch.zeros(5, 6), []),
     "counts must be a non-empty list of integers in 0..6, got []."),
    (lambda: at.deletion_curve(_m23(), _x(), 0, torch.zeros(5, 3), [1]),
     "scores must have the input's shape (5, 6), got (5, 3)."),
])
def test_invalid_arguments_give_the_exact_message(call, message: str):
    """Each check names its argument and what was expected, anchored at the start."""
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()


def test_boundary_arguments_are_accepted():
    """The edges of each valid range: class indices 0 and C - 1, trapezoid with 2 nodes
    ([0, 1] with weights 1/2), one left node ([0] with weight 1), k = 0 and k = all layers,
    deleting 0 or all d features, sigma = 0."""
    model, x = _m23(), _x()
    assert at.gradient(model, x, [0, 3, 0, 3, 0]).shape == x.shape
    alphas, weights = at.quadrature("trapezoid", 2)
    assert alphas.tolist() == [0.0, 1.0] and weights.tolist() == [0.5, 0.5]
    assert [v.tolist() for v in at.quadrature("left", 1)] == [[0.0], [1.0]]
    assert len(at.weight_layers(at.randomize_top_layers(model, 3, _GEN))) == 3
    assert at.deletion_curve(model, x, 0, torch.zeros(5, 6), [0, 6]).shape == (5, 2)
    torch.testing.assert_close(at.smoothgrad(model, x, 0, sigma=0, samples=1, generator=_GEN),
                               at.gradient(model, x, 0))


def test_rank_correlation_of_plain_2d_maps_and_tensors_with_grad():
    """A batch of flat maps (batch, d) is valid; tensors that require grad (fresh attributions)
    are accepted. Reference: scipy's spearmanr per row."""
    a = torch.tensor([[1.0, 3.0, 2.0, 5.0], [0.5, -1.0, 2.0, 0.0]], requires_grad=True)
    b = torch.tensor([[2.0, 1.0, 3.0, 4.0], [1.0, -2.0, 5.0, 0.5]], requires_grad=True)
    ref = [spearmanr(a[i].detach(), b[i].detach()).statistic for i in range(2)]
    np.testing.assert_allclose(at.rank_correlation(a, b), ref, rtol=1e-12)
    # by hand, row 0: ranks (1, 3, 2, 4) and (2, 1, 3, 4), sum d^2 = 6: 1 - 6 * 6 / 60 = 0.4
    assert at.rank_correlation(a, b)[0] == pytest.approx(0.4, rel=1e-12)


def test_rank_correlation_of_a_constant_map_is_nan_without_a_warning():
    """A constant row has no rank variance: the documented result is nan, silently."""
    a = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = at.rank_correlation(a, a)
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1])


def test_gausslegendre_nodes_are_scipys_roots_mapped_to_the_unit_interval():
    """a_k = (1 + x_k) / 2 and w_k / 2 for the Legendre roots x_k in increasing order
    (scipy.special.roots_legendre)."""
    x, w = roots_legendre(5)
    alphas, weights = at.quadrature("gausslegendre", 5)
    np.testing.assert_allclose(alphas, 0.5 * (1 + x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(weights, 0.5 * w, rtol=1e-13)
    assert np.all(np.diff(alphas) > 0)


def test_randomize_top_layers_of_a_float64_model_draws_float64_normals():
    """A double model gets weights from randn in float64 (replayed from the generator), not
    float32 draws cast up."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2)).double()
    new = at.randomize_top_layers(model, 1, torch.Generator().manual_seed(3))
    ref = torch.randn((2, 3), generator=torch.Generator().manual_seed(3),
                      dtype=torch.float64) * np.sqrt(2.0 / 3)
    torch.testing.assert_close(new[0].weight.detach(), ref, rtol=1e-15, atol=1e-15)


def test_a_float64_baseline_is_cast_to_a_float32_input():
    """A float64 baseline tensor with a float32 model and input is cast to the input's dtype:
    same attributions as the float32 baseline (reference), in float32."""
    model, (x, base, target) = _mlp("tanh", 3), _inputs(4)
    ours = at.integrated_gradients(model, x, target, baseline=base.double(), steps=4)
    ref = at.integrated_gradients(model, x, target, baseline=base, steps=4)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref)


def test_deletion_curve_uses_only_the_order_of_unsigned_scores():
    """Scores as uint8 (e.g. 0..255 saliency images) delete the same features as the same
    scores in float: the highest first. Reference: the float64 scores."""
    model = nn.Linear(4, 2, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0, 4.0, 8.0], [0.0, 0.0, 0.0, 0.0]]))
    x = torch.ones(1, 4, dtype=torch.float64)
    scores = np.array([[0, 200, 3, 255]], dtype=np.uint8)   # order: feature 3, 1, 2, 0
    probs = at.deletion_curve(model, x, 0, scores, [0, 1, 2, 3])
    np.testing.assert_allclose(probs, at.deletion_curve(model, x, 0, scores.astype(float),
                                                        [0, 1, 2, 3]))
    logits = np.array([15.0, 7.0, 5.0, 1.0])               # delete 8, then 2, then 4
    np.testing.assert_allclose(probs[0], 1 / (1 + np.exp(-logits)), rtol=1e-12)
