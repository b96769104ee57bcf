"""Small networks with explicit initialization, and the mean-field formulas that predict them.

Every network here can return its *trace*: the list of hidden representations it computed,
so chapters can measure activations and gradients layer by layer. Next to the networks sit the
infinite-width recursions for the variance of pre-activations and for the gain of the backward
pass, which the chapter on vanishing gradients compares with measurements.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

Activation = Literal["relu", "tanh", "sigmoid", "identity"]
Init = Literal["he", "glorot", "pytorch", "torch-default", "normal"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}
_INITS = ("he", "glorot", "pytorch", "torch-default", "normal")


def _np_sigmoid(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * u))


# The activations and their derivatives on NumPy arrays, for the Gaussian expectations below.
_NP_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray],
                                 Callable[[np.ndarray], np.ndarray]]] = {
    "relu": (lambda u: np.maximum(u, 0.0), lambda u: (u > 0).astype(float)),
    "tanh": (np.tanh, lambda u: 1.0 - np.tanh(u) ** 2),
    "sigmoid": (_np_sigmoid, lambda u: _np_sigmoid(u) * (1.0 - _np_sigmoid(u))),
    "identity": (lambda u: u, lambda u: np.ones_like(u)),
}


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the activation function called ``name`` (one of relu, tanh, sigmoid, identity)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}.")
    return _ACTIVATIONS[name]


def init_std(init: str, fan_in: int, fan_out: int, weight_std: float | None = None) -> float:
    """Standard deviation of the weights of a ``fan_out x fan_in`` layer under a scheme.

    * ``"he"``: ``sqrt(2 / fan_in)`` (He et al. 2015), for ReLU;
    * ``"glorot"``: ``sqrt(2 / (fan_in + fan_out))`` (Glorot and Bengio 2010);
    * ``"pytorch"``: ``1 / sqrt(3 fan_in)``, the standard deviation of PyTorch's default
      uniform initialization of ``nn.Linear``; the networks below draw these weights from a
      Gaussian and set the biases to zero, so ``"pytorch"`` is *not* PyTorch's default;
    * ``"torch-default"``: the same ``1 / sqrt(3 fan_in)``, for PyTorch's actual default, under
      which the networks below draw weights *and biases* uniformly on ``+-1/sqrt(fan_in)``
      (see :func:`init_bias_std`);
    * ``"normal"``: the fixed ``weight_std`` (a "naive" initialization, independent of width).
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}.")
    if init == "normal":
        if weight_std is None or weight_std < 0:
            raise ValueError(f"init='normal' needs weight_std >= 0, got {weight_std!r}.")
        return float(weight_std)
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    if init == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    return 1.0 / math.sqrt(3.0 * fan_in)


