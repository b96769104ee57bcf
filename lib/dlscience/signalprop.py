"""Signal propagation at initialization: mean-field maps, depth scales, batched random networks.

For a fully connected network with weights of variance ``weight_var / fan_in`` and biases of
variance ``bias_var``, the pre-activations of two inputs at layer ``l`` are, in the wide limit,
jointly Gaussian with variance ``q_l`` (the same for both inputs when their norms agree) and
covariance ``q12_l`` (Poole et al. 2016; Schoenholz et al. 2017). Their maps are

* ``q_(l+1) = weight_var * E[phi(u)^2] + bias_var``, ``u ~ N(0, q_l)``;
* ``q12_(l+1) = weight_var * E[phi(u1) phi(u2)] + bias_var``, ``(u1, u2)`` of covariance
  ``[[q_l, q12_l], [q12_l, q_l]]``;

and the correlation is ``c_l = q12_l / q_l``. This module computes these maps (by Gauss-Hermite
quadrature, or in closed form for the ReLU through the arc-cosine kernel of Cho & Saul 2009), their
fixed points, the slopes ``chi_1``, ``chi_c`` and ``chi_q`` and the depth scales
``xi = -1 / log chi``, the order-to-chaos boundary ``chi_1 = 1``, and a batch of ``M``
independent fully connected networks evaluated with one batched matrix product per layer
(:class:`BatchedMLP`), used both to measure the maps in finite networks and to train many networks
at once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import brentq
from torch import nn

from dlscience.checks import positive_int
from dlscience.models import gaussian_expectation, gradient_gain, variance_fixed_point

__all__ = ["ACTIVATIONS", "correlation_step", "signal_recursion", "correlation_fixed_point",
           "chi_1", "chi_c", "chi_q", "depth_scales", "critical_weight_var", "BatchedMLP",
           "random_preactivations"]

#: The activations the mean-field maps of this module support.
ACTIVATIONS = ("tanh", "relu")


def _activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}.")
    return name


def _variances(weight_var: float, bias_var: float) -> tuple[float, float]:
    if not (math.isfinite(weight_var) and weight_var > 0):
        raise ValueError(f"weight_var must be a positive finite number, got {weight_var!r}.")
    if not (math.isfinite(bias_var) and bias_var >= 0):
        raise ValueError(f"bias_var must be a non-negative finite number, got {bias_var!r}.")
    return float(weight_var), float(bias_var)


def _check_c(c: float) -> float:
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"c must be a correlation in [-1, 1], got {c!r}.")
    return float(c)


@functools.lru_cache(maxsize=4)
def _grid(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    z1, z2 = np.meshgrid(nodes, nodes, indexing="ij")
    w = np.outer(weights, weights) / (2.0 * math.pi)
    return z1.ravel(), z2.ravel(), w.ravel()


def _pair_expectation(f, g, q: float, c: float, order: int = 80) -> float:
    """``E f(u1) g(u2)`` for ``(u1, u2)`` centred Gaussian, variances ``q``, correlation ``c``."""
    z1, z2, w = _grid(order)
    s = math.sqrt(q)
    u1 = s * z1
    u2 = s * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return float(np.sum(w * f(u1) * g(u2)))


def _tanh_d1(u: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(u) ** 2


def _step(u: np.ndarray) -> np.ndarray:
    return (u > 0).astype(float)


def correlation_step(activation: str, weight_var: float, bias_var: float, q: float,
                     c: float) -> tuple[float, float]:
    """One layer of the mean-field maps for two inputs with equal variances.

    Args:
        activation: ``"tanh"`` or ``"relu"``.
        weight_var: ``fan_in`` times the variance of one weight (``sigma_w^2``).
        bias_var: the variance of one bias (``sigma_b^2``).
        q: the pre-activation variance ``q_l`` of each input at layer ``l`` (positive).
        c: their correlation ``c_l`` in ``[-1, 1]``.

    Returns:
        ``(q_(l+1), c_(l+1))``. For the ReLU, ``E[relu(u1) relu(u2)] = q (sqrt(1 - c^2) +
        (pi - arccos c) c) / (2 pi)`` (the arc-cosine kernel of order 1) is used in closed form.
    """
    _activation(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    c = _check_c(c)
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"q must be a positive finite variance, got {q!r}.")
    if activation == "relu":
        q_next = weight_var * q / 2.0 + bias_var
        k1 = q * (math.sqrt(max(1.0 - c * c, 0.0)) + (math.pi - math.acos(c)) * c) / (2 * math.pi)
        q12_next = weight_var * k1 + bias_var
    else:
        q_next = weight_var * gaussian_expectation(lambda u: np.tanh(u) ** 2, q) + bias_var
        q12_next = weight_var * _pair_expectation(np.tanh, np.tanh, q, c) + bias_var
    return q_next, min(q12_next / q_next, 1.0)


def signal_recursion(activation: str, weight_var: float, bias_var: float, q1: float, c1: float,
                     depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field variances and correlations ``q_1..q_depth``, ``c_1..c_depth`` of two inputs.

    Args:
        activation, weight_var, bias_var: as in :func:`correlation_step`.
        q1: the first layer's pre-activation variance (``weight_var |x|^2 / d + bias_var``).
        c1: the first layer's correlation of the two inputs.
        depth: number of layers.

    Returns:
        two float64 arrays of shape ``(depth,)``.
    """
    depth = positive_int("depth", depth)
    q, c = np.empty(depth), np.empty(depth)
    q[0], c[0] = q1, _check_c(c1)
    correlation_step(activation, weight_var, bias_var, q1, c1)  # validates the arguments
    for layer in range(1, depth):
        q[layer], c[layer] = correlation_step(activation, weight_var, bias_var, q[layer - 1],
                                              c[layer - 1])
    return q, c


