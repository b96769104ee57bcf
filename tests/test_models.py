"""Tests of dlscience.models: networks, traces, initializations and the mean-field formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from dlscience import models
from scipy import integrate


def test_activation_fn_and_errors():
    x = torch.linspace(-3, 3, 7)
    assert torch.equal(models.activation_fn("relu")(x), torch.relu(x))
    assert torch.equal(models.activation_fn("identity")(x), x)
    with pytest.raises(ValueError, match="activation"):
        models.activation_fn("gelu")


@pytest.mark.parametrize(("init", "expected"), [
    ("he", math.sqrt(2 / 100)),
    ("glorot", math.sqrt(2 / 150)),
    ("pytorch", 1 / math.sqrt(300)),
])
def test_init_std_formulas(init, expected):
    assert models.init_std(init, fan_in=100, fan_out=50) == pytest.approx(expected)


def test_init_std_pytorch_matches_torch_default():
    # PyTorch's default nn.Linear weights are uniform on +-1/sqrt(fan_in): std 1/sqrt(3 fan_in).
    torch.manual_seed(0)
    w = torch.nn.Linear(400, 400).weight
    assert float(w.detach().std()) == pytest.approx(models.init_std("pytorch", 400, 400), rel=0.01)


def test_init_std_errors():
    assert models.init_std("normal", 10, 10, weight_std=0.3) == 0.3
    with pytest.raises(ValueError, match="init"):
        models.init_std("xavier", 10, 10)
    with pytest.raises(ValueError, match="weight_std"):
        models.init_std("normal", 10, 10)


def test_mlp_shapes_trace_and_init():
    torch.manual_seed(0)
    net = models.MLP([5, 300, 300, 3], activation="tanh", init="he")
    x = torch.randn(4, 5)
    trace = net.forward_trace(x)
    assert [t.shape for t in trace] == [(4, 300), (4, 300), (4, 3)]
    assert torch.equal(net(x), trace[-1])
    pre = net.preactivations(x)
    assert torch.allclose(torch.tanh(pre[0]), trace[0]) and torch.equal(pre[-1], trace[-1])
    assert float(net.layers[1].weight.detach().std()) == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    assert torch.count_nonzero(net.layers[1].bias) == 0
    assert models.count_parameters(net) == 5 * 300 + 300 + 300 * 300 + 300 + 300 * 3 + 3


def test_mlp_errors():
    with pytest.raises(ValueError, match="widths"):
        models.MLP([5])
    with pytest.raises(ValueError, match="bias_std"):
        models.MLP([5, 3], bias_std=-1.0)


def test_residual_mlp_trace_and_branch_scale():
    torch.manual_seed(0)
    net = models.ResidualMLP(3, 64, depth=4, out_dim=2, branch_scale=0.0)
    x = torch.randn(5, 3)
    trace = net.forward_trace(x)
    assert len(trace) == 4 + 2 and trace[-1].shape == (5, 2)
    # With branch_scale = 0 every block is the identity.
    for z in trace[1:-1]:
        assert torch.equal(z, trace[0])
    with pytest.raises(ValueError, match="depth"):
        models.ResidualMLP(3, 4, 0, 2)
    with pytest.raises(ValueError, match="branch_scale"):
        models.ResidualMLP(3, 4, 2, 2, branch_scale=-1.0)


def test_scalar_chain_matches_product_formula():
    # dz_L/dz_0 = prod_i w_i sigma'(u_i) for a chain of sigmoid units.
    chain = models.ScalarChain.random(7, weight_std=1.0, bias_std=1.0,
                                      generator=torch.Generator().manual_seed(1))
    x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    trace = chain.forward_trace(x)
    (grad,) = torch.autograd.grad(trace[-1], x)
    z = [float(t.detach()) for t in trace]
    w = chain.weights.detach().numpy()
    expected = np.prod([w[i] * z[i + 1] * (1 - z[i + 1]) for i in range(7)])
    assert float(grad) == pytest.approx(expected, rel=1e-12)
    assert chain.depth == 7


def test_scalar_chain_batched_and_errors():
    chain = models.ScalarChain.random(5, 0.5, 0.5, chains=(3,), dtype=torch.float32,
                                      generator=torch.Generator().manual_seed(0))
    out = chain(torch.zeros(3, dtype=torch.float32))
    assert out.shape == (3,) and out.dtype == torch.float32
    for k in range(3):
        single = models.ScalarChain(chain.weights[:, k].detach(), chain.biases[:, k].detach())
        assert torch.allclose(single(torch.tensor(0.0)), out[k])
    with pytest.raises(ValueError, match="biases"):
        models.ScalarChain(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="depth"):
        models.ScalarChain.random(0, 1.0, 1.0)


def test_trace_gradients_and_norms():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = 3 * x
    loss = (y ** 2).sum()
    grads = models.trace_gradients([x, y], loss)
    assert torch.allclose(grads[1], 2 * y) and torch.allclose(grads[0], 18 * x)
    norms = models.trace_gradient_norms([x, y], loss)
    assert norms.shape == (2,)
    assert norms[0] == pytest.approx(18 * math.sqrt(5))
    with pytest.raises(ValueError, match="trace"):
        models.trace_gradients([], loss)


@pytest.mark.parametrize("q", [0.1, 1.0, 4.0])
def test_gaussian_expectation_against_quad(q):
    f = np.tanh
    reference, _ = integrate.quad(
        lambda u: f(u) ** 2 * math.exp(-u * u / (2 * q)) / math.sqrt(2 * math.pi * q),
        -np.inf, np.inf)
    assert models.gaussian_expectation(lambda u: f(u) ** 2, q) == pytest.approx(reference,
                                                                                  rel=1e-5)
    # Exact for the ReLU: E relu(u)^2 = q / 2.
    assert models.gaussian_expectation(lambda u: np.maximum(u, 0) ** 2, q) == pytest.approx(q / 2)
    with pytest.raises(ValueError, match="q"):
        models.gaussian_expectation(np.tanh, -1.0)


def test_variance_recursion_relu_and_monte_carlo():
    q = models.variance_recursion("relu", weight_var=3.0, q1=2.0, depth=5)
    assert np.allclose(q, 2.0 * 1.5 ** np.arange(5))
    assert np.allclose(models.variance_recursion("relu", 2.0, 1.0, 10), 1.0)
    # The sigmoid map against a Monte Carlo estimate of weight_var * E[sigmoid(u)^2].
    rng = np.random.default_rng(0)
    u = rng.normal(0.0, math.sqrt(0.7), size=400_000)
    mc = 1.3 * np.mean((1 / (1 + np.exp(-u))) ** 2)
    assert models.variance_recursion("sigmoid", 1.3, 0.7, 2)[1] == pytest.approx(mc, rel=2e-3)
    with pytest.raises(ValueError, match="activation"):
        models.variance_recursion("gelu", 1.0, 1.0, 3)
    with pytest.raises(ValueError, match="depth"):
        models.variance_recursion("relu", 1.0, 1.0, 0)


def test_gradient_gain():
    assert models.gradient_gain("relu", 2.0, 0.37) == pytest.approx(1.0)
    assert models.gradient_gain("identity", 0.5, 1.0) == pytest.approx(0.5)
    # The sigmoid's derivative is at most 1/4, so its gain is at most weight_var / 16.
    assert models.gradient_gain("sigmoid", 1.0, 1e-8) == pytest.approx(1 / 16, rel=1e-6)
    assert models.gradient_gain("sigmoid", 1.0, 2.0) < 1 / 16


def test_wide_relu_net_matches_variance_recursion():
    # A wide He-initialized ReLU net keeps E u^2 constant (averaged over a few nets and inputs).
    torch.manual_seed(0)
    qs = []
    for _ in range(4):
        net = models.MLP([200] * 6, activation="relu", init="he").double()
        with torch.no_grad():
            pre = net.preactivations(torch.randn(64, 200, dtype=torch.float64))
        qs.append([float((u ** 2).mean()) for u in pre])
    measured = np.mean(qs, axis=0)
    assert np.allclose(measured, models.variance_recursion("relu", 2.0, 2.0, 5), rtol=0.2)


def test_torch_default_init_matches_pytorch_law():
    # init="torch-default" draws weights and biases uniformly on +-1/sqrt(fan_in), which is
    # what nn.Linear.reset_parameters does; compare the support and the moments.
    torch.manual_seed(0)
    net = models.MLP([400, 300, 5], activation="relu", init="torch-default")
    ref = torch.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p, q, std, rel in (
            (net.layers[0].weight, ref.weight, models.init_std("torch-default", 400, 300), 0.01),
            (net.layers[0].bias, ref.bias, models.init_bias_std("torch-default", 400), 0.12)):
        for t in (p, q):   # ours and PyTorch's own: same support, same standard deviation
            assert float(t.detach().abs().max()) <= bound
            assert float(t.detach().std()) == pytest.approx(std, rel=rel)
    with pytest.raises(ValueError, match="bias_std"):
        models.MLP([4, 3], init="torch-default", bias_std=0.1)


def test_init_bias_std():
    assert models.init_bias_std("torch-default", 12) == pytest.approx(1 / 6)
    for init in ("he", "glorot", "pytorch", "normal"):
        assert models.init_bias_std(init, 12) == 0.0
    with pytest.raises(ValueError, match="init"):
        models.init_bias_std("xavier", 12)
    with pytest.raises(ValueError, match="fan_in"):
        models.init_bias_std("he", 0)


def test_pytorch_init_keeps_gaussian_zero_bias_behavior():
    # "pytorch" keeps its old meaning (Gaussian weights, zero biases) for existing callers.
    torch.manual_seed(0)
    net = models.MLP([400, 400, 2], init="pytorch")
    assert torch.count_nonzero(net.layers[0].bias) == 0
    assert float(net.layers[0].weight.detach().abs().max()) > 1 / math.sqrt(400)


def test_residual_mlp_torch_default_biases():
    torch.manual_seed(0)
    net = models.ResidualMLP(8, 64, 3, 2, init="torch-default", branch_scale=0.5)
    assert torch.count_nonzero(net.inner[0].bias) == 64
    assert float(net.inner[0].bias.detach().abs().max()) <= 1 / 8
    assert torch.count_nonzero(net.outer[0].bias) == 0


def test_variance_recursion_with_bias_and_fixed_point():
    # ReLU: q_(l+1) = (v/2) q_l + sb2, solved by hand.
    q = models.variance_recursion("relu", 1.0, q1=3.0, depth=4, bias_var=0.5)
    assert np.allclose(q, [3.0, 2.0, 1.5, 1.25])
    assert models.variance_fixed_point("relu", 1.0, 0.5) == pytest.approx(1.0, rel=1e-10)
    # tanh with biases: the fixed point solves q = v E tanh(sqrt(q) xi)^2 + sb2 (scipy).
    from scipy import optimize

    def g(qq):
        val, _ = integrate.quad(lambda u: np.tanh(u) ** 2 * math.exp(-u * u / (2 * qq))
                                / math.sqrt(2 * math.pi * qq), -np.inf, np.inf)
        return 1.5 * val + 0.1 - qq

    reference = optimize.brentq(g, 0.05, 5.0)
    assert models.variance_fixed_point("tanh", 1.5, 0.1) == pytest.approx(reference, rel=1e-6)
    with pytest.raises(RuntimeError, match="converge"):
        models.variance_fixed_point("relu", 3.0, 0.1)
    with pytest.raises(ValueError, match="bias_var"):
        models.variance_recursion("relu", 1.0, 1.0, 3, bias_var=-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        models.variance_fixed_point("relu", 1.0, -0.1)


def test_wide_relu_net_with_biases_reaches_fixed_point():
    # PyTorch's default law: v = 1/3, sb2 = 1/(3n); q_l tends to q* = 2/(5n).
    torch.manual_seed(1)
    n = 300
    qs = []
    for _ in range(3):
        net = models.MLP([n] * 13, activation="relu", init="torch-default").double()
        with torch.no_grad():
            pre = net.preactivations(torch.randn(16, n, dtype=torch.float64))
        qs.append(float((pre[-1] ** 2).mean()))
    assert np.mean(qs) == pytest.approx(2 / (5 * n), rel=0.1)


def test_residual_recursion_by_hand_and_against_a_network():
    # identity activation: q_l = v p_(l-1), p_l = p_(l-1) (1 + beta^2 v), chi = v.
    p, chi = models.residual_recursion("identity", 2.0, 0.5, q0=1.0, depth=3)
    assert np.allclose(p, 1.5 ** np.arange(4)) and np.allclose(chi, 2.0)
    # relu: chi = v/2 whatever q; stream variance against a wide network.
    p, chi = models.residual_recursion("relu", 2.0, 1.0, q0=2.0, depth=5)
    assert np.allclose(chi, 1.0) and np.allclose(p, 2.0 * 2.0 ** np.arange(6))
    torch.manual_seed(0)
    net = models.ResidualMLP(400, 400, 5, 2, activation="relu", init="he",
                             branch_scale=1.0).double()
    with torch.no_grad():
        trace = net.forward_trace(torch.randn(64, 400, dtype=torch.float64))
    measured = float((trace[-2] ** 2).mean())
    assert measured == pytest.approx(p[-1], rel=0.25)
    with pytest.raises(ValueError, match="branch_scale"):
        models.residual_recursion("relu", 1.0, -1.0, 1.0, 3)