def init_bias_std(init: str, fan_in: int) -> float:
    """Standard deviation of the biases of a layer with ``fan_in`` inputs under a scheme.

    ``1 / sqrt(3 fan_in)`` for ``"torch-default"`` (PyTorch's default ``nn.Linear`` biases,
    uniform on ``+-1/sqrt(fan_in)``), and 0 for every other scheme, whose biases start at zero
    unless a network is given an explicit ``bias_std``.
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}.")
    if not isinstance(fan_in, int) or fan_in <= 0:
        raise ValueError(f"fan_in must be a positive integer, got {fan_in!r}.")
    return 1.0 / math.sqrt(3.0 * fan_in) if init == "torch-default" else 0.0


def _init_linear(layer: nn.Linear, init: str, weight_std: float | None = None,
                 bias_std: float = 0.0) -> None:
    """Initialize ``layer`` in place: PyTorch's default uniform law for ``"torch-default"``,
    else Gaussian weights with :func:`init_std` and Gaussian biases with ``bias_std``."""
    std = init_std(init, layer.in_features, layer.out_features, weight_std)
    if init == "torch-default":
        bound = 1.0 / math.sqrt(layer.in_features)
        layer.weight.uniform_(-bound, bound)
        layer.bias.uniform_(-bound, bound)
        return
    layer.weight.normal_(0.0, std)
    layer.bias.normal_(0.0, bias_std) if bias_std > 0 else layer.bias.zero_()


class MLP(nn.Module):
    """A fully connected network ``widths[0] -> widths[1] -> ... -> widths[-1]``.

    Hidden layers apply ``activation``; the last layer is linear. Weights are Gaussian with the
    standard deviation of ``init_std``; biases are Gaussian with ``bias_std`` (default 0). With
    ``init="torch-default"`` weights and biases are instead uniform on ``+-1/sqrt(fan_in)``, the
    law of PyTorch's default ``nn.Linear`` (``bias_std`` must then be left at 0).

    Args:
        widths: layer sizes, input first, at least two entries.
        activation: name of the hidden nonlinearity.
        init: initialization scheme, see ``init_std``.
        weight_std: the standard deviation for ``init="normal"``.
        bias_std: standard deviation of the biases.
    """

    def __init__(self, widths: Sequence[int], activation: Activation = "relu",
                 init: Init = "he", weight_std: float | None = None, bias_std: float = 0.0):
        super().__init__()
        widths = list(widths)
        if len(widths) < 2 or any(not isinstance(w, int) or w <= 0 for w in widths):
            raise ValueError(f"widths must list at least two positive integers, got {widths!r}.")
        if bias_std < 0:
            raise ValueError(f"bias_std must be non-negative, got {bias_std!r}.")
        if init == "torch-default" and bias_std > 0:
            raise ValueError("bias_std must be 0 with init='torch-default', whose biases follow "
                             f"PyTorch's default law; got bias_std={bias_std!r}.")
        self.act = activation_fn(activation)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        with torch.no_grad():
            for layer in self.layers:
                _init_linear(layer, init, weight_std, bias_std)

    def preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[u_1, ..., u_L]``: each layer's pre-activation ``u_i = W_i h_(i-1) + b_i``.

        The last entry is the output (the last layer is linear). Shapes: ``x`` is
        ``(batch, widths[0])``; ``u_i`` is ``(batch, widths[i])``.
        """
        out = []
        h = x
        for i, layer in enumerate(self.layers):
            u = layer(h)
            out.append(u)
            h = self.act(u) if i < len(self.layers) - 1 else u
        return out

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[h_1, ..., h_L]``: each hidden layer's activations, then the output.

        Shapes: ``x`` is ``(batch, widths[0])``; ``h_i`` is ``(batch, widths[i])``.
        """
        trace = []
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.act(h)
            trace.append(h)
        return trace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_trace(x)[-1]


class ResidualMLP(nn.Module):
    """``depth`` residual blocks ``z_i = z_(i-1) + V_i phi(W_i z_(i-1) + c_i) + b_i``.

    This is the block of the lecture (and of ResNets and Transformers without normalization).
    An input layer maps ``in_dim`` to ``width`` and an output layer maps ``width`` to ``out_dim``.
    ``W_i`` uses ``init``; ``V_i`` is Gaussian with standard deviation
    ``branch_scale / sqrt(width)``, so each block adds an update of relative size about
    ``branch_scale`` at initialization. All biases start at zero, except with
    ``init="torch-default"``, where the input, inner and output layers take PyTorch's default
    law (weights and biases uniform on ``+-1/sqrt(fan_in)``); ``V_i`` and ``b_i`` are the same
    under every scheme.
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int,
                 activation: Activation = "relu", init: Init = "he",
                 branch_scale: float = 0.1):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth),
                            ("out_dim", out_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if branch_scale < 0:
            raise ValueError(f"branch_scale must be non-negative, got {branch_scale!r}.")
        self.act = activation_fn(activation)
        self.inp = nn.Linear(in_dim, width)
        self.inner = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.outer = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, out_dim)
        with torch.no_grad():
            for layer in [self.inp, self.out, *self.inner]:
                _init_linear(layer, init)
            for layer in self.outer:
                layer.weight.normal_(0.0, branch_scale / math.sqrt(width))
                layer.bias.zero_()

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[z_0, z_1, ..., z_depth, output]`` (``z_0`` is the embedded input).

        Shapes: ``x`` is ``(batch, in_dim)``; each ``z_i`` is ``(batch, width)``; the output is
        ``(batch, out_dim)``.
        """
        z = self.inp(x)
        trace = [z]
        for w, v in zip(self.inner, self.outer):
            z = z + v(self.act(w(z)))
            trace.append(z)
        trace.append(self.out(z))
        return trace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_trace(x)[-1]


class ScalarChain(nn.Module):
    """A chain of one-unit layers ``z_i = phi(w_i z_(i-1) + b_i)``, ``i = 1..L``, with ``z_0 = x``.

    The lecture's smallest deep network. ``weights`` and ``biases`` have shape ``(L,)`` for one
    chain, or ``(L, *batch)`` for many independent chains evaluated at once (layer ``i`` of
    every chain uses ``weights[i]``, broadcast against the input).

    Args:
        weights: the ``w_i``, first dimension the depth ``L``.
        biases: the ``b_i``, same shape as ``weights``.
        activation: name of the nonlinearity ``phi`` (default the sigmoid).
    """

    def __init__(self, weights: torch.Tensor, biases: torch.Tensor,
                 activation: Activation = "sigmoid"):
        super().__init__()
        weights, biases = torch.as_tensor(weights), torch.as_tensor(biases)
        if weights.ndim < 1 or weights.shape[0] == 0:
            raise ValueError(f"weights must have shape (L, ...) with L >= 1, got "
                             f"{tuple(weights.shape)}.")
        if biases.shape != weights.shape:
            raise ValueError(f"biases must have the shape of weights {tuple(weights.shape)}, "
                             f"got {tuple(biases.shape)}.")
        self.act = activation_fn(activation)
        self.weights = nn.Parameter(weights.clone())
        self.biases = nn.Parameter(biases.clone())

    @classmethod
    def random(cls, depth: int, weight_std: float, bias_std: float,
               chains: Sequence[int] = (), activation: Activation = "sigmoid",
               dtype: torch.dtype = torch.float64,
               generator: torch.Generator | None = None) -> ScalarChain:
        """A chain with ``w_i ~ N(0, weight_std^2)`` and ``b_i ~ N(0, bias_std^2)``.

        ``chains`` is the batch shape of independent chains (empty for one chain). The numbers
        are drawn in float64 and then cast to ``dtype``, so that a float32 chain and a float64
        chain built from the same generator state hold the same weights up to rounding.
        """
        if not isinstance(depth, int) or depth <= 0:
            raise ValueError(f"depth must be a positive integer, got {depth!r}.")
        if weight_std < 0 or bias_std < 0:
            raise ValueError(f"weight_std and bias_std must be non-negative, got "
                             f"{weight_std!r} and {bias_std!r}.")
        shape = (depth, *chains)
        w = torch.randn(shape, generator=generator, dtype=torch.float64) * weight_std
        b = torch.randn(shape, generator=generator, dtype=torch.float64) * bias_std
        return cls(w.to(dtype), b.to(dtype), activation=activation)

    @property
    def depth(self) -> int:
        """The number of layers ``L``."""
        return int(self.weights.shape[0])

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[z_0, z_1, ..., z_L]`` with ``z_0 = x``.

        ``x`` may have any shape that broadcasts against ``weights[0]``; every ``z_i`` has the
        broadcast shape (``z_0`` is ``x`` itself).
        """
        trace = [x]
        z = x
        for w, b in zip(self.weights, self.biases):
            z = self.act(w * z + b)
            trace.append(z)
        return trace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_trace(x)[-1]