def _q_star(activation: str, weight_var: float, bias_var: float) -> float:
    if activation == "relu":
        if weight_var >= 2.0 and bias_var > 0:
            raise ValueError("for the ReLU with bias_var > 0 the variance map has a fixed point "
                             f"only for weight_var < 2, got weight_var={weight_var!r}.")
        if weight_var > 2.0:
            raise ValueError("for the ReLU with weight_var > 2 the variance grows without bound, "
                             f"got weight_var={weight_var!r}.")
        return 1.0 if bias_var == 0 else bias_var / (1.0 - weight_var / 2.0)
    return variance_fixed_point("tanh", weight_var, bias_var)


def correlation_fixed_point(activation: str, weight_var: float, bias_var: float,
                            ) -> tuple[float, float]:
    """The fixed points ``(q*, c*)`` of the maps: ``c*`` is the attracting fixed point in [0, 1].

    ``c = 1`` is always a fixed point, with slope ``chi_1``. The c-map ``f`` is non-decreasing and
    convex on ``[0, 1]`` (``f'(c) = weight_var * E[phi'(u1) phi'(u2)]`` and ``f''(c) =
    weight_var * q* * E[phi''(u1) phi''(u2)]``, both non-negative for ``c >= 0``), so for
    ``chi_1 <= 1`` it lies above the diagonal on ``[0, 1)`` and ``c* = 1`` (the ordered phase);
    for ``chi_1 > 1`` (the chaotic phase) ``c*`` is its unique fixed point in ``[0, 1)``, found
    by Brent's method or, within 1e-3 of 1, by iterating the map (``c* = 0`` when the map fixes
    0, as for tanh without biases). For the ReLU without biases the variance is only conserved
    at ``weight_var = 2``, and ``q*`` is reported as 1 (every ``q`` is then fixed).

    Raises:
        ValueError: for invalid arguments, a ReLU network whose variance has no fixed point, or
            ``q* = 0`` (tanh without biases and ``weight_var <= 1``): there the network becomes
            linear as ``q_l -> 0``, the correlation map tends to the identity and ``c_l`` freezes.
    """
    _activation(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    if activation == "tanh" and bias_var == 0.0 and weight_var <= 1.0:
        raise ValueError("the variance map has the fixed point q* = 0 (tanh with bias_var = 0 and "
                         f"weight_var <= 1, got weight_var={weight_var!r}): the correlation map "
                         "is 0/0 there and c_l freezes instead of converging, so c* and chi_c "
                         "are undefined.")
    q_star = _q_star(activation, weight_var, bias_var)
    if gradient_gain(activation, weight_var, q_star) <= 1.0:
        return q_star, 1.0

    def gap(c: float) -> float:
        return correlation_step(activation, weight_var, bias_var, q_star, c)[1] - c

    if gap(0.0) <= 0.0:
        return q_star, 0.0
    top = 1.0 - 1e-3
    if gap(top) < 0.0:
        return q_star, float(brentq(gap, 0.0, top, xtol=1e-14))
    c = top  # just above the boundary: c* > 1 - 1e-3, reached by iterating the map
    for _ in range(100_000):
        c_next = c + gap(c)
        if abs(c_next - c) <= 1e-13:
            break
        c = c_next
    return q_star, c_next


def chi_1(activation: str, weight_var: float, bias_var: float) -> float:
    """``chi_1 = weight_var * E[phi'(u)^2]``, ``u ~ N(0, q*)``: the slope of the c-map at c = 1."""
    _activation(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    return gradient_gain(activation, weight_var, _q_star(activation, weight_var, bias_var))


def chi_c(activation: str, weight_var: float, bias_var: float) -> float:
    """``chi_c = weight_var * E[phi'(u1) phi'(u2)]`` at ``(q*, c*)``: the slope of the c-map at c*.

    Equal to :func:`chi_1` in the ordered phase, where ``c* = 1``.
    """
    q_star, c_star = correlation_fixed_point(activation, weight_var, bias_var)
    if activation == "relu":
        return weight_var * (math.pi - math.acos(c_star)) / (2 * math.pi)
    return weight_var * _pair_expectation(_tanh_d1, _tanh_d1, q_star, c_star)


def chi_q(activation: str, weight_var: float, bias_var: float) -> float:
    """``chi_q = weight_var * E[phi'(u)^2 + phi(u) phi''(u)]`` at ``q*``: the q-map's slope."""
    _activation(activation)
    weight_var, bias_var = _variances(weight_var, bias_var)
    q_star = _q_star(activation, weight_var, bias_var)
    if activation == "relu":
        return weight_var / 2.0

    def integrand(u: np.ndarray) -> np.ndarray:
        t = np.tanh(u)
        return (1 - t ** 2) ** 2 - 2 * t ** 2 * (1 - t ** 2)

    return weight_var * gaussian_expectation(integrand, q_star)


def depth_scales(activation: str, weight_var: float, bias_var: float) -> tuple[float, float]:
    """``(xi_q, xi_c) = (-1 / log chi_q, -1 / log chi_c)``, the depth scales of q and c.

    ``xi_c`` is infinite at the boundary ``chi_c = 1`` (returned as ``inf``).
    """
    out = []
    for chi in (chi_q(activation, weight_var, bias_var),
                chi_c(activation, weight_var, bias_var)):
        out.append(math.inf if abs(math.log(chi)) < 1e-15 else -1.0 / math.log(chi))
    return out[0], out[1]


def critical_weight_var(activation: str, bias_var: float,
                        bracket: tuple[float, float] = (1.0, 4.0)) -> float:
    """The ``weight_var`` at which ``chi_1 = 1`` for the given ``bias_var`` (the critical line).

    For the ReLU it is 2 (only for ``bias_var = 0`` is there then a fixed point ``q*``). For tanh
    it is found by Brent's method inside ``bracket``.
    """
    _activation(activation)
    _variances(1.0, bias_var)
    if activation == "relu":
        return 2.0
    lo, hi = bracket
    if not 0 < lo < hi:
        raise ValueError(f"bracket must be (lo, hi) with 0 < lo < hi, got {bracket!r}.")
    return float(brentq(lambda v: chi_1("tanh", v, bias_var) - 1.0, lo, hi, xtol=1e-12))


class BatchedMLP(nn.Module):
    """``M`` independent fully connected networks of the same shape, evaluated in one batch.

    Network ``m`` computes ``h_1 = x W_1[m] + b_1[m]``, ``h_(l+1) = phi(h_l) W_(l+1)[m] +
    b_(l+1)[m]`` for ``l < depth`` and the output ``phi(h_depth) V[m] + a[m]``. At
    initialization the entries of ``W_l[m]`` are ``N(0, weight_vars[m] / fan_in)``, those of
    ``b_l[m]`` ``N(0, bias_var)``; the read-out ``V[m]`` is ``N(0, 1 / width)`` and ``a[m] = 0``.

    Args:
        in_dim: input dimension ``d``.
        width: units per hidden layer ``N``.
        depth: number of hidden layers (pre-activations ``h_1..h_depth``).
        out_dim: output dimension (0 for no read-out).
        weight_vars: ``sigma_w^2`` of each network, length ``M``.
        bias_var: ``sigma_b^2``, shared by all networks.
        activation: ``"tanh"`` or ``"relu"``.
        generator: the source of randomness of the initialization.
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int,
                 weight_vars: Sequence[float], bias_var: float, activation: str = "tanh", *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        in_dim = positive_int("in_dim", in_dim)
        width = positive_int("width", width)
        depth = positive_int("depth", depth)
        if isinstance(out_dim, bool) or not isinstance(out_dim, int) or out_dim < 0:
            raise ValueError(f"out_dim must be a non-negative integer, got {out_dim!r}.")
        self.activation = _activation(activation)
        sw2 = torch.as_tensor(np.asarray(weight_vars, dtype=float), dtype=torch.float32)
        if sw2.ndim != 1 or len(sw2) == 0 or not bool(torch.all(sw2 > 0)):
            raise ValueError(f"weight_vars must be a non-empty 1-D sequence of positive numbers, "
                             f"got {weight_vars!r}.")
        _variances(1.0, bias_var)
        m = len(sw2)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for layer in range(depth):
            fan_in = in_dim if layer == 0 else width
            w = torch.randn(m, fan_in, width, generator=generator)
            w = w * (sw2 / fan_in).sqrt()[:, None, None]
            b = torch.randn(m, 1, width, generator=generator) * math.sqrt(bias_var)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        self.readout: nn.Parameter | None = None
        self.readout_bias: nn.Parameter | None = None
        if out_dim:
            self.readout = nn.Parameter(torch.randn(m, width, out_dim, generator=generator)
                                        / math.sqrt(width))
            self.readout_bias = nn.Parameter(torch.zeros(m, 1, out_dim))
        self.n_models = m

    def _phi(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) if self.activation == "tanh" else torch.relu(h)

    def _expand(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x.unsqueeze(0).expand(self.n_models, -1, -1)
        if x.ndim == 3 and x.shape[0] == self.n_models:
            return x
        raise ValueError(f"x must have shape (B, d) or (M, B, d) with M = {self.n_models}, "
                         f"got {tuple(x.shape)}.")

    def preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The pre-activations ``h_1..h_depth``, each of shape ``(M, B, width)``.

        ``x`` has shape ``(B, d)`` (the same inputs for every network) or ``(M, B, d)``.
        """
        h = torch.baddbmm(self.biases[0], self._expand(x), self.weights[0])
        out = [h]
        for w, b in zip(list(self.weights)[1:], list(self.biases)[1:], strict=True):
            h = torch.baddbmm(b, self._phi(h), w)
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of shape ``(M, B, out_dim)`` for inputs of shape ``(B, d)`` or ``(M, B, d)``."""
        if self.readout is None or self.readout_bias is None:
            raise ValueError("this BatchedMLP has no read-out (out_dim=0): use preactivations.")
        h = torch.baddbmm(self.biases[0], self._expand(x), self.weights[0])
        for w, b in zip(list(self.weights)[1:], list(self.biases)[1:], strict=True):
            h = torch.baddbmm(b, self._phi(h), w)
        return torch.baddbmm(self.readout_bias, self._phi(h), self.readout)

    def single(self, m: int) -> nn.Sequential:
        """Network ``m`` as an ordinary ``nn.Sequential`` of ``nn.Linear`` layers (a copy)."""
        if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < self.n_models:
            raise ValueError(f"m must be an integer in [0, {self.n_models}), got {m!r}.")
        act = nn.Tanh if self.activation == "tanh" else nn.ReLU
        layers: list[nn.Module] = []
        pairs = list(zip(self.weights, self.biases, strict=True))
        if self.readout is not None and self.readout_bias is not None:
            pairs.append((self.readout, self.readout_bias))
        for i, (w, b) in enumerate(pairs):
            lin = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(w[m].T)
                lin.bias.copy_(b[m, 0])
            if i > 0:
                layers.append(act())
            layers.append(lin)
        return nn.Sequential(*layers)


def random_preactivations(x: torch.Tensor, width: int, depth: int, weight_vars: Sequence[float],
                          bias_var: float, activation: str = "tanh", *,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Pre-activations of ``M`` random networks, drawing one layer's weights at a time.

    The same networks as ``BatchedMLP(d, width, depth, 0, weight_vars, bias_var, activation,
    generator=generator).preactivations(x)`` (the weights are drawn from ``generator`` in the same
    order, so the results agree exactly), but only one layer's ``(M, fan_in, width)`` weights are
    held in memory at a time, so that many wide, deep networks fit in a laptop's memory.

    Args:
        x: inputs of shape ``(B, d)``, the same for every network.
        width, depth, weight_vars, bias_var, activation, generator: as in :class:`BatchedMLP`.

    Returns:
        a tensor of shape ``(M, depth, B, width)``: ``h_1..h_depth`` of every network.
    """
    width = positive_int("width", width)
    depth = positive_int("depth", depth)
    _activation(activation)
    sw2 = torch.as_tensor(np.asarray(weight_vars, dtype=float), dtype=torch.float32)
    if sw2.ndim != 1 or len(sw2) == 0 or not bool(torch.all(sw2 > 0)):
        raise ValueError(f"weight_vars must be a non-empty 1-D sequence of positive numbers, "
                         f"got {weight_vars!r}.")
    _variances(1.0, bias_var)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (B, d), got {tuple(x.shape)}.")
    m = len(sw2)
    phi = torch.tanh if activation == "tanh" else torch.relu
    out = torch.empty(m, depth, x.shape[0], width)
    h = x.unsqueeze(0).expand(m, -1, -1)
    with torch.no_grad():
        for layer in range(depth):
            fan_in = h.shape[-1]
            w = torch.randn(m, fan_in, width, generator=generator)
            w = w * (sw2 / fan_in).sqrt()[:, None, None]
            b = torch.randn(m, 1, width, generator=generator) * math.sqrt(bias_var)
            h = torch.baddbmm(b, h if layer == 0 else phi(h), w)
            out[:, layer] = h
    return out
