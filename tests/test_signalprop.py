"""Tests of dlscience.signalprop against Monte Carlo, closed forms and independent computations."""

import math

import numpy as np
import pytest
import torch
from dlscience import kernels, signalprop
from torch import nn


def _monte_carlo_step(activation, weight_var, bias_var, q, c, width=1000, draws=40, seed=0):
    """q and c after one wide random layer, inputs Gaussian with variance q and correlation c."""
    rng = np.random.default_rng(seed)
    phi = np.tanh if activation == "tanh" else (lambda u: np.maximum(u, 0.0))
    qs, cs = [], []
    for _ in range(draws):
        z = rng.standard_normal((width, 2))
        h = math.sqrt(q) * np.stack([z[:, 0], c * z[:, 0] + math.sqrt(1 - c * c) * z[:, 1]], 1)
        w = rng.standard_normal((width, width)) * math.sqrt(weight_var / width)
        b = rng.standard_normal((width, 1)) * math.sqrt(bias_var)
        out = w @ phi(h) + b
        qs.append(np.mean(out ** 2))
        cs.append(np.mean(out[:, 0] * out[:, 1]))
    q_next = float(np.mean(qs))
    return q_next, float(np.mean(cs)) / q_next


@pytest.mark.parametrize("activation, weight_var, bias_var, q, c", [
    ("tanh", 1.5, 0.05, 0.8, 0.4),
    ("tanh", 3.0, 0.1, 1.5, 0.9),
    ("relu", 2.0, 0.0, 1.0, 0.3),
    ("relu", 1.5, 0.2, 0.7, -0.5),
])
def test_maps_match_monte_carlo_of_a_wide_layer(activation, weight_var, bias_var, q, c):
    q_mc, c_mc = _monte_carlo_step(activation, weight_var, bias_var, q, c)
    q_next, c_next = signalprop.correlation_step(activation, weight_var, bias_var, q, c)
    assert q_next == pytest.approx(q_mc, rel=0.015)
    assert c_next == pytest.approx(c_mc, abs=0.015)


def test_relu_map_is_half_the_arccos_kernel():
    x = np.array([[1.0, 0.0]])
    for c in (-0.9, -0.2, 0.0, 0.5, 0.99):
        y = np.array([[c, math.sqrt(1 - c * c)]])
        k1 = kernels.arccos_kernel(x, y, order=1)[0, 0]
        q = 1.7
        q_next, c_next = signalprop.correlation_step("relu", 1.2, 0.3, q, c)
        assert q_next == pytest.approx(1.2 * q / 2 + 0.3, rel=1e-14)
        assert c_next * q_next == pytest.approx(1.2 * q * k1 / 2 + 0.3, rel=1e-12)


def test_tanh_quadrature_agrees_with_scipy_dblquad():
    from scipy import integrate

    q, c = 0.9, 0.6
    s = math.sqrt(q)

    def integrand(z2, z1):
        dens = math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
        return math.tanh(s * z1) * math.tanh(s * (c * z1 + math.sqrt(1 - c * c) * z2)) * dens

    ref, _ = integrate.dblquad(integrand, -10, 10, -10, 10, epsabs=1e-11)
    q_next, c_next = signalprop.correlation_step("tanh", 1.0, 0.0, q, c)
    assert c_next * q_next == pytest.approx(ref, abs=1e-9)


def test_relu_slopes_in_closed_form():
    for sw2 in (0.5, 1.0, 1.9):
        assert signalprop.chi_1("relu", sw2, 0.1) == pytest.approx(sw2 / 2, rel=1e-12)
        assert signalprop.chi_q("relu", sw2, 0.1) == pytest.approx(sw2 / 2, rel=1e-12)
        assert signalprop.chi_c("relu", sw2, 0.1) == pytest.approx(sw2 / 2, rel=1e-9)
    assert signalprop.chi_1("relu", 2.0, 0.0) == pytest.approx(1.0, rel=1e-12)


def test_tanh_critical_point_at_sigma_b2_005():
    crit = signalprop.critical_weight_var("tanh", 0.05)
    assert crit == pytest.approx(1.76, abs=0.005)          # Schoenholz et al. (2017)
    assert signalprop.chi_1("tanh", crit, 0.05) == pytest.approx(1.0, abs=1e-9)
    assert signalprop.chi_1("tanh", crit - 0.05, 0.05) < 1
    assert signalprop.chi_1("tanh", crit + 0.05, 0.05) > 1
    assert signalprop.critical_weight_var("relu", 0.0) == 2.0


