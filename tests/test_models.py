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


# ---------------------------------------------------------------------------------------------
# Argument checks: exact boundaries and messages naming the argument.

_ACTS = r"\['identity', 'relu', 'sigmoid', 'tanh'\]"
_INIT_NAMES = r"\('he', 'glorot', 'pytorch', 'torch-default', 'normal'\)"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: models.activation_fn("gelu"), rf"activation must be one of {_ACTS}, got 'gelu'\."),
    (lambda: models.init_std("xavier", 3, 3), rf"init must be one of {_INIT_NAMES}, got 'xavier'"),
    (lambda: models.init_std("normal", 3, 3), r"init='normal' needs weight_std >= 0, got None\."),
    (lambda: models.init_std("normal", 3, 3, -0.1),
     r"init='normal' needs weight_std >= 0, got -0\.1\."),
    (lambda: models.init_bias_std("xavier", 3), rf"init must be one of {_INIT_NAMES}"),
    (lambda: models.init_bias_std("he", 0), r"fan_in must be a positive integer, got 0\."),
    (lambda: models.init_bias_std("he", 2.0), r"fan_in must be a positive integer, got 2\.0\."),
    (lambda: models.MLP([5]), r"widths must list at least two positive integers, got \[5\]\."),
    (lambda: models.MLP([5, 0]), r"widths must list at least two positive integers"),
    (lambda: models.MLP([5, 2.0]), r"widths must list at least two positive integers"),
    (lambda: models.MLP([5, 2], bias_std=-0.5), r"bias_std must be non-negative, got -0\.5\."),
    (lambda: models.MLP([5, 2], init="torch-default", bias_std=0.5),
     r"bias_std must be 0 with init='torch-default', whose biases follow PyTorch's default "
     r"law; got bias_std=0\.5\.$"),
    (lambda: models.MLP([5, 2], activation="gelu"), r"activation must be one of"),
    (lambda: models.ResidualMLP(0, 4, 2, 2), r"in_dim must be a positive integer, got 0\."),
    (lambda: models.ResidualMLP(3, 0, 2, 2), r"width must be a positive integer, got 0\."),
    (lambda: models.ResidualMLP(3, 4, 0, 2), r"depth must be a positive integer, got 0\."),
    (lambda: models.ResidualMLP(3, 4, 2, 0), r"out_dim must be a positive integer, got 0\."),
    (lambda: models.ResidualMLP(3, 4.0, 2, 2), r"width must be a positive integer, got 4\.0\."),
    (lambda: models.ResidualMLP(3, 4, 2, 2, branch_scale=-0.5),
     r"branch_scale must be non-negative, got -0\.5\."),
    (lambda: models.ScalarChain(torch.tensor(1.0), torch.tensor(1.0)),
     r"weights must have shape \(L, \.\.\.\) with L >= 1, got \(\)\."),
    (lambda: models.ScalarChain(torch.ones(0), torch.ones(0)),
     r"weights must have shape \(L, \.\.\.\) with L >= 1, got \(0,\)\."),
    (lambda: models.ScalarChain(torch.ones(3), torch.ones(4)),
     r"biases must have the shape of weights \(3,\), got \(4,\)\."),
    (lambda: models.ScalarChain.random(0, 1.0, 1.0), r"depth must be a positive integer, got 0\."),
    (lambda: models.ScalarChain.random(2.0, 1.0, 1.0), r"depth must be a positive integer"),
    (lambda: models.ScalarChain.random(2, -1.0, 1.0),
     r"weight_std and bias_std must be non-negative, got -1\.0 and 1\.0\."),
    (lambda: models.ScalarChain.random(2, 1.0, -1.0),
     r"weight_std and bias_std must be non-negative, got 1\.0 and -1\.0\."),
    (lambda: models.trace_gradients([], torch.tensor(0.0)),
     r"trace must hold at least one tensor\."),
    (lambda: models.gaussian_expectation(np.cos, -0.5),
     r"q must be a non-negative variance, got -0\.5\."),
    (lambda: models.gaussian_expectation(np.cos, 1.0, order=0),
     r"order must be a positive integer, got 0\."),
    (lambda: models.gaussian_expectation(np.cos, 1.0, order=2.0),
     r"order must be a positive integer, got 2\.0\."),
    (lambda: models.variance_recursion("gelu", 1.0, 1.0, 3), rf"activation must be one of {_ACTS}, "
     r"got 'gelu'\."),
    (lambda: models.variance_recursion("relu", 1.0, 1.0, 0), r"depth must be a positive integer"),
    (lambda: models.variance_recursion("relu", 1.0, 1.0, 2.0), r"depth must be a positive integer"),
    (lambda: models.variance_recursion("relu", -1.0, 1.0, 3),
     r"weight_var and q1 must be non-negative, got -1\.0, 1\.0\."),
    (lambda: models.variance_recursion("relu", 1.0, -1.0, 3),
     r"weight_var and q1 must be non-negative, got 1\.0, -1\.0\."),
    (lambda: models.variance_recursion("relu", 1.0, 1.0, 3, bias_var=-1.0),
     r"bias_var must be non-negative, got -1\.0\."),
    (lambda: models.variance_fixed_point("relu", -0.5, 0.1),
     r"weight_var, bias_var and q0 must be non-negative, got -0\.5, 0\.1, 1\.0\."),
    (lambda: models.variance_fixed_point("relu", 0.5, -0.1),
     r"weight_var, bias_var and q0 must be non-negative, got 0\.5, -0\.1, 1\.0\."),
    (lambda: models.variance_fixed_point("relu", 0.5, 0.1, q0=-1.0),
     r"weight_var, bias_var and q0 must be non-negative, got 0\.5, 0\.1, -1\.0\."),
    (lambda: models.variance_fixed_point("relu", 0.5, 0.1, tol=0.0),
     r"tol must be positive, got 0\.0\."),
    (lambda: models.variance_fixed_point("relu", 0.5, 0.1, max_iter=0),
     r"max_iter must be a positive integer, got 0\."),
    (lambda: models.variance_fixed_point("relu", 0.5, 0.1, max_iter=5.0),
     r"max_iter must be a positive integer, got 5\.0\."),
    (lambda: models.residual_recursion("relu", 1.0, 1.0, 1.0, 0),
     r"depth must be a positive integer, got 0\."),
    (lambda: models.residual_recursion("relu", 1.0, 1.0, 1.0, 2.0),
     r"depth must be a positive integer"),
    (lambda: models.residual_recursion("relu", -1.0, 1.0, 1.0, 2),
     r"weight_var must be non-negative, got -1\.0\."),
    (lambda: models.residual_recursion("relu", 1.0, -1.0, 1.0, 2),
     r"branch_scale must be non-negative, got -1\.0\."),
    (lambda: models.residual_recursion("relu", 1.0, 1.0, -1.0, 2),
     r"q0 must be non-negative, got -1\.0\."),
    (lambda: models.residual_recursion("relu", 1.0, 1.0, 1.0, 2, bias_var=-1.0),
     r"bias_var must be non-negative, got -1\.0\."),
    (lambda: models.gradient_gain("relu", -1.0, 1.0),
     r"weight_var must be non-negative, got -1\.0\."),
    (lambda: models.gradient_gain("gelu", 1.0, 1.0), r"activation must be one of"),
])
def test_argument_errors_name_the_argument(call, message):
    """Each bad argument raises a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match="^" + message):
        call()


def test_boundary_values_are_accepted_with_hand_computed_results():
    """Zero variances, one layer, order 1 and width 1 are valid; the results follow by hand."""
    assert models.init_std("normal", 3, 3, weight_std=0.0) == 0.0
    assert models.init_bias_std("torch-default", 1) == pytest.approx(1 / math.sqrt(3))
    assert models.count_parameters(models.MLP([1, 1])) == 2
    assert models.count_parameters(models.MLP([2, 3, 1], bias_std=0.0)) == 2 * 3 + 3 + 3 + 1
    assert models.count_parameters(models.ResidualMLP(1, 1, 1, 1, branch_scale=0.0)) == 8
    assert models.ScalarChain(torch.ones(1), torch.zeros(1), activation="identity").depth == 1
    chain = models.ScalarChain.random(1, 0.0, 0.0, activation="identity")
    with torch.no_grad():
        assert float(chain(torch.tensor(5.0, dtype=torch.float64))) == 0.0
    # q = 0: the expectation is f(0); order 1 has the single node 0 (exact for degree <= 1).
    assert models.gaussian_expectation(lambda u: np.cos(u) + 2.0, 0.0) == pytest.approx(3.0)
    assert models.gaussian_expectation(lambda u: 1.0 + u + 5 * u**2, 3.0, order=1) == \
        pytest.approx(1.0)
    # zero weight variance: every later layer has the bias variance; zero q1 is allowed.
    assert np.allclose(models.variance_recursion("tanh", 0.0, 0.0, 3, bias_var=0.0), 0.0)
    assert np.allclose(models.variance_recursion("relu", 0.0, 2.0, 3, bias_var=0.25),
                       [2.0, 0.25, 0.25])
    assert models.variance_recursion("relu", 1.0, 1.0, 1).tolist() == [1.0]
    assert models.gradient_gain("tanh", 0.0, 1.0) == 0.0
    p, chi = models.residual_recursion("identity", 0.0, 0.0, 0.0, 1, bias_var=0.0)
    assert p.tolist() == [0.0, 0.0] and chi.tolist() == [0.0]
    p, chi = models.residual_recursion("identity", 1.0, 1.0, 1.0, 1)
    assert p.tolist() == pytest.approx([1.0, 2.0]) and chi.tolist() == pytest.approx([1.0])


# ---------------------------------------------------------------------------------------------
# Values against independent references.

@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "identity"])
def test_numpy_activations_and_derivatives_match_torch_autograd(name):
    """The NumPy activation tables agree with torch's functions and their autograd derivatives."""
    phi, dphi = models._np_activation(name)
    u = torch.tensor([-2.5, -0.7, 0.0, 0.4, 3.0], dtype=torch.float64, requires_grad=True)
    y = models.activation_fn(name)(u)
    (grad,) = torch.autograd.grad(y.sum(), u)
    x = u.detach().numpy()
    assert np.allclose(phi(x), y.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.allclose(dphi(x), grad.numpy(), rtol=1e-12, atol=1e-15)


def test_np_sigmoid_against_scipy_expit():
    """The tanh form of the logistic function equals scipy.special.expit."""
    from scipy.special import expit
    u = np.array([-30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0])
    assert np.allclose(models._np_sigmoid(u), expit(u), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("init", "fan_in", "fan_out", "expected"), [
    ("he", 8, 3, math.sqrt(2 / 8)),
    ("glorot", 8, 2, math.sqrt(2 / 10)),
    ("pytorch", 12, 5, 1 / 6),
    ("torch-default", 12, 5, 1 / 6),
    ("normal", 12, 5, 0.7),
])
def test_init_std_exact_values(init, fan_in, fan_out, expected):
    """init_std matches the hand-written formulas (1/sqrt(3*12) = 1/6)."""
    assert models.init_std(init, fan_in, fan_out, weight_std=0.7) == pytest.approx(expected,
                                                                                   rel=1e-14)


def test_gaussian_expectation_moments_by_hand():
    """E u^2 = q, E u^4 = 3 q^2, E cos(u) = exp(-q/2) under N(0, q), with the default order."""
    q = 2.5
    assert models.gaussian_expectation(lambda u: u**2, q) == pytest.approx(q, rel=1e-12)
    assert models.gaussian_expectation(lambda u: u**4, q) == pytest.approx(3 * q * q, rel=1e-12)
    assert models.gaussian_expectation(np.cos, q) == pytest.approx(math.exp(-q / 2), rel=1e-10)
    assert models.gaussian_expectation(lambda u: np.ones_like(u), 0.3) == pytest.approx(1.0)


def test_mlp_forward_matches_manual_computation():
    """MLP.preactivations and forward_trace against explicit matrix products, 3 layers."""
    torch.manual_seed(3)
    net = models.MLP([3, 4, 5, 2], activation="tanh", init="glorot", bias_std=0.3).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    w = [layer.weight.detach() for layer in net.layers]
    b = [layer.bias.detach() for layer in net.layers]
    u1 = x @ w[0].T + b[0]
    u2 = torch.tanh(u1) @ w[1].T + b[1]
    u3 = torch.tanh(u2) @ w[2].T + b[2]
    with torch.no_grad():
        pre, trace, out = net.preactivations(x), net.forward_trace(x), net(x)
    assert len(pre) == 3 and len(trace) == 3
    for got, ref in zip(pre, (u1, u2, u3)):
        assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)
    for got, ref in zip(trace, (torch.tanh(u1), torch.tanh(u2), u3)):
        assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert torch.allclose(out, u3, rtol=1e-12, atol=1e-12)
    assert [tuple(layer.weight.shape) for layer in net.layers] == [(4, 3), (5, 4), (2, 5)]


