"""Backpropagation written out in NumPy: the reverse-mode loop, gradient checks, checkpointing.

The network is the fully connected one of the lecture, run on a batch of ``n`` examples stored
as rows. With ``z_0 = x`` of shape ``(n, d_0)`` and layers ``i = 1, ..., K``::

    u_i = z_{i-1} W_i^T + b_i        (pre-activation, shape (n, d_i))
    z_i = f_i(u_i)                   (activation, shape (n, d_i))

where ``W_i`` has shape ``(d_i, d_{i-1})`` and ``b_i`` shape ``(d_i,)``. Hidden layers use one
activation and the last layer another (by default the identity). The backward pass starts from
``r_K = dL/dz_K`` and runs, for ``i = K, ..., 1``::

    v_i = f_i'(u_i) * r_i            (elementwise)
    dL/db_i = sum over the batch of v_i
    dL/dW_i = v_i^T z_{i-1}          (the batch sum of the outer products v_i z_{i-1}^T)
    r_{i-1} = v_i W_i

Every activation offered here has a derivative that can be read off its output ``z_i`` alone
(ReLU: ``z > 0``; tanh: ``1 - z**2``; sigmoid: ``z (1 - z)``; identity: 1), so the backward
pass needs only the stored activations ``z_0, ..., z_K``. That makes the memory of
backpropagation easy to count: one stored array per layer, which ``checkpointed_gradients``
reduces to about ``2 sqrt(K)`` by recomputing the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

_FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda u: np.maximum(u, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)),
    "identity": lambda u: u,
}
# Derivative f'(u) written as a function of the output z = f(u).
_DERIVATIVE_FROM_OUTPUT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: (z > 0).astype(z.dtype),
    "tanh": lambda z: 1.0 - z * z,
    "sigmoid": lambda z: z * (1.0 - z),
    "identity": lambda z: np.ones_like(z),
}


def _check_activation(name: str, argument: str) -> None:
    if name not in _FORWARD:
        raise ValueError(f"{argument} must be one of {sorted(_FORWARD)}, got {name!r}.")


def _activations(
    params: list[tuple[np.ndarray, np.ndarray]], activation: str, output: str
) -> list[str]:
    _check_activation(activation, "activation")
    _check_activation(output, "output")
    if len(params) == 0:
        raise ValueError("params must hold at least one layer (W, b), got an empty list.")
    return [activation] * (len(params) - 1) + [output]


def init_params(
    widths: Sequence[int], rng: np.random.Generator, bias_std: float = 0.1, dtype: type = np.float64
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random weights for a network with layer sizes ``widths`` (input first).

    ``W_i`` is Gaussian with standard deviation ``sqrt(2 / d_{i-1})`` (He initialization),
    ``b_i`` Gaussian with standard deviation ``bias_std``.

    Returns:
        a list of ``K = len(widths) - 1`` pairs ``(W_i, b_i)`` of shapes ``(d_i, d_{i-1})`` and
        ``(d_i,)``.
    """
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, (int, np.integer)) or w <= 0 for w in widths):
        raise ValueError(f"widths must list at least two positive integers, got {widths!r}.")
    if bias_std < 0:
        raise ValueError(f"bias_std must be non-negative, got {bias_std!r}.")
    params: list[tuple[np.ndarray, np.ndarray]] = []
    for d_in, d_out in pairwise(widths):
        w = rng.normal(0.0, math.sqrt(2.0 / d_in), size=(d_out, d_in)).astype(dtype)
        b = rng.normal(0.0, bias_std, size=d_out).astype(dtype)
        params.append((w, b))
    return params


def layer(w: np.ndarray, b: np.ndarray, z: np.ndarray, activation: str) -> np.ndarray:
    """One layer of the forward pass: ``f(z W^T + b)`` for a batch ``z`` of shape ``(n, d_in)``.

    Returns an array of shape ``(n, d_out)``.
    """
    _check_activation(activation, "activation")
    if z.ndim != 2 or z.shape[1] != w.shape[1]:
        raise ValueError(
            f"z must have shape (n, {w.shape[1]}) to match W of shape {w.shape}, got {z.shape}."
        )
    return _FORWARD[activation](z @ w.T + b)