def test_fixed_points_and_depth_scales():
    q_star, c_star = signalprop.correlation_fixed_point("tanh", 1.3, 0.05)
    assert c_star == 1.0
    q_next, _ = signalprop.correlation_step("tanh", 1.3, 0.05, q_star, 0.5)
    assert q_next == pytest.approx(q_star, rel=1e-9)
    q_star, c_star = signalprop.correlation_fixed_point("tanh", 3.0, 0.05)
    assert 0 < c_star < 1
    _, c_next = signalprop.correlation_step("tanh", 3.0, 0.05, q_star, c_star)
    assert c_next == pytest.approx(c_star, abs=1e-10)
    # chi_c is the slope of the c-map at c*, by a finite difference
    h = 1e-5
    up = signalprop.correlation_step("tanh", 3.0, 0.05, q_star, c_star + h)[1]
    down = signalprop.correlation_step("tanh", 3.0, 0.05, q_star, c_star - h)[1]
    assert signalprop.chi_c("tanh", 3.0, 0.05) == pytest.approx((up - down) / (2 * h), rel=1e-5)
    # chi_q is the slope of the q-map at q*, by a finite difference
    q_star = signalprop.correlation_fixed_point("tanh", 1.3, 0.05)[0]
    qu = signalprop.correlation_step("tanh", 1.3, 0.05, q_star + h, 1.0)[0]
    qd = signalprop.correlation_step("tanh", 1.3, 0.05, q_star - h, 1.0)[0]
    assert signalprop.chi_q("tanh", 1.3, 0.05) == pytest.approx((qu - qd) / (2 * h), rel=1e-5)
    xi_q, xi_c = signalprop.depth_scales("tanh", 1.3, 0.05)
    assert xi_c == pytest.approx(-1 / math.log(signalprop.chi_1("tanh", 1.3, 0.05)), rel=1e-12)
    assert 0 < xi_q < xi_c


def test_tanh_without_biases_freezes_the_correlation():
    # q* = 0: the network linearizes as q_l -> 0 and c_l stops moving, far from 1
    q, c = signalprop.signal_recursion("tanh", 0.7, 0.0, 1.0, 0.5, 60)
    assert q[-1] < 1e-8
    assert abs(c[-1] - c[30]) < 1e-6 and c[-1] < 0.6


def test_signal_recursion_iterates_the_step():
    q, c = signalprop.signal_recursion("tanh", 2.0, 0.05, 1.0, 0.2, 5)
    assert q.shape == c.shape == (5,)
    q2, c2 = signalprop.correlation_step("tanh", 2.0, 0.05, q[2], c[2])
    assert (q[3], c[3]) == pytest.approx((q2, c2), rel=1e-14)


def test_batched_model_equals_a_loop_of_single_models():
    gen = torch.Generator().manual_seed(0)
    net = signalprop.BatchedMLP(5, 7, 3, 4, [0.5, 1.5, 3.0], 0.1, "tanh", generator=gen)
    x = torch.randn(6, 5, generator=gen)
    out = net(x)
    assert out.shape == (3, 6, 4)
    for m in range(3):
        assert torch.allclose(out[m], net.single(m)(x), atol=1e-6)
    hs = net.preactivations(x)
    assert len(hs) == 3 and hs[-1].shape == (3, 6, 7)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_streamed_preactivations_equal_the_batched_model(activation):
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(4))
    net = signalprop.BatchedMLP(5, 7, 4, 0, [0.5, 2.0], 0.1, activation,
                                generator=torch.Generator().manual_seed(5))
    ref = torch.stack(net.preactivations(x), dim=1)
    out = signalprop.random_preactivations(x, 7, 4, [0.5, 2.0], 0.1, activation,
                                           generator=torch.Generator().manual_seed(5))
    assert out.shape == (2, 4, 3, 7)
    assert torch.allclose(out, ref.detach(), atol=1e-6)