def trace_gradients(trace: Sequence[torch.Tensor], loss: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of ``loss`` with respect to every tensor of a trace, in the same order.

    Every tensor of the trace must take part in computing ``loss`` (the input ``x`` of a
    trace needs ``requires_grad=True``). Returns tensors of the shapes of the trace's.
    """
    if not trace:
        raise ValueError("trace must hold at least one tensor.")
    return list(torch.autograd.grad(loss, list(trace), retain_graph=True))


def trace_gradient_norms(trace: Sequence[torch.Tensor], loss: torch.Tensor) -> np.ndarray:
    """Euclidean (Frobenius) norm of the gradient of ``loss`` with respect to each trace entry.

    Returns a float64 array of shape ``(len(trace),)``.
    """
    grads = trace_gradients(trace, loss)
    return np.array([float(torch.linalg.vector_norm(g.double())) for g in grads])


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def gaussian_expectation(f: Callable[[np.ndarray], np.ndarray], q: float,
                         order: int = 120) -> float:
    """``E f(u)`` for ``u ~ N(0, q)``, by Gauss-Hermite quadrature with ``order`` nodes.

    ``f`` maps a 1-D array of points to an array of values. The default even order has no
    node at 0 and nodes placed symmetrically, which makes the answer exact for functions such
    as ``relu(u)^2`` whose values at ``u`` and ``-u`` sum to a polynomial of low degree.
    """
    if q < 0:
        raise ValueError(f"q must be a non-negative variance, got {q!r}.")
    if not isinstance(order, int) or order <= 0:
        raise ValueError(f"order must be a positive integer, got {order!r}.")
    nodes, weights = _hermegauss(order)
    return float(np.sum(weights * f(math.sqrt(q) * nodes)) / math.sqrt(2.0 * math.pi))


@functools.lru_cache(maxsize=8)
def _hermegauss(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights (probabilists'), computed once per order."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def _np_activation(activation: str) -> tuple[Callable[[np.ndarray], np.ndarray],
                                             Callable[[np.ndarray], np.ndarray]]:
    if activation not in _NP_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_NP_ACTIVATIONS)}, "
                         f"got {activation!r}.")
    return _NP_ACTIVATIONS[activation]


def variance_recursion(activation: str, weight_var: float, q1: float, depth: int, *,
                       bias_var: float = 0.0) -> np.ndarray:
    """Pre-activation variances ``q_1, ..., q_depth`` of a wide network at initialization.

    The infinite-width recursion for weights with variance ``weight_var / fan_in`` and biases
    with variance ``bias_var`` is ``q_(l+1) = weight_var * E[phi(u)^2] + bias_var`` with
    ``u ~ N(0, q_l)``. For the ReLU with zero biases it is ``q_(l+1) = (weight_var / 2) q_l``,
    so He's choice ``weight_var = 2`` keeps it constant.

    Args:
        activation: relu, tanh, sigmoid or identity.
        weight_var: ``fan_in`` times the variance of one weight.
        q1: the first layer's pre-activation variance.
        depth: number of layers.
        bias_var: the variance of one bias (default 0).

    Returns:
        a float64 array of shape ``(depth,)``.
    """
    phi, _ = _np_activation(activation)
    if not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"depth must be a positive integer, got {depth!r}.")
    if weight_var < 0 or q1 < 0:
        raise ValueError(f"weight_var and q1 must be non-negative, got {weight_var!r}, {q1!r}.")
    if bias_var < 0:
        raise ValueError(f"bias_var must be non-negative, got {bias_var!r}.")
    q = np.empty(depth)
    q[0] = q1
    for layer in range(1, depth):
        q[layer] = (weight_var * gaussian_expectation(lambda u: phi(u) ** 2, q[layer - 1])
                    + bias_var)
    return q


def variance_fixed_point(activation: str, weight_var: float, bias_var: float,
                         q0: float = 1.0, tol: float = 1e-12, max_iter: int = 100_000) -> float:
    """The fixed point ``q*`` of the variance map ``q -> weight_var * E[phi(u)^2] + bias_var``.

    Found by iterating the map of :func:`variance_recursion` from ``q0`` until two iterates
    differ by less than ``tol`` relative to the larger. For the ReLU with ``weight_var < 2`` it
    is ``bias_var / (1 - weight_var / 2)``.

    Raises:
        ValueError: for invalid arguments.
        RuntimeError: if the iteration has not converged after ``max_iter`` steps (the map has
            no attracting fixed point reachable from ``q0``, or approaches it too slowly, as
            for tanh at ``weight_var = 1`` without biases).
    """
    phi, _ = _np_activation(activation)
    if weight_var < 0 or bias_var < 0 or q0 < 0:
        raise ValueError(f"weight_var, bias_var and q0 must be non-negative, got "
                         f"{weight_var!r}, {bias_var!r}, {q0!r}.")
    if tol <= 0:
        raise ValueError(f"tol must be positive, got {tol!r}.")
    if not isinstance(max_iter, int) or max_iter <= 0:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}.")
    q = float(q0)
    for _ in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):
            q_next = weight_var * gaussian_expectation(lambda u: phi(u) ** 2, q) + bias_var
        if not math.isfinite(q_next):
            break
        if abs(q_next - q) <= tol * max(q_next, q, np.finfo(float).tiny):
            return q_next
        q = q_next
    raise RuntimeError(f"the variance map of {activation} with weight_var={weight_var!r}, "
                       f"bias_var={bias_var!r} did not converge from q0={q0!r} in "
                       f"{max_iter} steps.")


def residual_recursion(activation: str, weight_var: float, branch_scale: float, q0: float,
                       depth: int, *, bias_var: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Wide-limit stream variances and backward gains of :class:`ResidualMLP` at initialization.

    Block ``l`` computes ``z_l = z_(l-1) + V_l phi(u_l)`` with ``u_l = W_l z_(l-1) + c_l``,
    ``W_l`` of ``fan_in`` times weight variance ``weight_var``, ``c_l`` of variance ``bias_var``
    and ``V_l`` of variance ``branch_scale^2 / width``. With ``p_l`` the variance of one entry of
    ``z_l``, the inner pre-activations have variance ``q_l = weight_var * p_(l-1) + bias_var``,

    * ``p_l = p_(l-1) + branch_scale^2 * E[phi(u)^2]``, ``u ~ N(0, q_l)``, and
    * ``E||g_(l-1)||^2 = (1 + branch_scale^2 * chi_l) ||g_l||^2`` for the gradient
      ``g_l = d loss / d z_l``, with ``chi_l = gradient_gain(activation, weight_var, q_l)``.

    Args:
        activation: relu, tanh, sigmoid or identity.
        weight_var: ``fan_in`` times the variance of one weight of ``W_l``.
        branch_scale: ``beta``, the standard deviation of ``V_l`` times ``sqrt(width)``.
        q0: ``p_0``, the variance of one entry of the embedded input ``z_0``.
        depth: number of blocks.
        bias_var: the variance of one bias ``c_l``.

    Returns:
        ``(p, chi)``: float64 arrays of shapes ``(depth + 1,)`` (``p_0, ..., p_depth``) and
        ``(depth,)`` (``chi_1, ..., chi_depth``).
    """
    phi, _ = _np_activation(activation)
    if not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"depth must be a positive integer, got {depth!r}.")
    for name, value in (("weight_var", weight_var), ("branch_scale", branch_scale),
                        ("q0", q0), ("bias_var", bias_var)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}.")
    p = np.empty(depth + 1)
    chi = np.empty(depth)
    p[0] = q0
    for layer in range(1, depth + 1):
        q = weight_var * p[layer - 1] + bias_var
        chi[layer - 1] = gradient_gain(activation, weight_var, q)
        p[layer] = p[layer - 1] + branch_scale**2 * gaussian_expectation(lambda u: phi(u) ** 2, q)
    return p, chi


def gradient_gain(activation: str, weight_var: float, q: float) -> float:
    """Mean-square gain ``chi = weight_var * E[phi'(u)^2]``, ``u ~ N(0, q)``, of one backward step.

    In a wide network at initialization, the squared norm of the gradient with respect to
    a layer's pre-activations is ``chi`` times that of the next layer: ``chi < 1`` makes
    gradients vanish with depth, ``chi > 1`` makes them explode. For the ReLU,
    ``chi = weight_var / 2`` whatever ``q``.
    """
    _, dphi = _np_activation(activation)
    if weight_var < 0:
        raise ValueError(f"weight_var must be non-negative, got {weight_var!r}.")
    return weight_var * gaussian_expectation(lambda u: dphi(u) ** 2, q)
