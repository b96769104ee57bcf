"""Matrix games, Hedge and bilinear dynamics, against hand values, eigenvalues and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from dlscience import games


def test_matching_pennies_has_value_zero_and_uniform_strategies():
    sol = games.solve_matrix_game(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    assert sol.value == pytest.approx(0.0, abs=1e-12)
    assert sol.value_dual == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(sol.row, [0.5, 0.5], atol=1e-10)
    np.testing.assert_allclose(sol.col, [0.5, 0.5], atol=1e-10)


def test_two_by_two_game_solved_by_hand():
    # A = [[3, -1], [-2, 1]]: no saddle point; x1 = (d - c)/(a - b - c + d) = 3/7,
    # y1 = (d - b)/(a - b - c + d) = 2/7, value (ad - bc)/(a - b - c + d) = 1/7.
    sol = games.solve_matrix_game(np.array([[3.0, -1.0], [-2.0, 1.0]]))
    assert sol.value == pytest.approx(1 / 7, abs=1e-12)
    np.testing.assert_allclose(sol.row, [3 / 7, 4 / 7], atol=1e-10)
    np.testing.assert_allclose(sol.col, [2 / 7, 5 / 7], atol=1e-10)


def test_game_with_a_saddle_point_has_a_pure_solution():
    A = np.array([[2.0, 3.0], [1.0, 0.0]])  # entry (0, 0) is min of its row, max of its column
    sol = games.solve_matrix_game(A)
    assert sol.value == pytest.approx(2.0)
    np.testing.assert_allclose(sol.row, [1.0, 0.0], atol=1e-10)
    np.testing.assert_allclose(sol.col, [1.0, 0.0], atol=1e-10)


def test_lp_value_matches_brute_force_max_min_for_two_rows():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(2, 5))
    p = np.linspace(0, 1, 200_001)
    x = np.stack([p, 1 - p], axis=1)
    brute = (x @ A).min(axis=1).max()
    sol = games.solve_matrix_game(A)
    assert sol.value == pytest.approx(brute, abs=1e-8)
    assert sol.value == pytest.approx(sol.value_dual, abs=1e-10)
    assert float(games.duality_gap(A, sol.row, sol.col)) == pytest.approx(0.0, abs=1e-10)


def test_duality_gap_by_hand():
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    # x = (1, 0), y = (1, 0): max_i (A y)_i = 1, min_j (A^T x)_j = 0.
    assert float(games.duality_gap(A, [1.0, 0.0], [1.0, 0.0])) == pytest.approx(1.0)
    gaps = games.duality_gap(A, np.full((3, 2), 0.5), np.full((3, 2), 0.5))
    np.testing.assert_allclose(gaps, 0.0, atol=1e-15)


def test_game_with_equilibrium_plants_it():
    rng = np.random.default_rng(0)
    x_star, y_star = rng.dirichlet(np.ones(4) * 3), rng.dirichlet(np.ones(4) * 3)
    A = games.game_with_equilibrium(x_star, y_star, rng)
    assert A.min() == pytest.approx(0.0) and A.max() == pytest.approx(1.0)
    sol = games.solve_matrix_game(A)
    np.testing.assert_allclose(sol.row, x_star, atol=1e-8)
    np.testing.assert_allclose(sol.col, y_star, atol=1e-8)


def test_hedge_matches_a_direct_multiplicative_update_and_its_regret_bound():
    rng = np.random.default_rng(1)
    A = rng.uniform(size=(3, 4))
    steps, lr = 200, games.hedge_lr(3, 200)
    run = games.hedge_self_play(A, steps, lr)
    x, y = np.full(3, 1 / 3), np.full(4, 1 / 4)
    for t in range(steps):
        np.testing.assert_allclose(run.row[t], x, rtol=1e-10)
        np.testing.assert_allclose(run.col[t], y, rtol=1e-10)
        x, y = x * np.exp(lr * A @ y), y * np.exp(-lr * A.T @ x)
        x, y = x / x.sum(), y / y.sum()
    assert run.row_regret <= games.hedge_regret_bound(3, steps)
    x_bar, y_bar = run.averages()
    gap = float(games.duality_gap(A, x_bar[-1], y_bar[-1]))
    assert gap == pytest.approx((run.row_regret + run.col_regret) / steps, abs=1e-12)


def test_hedge_regret_bound_formula():
    assert games.hedge_regret_bound(5, 1000) == pytest.approx(np.sqrt(1000 * np.log(5) / 2))
    assert games.hedge_lr(5, 1000) == pytest.approx(np.sqrt(8 * np.log(5) / 1000))


def test_kl_divergence_by_hand():
    assert float(games.kl_divergence([0.5, 0.5], [0.25, 0.75])) == pytest.approx(
        0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert float(games.kl_divergence([1.0, 0.0], [0.5, 0.5])) == pytest.approx(np.log(2))


@pytest.mark.parametrize("method", games.METHODS)
@pytest.mark.parametrize("lr", [0.05, 0.3, 0.45, 0.55, 0.9, 1.7, 2.5])
def test_closed_form_radius_equals_eigenvalues(method, lr):
    beta = -0.5 if method == "nm" else 0.0
    M = games.bilinear_update_matrix(method, lr, beta)
    numeric = np.abs(np.linalg.eigvals(M)).max()
    assert games.bilinear_spectral_radius(method, lr, beta) == pytest.approx(numeric, rel=1e-10)


@pytest.mark.parametrize("method", games.METHODS)
def test_update_matrix_reproduces_the_update_rule(method):
    beta = 0.3 if method == "nm" else 0.0
    xs, ys = games.bilinear_trajectory(method, 0.2, [0.7], [-0.4], 25, momentum=beta)
    M = games.bilinear_update_matrix(method, 0.2, beta)
    state = np.array([0.7, -0.4] if len(M) == 2 else [0.7, -0.4, 0.7, -0.4])
    for t in range(25):
        state = M @ state
        np.testing.assert_allclose(state[:2], [xs[t + 1, 0], ys[t + 1, 0]], rtol=1e-12)


def test_simultaneous_gda_grows_by_sqrt_one_plus_eta_squared():
    xs, ys = games.bilinear_trajectory("gda", 0.4, [1.0], [2.0], 10)
    r = np.hypot(xs[:, 0], ys[:, 0])
    np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1.16), rtol=1e-13)


def test_vector_game_decouples_by_singular_values():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3))
    x0, y0 = rng.normal(size=3), rng.normal(size=3)
    xs, ys = games.bilinear_trajectory("eg", 0.1, x0, y0, 50, A=A)
    u, s, vt = np.linalg.svd(A)
    # Pair k, (u_k^T x, v_k^T y), is extragradient on s_k * u w: its norm shrinks by rho_k per step.
    rho = np.sqrt(1 - (0.1 * s) ** 2 + (0.1 * s) ** 4)
    energy = (u.T @ x0) ** 2 + (vt @ y0) ** 2
    predicted = (rho[None, :] ** (2 * np.arange(51)[:, None]) * energy).sum(axis=1)
    np.testing.assert_allclose((xs**2).sum(axis=1) + (ys**2).sum(axis=1), predicted, rtol=1e-12)


def test_alternating_gda_conserves_its_energy():
    xs, ys = games.bilinear_trajectory("alt-gda", 0.5, [1.0], [0.3], 500)
    h = xs[:, 0] ** 2 + ys[:, 0] ** 2 - 0.5 * xs[:, 0] * ys[:, 0]
    np.testing.assert_allclose(h, h[0], rtol=1e-12)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="A must"):
        games.solve_matrix_game(np.ones(3))
    with pytest.raises(ValueError, match="x must"):
        games.duality_gap(np.eye(2), [0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="method"):
        games.bilinear_update_matrix("adam", 0.1)
    with pytest.raises(ValueError, match="lr"):
        games.bilinear_spectral_radius("eg", -0.1)
    with pytest.raises(ValueError, match="momentum"):
        games.bilinear_update_matrix("gda", 0.1, momentum=0.5)
    with pytest.raises(ValueError, match="momentum"):
        games.bilinear_spectral_radius("nm", 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="steps"):
        games.hedge_self_play(np.eye(2), 0, 0.1)
    with pytest.raises(ValueError, match="fully mixed"):
        games.game_with_equilibrium(np.array([1.0, 0.0]), np.array([0.5, 0.5]),
                                    np.random.default_rng(0))
    with pytest.raises(ValueError, match="x0 and y0"):
        games.bilinear_trajectory("gda", 0.1, [1.0, 2.0], [1.0], 5)
    with pytest.raises(ValueError, match="n_actions"):
        games.hedge_lr(1, 10)


@pytest.mark.parametrize("beta", [-0.7, -0.5, 0.3])
def test_momentum_radius_matches_its_second_order_expansion(beta):
    # rho^2 = 1 + 2 beta eta^2 / (1 - beta)^3 + O(eta^4), from the eigenvalues of the 4 x 4 matrix.
    theory = 2 * beta / (1 - beta) ** 3
    errors = []
    for eta in (0.03, 0.01):
        M = games.bilinear_update_matrix("nm", eta, beta)
        rho = np.abs(np.linalg.eigvals(M)).max()
        errors.append(abs((rho**2 - 1) / eta**2 - theory))
    assert errors[1] < 1e-3 * abs(theory)
    assert errors[0] / errors[1] == pytest.approx(9.0, rel=0.02)  # an O(eta^4) remainder


def test_hedge_moves_away_from_a_fully_mixed_equilibrium():
    # Bailey and Piliouras: KL(x*||x_t) + KL(y*||y_t) increases along Hedge self-play.
    rng = np.random.default_rng(4)
    x_star, y_star = rng.dirichlet(np.full(3, 4.0)), rng.dirichlet(np.full(3, 4.0))
    A = games.game_with_equilibrium(x_star, y_star, rng)
    run = games.hedge_self_play(A, 300, 0.2)
    potential = games.kl_divergence(x_star, run.row) + games.kl_divergence(y_star, run.col)
    assert np.all(np.diff(potential) > 0)
    # The direct formula of the KL divergence, term by term.
    direct = (x_star * np.log(x_star / run.row)).sum(axis=1) + (y_star * np.log(y_star / run.col)
                                                                ).sum(axis=1)
    np.testing.assert_allclose(potential, direct, rtol=1e-12)