def test_batched_model_gradients_are_independent():
    gen = torch.Generator().manual_seed(1)
    net = signalprop.BatchedMLP(4, 6, 2, 3, [1.0, 2.0], 0.05, "relu", generator=gen)
    x = torch.randn(5, 4, generator=gen)
    net(x)[0].sum().backward()
    assert torch.all(net.weights[0].grad[1] == 0)
    assert torch.any(net.weights[0].grad[0] != 0)


def test_batched_init_variance():
    gen = torch.Generator().manual_seed(2)
    net = signalprop.BatchedMLP(400, 400, 2, 0, [0.5, 2.0], 0.3, generator=gen)
    w = net.weights[1]
    assert (w[0].var() * 400).item() == pytest.approx(0.5, rel=0.02)
    assert (w[1].var() * 400).item() == pytest.approx(2.0, rel=0.02)
    assert net.biases[1].var().item() == pytest.approx(0.3, rel=0.15)


@pytest.mark.parametrize("call, match", [
    (lambda: signalprop.correlation_step("sigmoid", 1.0, 0.0, 1.0, 0.5), "activation"),
    (lambda: signalprop.correlation_step("tanh", -1.0, 0.0, 1.0, 0.5), "weight_var"),
    (lambda: signalprop.correlation_step("tanh", 1.0, -0.1, 1.0, 0.5), "bias_var"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, 0.0, 0.5), "q must"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, 1.0, 1.5), "c must"),
    (lambda: signalprop.signal_recursion("tanh", 1.0, 0.0, 1.0, 0.5, 0), "depth"),
    (lambda: signalprop.correlation_fixed_point("relu", 2.5, 0.1), "weight_var < 2"),
    (lambda: signalprop.critical_weight_var("tanh", 0.05, bracket=(2.0, 1.0)), "bracket"),
    (lambda: signalprop.correlation_fixed_point("tanh", 0.7, 0.0), "q\\* = 0"),
    (lambda: signalprop.depth_scales("tanh", 0.5, 0.0), "q\\* = 0"),
    (lambda: signalprop.BatchedMLP(0, 4, 2, 1, [1.0], 0.0), "in_dim"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 0, 2, [1.0], 0.0), "width"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [-1.0], 0.0), "weight_vars"),
    (lambda: signalprop.random_preactivations(torch.zeros(3), 4, 2, [1.0], 0.0), "x must"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [], 0.0), "weight_vars"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, -1.0], 0.0), "weight_vars"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, -1, [1.0], 0.0), "out_dim"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0], 0.0).single(1), "m must"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 0, [1.0], 0.0)(torch.zeros(2, 3)), "read-out"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0], 0.0)(torch.zeros(2, 2, 3)), "shape"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- argument checks with their exact messages, boundaries, and closed-form values -----------