def forward(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
) -> list[np.ndarray]:
    """The forward pass, keeping every activation.

    Args:
        params: ``K`` pairs ``(W_i, b_i)``, see ``init_params``.
        x: inputs of shape ``(n, d_0)``.
        activation: nonlinearity of the hidden layers (relu, tanh, sigmoid or identity).
        output: nonlinearity of the last layer.

    Returns:
        ``[z_0, z_1, ..., z_K]`` with ``z_0 = x`` and ``z_i`` of shape ``(n, d_i)``.
    """
    acts = _activations(params, activation, output)
    zs = [x]
    for (w, b), act in zip(params, acts, strict=True):
        zs.append(layer(w, b, zs[-1], act))
    return zs


def backward_layer(
    w: np.ndarray, z_prev: np.ndarray, z: np.ndarray, r: np.ndarray, activation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of the backward pass through layer ``i``.

    Args:
        w: ``W_i``, shape ``(d_i, d_{i-1})``.
        z_prev: ``z_{i-1}``, shape ``(n, d_{i-1})``.
        z: ``z_i``, shape ``(n, d_i)`` (the derivative of the activation is read off it).
        r: ``r_i = dL/dz_i``, shape ``(n, d_i)``.
        activation: the activation of layer ``i``.

    Returns:
        ``(dL/dW_i, dL/db_i, r_{i-1})`` of shapes ``(d_i, d_{i-1})``, ``(d_i,)``,
        ``(n, d_{i-1})``.
    """
    v = _DERIVATIVE_FROM_OUTPUT[activation](z) * r
    return v.T @ z_prev, v.sum(axis=0), v @ w


def backward(
    params: list[tuple[np.ndarray, np.ndarray]],
    zs: Sequence[np.ndarray],
    r_out: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """The reverse-mode loop of backpropagation.

    Args:
        params: ``K`` pairs ``(W_i, b_i)``.
        zs: the activations ``[z_0, ..., z_K]`` returned by ``forward``.
        r_out: ``r_K = dL/dz_K``, shape ``(n, d_K)``.
        activation, output: as in ``forward``.

    Returns:
        ``(grads, r_0)``: ``grads[i-1] = (dL/dW_i, dL/db_i)`` with the shapes of ``params``, and
        ``r_0 = dL/dx`` of shape ``(n, d_0)``.
    """
    acts = _activations(params, activation, output)
    if len(zs) != len(params) + 1:
        raise ValueError(f"zs must hold K + 1 = {len(params) + 1} activations, got {len(zs)}.")
    if r_out.shape != zs[-1].shape:
        raise ValueError(f"r_out must have the shape of z_K, {zs[-1].shape}, got {r_out.shape}.")
    grads: list[tuple[np.ndarray, np.ndarray]] = [None] * len(params)  # type: ignore[list-item]
    r = r_out
    for i in range(len(params) - 1, -1, -1):
        dw, db, r = backward_layer(params[i][0], zs[i], zs[i + 1], r, acts[i])
        grads[i] = (dw, db)
    return grads, r


def mse_loss(z_out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss ``L = sum ||z_K - y||^2 / (2 n)`` and its gradient ``r_K = (z_K - y) / n``.

    Both arrays have shape ``(n, d_K)``.
    """
    if z_out.shape != y.shape:
        raise ValueError(f"y must have the shape of the output, {z_out.shape}, got {y.shape}.")
    diff = z_out - y
    n = z_out.shape[0]
    return float(0.5 * np.sum(diff * diff) / n), diff / n


def loss_and_gradients(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """Forward pass, squared loss (``mse_loss``) and backward pass.

    Returns:
        ``(L, grads)`` with ``grads`` shaped like ``params``.
    """
    zs = forward(params, x, activation, output)
    loss, r = mse_loss(zs[-1], y)
    grads, _ = backward(params, zs, r, activation, output)
    return loss, grads


def loss_value(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
) -> float:
    """The squared loss of ``mse_loss`` at ``params``, by a forward pass only."""
    z = x
    for (w, b), act in zip(params, _activations(params, activation, output), strict=True):
        z = layer(w, b, z, act)
    return mse_loss(z, y)[0]


def flatten(params: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """All weights and biases in one vector (``W_1, b_1, W_2, ...``, row-major)."""
    return np.concatenate([a.ravel() for pair in params for a in pair])


def unflatten(
    theta: np.ndarray, like: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inverse of ``flatten``: ``theta`` cut into arrays shaped like ``like``."""
    sizes = [a.size for pair in like for a in pair]
    if theta.ndim != 1 or theta.size != sum(sizes):
        raise ValueError(
            f"theta must be a vector of {sum(sizes)} entries, got shape {theta.shape}."
        )
    out: list[tuple[np.ndarray, np.ndarray]] = []
    k = 0
    for w, b in like:
        w_new = theta[k : k + w.size].reshape(w.shape)
        k += w.size
        b_new = theta[k : k + b.size].reshape(b.shape)
        k += b.size
        out.append((w_new, b_new))
    return out


def finite_difference_gradient(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    h: float,
    indices: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
) -> np.ndarray:
    """Central differences ``(L(theta + h e_j) - L(theta - h e_j)) / (2 h)``.

    Args:
        params, x, y, activation, output: as in ``loss_and_gradients``.
        h: the step, positive.
        indices: which coordinates ``j`` of ``flatten`` (params) to differentiate.

    Returns:
        the estimates, one per index, shape ``(len(indices),)``.
    """
    if not h > 0:
        raise ValueError(f"h must be positive, got {h!r}.")
    theta = flatten(params)
    indices = np.asarray(indices)
    if indices.ndim != 1 or (indices.size and (indices.min() < 0 or indices.max() >= theta.size)):
        raise ValueError(f"indices must be a vector of coordinates in [0, {theta.size}).")
    out = np.empty(len(indices))
    for k, j in enumerate(indices):
        plus, minus = theta.copy(), theta.copy()
        plus[j] += h
        minus[j] -= h
        out[k] = (
            loss_value(unflatten(plus, params), x, y, activation, output)
            - loss_value(unflatten(minus, params), x, y, activation, output)
        ) / (2 * h)
    return out


@dataclass(frozen=True)
class CheckpointStats:
    """What checkpointing cost.

    Attributes:
        peak_stored: the largest number of activation arrays ``z_i`` held at once.
        forward_layers: layer evaluations in the forward pass and recomputations together (plain
            backpropagation needs ``K``).
    """

    peak_stored: int
    forward_layers: int


def checkpointed_gradients(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    every: int,
    activation: str = "tanh",
    output: str = "identity",
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]], CheckpointStats]:
    """Backpropagation that stores only every ``every``-th activation and recomputes the rest.

    The forward pass keeps ``z_0, z_every, z_{2 every}, ...`` and the output ``z_K``. The
    backward pass walks the segments from the top; for each it recomputes the activations
    inside the segment from the checkpoint at its bottom, runs ``backward_layer`` through
    the segment, and frees them. The gradients are the same numbers as those of
    ``loss_and_gradients`` (the same operations in the same order).

    Args:
        params, x, y, activation, output: as in ``loss_and_gradients``.
        every: the segment length ``k``, between 1 (store everything) and ``K``.

    Returns:
        ``(L, grads, stats)``; ``stats.peak_stored`` is at most ``ceil(K / k) + k`` and
        ``stats.forward_layers`` is ``2 K - ceil(K / k)``.
    """
    n_layers = len(params)
    acts = _activations(params, activation, output)
    if (
        isinstance(every, bool)
        or not isinstance(every, (int, np.integer))
        or not (1 <= every <= n_layers)
    ):
        raise ValueError(f"every must be an integer between 1 and K = {n_layers}, got {every!r}.")
    stored: dict[int, np.ndarray] = {0: x}
    peak, evals = 1, 0
    z = x
    for i in range(1, n_layers + 1):
        z = layer(*params[i - 1], z, acts[i - 1])
        evals += 1
        if i % every == 0 or i == n_layers:
            stored[i] = z
            peak = max(peak, len(stored))
    loss, r = mse_loss(z, y)
    grads: list[tuple[np.ndarray, np.ndarray]] = [None] * n_layers  # type: ignore[list-item]
    tops = sorted(i for i in stored if i > 0)
    for top in reversed(tops):
        bottom = max(i for i in stored if i < top)
        for i in range(bottom + 1, top):  # recompute the inside of the segment
            stored[i] = layer(*params[i - 1], stored[i - 1], acts[i - 1])
            evals += 1
            peak = max(peak, len(stored))
        for i in range(top, bottom, -1):
            dw, db, r = backward_layer(params[i - 1][0], stored[i - 1], stored[i], r, acts[i - 1])
            grads[i - 1] = (dw, db)
            del stored[i]  # z_i is no longer needed
    return loss, grads, CheckpointStats(peak_stored=peak, forward_layers=evals)


def to_torch_mlp_loss(
    params: list[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "tanh",
    output: str = "identity",
):
    """The same network and loss in PyTorch, for comparison with autograd.

    Returns:
        ``(loss, leaves)``: a scalar tensor and the list of leaf tensors ``[W_1, b_1, W_2, ...]``
        (float64, ``requires_grad=True``); call ``loss.backward()`` and read ``leaf.grad``.
    """
    import torch

    fns = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "identity": lambda t: t,
    }
    acts = _activations(params, activation, output)
    leaves = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) for pair in params for a in pair
    ]
    z = torch.tensor(x, dtype=torch.float64)
    for i, act in enumerate(acts):
        z = fns[act](z @ leaves[2 * i].T + leaves[2 * i + 1])
    target = torch.tensor(y, dtype=torch.float64)
    loss = 0.5 * ((z - target) ** 2).sum() / x.shape[0]
    return loss, leaves


def relative_errors(reference: np.ndarray, approx: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-coordinate relative errors ``|g - a| / max(|g| + |a|, floor)`` of a gradient check.

    This is the symmetric test used to compare a gradient ``g`` with an estimate ``a`` (for
    instance central finite differences): unlike an error divided by the largest entry, it is
    small only if *every* coordinate agrees to that relative precision, small ones included. It
    lies in ``[0, 1]`` when ``floor`` is 0, and equals 1 when the two entries differ in sign.
    ``floor`` keeps coordinates whose true value is below what the estimate can resolve from
    dominating: they are then compared in absolute terms, ``|g - a| / floor``. Coordinates where
    both entries are exactly zero have error 0.

    Args:
        reference, approx: arrays of the same shape.
        floor: non-negative lower bound on the denominator.

    Returns:
        an array of the shape of the inputs.
    """
    reference, approx = np.asarray(reference, dtype=float), np.asarray(approx, dtype=float)
    if reference.shape != approx.shape:
        raise ValueError(f"approx must have the shape of reference, {reference.shape}, got "
                         f"{approx.shape}.")
    if not floor >= 0:
        raise ValueError(f"floor must be non-negative, got {floor!r}.")
    diff = np.abs(reference - approx)
    denom = np.maximum(np.abs(reference) + np.abs(approx), floor)
    out = np.zeros_like(diff)
    np.divide(diff, denom, out=out, where=denom > 0)
    return out


def matmul_flops(widths: Sequence[int], batch: int, input_grad: bool = False) -> tuple[int, int]:
    """Floating-point operations in the matrix products of one forward and one backward pass.

    A product of an ``(m, k)`` by a ``(k, p)`` matrix counts ``2 m k p`` operations (one multiply
    and one add per multiply-add), the convention of ``torch.utils.flop_counter``. The forward
    pass of layer ``i`` does one product ``z_{i-1} W_i^T`` (``2 n d_{i-1} d_i``); its backward
    pass does two of the same size, ``v_i^T z_{i-1}`` for ``dL/dW_i`` and ``v_i W_i`` for
    ``r_{i-1}``, except that ``r_0 = v_1 W_1`` is computed only when ``input_grad`` is true
    (:func:`backward` always computes it; autograd skips it when the input does not require a
    gradient). Not counted: bias additions, activations and their derivatives, the products with
    ``r_i`` and the batch sums giving ``dL/db_i``, all ``O(n d_i)`` per layer.

    Args:
        widths: layer sizes ``d_0, ..., d_K``.
        batch: the number of examples ``n``.
        input_grad: whether the backward pass computes ``dL/dx``.

    Returns:
        ``(forward, backward)`` operation counts.
    """
    widths = list(widths)
    if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, (int, np.integer))
                              or w <= 0 for w in widths):
        raise ValueError(f"widths must list at least two positive integers, got {widths!r}.")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch <= 0:
        raise ValueError(f"batch must be a positive integer, got {batch!r}.")
    per_layer = [2 * int(batch) * int(a) * int(b) for a, b in pairwise(widths)]
    forward_ops = sum(per_layer)
    backward_ops = 2 * forward_ops - (0 if input_grad else per_layer[0])
    return forward_ops, backward_ops