def test_mlp_default_is_he_relu_with_zero_biases():
    """MLP's defaults: He weights (std sqrt(2/fan_in)), ReLU between layers, zero biases."""
    torch.manual_seed(0)
    net = models.MLP([400, 300, 3])
    assert float(net.layers[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 400),
                                                                       rel=0.02)
    assert abs(float(net.layers[0].weight.detach().mean())) < 0.002
    assert torch.count_nonzero(net.layers[0].bias) == 0
    x = torch.randn(2, 400)
    with torch.no_grad():
        assert torch.equal(net.forward_trace(x)[0], torch.relu(net.preactivations(x)[0]))


def test_mlp_normal_init_and_gaussian_biases_have_requested_std():
    """init='normal' uses weight_std for every layer; bias_std > 0 draws N(0, bias_std^2) biases."""
    torch.manual_seed(0)
    net = models.MLP([300, 400, 300], init="normal", weight_std=0.05, bias_std=0.2)
    for layer in net.layers:
        assert float(layer.weight.detach().std()) == pytest.approx(0.05, rel=0.02)
        assert abs(float(layer.weight.detach().mean())) < 0.002
    biases = torch.cat([layer.bias.detach() for layer in net.layers])
    assert float(biases.std()) == pytest.approx(0.2, rel=0.1)
    assert abs(float(biases.mean())) < 0.03