@pytest.mark.parametrize("call, message", [
    (lambda: signalprop.correlation_step("sigmoid", 1.0, 0.0, 1.0, 0.5),
     r"^activation must be one of \('tanh', 'relu'\), got 'sigmoid'\.$"),
    (lambda: signalprop.correlation_step("tanh", 0.0, 0.0, 1.0, 0.5),
     r"^weight_var must be a positive finite number, got 0\.0\.$"),
    (lambda: signalprop.correlation_step("tanh", math.inf, 0.0, 1.0, 0.5),
     r"^weight_var must be a positive finite number, got inf\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, -0.1, 1.0, 0.5),
     r"^bias_var must be a non-negative finite number, got -0\.1\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, math.nan, 1.0, 0.5),
     r"^bias_var must be a non-negative finite number, got nan\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, 0.0, 0.5),
     r"^q must be a positive finite variance, got 0\.0\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, math.inf, 0.5),
     r"^q must be a positive finite variance, got inf\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, 1.0, 1.01),
     r"^c must be a correlation in \[-1, 1\], got 1\.01\.$"),
    (lambda: signalprop.correlation_step("tanh", 1.0, 0.0, 1.0, -1.01),
     r"^c must be a correlation in \[-1, 1\], got -1\.01\.$"),
    (lambda: signalprop.signal_recursion("tanh", 1.0, 0.0, 1.0, 0.5, 0),
     r"^depth must be a positive integer, got 0\.$"),
    (lambda: signalprop.signal_recursion("tanh", 1.0, 0.0, 1.0, 1.5, 1),
     r"^c must be a correlation in \[-1, 1\], got 1\.5\.$"),
    (lambda: signalprop.signal_recursion("relu", 1.0, 0.0, -1.0, 0.5, 1),
     r"^q must be a positive finite variance, got -1\.0\.$"),
    (lambda: signalprop.correlation_fixed_point("relu", 2.0, 0.1),
     r"^for the ReLU with bias_var > 0 the variance map has a fixed point only for "
     r"weight_var < 2, got weight_var=2\.0\.$"),
    (lambda: signalprop.correlation_fixed_point("relu", 2.5, 0.0),
     r"^for the ReLU with weight_var > 2 the variance grows without bound, got "
     r"weight_var=2\.5\.$"),
    (lambda: signalprop.chi_q("relu", 2.5, 0.0), r"^for the ReLU with weight_var > 2"),
    (lambda: signalprop.chi_1("relu", 2.5, 0.0), r"^for the ReLU with weight_var > 2"),
    (lambda: signalprop.chi_q("tanh", -1.0, 0.1), r"^weight_var must be a positive finite"),
    (lambda: signalprop.chi_1("tanh", 1.0, -0.1), r"^bias_var must be a non-negative finite"),
    (lambda: signalprop.chi_q("sigmoid", 1.0, 0.1), r"^activation must be one of"),
    (lambda: signalprop.chi_1("sigmoid", 1.0, 0.1), r"^activation must be one of"),
    (lambda: signalprop.correlation_fixed_point("tanh", 1.0, 0.0),
     r"^the variance map has the fixed point q\* = 0 \(tanh with bias_var = 0 and "
     r"weight_var <= 1, got weight_var=1\.0\): the correlation map is 0/0 there and c_l "
     r"freezes instead of converging, so c\* and chi_c are undefined\.$"),
    (lambda: signalprop.correlation_fixed_point("sigmoid", 1.5, 0.1), r"^activation must be"),
    (lambda: signalprop.correlation_fixed_point("tanh", 1.5, -1.0), r"^bias_var must be"),
    (lambda: signalprop.critical_weight_var("tanh", 0.05, bracket=(0.0, 4.0)),
     r"^bracket must be \(lo, hi\) with 0 < lo < hi, got \(0\.0, 4\.0\)\.$"),
    (lambda: signalprop.critical_weight_var("tanh", 0.05, bracket=(2.0, 2.0)),
     r"^bracket must be \(lo, hi\) with 0 < lo < hi, got \(2\.0, 2\.0\)\.$"),
    (lambda: signalprop.critical_weight_var("relu", -0.1),
     r"^bias_var must be a non-negative finite number, got -0\.1\.$"),
    (lambda: signalprop.critical_weight_var("sigmoid", 0.1), r"^activation must be one of"),
])
def test_invalid_arguments_exact_messages(call, message):
    """Each bad argument is rejected with a message naming it and what was expected."""
    with pytest.raises(ValueError, match=message):
        call()


def test_correlation_step_accepts_the_boundaries():
    """c = +-1 and bias_var = 0 are allowed: with c = 1 both inputs coincide, so c' = 1 exactly;
    for the ReLU with c = -1, E relu(u) relu(-u) = 0, so q12' = bias_var."""
    q_next, c_next = signalprop.correlation_step("relu", 1.5, 0.0, 0.8, 1.0)
    assert (q_next, c_next) == (pytest.approx(0.6, rel=1e-14), 1.0)
    q_next, c_next = signalprop.correlation_step("relu", 1.5, 0.2, 0.8, -1.0)
    assert q_next == pytest.approx(0.8, rel=1e-14) and c_next == pytest.approx(0.25, abs=1e-14)
    assert signalprop.correlation_step("tanh", 2.0, 0.1, 0.7, 1.0)[1] == 1.0


def test_tanh_variance_map_against_scipy_quad():
    """q' = weight_var * E tanh(u)^2 + bias_var with u ~ N(0, q), by scipy.integrate.quad; and
    c = 0 gives q12' = bias_var (tanh is odd): c' = bias_var / q'."""
    from scipy import integrate, stats

    q = 1.3
    ref, _ = integrate.quad(lambda u: math.tanh(u) ** 2 * stats.norm.pdf(u, scale=math.sqrt(q)),
                            -30, 30, epsabs=1e-13)
    q_next, c_next = signalprop.correlation_step("tanh", 2.5, 0.1, q, 0.0)
    assert q_next == pytest.approx(2.5 * ref + 0.1, rel=1e-10)
    assert c_next == pytest.approx(0.1 / q_next, abs=1e-12)


