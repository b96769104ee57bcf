"""The GAN module against closed forms, SciPy, PyTorch's own layers and hand counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
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