def test_torch_default_init_fills_the_whole_interval():
    """Uniform on +-1/sqrt(fan_in): weights and biases reach both ends, with mean ~ 0."""
    torch.manual_seed(0)
    net = models.MLP([100, 400, 3], init="torch-default")
    bound = 1 / math.sqrt(100)
    for t in (net.layers[0].weight.detach(), net.layers[0].bias.detach()):
        assert float(t.max()) <= bound and float(t.min()) >= -bound
        assert float(t.max()) > 0.95 * bound and float(t.min()) < -0.95 * bound
    w = net.layers[0].weight.detach()
    assert abs(float(w.mean())) < 0.003
    assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_residual_mlp_forward_matches_manual_block_formula():
    """z_i = z_(i-1) + V_i phi(W_i z_(i-1) + c_i) + b_i, written out with tanh, 2 blocks."""
    torch.manual_seed(1)
    net = models.ResidualMLP(3, 5, 2, 4, activation="tanh", init="torch-default",
                             branch_scale=0.8).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    with torch.no_grad():
        trace = net.forward_trace(x)
        out = net(x)
        z = net.inp.weight @ x.T
        z = (z + net.inp.bias[:, None]).T
        ref = [z]
        for w, v in zip(net.inner, net.outer):
            z = z + torch.tanh(z @ w.weight.T + w.bias) @ v.weight.T + v.bias
            ref.append(z)
        ref.append(z @ net.out.weight.T + net.out.bias)
    assert len(trace) == len(ref) == 4
    for got, want in zip(trace, ref):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    assert torch.equal(out, trace[-1]) and out.shape == (7, 4)
    assert [tuple(m.weight.shape) for m in (net.inp, net.inner[0], net.outer[1], net.out)] == \
        [(5, 3), (5, 5), (5, 5), (4, 5)]


