"""Tests of dlscience.signalprop against Monte Carlo, closed forms and independent computations."""

import math

import numpy as np
import pytest
import torch
from dlscience import kernels, signalprop


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
