"""The GAN module against closed forms, SciPy, PyTorch's own layers and hand counts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlscience import gans
from scipy.spatial.distance import jensenshannon
from scipy.stats import norm


@pytest.fixture
def grid():
    x = np.linspace(-8, 8, 4001)
    p = 0.5 * norm.pdf(x, -1.5, 0.5) + 0.5 * norm.pdf(x, 1.5, 0.7)
    q = norm.pdf(x, 0.3, 1.2)
    return x, p, q, x[1] - x[0]


def test_js_matches_scipy(grid):
    _, p, q, dx = grid
    # SciPy returns the square root of the divergence (natural log by default).
    assert gans.js_divergence(p, q, dx) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-6)
    assert gans.js_divergence(p, p, dx) == pytest.approx(0.0, abs=1e-12)


def test_value_at_optimal_discriminator_is_2js_minus_log4(grid):
    _, p, q, dx = grid
    d_star = gans.optimal_discriminator(p, q)
    value = gans.gan_value(d_star, p, q, dx)
    assert value == pytest.approx(2 * gans.js_divergence(p, q, dx) - math.log(4), rel=1e-9)
    # Any other discriminator does worse.
    for other in (np.full_like(p, 0.5), np.clip(d_star + 0.05, 0.01, 0.99)):
        assert gans.gan_value(other, p, q, dx) < value
    # Disjoint supports: the value is 0 (JS = log 2).
    disjoint_p, disjoint_q = (p * (grid[0] < 0)), (q * (grid[0] > 0))
    assert gans.js_divergence(disjoint_p, disjoint_q, dx) == pytest.approx(
        0.5 * math.log(2) * ((disjoint_p.sum() + disjoint_q.sum()) * dx), rel=1e-9)


def test_pointwise_maximizer_is_a_over_a_plus_b():
    rng = np.random.default_rng(0)
    a, b = rng.exponential(size=500), rng.exponential(size=500)
    t = gans.maximize_pointwise(a, b)
    np.testing.assert_allclose(t, a / (a + b), atol=1e-9)
    with pytest.raises(ValueError, match="non-negative"):
        gans.maximize_pointwise(-a, b)


@pytest.fixture
def one_thread():
    # Small tensors: more threads only add synchronization, badly so on a loaded machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_trained_discriminator_is_close_to_optimal(one_thread):
    g = torch.Generator().manual_seed(0)
    real = 0.5 * torch.randn(2000, generator=g) - 1.0
    fake = torch.randn(2000, generator=g) + 1.0
    d = gans.train_discriminator(real, fake, width=32, steps=400, generator=g)
    x = np.linspace(-1.5, 1.5, 31)
    p, q = norm.pdf(x, -1.0, 0.5), norm.pdf(x, 1.0, 1.0)
    err = np.abs(d(torch.tensor(x)).numpy() - p / (p + q)).max()
    assert err < 0.08


def test_mode_coverage_by_hand():
    centers = gans.ring_centers(4, 1.0)
    np.testing.assert_allclose(centers.numpy(), [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=1e-6)
    pts = torch.tensor([[1.0, 0.0], [1.02, 0.0], [0.0, 1.05], [0.5, 0.5], [0.0, -1.2]])
    cov = gans.mode_coverage(pts, centers, std=0.05, min_share=0.2)
    # Within 0.15 of a centre: the first three points; the last is 0.2 away.
    np.testing.assert_array_equal(cov.counts, [[2, 1, 0, 0]])
    assert cov.high_quality[0] == pytest.approx(0.6)
    assert cov.covered[0] == 2            # 2/5 >= 0.2 and 1/5 >= 0.2
    # Nearest centres: 0, 0, 1, a tie between 0 and 1 (the first wins), 3: top share 3/5.
    assert cov.top_share[0] == pytest.approx(0.6)
    assert gans.mode_coverage(pts, centers, std=0.05, min_share=0.3).covered[0] == 1
    with pytest.raises(ValueError, match="min_share"):
        gans.mode_coverage(pts, centers, std=0.05, min_share=0.0)


def test_sample_ring_has_the_mixture_moments():
    x = gans.sample_ring(20000, modes=8, radius=2.0, std=0.1,
                         generator=torch.Generator().manual_seed(1))
    assert x.mean(dim=0).abs().max() < 0.05
    assert x.norm(dim=1).mean() == pytest.approx(2.0, abs=0.01)


def test_batched_mlp_matches_per_member_linear_layers():
    net = gans.BatchedMLP(3, [2, 5, 4, 1], generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 7, 2)
    out = net(x)
    for m in range(3):
        h = x[m]
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            h = torch.nn.functional.linear(h, w[m].T, b[m, 0])
            if i < 2:
                h = torch.relu(h)
        torch.testing.assert_close(out[m], h)
    with pytest.raises(ValueError, match="widths"):
        gans.BatchedMLP(2, [2])


@pytest.mark.parametrize("loss", ["gan", "wgan-gp"])
def test_members_do_not_interact(loss, one_thread):
    config = gans.GANConfig(loss=loss, steps=6, critic_steps=2, batch=16, width=8,
                            eval_every=3, eval_samples=10)
    both = gans.train_ring_gan(config, [3, 4])
    alone = gans.train_ring_gan(config, [4])
    assert both.samples.shape == (2, 2, 10, 2)
    np.testing.assert_array_equal(both.steps, [3, 6])
    torch.testing.assert_close(both.samples[:, 1], alone.samples[:, 0], rtol=1e-5, atol=1e-6)


def test_wgan_gradient_penalty_by_hand():
    # A linear critic f(x) = w.x has gradient w everywhere: penalty (|w| - 1)^2.
    critic = gans.BatchedMLP(1, [2, 1])
    with torch.no_grad():
        critic.weights[0].copy_(torch.tensor([[[3.0], [4.0]]]))
    real, fake = torch.randn(1, 5, 2), torch.randn(1, 5, 2)
    gp = gans._gradient_penalty(critic, real, fake, [torch.Generator().manual_seed(0)])
    assert gp.item() == pytest.approx(16.0)


def test_config_validation():
    with pytest.raises(ValueError, match="loss"):
        gans.GANConfig(loss="lsgan")
    with pytest.raises(ValueError, match="lr_d"):
        gans.GANConfig(lr_d=0.0)
    with pytest.raises(ValueError, match="seeds"):
        gans.train_ring_gan(gans.GANConfig(), [])


# --- Argument checks, defaults and edge cases, each against a hand value or a reference ------


@pytest.mark.parametrize("dx", [0, 0.0, -0.1, math.inf, math.nan, True, "0.1"])
def test_grid_step_must_be_positive_finite(grid, dx):
    """``dx`` is checked by name: zero, negative, infinite, NaN, bool and str are rejected."""
    _, p, q, _ = grid
    with pytest.raises(ValueError, match=r"^dx must be a positive finite number, got "):
        gans.js_divergence(p, q, dx)
    with pytest.raises(ValueError, match=r"^dx must be a positive finite number, got "):
        gans.gan_value(np.full_like(p, 0.5), p, q, dx)


def test_grid_step_accepts_ints_and_numpy_floats():
    """An int or NumPy ``dx`` scales the Riemann sum linearly: JS of disjoint unit masses."""
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    # Disjoint supports, each of mass 1: JS = log 2 (in nats) per unit of dx.
    assert gans.js_divergence(p, q, 1) == pytest.approx(math.log(2))
    assert gans.js_divergence(p, q, np.float64(0.5)) == pytest.approx(0.5 * math.log(2))
    assert gans.js_divergence(p, q, np.float32(0.25)) == pytest.approx(0.25 * math.log(2))


@pytest.mark.parametrize(("p", "q"), [
    ([1.0, 2.0], [1.0, 2.0, 3.0]),           # lengths differ
    ([[1.0, 2.0]], [[1.0, 2.0]]),            # same shape but 2-D
])
def test_densities_shape_errors(p, q):
    """Shape mismatch and 2-D inputs are refused with the message naming p and q."""
    with pytest.raises(ValueError, match=r"^p and q must be 1-D arrays of the same length"):
        gans.optimal_discriminator(p, q)


@pytest.mark.parametrize(("p", "q"), [
    ([-0.1, 1.0], [1.0, 1.0]),               # negative in p only
    ([1.0, 1.0], [1.0, -0.1]),               # negative in q only
    ([math.nan, 1.0], [1.0, 1.0]),
    ([1.0, 1.0], [1.0, math.inf]),
])
def test_densities_value_errors(p, q):
    """A negative or non-finite value in either density is refused."""
    with pytest.raises(ValueError, match=r"^p and q must hold finite non-negative density"):
        gans.js_divergence(p, q, 1.0)


def test_optimal_discriminator_on_integer_densities():
    """Integer inputs give float ratios ``p / (p + q)`` (by hand), 1/2 where both vanish."""
    d = gans.optimal_discriminator([1, 0, 3, 0], [1, 0, 1, 2])
    np.testing.assert_allclose(d, [0.5, 0.5, 0.75, 0.0])
    assert d.dtype == np.float64


def test_gan_value_and_js_with_zero_densities_raise_no_warning():
    """``0 log 0 = 0`` is handled silently: a perfect discriminator on disjoint masses.

    By hand: p = (1, 0, 0), q = (0, 1, 0), D = (1, 0, 1/2): V = 1 log 1 + 1 log(1 - 0) = 0,
    and JS = log 2. Any NumPy division or invalid warning is turned into an error here.
    """
    p, q, d = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gans.gan_value(d, p, q, 1.0) == 0.0
        assert gans.js_divergence(p, q, 1.0) == pytest.approx(math.log(2))


def test_gan_value_small_grid_by_hand():
    """``V = sum (p log D + q log(1 - D)) dx`` on three points, written out by hand."""
    p, q, d = np.array([0.2, 0.5, 0.0]), np.array([0.1, 0.3, 0.4]), np.array([0.6, 0.3, 0.25])
    expected = (0.2 * math.log(0.6) + 0.1 * math.log(0.4) + 0.5 * math.log(0.3)
                + 0.3 * math.log(0.7) + 0.4 * math.log(0.75)) * 0.5
    assert gans.gan_value(d, p, q, 0.5) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"^d must have the shape of p, \(3,\), got \(2,\)"):
        gans.gan_value(d[:2], p, q, 0.5)


def test_js_small_grid_by_hand():
    """JS from its definition on two points: m = (p + q)/2, KL terms written out by hand."""
    p, q = np.array([0.3, 0.7]), np.array([0.6, 0.4])
    m = (p + q) / 2
    expected = 0.5 * sum(p * np.log(p / m)) + 0.5 * sum(q * np.log(q / m))
    assert gans.js_divergence(p, q, 2.0) == pytest.approx(2.0 * expected, rel=1e-12)


def test_pointwise_maximizer_clips_to_the_search_interval():
    """With a wide ``eps`` the concave maximizer ``a / (a + b)`` is clipped to [eps, 1 - eps]."""
    a = np.array([1.0, 1.0, 0.0, 3.0, 1.0])
    b = np.array([1.0, 0.0, 1.0, 1.0, 3.0])
    t = gans.maximize_pointwise(a, b, eps=0.3)
    np.testing.assert_allclose(t, np.clip(a / (a + b), 0.3, 0.7), atol=1e-9)


@pytest.mark.parametrize("iterations", [1, 2, 5])
def test_pointwise_maximizer_interval_shrinks_by_the_golden_ratio(iterations):
    """For a monotone objective the search keeps the end it rises towards, and the interval of
    width ``1 - 2 eps`` shrinks by ``(sqrt(5) - 1)/2`` per step; the answer is its midpoint."""
    eps, ratio = 0.1, (math.sqrt(5) - 1) / 2
    half = 0.5 * ratio ** iterations * (1 - 2 * eps)
    # a = 1, b = 0: log t increases, so the interval is [1 - eps - 2 half, 1 - eps].
    up = gans.maximize_pointwise([1.0], [0.0], iterations=iterations, eps=eps)
    assert up[0] == pytest.approx(1 - eps - half, rel=1e-12)
    # a = 0, b = 1: log(1 - t) decreases, so the interval is [eps, eps + 2 half].
    down = gans.maximize_pointwise([0.0], [1.0], iterations=iterations, eps=eps)
    assert down[0] == pytest.approx(eps + half, rel=1e-12)


def test_pointwise_maximizer_defaults():
    """Defaults: 80 golden-section steps on [1e-12, 1 - 1e-12]. With a = 0, b = 1 the answer
    sits half the final width above eps, ``1e-12 + ratio**80 (1 - 2e-12) / 2``."""
    ratio = (math.sqrt(5) - 1) / 2
    t = gans.maximize_pointwise(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert t[0] == pytest.approx(1e-12 + 0.5 * ratio ** 80 * (1 - 2e-12), rel=1e-6, abs=0)
    assert 1 - t[1] == pytest.approx(1e-12, rel=1e-3, abs=0)
    # Integer weights are fine: the maximizer of log t + 3 log(1 - t) is 1/4 (to about
    # sqrt(machine epsilon), the flatness of a smooth maximum).
    assert gans.maximize_pointwise([1], [3])[0] == pytest.approx(0.25, abs=1e-7)


def test_pointwise_maximizer_argument_errors():
    """Shape mismatch, a negative ``b``, ``iterations`` < 1 and ``eps`` outside (0, 1/2)."""
    with pytest.raises(ValueError, match=r"^a and b must have the same shape, got \(2,\) and"):
        gans.maximize_pointwise([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"^a and b must be non-negative"):
        gans.maximize_pointwise([1.0], [-1.0])
    with pytest.raises(ValueError, match=r"^iterations must be a positive integer, got 0"):
        gans.maximize_pointwise([1.0], [1.0], iterations=0)
    for eps in (0.0, 0.5, -0.1):
        with pytest.raises(ValueError, match=r"^eps must be in \(0, 1/2\), got "):
            gans.maximize_pointwise([1.0], [1.0], eps=eps)
    assert gans.maximize_pointwise([1.0], [1.0], iterations=1, eps=0.49)[0] == pytest.approx(
        0.5, abs=0.01)


def _reference_discriminator(real, fake, width, steps, lr, seed):
    """The trained discriminator written independently: BCE-with-logits, labels 1 and 0."""
    net = gans.BatchedMLP(1, [1, width, width, 1], generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        out_r, out_f = net(real.reshape(1, -1, 1)), net(fake.reshape(1, -1, 1))
        loss = (F.binary_cross_entropy_with_logits(out_r, torch.ones_like(out_r))
                + F.binary_cross_entropy_with_logits(out_f, torch.zeros_like(out_f)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lambda x: torch.sigmoid(net(torch.as_tensor(x).reshape(1, -1, 1))).reshape(-1)


def test_train_discriminator_matches_a_reference_loop(one_thread):
    """Same init and Adam steps as a hand-written logistic-regression loop, to float precision;
    float64 and list inputs are converted to float32."""
    real = torch.tensor([-1.0, -0.5, 0.2], dtype=torch.float64)
    fake = [0.4, 1.0, 1.5, 2.0]
    d = gans.train_discriminator(real, fake, width=6, steps=25, lr=0.02,
                                 generator=torch.Generator().manual_seed(5))
    ref = _reference_discriminator(real.float(), torch.tensor(fake), 6, 25, 0.02, 5)
    x = torch.linspace(-2, 2, 9)
    with torch.no_grad():
        torch.testing.assert_close(d(x), ref(x), rtol=1e-5, atol=1e-6)


def test_train_discriminator_default_width_and_rate(one_thread):
    """Defaults: width 64 and Adam's lr 3e-3 (the reference loop with those values; the
    default 2000 steps are left to the slower test above)."""
    real, fake = torch.tensor([-1.0, 0.3]), torch.tensor([0.0, 1.0])
    d = gans.train_discriminator(real, fake, steps=5, generator=torch.Generator().manual_seed(2))
    ref = _reference_discriminator(real, fake, 64, 5, 3e-3, 2)
    x = torch.tensor([-1.0, 0.0, 0.3, 1.0, 0.15])
    with torch.no_grad():
        torch.testing.assert_close(d(x), ref(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("real", "fake"), [
    (torch.zeros(2, 2), torch.zeros(3)),
    (torch.zeros(3), torch.zeros(3, 1)),
    (torch.zeros(0), torch.zeros(3)),
    (torch.zeros(3), torch.zeros(0)),
])
def test_train_discriminator_sample_errors(real, fake):
    """Each of the two samples must be non-empty and 1-D."""
    with pytest.raises(ValueError, match=r"^real and fake must be non-empty 1-D samples\.$"):
        gans.train_discriminator(real, fake, steps=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"width": 0}, r"^width must be a positive integer, got 0"),
    ({"steps": 0}, r"^steps must be a positive integer, got 0"),
    ({"lr": 0.0}, r"^lr must be a positive finite number, got 0.0"),
])
def test_train_discriminator_argument_errors(kwargs, message):
    """Width, steps and learning rate are checked by name."""
    with pytest.raises(ValueError, match=message):
        gans.train_discriminator(torch.zeros(2), torch.ones(2), **kwargs)


def test_ring_centers_defaults_and_errors():
    """Default ring: 8 centres at radius 2, angles 2 pi k / 8 (cos, sin by NumPy)."""
    angle = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(gans.ring_centers().numpy(),
                               2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1), atol=1e-6)
    np.testing.assert_allclose(gans.ring_centers(3, 0.5).numpy()[1],
                               [0.5 * math.cos(2 * math.pi / 3), 0.5 * math.sin(2 * math.pi / 3)],
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"^modes must be a positive integer, got 0"):
        gans.ring_centers(0)
    with pytest.raises(ValueError, match=r"^radius must be a positive finite number, got 0"):
        gans.ring_centers(4, 0.0)


def test_sample_ring_defaults_are_reproducible_and_match_the_mixture():
    """Defaults (8 modes, radius 2, std 0.05): every point lies near its nearest default centre
    with per-coordinate residual std ~0.05 (chi-square spread), the modes are equally used,
    and the sample depends on the generator only."""
    x = gans.sample_ring(4000, generator=torch.Generator().manual_seed(3))
    again = gans.sample_ring(4000, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(x, again, rtol=0, atol=0)
    assert x.shape == (4000, 2)
    centers = gans.ring_centers()
    dist, k = torch.cdist(x, centers).min(dim=1)
    # E|residual|^2 = 2 std^2 for a 2-D Gaussian.
    assert (dist ** 2).mean().sqrt().item() == pytest.approx(math.sqrt(2) * 0.05, rel=0.05)
    counts = np.bincount(k.numpy(), minlength=8)
    assert counts.min() > 400 and counts.max() < 600       # 500 each, sd ~21
    with pytest.raises(ValueError, match=r"^n must be a positive integer, got 0"):
        gans.sample_ring(0)
    with pytest.raises(ValueError, match=r"^std must be a positive finite number, got 0"):
        gans.sample_ring(5, std=0.0)


def test_mode_coverage_boundary_and_defaults():
    """Defaults n_sigma = 3, min_share = 0.05; a point exactly at n_sigma std is high quality.

    Centres (0, 0) and (4, 0), std 0.25: the disc radius is 0.75 (exact in float32). Twenty
    points: one at distance 0.75 from (4, 0), 19 at (0, 0): shares 1/20 = 0.05 and 19/20.
    """
    centers = np.array([[0.0, 0.0], [4.0, 0.0]])    # float64: converted to float32
    pts = torch.zeros(20, 2)
    pts[0] = torch.tensor([4.75, 0.0])
    cov = gans.mode_coverage(pts, centers, 0.25)
    np.testing.assert_array_equal(cov.counts, [[19, 1]])
    assert cov.high_quality[0] == 1.0
    assert cov.covered[0] == 2                  # 1/20 >= 0.05
    assert cov.top_share[0] == pytest.approx(0.95)
    # Just outside the disc the point is not high quality and covers nothing.
    pts[0] = torch.tensor([4.76, 0.0])
    cov = gans.mode_coverage(pts, centers, 0.25)
    np.testing.assert_array_equal(cov.counts, [[19, 0]])
    assert cov.high_quality[0] == pytest.approx(0.95)
    # n_sigma = 2: radius 0.5, exactly reached by (0.5, 0).
    cov = gans.mode_coverage(torch.tensor([[0.5, 0.0], [3.0, 0.0]]), centers, 0.25,
                             n_sigma=2.0, min_share=1.0)
    np.testing.assert_array_equal(cov.counts, [[1, 0]])
    np.testing.assert_array_equal(cov.covered, [0])          # min_share = 1 is allowed
    assert cov.top_share[0] == pytest.approx(0.5)


def test_mode_coverage_several_members():
    """A (members, n, 2) sample gives one row per member, counted by hand."""
    centers = gans.ring_centers(4, 1.0)
    pts = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]],
                        [[0.0, -1.0], [0.0, -1.0], [3.0, 0.0]]])
    cov = gans.mode_coverage(pts, centers, 0.1, min_share=0.5)
    np.testing.assert_array_equal(cov.counts, [[1, 1, 1, 0], [0, 0, 0, 2]])
    np.testing.assert_allclose(cov.high_quality, [1.0, 2 / 3])
    np.testing.assert_array_equal(cov.covered, [0, 1])
    np.testing.assert_allclose(cov.top_share, [1 / 3, 2 / 3])


@pytest.mark.parametrize(("samples", "centers", "kwargs", "message"), [
    (torch.zeros(5, 3), torch.zeros(2, 2), {}, r"^samples must have shape \(n, 2\)"),
    (torch.zeros(2, 0, 2), torch.zeros(2, 2), {}, r"^samples must have shape \(n, 2\)"),
    (torch.zeros(1, 1, 5, 2), torch.zeros(2, 2), {}, r"^samples must have shape \(n, 2\)"),
    (torch.zeros(5, 2), torch.zeros(2, 3), {}, r"^centers must have shape \(modes, 2\), got"),
    (torch.zeros(5, 2), torch.zeros(2), {}, r"^centers must have shape \(modes, 2\), got"),
    (torch.zeros(5, 2), torch.zeros(2, 2), {"n_sigma": 0.0},
     r"^n_sigma must be a positive finite number"),
    (torch.zeros(5, 2), torch.zeros(2, 2), {"min_share": 1.01}, r"^min_share must be in \(0, 1\]"),
])
def test_mode_coverage_argument_errors(samples, centers, kwargs, message):
    """Bad shapes and parameters are refused with a message naming the argument."""
    with pytest.raises(ValueError, match=message):
        gans.mode_coverage(samples, centers, 0.1, **kwargs)


def test_mode_coverage_std_error():
    """``std`` is checked by name."""
    with pytest.raises(ValueError, match=r"^std must be a positive finite number, got 0"):
        gans.mode_coverage(torch.zeros(3, 2), torch.zeros(2, 2), 0)


def test_batched_mlp_initialization_matches_nn_linear_bounds():
    """Weights and biases are uniform on +-1/sqrt(fan_in), like ``nn.Linear``'s defaults."""
    net = gans.BatchedMLP(2, [16, 2000, 1], generator=torch.Generator().manual_seed(0))
    for w, b, fan_in in zip(net.weights, net.biases, (16, 2000)):
        bound = 1 / math.sqrt(fan_in)
        assert w.abs().max().item() <= bound and b.abs().max().item() <= bound
    w0, b0 = net.weights[0].detach(), net.biases[0].detach()
    # 2 x 16 x 2000 uniform draws: the extremes reach the bound, the std is bound/sqrt(3).
    assert w0.max().item() == pytest.approx(0.25, abs=1e-3)
    assert w0.min().item() == pytest.approx(-0.25, abs=1e-3)
    assert w0.std().item() == pytest.approx(0.25 / math.sqrt(3), rel=0.02)
    assert b0.min().item() == pytest.approx(-0.25, abs=0.01)
    assert b0.max().item() == pytest.approx(0.25, abs=0.01)
    assert [tuple(w.shape) for w in net.weights] == [(2, 16, 2000), (2, 2000, 1)]
    assert [tuple(b.shape) for b in net.biases] == [(2, 1, 2000), (2, 1, 1)]