def test_residual_mlp_defaults_and_branch_std():
    """Defaults: relu, He inner weights sqrt(2/width), branch std 0.1/sqrt(width), zero biases."""
    torch.manual_seed(0)
    width = 400
    net = models.ResidualMLP(50, width, 2, 3)
    for layer in net.inner:
        assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2 / width), rel=0.02)
        assert torch.count_nonzero(layer.bias) == 0
    assert float(net.inp.weight.detach().std()) == pytest.approx(math.sqrt(2 / 50), rel=0.03)
    assert float(net.out.weight.detach().std()) == pytest.approx(math.sqrt(2 / width), rel=0.1)
    for layer in net.outer:
        assert float(layer.weight.detach().std()) == pytest.approx(0.1 / math.sqrt(width),
                                                                   rel=0.02)
        assert abs(float(layer.weight.detach().mean())) < 0.001
        assert torch.count_nonzero(layer.bias) == 0
    # The default activation is the ReLU: check one block by hand.
    x = torch.randn(2, 50)
    with torch.no_grad():
        z0, z1 = net.forward_trace(x)[:2]
        ref = z0 + net.outer[0](torch.relu(net.inner[0](z0)))
    assert torch.allclose(z1, ref, atol=1e-6)


def test_scalar_chain_random_reproduces_the_documented_draws():
    """random() draws w then b in float64 from the generator, scales them, and casts to dtype."""
    shape = (4, 2)
    g = torch.Generator().manual_seed(5)
    w = torch.randn(shape, generator=g, dtype=torch.float64) * 0.7
    b = torch.randn(shape, generator=g, dtype=torch.float64) * 0.3
    chain = models.ScalarChain.random(4, 0.7, 0.3, chains=(2,),
                                      generator=torch.Generator().manual_seed(5))
    assert chain.weights.dtype == torch.float64 and chain.biases.dtype == torch.float64
    assert torch.equal(chain.weights.detach(), w) and torch.equal(chain.biases.detach(), b)
    chain32 = models.ScalarChain.random(4, 0.7, 0.3, chains=(2,), dtype=torch.float32,
                                        generator=torch.Generator().manual_seed(5))
    assert torch.equal(chain32.biases.detach(), b.float())
    assert torch.equal(chain32.weights.detach(), w.float())


