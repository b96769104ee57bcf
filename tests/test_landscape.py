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


# ---------------------------------------------------------------------------------------------
# Exact messages, boundaries and defaults, each against an explicit reference computation.


def _tiny():
    """f(theta) for nn.Linear(2, 1): P = 3 parameters (weight, then bias)."""
    model = torch.nn.Linear(2, 1).double()
    x = torch.ones(4, 2, dtype=torch.float64)
    y = torch.zeros(4, 1, dtype=torch.float64)
    return landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)


def _identity(v):
    return v


_ONES3 = torch.ones(3, dtype=torch.float64)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: landscape.flat_parameters(torch.nn.ReLU()), r"^model has no parameters\.$"),
        (lambda: landscape.flat_loss(torch.nn.ReLU(), torch.nn.functional.mse_loss,
                                     torch.ones(2, 1), torch.ones(2, 1)),
         r"^model has no parameters\.$"),
        (lambda: landscape.filter_normalized_direction(torch.nn.ReLU(), torch.Generator()),
         r"^model has no parameters\.$"),
        (lambda: _tiny()(torch.ones(2, dtype=torch.float64)),
         r"^theta must have 3 entries, got 2\.$"),
        (lambda: landscape.gradient(_tiny(), torch.ones(1, 3)),
         r"^theta must be a 1-D tensor, got \(1, 3\)\.$"),
        (lambda: landscape.gradient(_tiny(), [1.0, 2.0, 3.0]),
         r"^theta must be a 1-D tensor, got list\.$"),
        (lambda: landscape.hvp(_tiny(), [1.0, 2.0, 3.0], _ONES3),
         r"^theta must be a 1-D tensor, got list\.$"),
        (lambda: landscape.hvp(_tiny(), _ONES3, torch.ones(2, dtype=torch.float64)),
         r"^v must have 3 entries, got 2\.$"),
        (lambda: landscape.dense_hessian(_tiny(), torch.ones(3, 1)),
         r"^theta must be a 1-D tensor, got \(3, 1\)\.$"),
        (lambda: landscape.power_iteration(_identity, [1.0, 0.0]),
         r"^v0 must be a 1-D tensor, got list\.$"),
        (lambda: landscape.power_iteration(_identity, torch.ones(2), max_iter=0),
         r"^max_iter must be a positive integer, got 0\.$"),
        (lambda: landscape.power_iteration(_identity, torch.ones(2), tol=0.0),
         r"^tol must be positive, got 0\.0\.$"),
        (lambda: landscape.power_iteration(_identity, torch.zeros(2)),
         r"^v0 must be a non-zero vector\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), torch.ones(1, 3)),
         r"^theta must be a 1-D tensor, got \(1, 3\)\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, k=0),
         r"^k must be a positive integer, got 0\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, tol=0.0),
         r"^tol must be positive, got 0\.0\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, max_matvecs=0),
         r"^max_matvecs must be a positive integer, got 0\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, ncv=0),
         r"^ncv must be a positive integer, got 0\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, ncv=1),
         r"^ncv must satisfy k < ncv <= P = 3, got 1\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, v0=torch.ones(2)),
         r"^v0 must have 3 entries, got 2\.$"),
        (lambda: landscape.hessian_eigenpairs(_tiny(), _ONES3, v0=torch.zeros(3)),
         r"^v0 must be a non-zero vector\.$"),
        (lambda: landscape.SharpnessTracker(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss,
                                            torch.ones(3, 2), torch.ones(3, 1), every=0),
         r"^every must be a positive integer, got 0\.$"),
        (lambda: landscape.SharpnessTracker(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss,
                                            torch.ones(3, 2), torch.ones(3, 1), tol=0.0),
         r"^tol must be positive, got 0\.0\.$"),
        (lambda: landscape.SharpnessTracker(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss,
                                            torch.ones(3, 2), torch.ones(3, 1), max_matvecs=0),
         r"^max_matvecs must be a positive integer, got 0\.$"),
        (lambda: landscape.interpolate(_tiny(), [0.0, 0.0, 0.0], _ONES3, [0.0]),
         r"^theta_a must be a 1-D tensor, got list\.$"),
        (lambda: landscape.interpolate(_tiny(), _ONES3, torch.ones(2), [0.0]),
         r"^theta_b must have 3 entries, got 2\.$"),
        (lambda: landscape.slice_2d(_tiny(), [0.0, 0.0, 0.0], _ONES3, _ONES3, [0.0], [0.0]),
         r"^theta must be a 1-D tensor, got list\.$"),
        (lambda: landscape.slice_2d(_tiny(), _ONES3, torch.ones(2), _ONES3, [0.0], [0.0]),
         r"^d1 must have 3 entries, got 2\.$"),
        (lambda: landscape.slice_2d(_tiny(), _ONES3, _ONES3, torch.ones(4), [0.0], [0.0]),
         r"^d2 must have 3 entries, got 4\.$"),
        (lambda: landscape.slice_2d(_tiny(), _ONES3, _ONES3, _ONES3, [], [0.0]),
         r"^alphas must be a non-empty 1-D sequence, got shape \(0,\)\.$"),
        (lambda: landscape.slice_2d(_tiny(), _ONES3, _ONES3, _ONES3, [0.0], []),
         r"^betas must be a non-empty 1-D sequence, got shape \(0,\)\.$"),
        (lambda: landscape.slice_2d(_tiny(), _ONES3, _ONES3, _ONES3, [0.0], [[0.0]]),
         r"^betas must be a non-empty 1-D sequence, got shape \(1, 1\)\.$"),
        (lambda: landscape.trajectory_pca([torch.ones(3), torch.ones(1, 3)]),
         r"^thetas\[i\] must be a 1-D tensor, got \(1, 3\)\.$"),
        (lambda: landscape.trajectory_pca(torch.ones(1, 5)),
         r"^thetas must hold at least two \(P,\) vectors, got shape \(1, 5\)\.$"),
        (lambda: landscape.trajectory_pca(torch.eye(3), k=0),
         r"^k must be a positive integer, got 0\.$"),
        (lambda: landscape.trajectory_pca(torch.randn(3, 5), k=3),
         r"^k must be at most min\(T, P\) = 2, got 3\.$"),
        (lambda: landscape.trajectory_pca(torch.ones(4, 5)),
         r"^the trajectory does not move: all thetas are equal\.$"),
    ],
)
def test_bad_inputs_get_exact_messages(call, message):
    """Each bad argument is named, with what was expected, at the start of the message."""
    with pytest.raises(ValueError, match=message):
        call()


