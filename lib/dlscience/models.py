"""Small networks with explicit initialization.

Every network here can return its *trace*: the list of hidden representations it computed,
so chapters can measure activations and gradients layer by layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import nn

Activation = Literal["relu", "tanh", "sigmoid", "identity"]
Init = Literal["he", "glorot", "pytorch", "normal"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}
_INITS = ("he", "glorot", "pytorch", "normal")


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the activation function called ``name`` (one of relu, tanh, sigmoid, identity)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}.")
    return _ACTIVATIONS[name]


def init_std(init: str, fan_in: int, fan_out: int, weight_std: float | None = None) -> float:
    """Standard deviation of the weights of a ``fan_out x fan_in`` layer under a scheme.

    * ``"he"``: :math:`\\sqrt{2/\\text{fan\\_in}}` (He et al. 2015), for ReLU;
    * ``"glorot"``: :math:`\\sqrt{2/(\\text{fan\\_in}+\\text{fan\\_out})}` (Glorot & Bengio 2010);
    * ``"pytorch"``: :math:`1/\\sqrt{3\\,\\text{fan\\_in}}`, PyTorch's default for ``nn.Linear``;
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


class MLP(nn.Module):
    """A fully connected network ``widths[0] -> widths[1] -> ... -> widths[-1]``.

    Hidden layers apply ``activation``; the last layer is linear. Weights are Gaussian with the
    standard deviation of :func:`init_std`; biases are Gaussian with ``bias_std`` (default 0).

    Args:
        widths: layer sizes, input first, at least two entries.
        activation: name of the hidden nonlinearity.
        init: initialization scheme, see :func:`init_std`.
        weight_std: the standard deviation for ``init="normal"``.
        bias_std: standard deviation of the biases.
    """

    def __init__(self, widths: Sequence[int], activation: Activation = "relu",
                 init: Init = "he", weight_std: float | None = None, bias_std: float = 0.0):
        super().__init__()
        widths = list(widths)
        if len(widths) < 2 or any(not isinstance(w, int) or w <= 0 for w in widths):
            raise ValueError(f"widths must list at least two positive integers, got {widths!r}.")
        self.act = activation_fn(activation)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        with torch.no_grad():
            for layer in self.layers:
                std = init_std(init, layer.in_features, layer.out_features, weight_std)
                layer.weight.normal_(0.0, std)
                layer.bias.normal_(0.0, bias_std) if bias_std > 0 else layer.bias.zero_()

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
    """``depth`` residual blocks :math:`z_i = z_{i-1} + V_i\\,\\phi(W_i z_{i-1} + c_i) + b_i`.

    This is the block of the lecture (and of ResNets and Transformers without normalization).
    An input layer maps ``in_dim`` to ``width`` and an output layer maps ``width`` to ``out_dim``.
    ``W_i`` uses ``init``; ``V_i`` is Gaussian with standard deviation
    ``branch_scale / sqrt(width)``, so each block adds an update of size ``branch_scale`` at init.
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
                layer.weight.normal_(0.0, init_std(init, layer.in_features, layer.out_features))
                layer.bias.zero_()
            for layer in self.outer:
                layer.weight.normal_(0.0, branch_scale / math.sqrt(width))
                layer.bias.zero_()

    def forward_trace(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[z_0, z_1, ..., z_depth, output]`` (``z_0`` is the embedded input)."""
        z = self.inp(x)
        trace = [z]
        for w, v in zip(self.inner, self.outer):
            z = z + v(self.act(w(z)))
            trace.append(z)
        trace.append(self.out(z))
        return trace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_trace(x)[-1]


def trace_gradients(trace: Sequence[torch.Tensor], loss: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of ``loss`` with respect to every tensor of a trace, in the same order."""
    if not trace:
        raise ValueError("trace must hold at least one tensor.")
    return list(torch.autograd.grad(loss, list(trace), retain_graph=True))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