def test_scalar_chain_random_and_init_use_the_activation():
    """The activation argument reaches the chain: tanh and identity chains computed by hand."""
    gen = torch.Generator().manual_seed(2)
    chain = models.ScalarChain.random(3, 1.0, 1.0, activation="tanh", generator=gen)
    w, b = chain.weights.detach(), chain.biases.detach()
    x = torch.tensor(0.4, dtype=torch.float64)
    z = x
    ref = [x]
    for i in range(3):
        z = torch.tanh(w[i] * z + b[i])
        ref.append(z)
    with torch.no_grad():
        trace = chain.forward_trace(x)
    assert len(trace) == 4
    for got, want in zip(trace, ref):
        assert torch.allclose(got, want, rtol=1e-14)
    lin = models.ScalarChain(torch.tensor([2.0, -3.0]), torch.tensor([1.0, 0.5]),
                             activation="identity")
    with torch.no_grad():   # z1 = 2 * 1.5 + 1 = 4, z2 = -3 * 4 + 0.5 = -11.5
        assert [float(t) for t in lin.forward_trace(torch.tensor(1.5))] == [1.5, 4.0, -11.5]
    sig = models.ScalarChain(torch.tensor([2.0]), torch.tensor([1.0]))   # default: sigmoid
    with torch.no_grad():
        assert float(sig(torch.tensor(0.5))) == pytest.approx(1 / (1 + math.exp(-2.0)))


def test_trace_gradients_keep_the_graph_and_norms_are_frobenius():
    """Two calls on one graph work (retain_graph); norms equal sqrt of the sum of squares."""
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    y = x * x
    loss = y.sum()
    first = models.trace_gradients([x, y], loss)
    second = models.trace_gradients([x], loss)   # needs the retained graph
    assert torch.allclose(first[0], 2 * x) and torch.allclose(second[0], 2 * x)
    assert torch.equal(first[1], torch.ones_like(y))
    norms = models.trace_gradient_norms([x, y], loss)
    assert norms.dtype == np.float64
    assert norms.tolist() == pytest.approx([2 * math.sqrt(1 + 4 + 0.25 + 9), 2.0])


def test_variance_recursion_tanh_by_quadrature_and_bias():
    """tanh map with biases, two steps, against scipy quad: q2 = v E tanh(u)^2 + sb2."""
    def step(q: float) -> float:
        val, _ = integrate.quad(lambda u: np.tanh(u) ** 2 * math.exp(-u * u / (2 * q))
                                / math.sqrt(2 * math.pi * q), -np.inf, np.inf)
        return 1.7 * val + 0.2
    q2 = step(0.9)
    q3 = step(q2)
    got = models.variance_recursion("tanh", 1.7, 0.9, 3, bias_var=0.2)
    assert got.shape == (3,) and got[0] == 0.9
    assert got[1:] == pytest.approx([q2, q3], rel=1e-7)
    # The default bias_var is 0: identity gives q_l = v^l q1.
    assert models.variance_recursion("identity", 0.5, 4.0, 3).tolist() == \
        pytest.approx([4.0, 2.0, 1.0])