def test_signal_recursion_depth_one_and_stored_values():
    """depth = 1 returns the inputs; each later entry is one correlation_step of the previous
    (ReLU in closed form: q' = weight_var q / 2 + bias_var)."""
    q, c = signalprop.signal_recursion("relu", 1.5, 0.2, 0.8, 0.3, 1)
    assert q.tolist() == [0.8] and c.tolist() == [0.3]
    q, c = signalprop.signal_recursion("relu", 1.5, 0.2, 0.4, 0.3, 3)
    np.testing.assert_allclose(q, [0.4, 0.5, 0.575], rtol=1e-14)
    c2 = signalprop.correlation_step("relu", 1.5, 0.2, 0.4, 0.3)[1]
    c3 = signalprop.correlation_step("relu", 1.5, 0.2, 0.5, c2)[1]
    np.testing.assert_allclose(c, [0.3, c2, c3], rtol=1e-14)
    assert q.dtype == c.dtype == np.float64


def test_relu_fixed_points_in_closed_form():
    """ReLU: q* = bias_var / (1 - weight_var / 2) = 0.2 / 0.25 = 0.8 for (1.5, 0.2); ordered, so
    c* = 1; at weight_var = 2 without biases q* is reported as 1 and chi = 1, so both depth
    scales are infinite; elsewhere xi = -1 / log(weight_var / 2)."""
    assert signalprop.correlation_fixed_point("relu", 1.5, 0.2) == (pytest.approx(0.8), 1.0)
    assert signalprop.correlation_fixed_point("relu", 2.0, 0.0) == (1.0, 1.0)
    assert signalprop.correlation_fixed_point("relu", 1.0, 0.0) == (1.0, 1.0)
    assert signalprop.depth_scales("relu", 2.0, 0.0) == (math.inf, math.inf)
    xi = -1 / math.log(0.75)
    assert signalprop.depth_scales("relu", 1.5, 0.2) == (pytest.approx(xi), pytest.approx(xi))
    assert signalprop.chi_c("relu", 2.0, 0.0) == pytest.approx(1.0, rel=1e-14)


def test_tanh_without_biases_in_the_chaotic_phase():
    """tanh, bias_var = 0, weight_var = 1.5 > 1: q* > 0 solves q = 1.5 E tanh(u)^2 (checked with
    scipy.integrate.quad), the odd map fixes c = 0, so c* = 0 and chi_c = 1.5 (E tanh'(u))^2."""
    from scipy import integrate, stats

    def gauss(f, q):
        return integrate.quad(lambda u: f(u) * stats.norm.pdf(u, scale=math.sqrt(q)), -30, 30,
                              epsabs=1e-13)[0]

    q_star, c_star = signalprop.correlation_fixed_point("tanh", 1.5, 0.0)
    assert c_star == 0.0 and q_star > 0.1
    assert q_star == pytest.approx(1.5 * gauss(lambda u: math.tanh(u) ** 2, q_star), rel=1e-8)
    d1 = gauss(lambda u: 1 - math.tanh(u) ** 2, q_star)
    assert signalprop.chi_c("tanh", 1.5, 0.0) == pytest.approx(1.5 * d1 ** 2, rel=1e-8)
    chi1 = 1.5 * gauss(lambda u: (1 - math.tanh(u) ** 2) ** 2, q_star)
    assert signalprop.chi_1("tanh", 1.5, 0.0) == pytest.approx(chi1, rel=1e-8)
    chiq = 1.5 * gauss(lambda u: (1 - math.tanh(u) ** 2) ** 2
                       - 2 * math.tanh(u) ** 2 * (1 - math.tanh(u) ** 2), q_star)
    assert signalprop.chi_q("tanh", 1.5, 0.0) == pytest.approx(chiq, rel=1e-8)
    xi_q, xi_c = signalprop.depth_scales("tanh", 1.5, 0.0)
    assert xi_q == pytest.approx(-1 / math.log(chiq), rel=1e-7)
    assert xi_c == pytest.approx(-1 / math.log(1.5 * d1 ** 2), rel=1e-7)


