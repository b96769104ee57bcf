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


# --- Added tests: hand values, exact invariances and precise argument checks. ---


def test_boolean_and_one_by_one_payoffs():
    """A 0/1 boolean payoff is read as numbers: the identity game has value 1/2 with uniform
    strategies; a 1 x 1 game [[2]] has value 2."""
    sol = games.solve_matrix_game(np.eye(2, dtype=bool))
    assert sol.value == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(sol.row, [0.5, 0.5], atol=1e-10)
    assert games.solve_matrix_game([[2.0]]).value == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"^A must have finite entries"):
        games.solve_matrix_game([[1.0, np.inf]])


@pytest.mark.parametrize("tol", [0, -1e-3, np.inf, np.nan, True, None])
def test_solve_matrix_game_rejects_bad_tol(tol):
    """tol must be a positive finite number (bool, None, 0, inf, nan rejected)."""
    with pytest.raises(ValueError, match=r"^tol must be a positive finite number"):
        games.solve_matrix_game(np.eye(2), tol=tol)


def test_solve_matrix_game_passes_tol_to_highs():
    """An absurd tolerance (10) reaches HiGHS, whose row program then fails: a RuntimeError
    naming the row player's program."""
    with pytest.raises(RuntimeError, match=r"^the row player's linear program failed: "):
        games.solve_matrix_game(np.array([[3.0, -1.0], [-2.0, 1.0]]), tol=10.0)