def test_variance_fixed_point_defaults_and_iteration_count():
    """Default q0 = 1.0 and max_iter = 100000 appear in the error; max_iter counts map steps."""
    import warnings
    message = (r"^the variance map of relu with weight_var=3\.0, bias_var=0\.1 did not converge "
               r"from q0=1\.0 in 100000 steps\.$")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the overflow on the way to inf is silenced
        with pytest.raises(RuntimeError, match=message):
            models.variance_fixed_point("relu", 3.0, 0.1)
    # weight_var = 0: the map is the constant bias_var, reached after one step.
    assert models.variance_fixed_point("relu", 0.0, 0.5, q0=0.5, max_iter=1) == 0.5
    assert models.variance_fixed_point("relu", 0.0, 0.5, q0=1.0, max_iter=2) == 0.5
    with pytest.raises(RuntimeError, match=r"from q0=1\.0 in 1 steps\.$"):
        models.variance_fixed_point("relu", 0.0, 0.5, q0=1.0, max_iter=1)
    assert models.variance_fixed_point("tanh", 0.0, 0.0, q0=0.0) == 0.0


def test_variance_fixed_point_default_tolerance_is_tight():
    """identity with v = 0.5, sb2 = 1: q* = 2 exactly; the default tol 1e-12 gets within 1e-11."""
    assert models.variance_fixed_point("identity", 0.5, 1.0) == pytest.approx(2.0, rel=1e-11)
    assert models.variance_fixed_point("identity", 0.5, 1.0, q0=2.0) == pytest.approx(2.0,
                                                                                     rel=1e-14)
    # A loose tol stops early: from q0 = 0 the iterates are 1, 1.5, 1.75, ... (gap halves).
    assert models.variance_fixed_point("identity", 0.5, 1.0, q0=0.0, tol=0.2) == \
        pytest.approx(1.75, rel=1e-12)


def test_residual_recursion_tanh_against_quadrature():
    """One tanh block with biases: q1 = v p0 + sb2, p1 = p0 + beta^2 E tanh^2, chi1 = v E sech^4."""
    v, beta, p0, sb2 = 1.3, 0.6, 0.8, 0.25
    q = v * p0 + sb2

    def expect(f):
        val, _ = integrate.quad(lambda u: f(u) * math.exp(-u * u / (2 * q))
                                / math.sqrt(2 * math.pi * q), -np.inf, np.inf)
        return val
    p, chi = models.residual_recursion("tanh", v, beta, p0, 2, bias_var=sb2)
    assert p.shape == (3,) and chi.shape == (2,)
    assert p[0] == p0
    assert p[1] == pytest.approx(p0 + beta**2 * expect(lambda u: np.tanh(u) ** 2), rel=1e-7)
    assert chi[0] == pytest.approx(v * expect(lambda u: (1 - np.tanh(u) ** 2) ** 2), rel=1e-7)
    assert chi[1] == pytest.approx(models.gradient_gain("tanh", v, v * p[1] + sb2), rel=1e-12)
    # The default bias_var is 0: identity, q_l = v p_(l-1) so p_l = p_(l-1) (1 + beta^2 v).
    p, _ = models.residual_recursion("identity", 2.0, 1.0, 1.0, 2)
    assert p.tolist() == pytest.approx([1.0, 3.0, 9.0])


def test_gradient_gain_tanh_against_quadrature():
    """chi = v E[sech(u)^4], u ~ N(0, q), against scipy quad."""
    q = 0.8
    ref, _ = integrate.quad(lambda u: (1 - np.tanh(u) ** 2) ** 2 * math.exp(-u * u / (2 * q))
                            / math.sqrt(2 * math.pi * q), -np.inf, np.inf)
    assert models.gradient_gain("tanh", 1.5, q) == pytest.approx(1.5 * ref, rel=1e-7)


def test_variance_fixed_point_stopping_rule_is_relative_and_inclusive():
    """Stop when |q_next - q| <= tol * max(q_next, q): with weight_var = 0 the first step gives
    q_next = bias_var; the gap 1 equals tol * max = 0.5 * 2 exactly in both directions."""
    assert models.variance_fixed_point("relu", 0.0, 1.0, q0=2.0, tol=0.5, max_iter=1) == 1.0
    assert models.variance_fixed_point("relu", 0.0, 2.0, q0=1.0, tol=0.5, max_iter=1) == 2.0
    with pytest.raises(RuntimeError, match="converge"):   # gap 1 > 0.4 * 2
        models.variance_fixed_point("relu", 0.0, 2.0, q0=1.0, tol=0.4, max_iter=1)
