"""Tests of dlscience.landscape against dense linear algebra and torch.func."""

import numpy as np
import pytest
import torch
from dlscience import landscape, models
from dlscience.runtime import set_seed


def small_problem(seed: int = 1):
    set_seed(seed)
    model = models.MLP([3, 6, 5, 2], activation="tanh", init="glorot", bias_std=0.1).double()
    x = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randn(20, 2, dtype=torch.float64)
    f = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    return model, f, landscape.flat_parameters(model)


def quadratic(seed: int = 0, dim: int = 8):
    """f(theta) = theta' A theta / 2 with a known symmetric A whose top eigenvalue is 5."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    eigs = torch.linspace(-1.0, 3.0, dim, dtype=torch.float64)
    eigs[-1] = 5.0
    a = q @ torch.diag(eigs) @ q.T
    return a, lambda theta: 0.5 * theta @ a @ theta


def test_flat_loss_matches_model_and_leaves_it_alone():
    model, f, theta = small_problem()
    x = torch.ones(4, 3, dtype=torch.float64)
    y = torch.zeros(4, 2, dtype=torch.float64)
    g = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    expected = torch.nn.functional.mse_loss(model(x), y)
    assert torch.allclose(g(theta), expected)
    g(torch.zeros_like(theta))
    assert torch.equal(landscape.flat_parameters(model), theta)


def test_hvp_equals_dense_hessian_times_vector():
    _, f, theta = small_problem()
    h = landscape.dense_hessian(f, theta)
    assert h.shape == (theta.numel(), theta.numel())
    assert torch.allclose(h, h.T, atol=1e-12)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        v = torch.randn(theta.numel(), generator=gen, dtype=torch.float64)
        assert torch.allclose(landscape.hvp(f, theta, v), h @ v, rtol=1e-10, atol=1e-12)


def test_hvp_equals_central_difference_of_gradient():
    _, f, theta = small_problem(2)
    v = torch.randn(theta.numel(), dtype=torch.float64)
    eps = 1e-5
    plus, minus = landscape.gradient(f, theta + eps * v), landscape.gradient(f, theta - eps * v)
    fd = (plus - minus) / (2 * eps)
    assert torch.allclose(landscape.hvp(f, theta, v), fd, rtol=1e-6, atol=1e-8)


def test_dense_hessian_of_quadratic_is_its_matrix():
    a, f = quadratic()
    h = landscape.dense_hessian(f, torch.randn(8, dtype=torch.float64))
    assert torch.allclose(h, a, atol=1e-12)


def test_power_iteration_on_known_quadratic():
    a, f = quadratic()
    pair = landscape.sharpness(f, torch.zeros(8, dtype=torch.float64), tol=1e-13)
    assert pair.converged
    assert abs(pair.value - 5.0) < 1e-9
    assert torch.allclose(a @ pair.vector, 5.0 * pair.vector, atol=1e-5)


def test_sharpness_equals_eigvalsh_on_small_net():
    _, f, theta = small_problem()
    h = landscape.dense_hessian(f, theta)
    eigs = torch.linalg.eigvalsh(h)
    top = float(eigs[torch.argmax(eigs.abs())])
    pair = landscape.sharpness(f, theta, max_iter=2000, tol=1e-14)
    assert abs(pair.value - top) / abs(top) < 1e-8, (pair.value, top)


def test_power_iteration_reports_non_convergence():
    a, _ = quadratic()
    pair = landscape.power_iteration(lambda v: a @ v, torch.ones(8, dtype=torch.float64),
                                     max_iter=2, tol=1e-15)
    assert not pair.converged and pair.iterations == 2


def test_sharpness_tracker_warm_starts():
    model, f, theta = small_problem()
    x = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randn(20, 2, dtype=torch.float64)
    tracker = landscape.SharpnessTracker(model, torch.nn.functional.mse_loss, x, y,
                                         max_iter=500, tol=1e-12)
    first = tracker(0, model)["sharpness"]
    assert tracker.vector is not None
    second = tracker(1, model)["sharpness"]
    assert abs(first - second) < 1e-8 * abs(first)


def test_interpolate_end_points_and_quadratic_profile():
    _, f = quadratic()
    a = torch.randn(8, dtype=torch.float64)
    b = torch.randn(8, dtype=torch.float64)
    alphas = np.linspace(-0.5, 1.5, 9)
    losses = landscape.interpolate(f, a, b, alphas)
    assert losses.shape == (9,)
    assert np.isclose(losses[2], float(f(a))) and np.isclose(losses[6], float(f(b)))
    assert np.allclose(np.diff(losses, 3), 0.0, atol=1e-10)  # a parabola in alpha


def test_filter_normalized_direction():
    model, _, theta = small_problem()
    d = landscape.filter_normalized_direction(model, torch.Generator().manual_seed(0))
    assert d.shape == theta.shape
    offset = 0
    for p in model.parameters():
        piece = d[offset:offset + p.numel()].reshape(p.shape)
        offset += p.numel()
        if p.ndim == 1:
            assert torch.count_nonzero(piece) == 0
        else:
            assert torch.allclose(piece.norm(dim=1), p.detach().norm(dim=1))


def test_slice_2d_orientation():
    _, f = quadratic()
    theta = torch.zeros(8, dtype=torch.float64)
    d1 = torch.eye(8, dtype=torch.float64)[0]
    d2 = torch.eye(8, dtype=torch.float64)[1]
    alphas, betas = np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.5])
    z = landscape.slice_2d(f, theta, d1, d2, alphas, betas)
    assert z.shape == (2, 3)
    assert np.isclose(z[1, 2], float(f(2.0 * d1 + 0.5 * d2)))


def test_bad_inputs_are_named():
    _, f, theta = small_problem()
    with pytest.raises(ValueError, match="v must have"):
        landscape.hvp(f, theta, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_iter"):
        landscape.power_iteration(lambda v: v, torch.ones(3), max_iter=0)
    with pytest.raises(ValueError, match="v0"):
        landscape.power_iteration(lambda v: v, torch.zeros(3))
    with pytest.raises(ValueError, match="alphas"):
        landscape.interpolate(f, theta, theta, [])