def test_tanh_ordered_phase_chi_c_equals_chi_1():
    """In the ordered phase c* = 1 and chi_c = chi_1 (the slope at c = 1)."""
    assert signalprop.chi_c("tanh", 1.2, 0.1) == pytest.approx(signalprop.chi_1("tanh", 1.2, 0.1),
                                                               rel=1e-10)


def test_critical_weight_var_default_bracket_and_bias():
    """Default bracket (1, 4); the ReLU line is 2 for any bias; tanh without biases is critical at
    weight_var = 1 (chi_1 = weight_var E tanh'(0)^2 = 1 at q* = 0)."""
    assert signalprop.critical_weight_var("relu", 0.3) == 2.0
    crit = signalprop.critical_weight_var("tanh", 0.3)
    assert signalprop.chi_1("tanh", crit, 0.3) == pytest.approx(1.0, abs=1e-9)
    assert 1.0 < crit < 4.0
    crit2 = signalprop.critical_weight_var("tanh", 0.3, bracket=(1.5, 3.5))
    assert crit2 == pytest.approx(crit, abs=1e-9)


def _reference_init(generator, in_dim, width, depth, out_dim, weight_vars, bias_var):
    """The documented initialization, drawn in the documented order: per layer W then b, then
    the read-out V ~ N(0, 1 / width)."""
    sw2 = torch.tensor(weight_vars, dtype=torch.float32)
    m = len(weight_vars)
    ws, bs = [], []
    for layer in range(depth):
        fan_in = in_dim if layer == 0 else width
        ws.append(torch.randn(m, fan_in, width, generator=generator)
                  * torch.sqrt(sw2 / fan_in)[:, None, None])
        bs.append(torch.randn(m, 1, width, generator=generator) * math.sqrt(bias_var))
    readout = (torch.randn(m, width, out_dim, generator=generator) / math.sqrt(width)
               if out_dim else None)
    return ws, bs, readout


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_batched_init_and_forward_by_hand(activation):
    """The parameters are the documented draws; forward and preactivations equal the layer
    recursion h_1 = x W_1 + b_1, h_(l+1) = phi(h_l) W + b, out = phi(h_L) V + 0."""
    ws, bs, readout = _reference_init(torch.Generator().manual_seed(3), 3, 5, 3, 2, [0.5, 2.0],
                                      0.2)
    net = signalprop.BatchedMLP(3, 5, 3, 2, (0.5, 2.0), 0.2, activation,
                                generator=torch.Generator().manual_seed(3))
    assert net.n_models == 2 and net.activation == activation
    for a, b in zip(list(net.weights) + list(net.biases), ws + bs, strict=True):
        torch.testing.assert_close(a.detach(), b)
    torch.testing.assert_close(net.readout.detach(), readout)
    assert torch.equal(net.readout_bias.detach(), torch.zeros(2, 1, 2))
    phi = torch.tanh if activation == "tanh" else torch.relu
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(9))
    hs = [x @ ws[0] + bs[0]]
    for w, b in zip(ws[1:], bs[1:]):
        hs.append(phi(hs[-1]) @ w + b)
    with torch.no_grad():
        for h, ref in zip(net.preactivations(x), hs, strict=True):
            torch.testing.assert_close(h, ref)
        torch.testing.assert_close(net(x), phi(hs[-1]) @ readout)
        # (M, B, d) inputs: a different batch per network
        x3 = torch.stack([x, -x])
        torch.testing.assert_close(net(x3)[1], net(-x)[1])
        single = net.single(1)
        torch.testing.assert_close(single(x), net(x)[1])
        assert isinstance(single[1], nn.Tanh if activation == "tanh" else nn.ReLU)
        assert len(single) == 7


def test_batched_without_readout_and_default_activation():
    """out_dim = 0: no read-out, single() stops at the last hidden layer; the default activation
    is tanh; defaults draw from the global generator (same seed, same draws)."""
    torch.manual_seed(5)
    net = signalprop.BatchedMLP(2, 3, 2, 0, [1.0], 0.1)
    torch.manual_seed(5)
    ws, bs, _ = _reference_init(None, 2, 3, 2, 0, [1.0], 0.1)
    assert net.activation == "tanh" and net.readout is None and net.readout_bias is None
    torch.testing.assert_close(net.weights[1].detach(), ws[1])
    torch.testing.assert_close(net.biases[0].detach(), bs[0])
    x = torch.tensor([[0.5, -1.0]])
    with torch.no_grad():
        single = net.single(0)
        assert len(single) == 3 and isinstance(single[1], nn.Tanh)
        torch.testing.assert_close(single(x), net.preactivations(x)[-1][0])