def test_batched_mlp_member_is_the_network_it_would_be_alone():
    """Member m drawn from its own generator equals a one-member net from the same seed."""
    both = gans.BatchedMLP(2, [3, 4, 2], generator=[torch.Generator().manual_seed(s)
                                                    for s in (7, 8)])
    alone = gans.BatchedMLP(1, [3, 4, 2], generator=[torch.Generator().manual_seed(8)])
    for w, w1 in zip(list(both.weights) + list(both.biases),
                     list(alone.weights) + list(alone.biases)):
        torch.testing.assert_close(w[1], w1[0], rtol=0, atol=0)
    # One shared generator reproduces too.
    a = gans.BatchedMLP(2, [3, 2], generator=torch.Generator().manual_seed(1))
    b = gans.BatchedMLP(2, [3, 2], generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.biases[0], b.biases[0], rtol=0, atol=0)


@pytest.mark.parametrize(("members", "widths", "generator", "message"), [
    (0, [2, 1], None, r"^members must be a positive integer, got 0"),
    (1, [2], None, r"^widths must list at least two positive integers"),
    (1, [2, 0], None, r"^widths must list at least two positive integers"),
    (1, [2, 2.5], None, r"^widths must list at least two positive integers"),
    (1, [True, 2], None, r"^widths must list at least two positive integers"),
    (2, [2, 1], [torch.Generator()], r"^generator must hold one generator per member \(2\), "
                                     r"got 1\."),
])
def test_batched_mlp_argument_errors(members, widths, generator, message):
    """Members, widths and the generator list are checked with messages naming them."""
    with pytest.raises(ValueError, match=message):
        gans.BatchedMLP(members, widths, generator=generator)