def test_flat_loss_of_a_one_parameter_model():
    """nn.Linear(1, 1) without bias: f(w) = mean((w x - y)^2), computed by hand."""
    model = torch.nn.Linear(1, 1, bias=False).double()
    x = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    f = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    # w = 3: residuals 3 and 5, mean of squares (9 + 25) / 2 = 17
    assert float(f(torch.tensor([3.0], dtype=torch.float64))) == pytest.approx(17.0)


# power iteration on A = diag(2, 1) from v0 = (2, 2): after one product, by hand,
# v = (1, 1)/sqrt(2), A v = (2, 1)/sqrt(2), value = v . A v = 3/2,
# A v - value v = (1/2, -1/2)/sqrt(2) of norm 1/2, relative residual (1/2) / (3/2) = 1/3.
_DIAG21 = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def test_power_iteration_one_step_by_hand():
    """One step of power iteration against the hand computation above."""
    pair = landscape.power_iteration(lambda v: _DIAG21 @ v,
                                     torch.tensor([2.0, 2.0], dtype=torch.float64), max_iter=1)
    assert pair.iterations == 1 and not pair.converged
    assert pair.value == pytest.approx(1.5, abs=1e-15)
    assert pair.residual == pytest.approx(1.0 / 3.0, abs=1e-15)
    assert torch.allclose(pair.vector, torch.full((2,), 2.0**-0.5, dtype=torch.float64))