@pytest.mark.parametrize("call, message", [
    (lambda: signalprop.BatchedMLP(0, 4, 2, 1, [1.0], 0.0),
     r"^in_dim must be a positive integer, got 0\.$"),
    (lambda: signalprop.BatchedMLP(3, 0, 2, 1, [1.0], 0.0),
     r"^width must be a positive integer, got 0\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 0, 1, [1.0], 0.0),
     r"^depth must be a positive integer, got 0\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, -1, [1.0], 0.0),
     r"^out_dim must be a non-negative integer, got -1\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1.0, [1.0], 0.0),
     r"^out_dim must be a non-negative integer, got 1\.0\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, True, [1.0], 0.0),
     r"^out_dim must be a non-negative integer, got True\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0], 0.0, "sigmoid"),
     r"^activation must be one of"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 0.0], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers, got \[1\.0, 0\.0\]\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [[1.0]], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers, got \[\[1\.0\]\]\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers, got \[\]\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0], -0.5),
     r"^bias_var must be a non-negative finite number, got -0\.5\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0)(torch.zeros(3, 2, 3)),
     r"^x must have shape \(B, d\) or \(M, B, d\) with M = 2, got \(3, 2, 3\)\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0).preactivations(torch.zeros(3)),
     r"^x must have shape \(B, d\) or \(M, B, d\) with M = 2, got \(3,\)\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 0, [1.0], 0.0)(torch.zeros(2, 3)),
     r"^this BatchedMLP has no read-out \(out_dim=0\): use preactivations\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0).single(2),
     r"^m must be an integer in \[0, 2\), got 2\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0).single(-1),
     r"^m must be an integer in \[0, 2\), got -1\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0).single(True),
     r"^m must be an integer in \[0, 2\), got True\.$"),
    (lambda: signalprop.BatchedMLP(3, 4, 2, 1, [1.0, 2.0], 0.0).single(1.0),
     r"^m must be an integer in \[0, 2\), got 1\.0\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 0, 2, [1.0], 0.0),
     r"^width must be a positive integer, got 0\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 0, [1.0], 0.0),
     r"^depth must be a positive integer, got 0\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [1.0], 0.0, "sigmoid"),
     r"^activation must be one of"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [0.0], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers, got \[0\.0\]\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers, got \[\]\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [[1.0]], 0.0),
     r"^weight_vars must be a non-empty 1-D sequence of positive numbers"),
    (lambda: signalprop.random_preactivations(torch.zeros(2, 3), 4, 2, [1.0], -1.0),
     r"^bias_var must be a non-negative finite number, got -1\.0\.$"),
    (lambda: signalprop.random_preactivations(torch.zeros(1, 2, 3), 4, 2, [1.0], 0.0),
     r"^x must have shape \(B, d\), got \(1, 2, 3\)\.$"),
])
def test_batched_invalid_arguments_exact_messages(call, message):
    """Each bad argument of BatchedMLP / random_preactivations gets a message naming it."""
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_random_preactivations_by_hand(activation):
    """random_preactivations equals the layer recursion on the documented draws (W then b per
    layer, W ~ N(0, weight_var / fan_in), b ~ N(0, bias_var)); the default activation is tanh."""
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
    ws, bs, _ = _reference_init(torch.Generator().manual_seed(2), 2, 4, 3, 0, [0.5, 3.0], 0.4)
    phi = torch.tanh if activation == "tanh" else torch.relu
    hs = [x @ ws[0] + bs[0]]
    for w, b in zip(ws[1:], bs[1:]):
        hs.append(phi(hs[-1]) @ w + b)
    kwargs = {} if activation == "tanh" else {"activation": "relu"}
    out = signalprop.random_preactivations(x, 4, 3, (0.5, 3.0), 0.4,
                                           generator=torch.Generator().manual_seed(2), **kwargs)
    assert out.shape == (2, 3, 3, 4)
    torch.testing.assert_close(out, torch.stack(hs, dim=1))