class _HalfSquaredNorm(torch.nn.Module):
    """The critic f(x) = |x|^2 / 2 per point, whose gradient is x itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 2).sum(dim=-1, keepdim=True)


def test_gradient_penalty_per_member_at_interpolates():
    """Per member, mean (|x_hat| - 1)^2 at x_hat = u real + (1 - u) fake, u from the member's
    generator (uniform, one per point): computed by hand for f = |x|^2 / 2."""
    real = torch.tensor([[[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]],
                         [[0.0, 3.0], [1.0, 1.0], [-2.0, 1.0]]])
    fake = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]],
                         [[2.0, 0.0], [0.5, 0.0], [0.0, 0.0]]])
    gp = gans._gradient_penalty(_HalfSquaredNorm(), real, fake,
                                [torch.Generator().manual_seed(s) for s in (0, 1)])
    expected = []
    for m, seed in enumerate((0, 1)):
        u = torch.rand(3, 1, generator=torch.Generator().manual_seed(seed))
        x_hat = u * real[m] + (1 - u) * fake[m]
        expected.append(((x_hat.norm(dim=1) - 1) ** 2).mean())
    torch.testing.assert_close(gp, torch.stack(expected))


def test_gradient_penalty_two_linear_members():
    """Linear critics w.x: penalty (|w| - 1)^2 per member, (5 - 1)^2 = 16 and (2 - 1)^2 = 1."""
    critic = gans.BatchedMLP(2, [2, 1])
    with torch.no_grad():
        critic.weights[0].copy_(torch.tensor([[[3.0], [4.0]], [[0.0], [2.0]]]))
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    gp = gans._gradient_penalty(critic, torch.randn(2, 4, 2), torch.randn(2, 4, 2), gens)
    torch.testing.assert_close(gp, torch.tensor([16.0, 1.0]))
    # The penalty stays differentiable (create_graph): its gradient in w is 2 (|w| - 1) w / |w|.
    (grad,) = torch.autograd.grad(gp.sum(), critic.weights[0])
    torch.testing.assert_close(grad[:, :, 0], torch.tensor([[2 * 4 * 0.6, 2 * 4 * 0.8],
                                                            [0.0, 2.0]]))


def _reference_ring_gan(config, seed):
    """One member's run written out by hand from the documented recipe: initialization,
    data, latent codes and interpolation weights all drawn from one seeded generator."""
    c = config
    g = torch.Generator().manual_seed(seed)
    gen_net = gans.BatchedMLP(1, [c.latent_dim, c.width, c.width, 2], [g])
    critic = gans.BatchedMLP(1, [2, c.width, c.width, 1], [g])
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=c.lr_g, betas=c.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=c.lr_d, betas=c.betas)
    looks = []
    for step in range(1, c.steps + 1):
        for _ in range(c.critic_steps):
            real = gans.sample_ring(c.batch, modes=c.modes, radius=c.radius, std=c.std,
                                    generator=g)[None]
            with torch.no_grad():
                fake = gen_net(torch.randn(c.batch, c.latent_dim, generator=g)[None])
            out_r, out_f = critic(real), critic(fake)
            if c.loss == "gan":     # cross-entropy, real labelled 1 and fake 0
                loss = (F.binary_cross_entropy_with_logits(out_r, torch.ones_like(out_r))
                        + F.binary_cross_entropy_with_logits(out_f, torch.zeros_like(out_f)))
            else:
                u = torch.rand(c.batch, 1, generator=g)
                x_hat = (u * real[0] + (1 - u) * fake[0]).requires_grad_(True)
                (grad,) = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat,
                                              create_graph=True)
                penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
                loss = out_f.mean() - out_r.mean() + c.gp_weight * penalty
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        out = critic(gen_net(torch.randn(c.batch, c.latent_dim, generator=g)[None]))
        if c.loss == "gan":         # non-saturating: -log D(G(z))
            g_loss = -F.logsigmoid(out).mean()
        else:
            g_loss = -out.mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if step % c.eval_every == 0 or step == c.steps:
            with torch.no_grad():
                looks.append(gen_net(torch.randn(c.eval_samples, c.latent_dim, generator=g)[None]))
    return torch.stack(looks)[:, 0]


@pytest.mark.parametrize("loss", ["gan", "wgan-gp"])
def test_train_ring_gan_matches_a_reference_loop(loss, one_thread):
    """Non-default recipe (latent 3, betas, rates, gp weight, ring): the batched run's member
    equals the hand-written single run; looks at every ``eval_every`` steps and the last."""
    config = gans.GANConfig(loss=loss, steps=5, critic_steps=2, batch=8, width=6, latent_dim=3,
                            lr_g=0.02, lr_d=0.03, betas=(0.3, 0.9), gp_weight=0.7, modes=5,
                            radius=1.5, std=0.2, eval_every=2, eval_samples=7)
    run = gans.train_ring_gan(config, [0, 11])
    np.testing.assert_array_equal(run.steps, [2, 4, 5])
    assert run.seeds == [0, 11] and run.config is config
    assert run.samples.shape == (3, 2, 7, 2)
    for m, seed in enumerate((0, 11)):
        torch.testing.assert_close(run.samples[:, m], _reference_ring_gan(config, seed),
                                   rtol=1e-5, atol=1e-6)


def test_train_ring_gan_single_step():
    """One generator step gives one look, at step 1."""
    config = gans.GANConfig(steps=1, batch=4, width=4, eval_every=5, eval_samples=3)
    run = gans.train_ring_gan(config, [0])
    np.testing.assert_array_equal(run.steps, [1])
    assert run.samples.shape == (1, 1, 3, 2)
    torch.testing.assert_close(run.samples[0, 0], _reference_ring_gan(config, 0)[0],
                               rtol=1e-5, atol=1e-6)


def test_train_ring_gan_argument_errors():
    """A config of the wrong type, and empty or negative seeds, are refused by name."""
    with pytest.raises(TypeError, match=r"^config must be a GANConfig, got dict\.$"):
        gans.train_ring_gan({}, [0])
    with pytest.raises(ValueError, match=r"^seeds must be a non-empty list of non-negative "
                                         r"integers, got \[1, -1\]"):
        gans.train_ring_gan(gans.GANConfig(), [1, -1])


def test_gan_config_defaults():
    """The documented default recipe (the values the book's ring experiments start from)."""
    c = gans.GANConfig()
    assert (c.loss, c.steps, c.critic_steps, c.batch, c.width, c.latent_dim) == (
        "gan", 1000, 1, 128, 64, 2)
    assert (c.lr_g, c.lr_d, c.betas, c.gp_weight) == (1e-3, 1e-3, (0.5, 0.999), 0.1)
    assert (c.modes, c.radius, c.std, c.eval_every, c.eval_samples) == (8, 2.0, 0.05, 100, 2000)


@pytest.mark.parametrize("name", ["steps", "critic_steps", "batch", "width", "latent_dim",
                                  "modes", "eval_every", "eval_samples"])
def test_gan_config_integer_fields(name):
    """Each integer field must be >= 1, checked by name."""
    with pytest.raises(ValueError, match=rf"^{name} must be a positive integer, got 0"):
        gans.GANConfig(**{name: 0})


@pytest.mark.parametrize("name", ["lr_g", "lr_d", "radius", "std"])
def test_gan_config_float_fields(name):
    """Each rate and ring size must be positive and finite, checked by name."""
    with pytest.raises(ValueError, match=rf"^{name} must be a positive finite number, got -1"):
        gans.GANConfig(**{name: -1.0})


def test_gan_config_loss_gp_weight_and_betas():
    """Both losses are accepted; gp_weight >= 0; betas two numbers in [0, 1)."""
    assert gans.GANConfig(loss="wgan-gp").loss == "wgan-gp"
    with pytest.raises(ValueError, match=r"^loss must be 'gan' or 'wgan-gp', got 'GAN'"):
        gans.GANConfig(loss="GAN")
    assert gans.GANConfig(gp_weight=0.0).gp_weight == 0.0
    assert gans.GANConfig(gp_weight=0.5).gp_weight == 0.5
    with pytest.raises(ValueError, match=r"^gp_weight must be non-negative, got -0.1"):
        gans.GANConfig(gp_weight=-0.1)
    assert gans.GANConfig(betas=(0.0, 0.99)).betas == (0.0, 0.99)
    for betas in [(0.5, 1.0), (-0.1, 0.9), (0.5,), (0.5, 0.9, 0.99), (1.5, 0.9)]:
        with pytest.raises(ValueError, match=r"^betas must be two numbers in \[0, 1\), got"):
            gans.GANConfig(betas=betas)