def test_power_iteration_converged_means_residual_at_most_tol():
    """A residual equal to the tolerance counts as converged (the documented rule)."""
    v0 = torch.tensor([2.0, 2.0], dtype=torch.float64)
    first = landscape.power_iteration(lambda v: _DIAG21 @ v, v0, max_iter=1)
    again = landscape.power_iteration(lambda v: _DIAG21 @ v, v0, max_iter=1, tol=first.residual)
    assert again.converged and again.residual == first.residual


def test_power_iteration_defaults_reach_tol_1e_8():
    """Defaults (tol 1e-8) on diag(2, 1) from (1, 1), by hand: after j products
    v = (c, s) with s = 2**-j / |(1, 2**-j)|, and for v = (c, s) the value is 2 c^2 + s^2 and
    A v - value v = (c s^2, -s c^2), so the relative residual is c s / value, about s / 2.
    It first falls to 1e-8 at s = 2**-26 (2**-25 / 2 > 1e-8), i.e. on the 27th product."""
    pair = landscape.power_iteration(lambda v: _DIAG21 @ v,
                                     torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert pair.converged and pair.iterations == 27
    s = 2.0**-26 / np.sqrt(1 + 2.0**-52)
    c = np.sqrt(1 - s**2)
    assert float(pair.vector[1]) == pytest.approx(s, rel=1e-12)
    assert pair.value == pytest.approx(2 * c**2 + s**2, rel=1e-15)
    assert pair.residual == pytest.approx(c * s / pair.value, rel=1e-6)


def test_power_iteration_stalls_on_a_reflection():
    """A = [[0, 1], [1, 0]] has eigenvalues +-1 of equal magnitude: no convergence, and the
    default budget of 1000 products is used up; every product has norm 1."""
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    v0 = torch.tensor([0.6, 0.8], dtype=torch.float64)
    pair = landscape.power_iteration(lambda v: swap @ v, v0)
    assert not pair.converged and pair.iterations == 1000
    # v . A v = 2 * 0.6 * 0.8 = 0.96 whichever of the two vectors it ends on
    assert pair.value == pytest.approx(0.96)


def test_power_iteration_zero_eigenvalue_residuals():
    """value 0: the residual is 0 if A v = 0 (converged) and infinite otherwise."""
    zero = landscape.power_iteration(lambda v: 0.0 * v, torch.tensor([1.0, 0.0]))
    assert zero.converged and zero.residual == 0.0 and zero.value == 0.0
    assert zero.iterations == 1
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    # v = e1: A v = e2, v . A v = 0, ||A v - 0 v|| = 1
    pair = landscape.power_iteration(lambda v: swap @ v,
                                     torch.tensor([1.0, 0.0], dtype=torch.float64), max_iter=1)
    assert pair.value == 0.0 and pair.residual == float("inf") and not pair.converged


def _rotated(eigs, seed: int = 3):
    """A = Q diag(eigs) Q' with a random orthogonal Q; f(theta) = theta' A theta / 2."""
    gen = torch.Generator().manual_seed(seed)
    dim = len(eigs)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    a = q @ torch.diag(torch.tensor(eigs, dtype=torch.float64)) @ q.T
    return a, (lambda theta: 0.5 * theta @ a.to(theta.dtype) @ theta)


def _arpack_on_matrix(a, *, k=1, which="LA", tol=1e-6, max_matvecs=2000, ncv=None, seed=0,
                      v0=None):
    """Reference: SciPy's eigsh on the explicit matrix, with the arguments the docstring of
    hessian_eigenpairs promises (ARPACK tol / 2, ncv = min(P, max(2 k + 1, 8)), about
    max_matvecs products in restarts of ncv, Gaussian v0 from `seed`); returns the number of
    products and the converged eigenvalues, most extreme first."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    dim = a.shape[0]
    ncv = min(dim, max(2 * k + 1, 8)) if ncv is None else ncv
    if v0 is None:
        v0 = torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    count = [0]

    def matvec(v):
        count[0] += 1
        return a.numpy() @ np.ravel(v)

    op = LinearOperator((dim, dim), matvec=matvec, dtype=np.float64)
    try:
        values = eigsh(op, k=k, which=which, v0=v0.numpy(), tol=tol / 2, ncv=ncv,
                       maxiter=max(1, max_matvecs // ncv), return_eigenvectors=False)
    except ArpackNoConvergence as err:
        values = err.eigenvalues
    values = np.sort(values)
    return count[0], (values[::-1] if which == "LA" else values)


_EIGS30 = list(np.linspace(-7.0, 2.0, 30))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"k": 4}, {"tol": 1e-3}, {"tol": 1e-3, "seed": 4}, {"ncv": 5, "tol": 1e-3},
     {"k": 2, "which": "SA", "tol": 1e-4}],
)
def test_hessian_eigenpairs_matches_arpack_on_the_explicit_matrix(kwargs):
    """Products used and eigenvalues equal those of eigsh run on the dense matrix with the
    documented arguments; `iterations` counts the products of the Lanczos run (the calls of f
    minus the k checking products)."""
    a, f = _rotated(_EIGS30)
    calls = [0]

    def counted(theta):
        calls[0] += 1
        return f(theta)

    pairs = landscape.hessian_eigenpairs(counted, torch.zeros(30, dtype=torch.float64),
                                         **kwargs)
    count, values = _arpack_on_matrix(a, **kwargs)
    k = kwargs.get("k", 1)
    assert len(pairs) == k and all(p.iterations == count for p in pairs)
    assert calls[0] == count + k
    assert np.allclose([p.value for p in pairs], values, rtol=1e-12, atol=0)
    tol = kwargs.get("tol", 1e-6)
    assert all(p.converged and p.residual <= tol for p in pairs)
    for p in pairs:  # the reported residual is that of the pair, recomputed densely
        r = float(torch.linalg.vector_norm(a @ p.vector - p.value * p.vector)) / abs(p.value)
        assert p.residual == pytest.approx(r, rel=1e-6, abs=1e-15)


def test_hessian_eigenpairs_budget_exhausted_returns_the_start_vector():
    """With one restart (max_matvecs <= ncv) nothing converges: the pair is the normalized v0,
    its value the Rayleigh quotient v0' A v0 / |v0|^2, its residual infinite."""
    a, f = _rotated(_EIGS30)
    v0 = torch.randn(30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    (pair,) = landscape.hessian_eigenpairs(f, torch.zeros(30, dtype=torch.float64), tol=1e-15,
                                           max_matvecs=8)
    count, values = _arpack_on_matrix(a, tol=1e-15, max_matvecs=8)
    assert len(values) == 0 and pair.iterations == count
    assert not pair.converged and pair.residual == float("inf")
    assert torch.allclose(pair.vector, v0 / v0.norm(), atol=1e-14)
    assert pair.value == pytest.approx(float(v0 @ a @ v0 / (v0 @ v0)), rel=1e-12)


def test_hessian_eigenpairs_converged_means_residual_at_most_tol():
    """On P = ncv = 6 one Lanczos sweep is exact whatever the tolerance, so asking for exactly
    the residual obtained gives the same pair, and it counts as converged (residual <= tol)."""
    _, f = _rotated([-1.0, 0.5, 1.0, 2.0, 3.0, 4.0], seed=0)
    theta = torch.zeros(6, dtype=torch.float64)
    first = landscape.hessian_eigenpairs(f, theta, tol=1e-6)[0]
    assert first.value == pytest.approx(4.0, abs=1e-12) and first.residual > 0
    again = landscape.hessian_eigenpairs(f, theta, tol=first.residual)[0]
    assert again.residual == first.residual and again.converged


def test_hessian_eigenpairs_in_float32():
    """Products in theta's dtype: a float32 theta gives a float32 vector and the eigenvalue to
    float32 accuracy (top eigenvalue 4 of the known matrix)."""
    _, f = _rotated([-1.0, 0.5, 1.0, 2.0, 3.0, 4.0], seed=0)
    pairs = landscape.hessian_eigenpairs(f, torch.zeros(6), k=2, tol=1e-4)
    assert all(p.vector.dtype == torch.float32 for p in pairs)
    assert [p.value for p in pairs] == pytest.approx([4.0, 3.0], abs=1e-5)
    assert all(p.converged for p in pairs)


def test_sharpness_is_the_first_la_eigenpair_with_the_same_arguments():
    """sharpness(...) = hessian_eigenpairs(..., k=1, which="LA")[0] for non-default ncv and
    seed, and with its own defaults equals eigsh with tol 1e-6, seed 0 on the dense matrix."""
    a, f = _rotated(_EIGS30)
    theta = torch.zeros(30, dtype=torch.float64)
    kw = {"tol": 1e-3, "max_matvecs": 60, "ncv": 5, "seed": 5}
    pair = landscape.sharpness(f, theta, **kw)
    (ref,) = landscape.hessian_eigenpairs(f, theta, k=1, which="LA", **kw)
    assert pair.iterations == ref.iterations and pair.value == ref.value
    assert torch.equal(pair.vector, ref.vector)
    default = landscape.sharpness(f, theta)
    count, values = _arpack_on_matrix(a)
    assert default.iterations == count and default.value == pytest.approx(values[0], rel=1e-12)
    assert default.value == pytest.approx(2.0, abs=1e-9)
    seeded = landscape.hessian_eigenpairs(f, theta, tol=1e-6, seed=0)[0]
    assert torch.equal(default.vector, seeded.vector)  # default seed 0 (seed 1: another vector)


def _tracker_problem():
    model, _, _ = small_problem()
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    calls = [0]

    def loss(out, target):
        calls[0] += 1
        return torch.nn.functional.mse_loss(out, target)

    return model, x, y, loss, calls


def test_sharpness_tracker_defaults_match_an_explicit_sharpness_call():
    """Defaults: every step is measured, with tol 1e-4, 400 products, seed 0, default ncv;
    `matvecs` counts every product (= every evaluation of the loss)."""
    model, x, y, loss, calls = _tracker_problem()
    tracker = landscape.SharpnessTracker(model, loss, x, y)
    f = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    theta = landscape.flat_parameters(model)
    ref = landscape.sharpness(f, theta, tol=1e-4, max_matvecs=400, seed=0)
    assert tracker.matvecs == 0
    out = tracker(1, model)  # step 1 is a multiple of every = 1
    assert out == {"sharpness": ref.value, "sharpness_residual": ref.residual}
    assert tracker.matvecs == ref.iterations + 1 == calls[0]


def test_sharpness_tracker_passes_its_arguments_and_warm_starts():
    """With ncv, max_matvecs and seed given, each measurement equals sharpness(...) with those
    arguments, the second one started from the first eigenvector (the warm start)."""
    model, x, y, loss, calls = _tracker_problem()
    kw = {"tol": 1e-3, "max_matvecs": 30, "ncv": 6, "seed": 2}
    tracker = landscape.SharpnessTracker(model, loss, x, y, every=2, **kw)
    f = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    theta = landscape.flat_parameters(model)
    first = landscape.sharpness(f, theta, **kw)
    assert tracker(0, model) == {"sharpness": first.value,
                                 "sharpness_residual": first.residual}
    assert torch.equal(tracker.vector, first.vector)
    assert all(np.isnan(v) for v in tracker(1, model).values())
    with torch.no_grad():  # move the model a little: the Hessian changes slowly
        for p in model.parameters():
            p.mul_(1.01)
    theta2 = landscape.flat_parameters(model)
    warm = landscape.sharpness(f, theta2, first.vector, **kw)
    cold = landscape.sharpness(f, theta2, **kw)
    assert warm.iterations != cold.iterations or warm.value != cold.value
    assert tracker(2, model) == {"sharpness": warm.value, "sharpness_residual": warm.residual}
    assert tracker.matvecs == first.iterations + warm.iterations + 2 == calls[0]


def test_sharpness_tracker_respects_its_product_budget():
    """max_matvecs bounds each measurement: with 12 products (two restarts of ncv = 6) and
    tol 1e-10 nothing converges, as for sharpness(...) with the same budget, while the same
    call with the default budget of sharpness (2000) converges."""
    model, x, y, loss, _ = _tracker_problem()
    kw = {"tol": 1e-10, "max_matvecs": 12, "ncv": 6, "seed": 2}
    tracker = landscape.SharpnessTracker(model, loss, x, y, **kw)
    f = landscape.flat_loss(model, torch.nn.functional.mse_loss, x, y)
    theta = landscape.flat_parameters(model)
    ref = landscape.sharpness(f, theta, **kw)
    assert not ref.converged and ref.residual == float("inf")
    assert landscape.sharpness(f, theta, tol=1e-10, ncv=6, seed=2).converged
    assert tracker(0, model) == {"sharpness": ref.value, "sharpness_residual": ref.residual}


def test_filter_normalized_direction_matches_its_definition():
    """Reference: Gaussian draws from the same generator, in parameter order, each row scaled
    to the norm of the weight's row; biases zero. Independent of the global RNG."""
    model, _, _ = small_problem()
    torch.manual_seed(123)
    d = landscape.filter_normalized_direction(model, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    pieces = []
    for p in model.parameters():
        w = p.detach()
        if w.ndim == 1:
            pieces.append(torch.zeros(w.numel(), dtype=w.dtype))
            continue
        r = torch.randn(w.shape, generator=gen, dtype=torch.float64)
        pieces.append((r / r.norm(dim=1, keepdim=True) * w.norm(dim=1, keepdim=True)).reshape(-1))
    assert d.dtype == torch.float64
    assert torch.allclose(d, torch.cat(pieces), rtol=1e-12, atol=0)
    torch.manual_seed(321)
    again = landscape.filter_normalized_direction(model, torch.Generator().manual_seed(4))
    assert torch.equal(d, again)


def test_interpolate_and_slice_2d_on_single_points_and_integer_grids():
    """One-point grids are allowed; values against f evaluated by hand at the point."""
    _, f = quadratic()
    theta = torch.zeros(8, dtype=torch.float64)
    e = torch.eye(8, dtype=torch.float64)
    z = landscape.slice_2d(f, theta, e[0], e[1], [2], [-1])
    assert z.shape == (1, 1) and z[0, 0] == pytest.approx(float(f(2 * e[0] - e[1])))
    b = torch.ones(8, dtype=torch.float64)
    line = landscape.interpolate(f, theta, b, [0, 1, 2])
    assert np.allclose(line, [0.0, float(f(b)), 4 * float(f(b))])  # f(alpha b) = alpha^2 f(b)


def test_trajectory_pca_small_cases_by_hand():
    """Two points at distance 1: M = [[-1, 0], [0, 0]], one direction +-e1, coordinates
    (+-1, 0), all of ||M||^2 = 1 explained. A path in P = 1 and k = min(T, P) are allowed."""
    path = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    coords, directions, explained = landscape.trajectory_pca(path, k=1)
    assert np.allclose(explained, [1.0])
    assert torch.allclose(directions.abs(), torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert np.allclose(np.abs(coords[:, 0]), [1.0, 0.0])
    # P = 1: displacements (-3, -1, 0), a single direction
    coords, directions, explained = landscape.trajectory_pca(
        [torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([4.0])], k=1)
    assert np.allclose(np.abs(coords[:, 0]), [3.0, 1.0, 0.0]) and np.allclose(explained, [1.0])
    # T = 2 steps in P = 5 with the default k = 2 = min(T, P): explains everything
    pts = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    coords, directions, explained = landscape.trajectory_pca(pts)
    assert coords.shape == (3, 2) and directions.shape == (2, 5)
    assert directions.dtype == torch.float32
    assert np.isclose(explained.sum(), 1.0)
    assert torch.allclose(torch.from_numpy(coords).float() @ directions + pts[-1], pts,
                          atol=1e-5)