def test_duality_gap_batched_by_hand_and_checks():
    """Gaps per pair on A = I: (e1, e1) gives 1 - 0 = 1, (uniform, uniform) gives 0.5 - 0.5 = 0."""
    x = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(games.duality_gap(np.eye(2), x, x), [1.0, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match=r"^y must be a probability vector"):
        games.duality_gap(np.eye(2), [0.5, 0.5], [1.5, -0.5])
    with pytest.raises(ValueError, match=r"^x must be a probability vector"):
        games.duality_gap(np.eye(2), [1.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^y must have last dimension 2, got shape \(3,\)"):
        games.duality_gap(np.eye(2), [0.5, 0.5], np.full(3, 1 / 3))


def test_game_with_equilibrium_rejects_bad_strategies():
    """Strategies must be fully mixed probability vectors of one common length >= 2."""
    rng = np.random.default_rng(0)
    half = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"^row must be a probability vector"):
        games.game_with_equilibrium([0.5, 0.6], half, rng)
    with pytest.raises(ValueError, match=r"^col must be a probability vector"):
        games.game_with_equilibrium(half, [0.5, 0.6], rng)
    with pytest.raises(ValueError, match=r"^row must"):
        games.game_with_equilibrium(0.5, half, rng)
    for row, col in (([1.0], [1.0]), (np.full((2, 2), 0.5), half)):
        with pytest.raises(ValueError, match=r"^row must be one probability vector of length"):
            games.game_with_equilibrium(row, col, rng)
    for row, col in ((half, [1.0, 0.0]), ([1.0, 0.0], half)):
        with pytest.raises(ValueError, match=r"^row and col must be fully mixed"):
            games.game_with_equilibrium(row, col, rng)


def test_hedge_lr_and_bound_by_hand():
    """hedge_lr(2, 8) = sqrt(8 ln 2 / 8) = sqrt(ln 2); the bound with n = 1, lr = 0.5, T = 10
    is 0 / 0.5 + 0.5 * 10 / 8 = 0.625."""
    assert games.hedge_lr(2, 8) == pytest.approx(np.sqrt(np.log(2)), rel=1e-15)
    assert games.hedge_regret_bound(1, 10, 0.5) == pytest.approx(0.625, rel=1e-15)


@pytest.mark.parametrize("fn", [games.hedge_lr, games.hedge_regret_bound])
def test_hedge_lr_and_bound_name_bad_arguments(fn):
    """Each integer argument is checked under its own name (n_actions >= 2 for the step)."""
    args = (0.5,) if fn is games.hedge_regret_bound else ()
    with pytest.raises(ValueError, match=r"^n_actions must be a positive integer"):
        fn(0, 10, *args)
    with pytest.raises(ValueError, match=r"^steps must be a positive integer"):
        fn(2, 0, *args)
    with pytest.raises(ValueError, match=r"^n_actions must be at least 2, got 1"):
        games.hedge_lr(1, 10)
    with pytest.raises(ValueError, match=r"^lr must be a positive finite number"):
        games.hedge_regret_bound(2, 10, 0.0)


def _hedge_reference(A, steps, lr, x, y):
    """Hedge by the documented rule x' ∝ x exp(lr A y), y' ∝ y exp(-lr A^T x), in log space."""
    from scipy.special import softmax

    lx, ly, xs, ys = np.log(x), np.log(y), [], []
    for _ in range(steps):
        x, y = softmax(lx), softmax(ly)
        xs.append(x)
        ys.append(y)
        lx, ly = lx + lr * A @ y, ly - lr * A.T @ x
    return np.array(xs), np.array(ys)


def test_hedge_self_play_from_given_start_and_with_large_payoffs():
    """Custom first strategies are used; payoffs of size 500 do not overflow (compared with
    the log-space rule and scipy's softmax)."""
    A = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.5]])
    row0, col0 = np.array([0.8, 0.2]), np.array([0.1, 0.3, 0.6])
    run = games.hedge_self_play(A, 20, 0.3, row0=row0, col0=col0)
    xs, ys = _hedge_reference(A, 20, 0.3, row0, col0)
    np.testing.assert_allclose(run.row, xs, rtol=1e-12)
    np.testing.assert_allclose(run.col, ys, rtol=1e-12)
    big = 500 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    run = games.hedge_self_play(big, 4, 1.0, row0=[0.6, 0.4], col0=[0.5, 0.5])
    xs, ys = _hedge_reference(big, 4, 1.0, np.array([0.6, 0.4]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(run.row, xs, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(run.col, ys, rtol=1e-12, atol=1e-300)


def test_hedge_self_play_rejects_bad_arguments():
    """steps, lr, row0 and col0 are each checked under their own name."""
    A = np.eye(2)
    with pytest.raises(ValueError, match=r"^steps must be a positive integer"):
        games.hedge_self_play(A, 0, 0.1)
    for lr in (0.0, np.inf, True):
        with pytest.raises(ValueError, match=r"^lr must be a positive finite number"):
            games.hedge_self_play(A, 2, lr)
    for name in ("row0", "col0"):
        with pytest.raises(ValueError, match=rf"^{name} must be a probability vector"):
            games.hedge_self_play(A, 2, 0.1, **{name: [0.5, 0.6]})
        with pytest.raises(ValueError, match=rf"^{name} must have last dimension 2"):
            games.hedge_self_play(A, 2, 0.1, **{name: [1.0]})
        with pytest.raises(ValueError, match=r"^row0 and col0 must be fully mixed"):
            games.hedge_self_play(A, 2, 0.1, **{name: [1.0, 0.0]})


def test_kl_divergence_checks_and_zero_entries_without_warnings():
    """p = (1, 0): KL = log 2 against (1/2, 1/2), computed without a log(0) warning; mismatched
    lengths and a q with a zero entry are rejected."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(games.kl_divergence([1.0, 0.0], [0.5, 0.5])) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match=r"^p and q must have the same last dimension"):
        games.kl_divergence([0.5, 0.5], [1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ValueError, match=r"^q must be fully mixed"):
        games.kl_divergence([0.5, 0.5], [1.0, 0.0])


@pytest.mark.parametrize("momentum", [True, -1.0, -1.5, 1.0])
def test_momentum_outside_open_interval_rejected(momentum):
    """beta must be a number in (-1, 1): both ends and a bool are rejected."""
    with pytest.raises(ValueError, match=r"^momentum must be a number in \(-1, 1\)"):
        games.bilinear_update_matrix("nm", 0.1, momentum)


def test_update_matrices_and_radii_by_hand_with_default_momentum():
    """eta = 1/2: gda [[1, -1/2], [1/2, 1]], alt-gda [[1, -1/2], [1/2, 3/4]], radii sqrt(5/4)
    and exactly 1 (alternating GDA conserves an energy for eta <= 2)."""
    np.testing.assert_array_equal(games.bilinear_update_matrix("gda", 0.5),
                                  [[1.0, -0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(games.bilinear_update_matrix("alt-gda", 0.5),
                                  [[1.0, -0.5], [0.5, 0.75]])
    assert games.bilinear_spectral_radius("gda", 0.5) == pytest.approx(np.sqrt(1.25))
    assert games.bilinear_spectral_radius("alt-gda", 0.5) == 1.0


@pytest.mark.parametrize("fn", [games.bilinear_update_matrix, games.bilinear_spectral_radius])
def test_update_matrix_and_radius_name_bad_lr(fn):
    """lr is checked under its own name."""
    with pytest.raises(ValueError, match=r"^lr must be a positive finite number"):
        fn("gda", 0.0)


@pytest.mark.parametrize("method", games.METHODS)
def test_trajectory_on_scaled_game_equals_rescaled_step(method):
    """On f = a x y (A = [[a]]) a step eta acts as step a eta on x y: the trajectory with
    A = [[2]], lr = 0.1 follows bilinear_update_matrix(method, 0.2); scalar starts accepted."""
    beta = 0.3 if method == "nm" else 0.0
    xs, ys = games.bilinear_trajectory(method, 0.1, 0.7, -0.4, 6, A=[[2.0]], momentum=beta)
    M = games.bilinear_update_matrix(method, 0.2, beta)
    state = np.array([0.7, -0.4] if len(M) == 2 else [0.7, -0.4, 0.7, -0.4])
    for t in range(6):
        state = M @ state
        np.testing.assert_allclose([xs[t + 1, 0], ys[t + 1, 0]], state[:2], rtol=1e-12)


def test_trajectory_on_non_square_game_and_argument_checks():
    """Simultaneous GDA on a 2 x 3 game, one step by hand: x1 = x0 - eta A y0,
    y1 = y0 + eta A^T x0; wrong shapes, lr and steps rejected with their names."""
    A = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    x0, y0 = np.array([1.0, -1.0]), np.array([0.5, 0.0, 1.0])
    xs, ys = games.bilinear_trajectory("gda", 0.1, x0, y0, 1, A=A)
    # A y0 = (2.5, -1), A^T x0 = (1, -1, 3)
    np.testing.assert_allclose(xs[1], [1.0 - 0.25, -1.0 + 0.1], rtol=1e-15)
    np.testing.assert_allclose(ys[1], [0.6, -0.1, 1.3], rtol=1e-15)
    message = r"^x0 and y0 must have shapes \(2,\) and \(3,\) for A of shape \(2, 3\), got " \
              r"\(3,\) and \(2,\)\.$"
    with pytest.raises(ValueError, match=message):
        games.bilinear_trajectory("gda", 0.1, y0, x0, 1, A=A)
    with pytest.raises(ValueError, match=r"^lr must be a positive finite number"):
        games.bilinear_trajectory("gda", 0.0, 1.0, 1.0, 1)
    with pytest.raises(ValueError, match=r"^steps must be a positive integer"):
        games.bilinear_trajectory("gda", 0.1, 1.0, 1.0, 0)
