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


def test_sharpness_on_known_quadratic():
    a, f = quadratic()
    pair = landscape.sharpness(f, torch.zeros(8, dtype=torch.float64), tol=1e-12)
    assert pair.converged and pair.residual <= 1e-12
    assert abs(pair.value - 5.0) < 1e-9
    assert torch.allclose(a @ pair.vector, 5.0 * pair.vector, atol=1e-8)


def test_sharpness_is_the_largest_not_the_largest_magnitude():
    # Eigenvalues -7 .. 2: power iteration returns -7, the sharpness must be 2.
    gen = torch.Generator().manual_seed(3)
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=gen, dtype=torch.float64))
    eigs = torch.linspace(-7.0, 2.0, 30, dtype=torch.float64)
    a = q @ torch.diag(eigs) @ q.T
    f = lambda theta: 0.5 * theta @ a @ theta  # noqa: E731
    theta = torch.zeros(30, dtype=torch.float64)
    assert abs(landscape.sharpness(f, theta, tol=1e-12).value - 2.0) < 1e-9
    bottom = landscape.hessian_eigenpairs(f, theta, k=2, which="SA", tol=1e-12)
    assert np.allclose([p.value for p in bottom], eigs[:2].numpy(), atol=1e-9)
    power = landscape.power_iteration(lambda v: a @ v, torch.ones(30, dtype=torch.float64),
                                      max_iter=5000, tol=1e-10)
    assert power.converged and abs(power.value + 7.0) < 1e-8


def test_lanczos_matches_dense_hessian_of_small_net():
    # Independent reference: torch.autograd.functional.hessian of the loss of a small net.
    _, f, theta = small_problem()
    h = torch.autograd.functional.hessian(f, theta)
    eigs = torch.linalg.eigvalsh(h)
    top = landscape.hessian_eigenpairs(f, theta, k=3, which="LA", tol=1e-12)
    assert np.allclose([p.value for p in top], eigs.flip(0)[:3].numpy(), rtol=1e-9, atol=1e-12)
    assert all(p.converged and p.residual <= 1e-12 for p in top)
    low = landscape.hessian_eigenpairs(f, theta, which="SA", tol=1e-12)[0]
    assert eigs[0] < 0 and abs(low.value - float(eigs[0])) < 1e-9 * abs(float(eigs[0]))
    assert torch.allclose(h @ top[0].vector, top[0].value * top[0].vector, atol=1e-9)


def test_residual_certifies_an_eigenvalue():
    # For a symmetric matrix some eigenvalue lies within ||A v - value v|| of value.
    _, f, theta = small_problem(2)
    h = landscape.dense_hessian(f, theta)
    eigs = torch.linalg.eigvalsh(h)
    pair = landscape.power_iteration(lambda v: h @ v, torch.ones(theta.numel(), dtype=h.dtype),
                                     max_iter=5, tol=1e-12)
    assert not pair.converged and pair.iterations == 5
    gap = float(torch.min(torch.abs(eigs - pair.value)))
    assert gap <= pair.residual * abs(pair.value) + 1e-12


def test_lanczos_budget_reports_non_convergence():
    _, f, theta = small_problem()
    pair = landscape.sharpness(f, theta, tol=1e-15, max_matvecs=8)
    assert not pair.converged and pair.residual > 1e-15


def test_power_iteration_reports_non_convergence():
    a, _ = quadratic()
    pair = landscape.power_iteration(lambda v: a @ v, torch.ones(8, dtype=torch.float64),
                                     max_iter=2, tol=1e-15)
    assert not pair.converged and pair.iterations == 2


def test_sharpness_tracker_warm_starts_and_skips_steps():
    model, f, theta = small_problem()
    x = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randn(20, 2, dtype=torch.float64)
    tracker = landscape.SharpnessTracker(model, torch.nn.functional.mse_loss, x, y,
                                         every=5, tol=1e-12)
    first = tracker(0, model)
    assert tracker.vector is not None and first["sharpness_residual"] <= 1e-12
    skipped = tracker(3, model)
    assert np.isnan(skipped["sharpness"]) and np.isnan(skipped["sharpness_residual"])
    used = tracker.matvecs
    second = tracker(5, model)["sharpness"]
    assert abs(first["sharpness"] - second) < 1e-10 * abs(second)
    assert tracker.matvecs - used < used  # the warm start needs fewer products


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


def test_trajectory_pca_recovers_a_planar_path():
    gen = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(50, 2, generator=gen, dtype=torch.float64))
    t = torch.linspace(0, 1, 30, dtype=torch.float64)
    path = torch.stack([torch.cos(3 * t) - np.cos(3.0), 2 * torch.sin(2 * t) - 2 * np.sin(2.0)],
                       dim=1) @ basis.T + 1.0
    coords, directions, explained = landscape.trajectory_pca(path, k=2)
    assert coords.shape == (30, 2) and directions.shape == (2, 50)
    assert np.allclose(coords[-1], 0.0) and np.isclose(explained.sum(), 1.0)
    assert torch.allclose(directions @ directions.T, torch.eye(2, dtype=torch.float64))
    rebuilt = torch.from_numpy(coords) @ directions + path[-1]
    assert torch.allclose(rebuilt, path, atol=1e-10)
    # against numpy's SVD of the same displacements
    sing = np.linalg.svd((path - path[-1]).numpy(), compute_uv=False)
    assert np.allclose(explained, sing[:2] ** 2 / np.sum(sing**2))


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
    with pytest.raises(ValueError, match="which"):
        landscape.hessian_eigenpairs(f, theta, which="LM")
    with pytest.raises(ValueError, match="k must be smaller"):
        landscape.hessian_eigenpairs(f, theta, k=theta.numel())
    with pytest.raises(ValueError, match="every"):
        landscape.SharpnessTracker(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss,
                                   torch.ones(3, 2), torch.ones(3, 1), every=0)
    with pytest.raises(ValueError, match="k must be at most"):
        landscape.trajectory_pca([theta, theta + 1], k=2)
