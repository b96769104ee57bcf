"""Entropy, mutual information and the binned estimates of the information plane.

Two kinds of functions live here:

* exact quantities of *given* discrete distributions (:func:`entropy`, :func:`kl_divergence`,
  :func:`mutual_information`, :func:`conditional_entropy`, :func:`random_channel`), in bits;
* *plug-in* estimates from samples (:func:`plugin_entropy`, :func:`plugin_mutual_information`)
  and the binning estimator of the information plane (:func:`bin_codes`,
  :func:`binned_information`), as used by Shwartz-Ziv & Tishby (2017) and Saxe et al. (2018),
  together with a small batched trainer that records it layer by layer
  (:func:`information_plane`).

Joint distributions are arrays ``p_xy`` of shape ``(n_x, n_y)``: axis 0 is ``X``, axis 1 is ``Y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .checks import positive_float, positive_int

__all__ = ["entropy", "kl_divergence", "conditional_entropy", "mutual_information",
           "random_channel", "row_ids", "plugin_entropy", "plugin_mutual_information",
           "bin_codes", "binned_information", "InformationPlane", "information_plane"]

_TOL = 1e-9


def _distribution(p: object, name: str) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities.")
    if abs(arr.sum() - 1.0) > 1e-8:
        raise ValueError(f"{name} must sum to 1, sums to {arr.sum():.10g}.")
    return arr


def entropy(p: object) -> float:
    """Shannon entropy ``H(p) = -sum p log2 p`` in bits of a distribution of any shape.

    Args:
        p: probabilities (non-negative, summing to 1); a joint distribution gives the joint
            entropy. Zero entries contribute 0.
    """
    arr = _distribution(p, "p").ravel()
    nz = arr[arr > 0]
    return float(-(nz * np.log2(nz)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def kl_divergence(p: object, q: object) -> float:
    """``KL(p || q) = sum p log2(p / q)`` in bits; ``inf`` when ``p`` puts mass where ``q`` has
    none. ``p`` and ``q`` must have the same shape."""
    a, b = _distribution(p, "p"), _distribution(q, "q")
    if a.shape != b.shape:
        raise ValueError(f"p and q must have the same shape, got {a.shape} and {b.shape}.")
    a, b = a.ravel(), b.ravel()
    m = a > 0
    if np.any(b[m] == 0):
        return float("inf")
    return float((a[m] * np.log2(a[m] / b[m])).sum())


def _joint(p_xy: object) -> np.ndarray:
    arr = _distribution(p_xy, "p_xy")
    if arr.ndim != 2:
        raise ValueError(f"p_xy must be a 2-D joint distribution (n_x, n_y), got shape "
                         f"{arr.shape}.")
    return arr


def conditional_entropy(p_xy: object) -> float:
    """``H(X | Y) = H(X, Y) - H(Y)`` in bits, for a joint ``p_xy`` of shape ``(n_x, n_y)``."""
    arr = _joint(p_xy)
    return entropy(arr) - entropy(arr.sum(axis=0))


def mutual_information(p_xy: object) -> float:
    """``I(X; Y) = KL(p_xy || p_x p_y)`` in bits, for a joint ``p_xy`` of shape ``(n_x, n_y)``."""
    arr = _joint(p_xy)
    return kl_divergence(arr, np.outer(arr.sum(axis=1), arr.sum(axis=0)))


def random_channel(n_in: int, n_out: int, rng: np.random.Generator,
                   concentration: float = 1.0) -> np.ndarray:
    """A random channel ``K[a, b] = P(B = b | A = a)``: rows drawn from a symmetric Dirichlet.

    Args:
        n_in, n_out: sizes of the input and output alphabets.
        rng: the generator to draw from.
        concentration: the Dirichlet parameter (small: nearly deterministic rows).

    Returns:
        An ``(n_in, n_out)`` row-stochastic matrix.
    """
    n_in, n_out = positive_int("n_in", n_in), positive_int("n_out", n_out)
    concentration = positive_float("concentration", concentration)
    return rng.dirichlet(np.full(n_out, concentration), size=n_in)


def row_ids(codes: np.ndarray) -> np.ndarray:
    """Compact integer ids ``0..K-1`` of the distinct rows of ``codes``.

    Args:
        codes: shape ``(n,)`` or ``(n, d)``, any integer or float values.

    Returns:
        Shape ``(n,)``: equal rows get equal ids, different rows different ids.
    """
    arr = np.asarray(codes)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"codes must have shape (n,) or (n, d) with n >= 1, got {arr.shape}.")
    arr = np.ascontiguousarray(arr)
    rows = arr.view(np.dtype((np.void, arr.dtype.itemsize * arr.shape[1]))).ravel()
    return np.unique(rows, return_inverse=True)[1].ravel()


def plugin_entropy(codes: np.ndarray) -> float:
    """The entropy in bits of the empirical distribution of the rows of ``codes`` (each of the
    ``n`` rows has weight ``1/n``)."""
    counts = np.bincount(row_ids(codes))
    return entropy(counts / counts.sum())


def plugin_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """``I(A; B) = H(A) + H(B) - H(A, B)`` in bits of the empirical joint distribution of paired
    samples: row ``i`` of ``a`` goes with row ``i`` of ``b``."""
    ia, ib = row_ids(a), row_ids(b)
    if len(ia) != len(ib):
        raise ValueError(f"a and b must have the same number of rows, got {len(ia)} and "
                         f"{len(ib)}.")
    joint = np.stack([ia, ib], axis=1)
    return plugin_entropy(ia) + plugin_entropy(ib) - plugin_entropy(joint)


def bin_codes(t: np.ndarray, n_bins: int, lo: float, hi: float) -> np.ndarray:
    """The bin index of each entry of ``t`` for ``n_bins`` equal bins covering ``[lo, hi]``.

    Values below ``lo`` go to bin 0, values above ``hi`` to bin ``n_bins - 1`` (the first and
    last bins are closed at the ends).

    Returns:
        Integer array of the shape of ``t``.
    """
    n_bins = positive_int("n_bins", n_bins)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ValueError(f"the bin range needs finite lo < hi, got lo={lo!r}, hi={hi!r}.")
    scaled = (np.asarray(t, dtype=float) - lo) / (hi - lo) * n_bins
    return np.clip(np.floor(scaled), 0, n_bins - 1).astype(np.int64)


def binned_information(t: np.ndarray, y: np.ndarray, n_bins: int,
                       lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    """The binning estimates ``(I(X; T), I(T; Y))`` of a deterministic layer, in bits.

    The inputs ``x_1..x_n`` are taken distinct and equally likely, ``T = bin(t(X))`` with
    ``n_bins`` equal bins on ``[lo, hi]`` (default: the range of ``t``, i.e. adaptive binning).
    Because ``bin(t(X))`` is a function of ``X``, ``I(X; T) = H(T)``; ``I(T; Y)`` is the plug-in
    mutual information of the pairs ``(T_i, y_i)``.

    Args:
        t: activations, shape ``(n, d)`` (row ``i`` is the layer's output on input ``i``).
        y: labels, shape ``(n,)``.
        n_bins: number of bins per unit.
        lo, hi: the bin range; both or neither.
    """
    t = np.asarray(t, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"t must have shape (n, d), got {t.shape}.")
    if len(np.asarray(y)) != len(t):
        raise ValueError(f"y must have one label per row of t: {len(np.asarray(y))} != {len(t)}.")
    if (lo is None) != (hi is None):
        raise ValueError("give both lo and hi (fixed binning) or neither (adaptive binning).")
    if lo is None:
        lo, hi = float(t.min()), float(t.max())
        if hi <= lo:
            hi = lo + 1.0
    codes = bin_codes(t, n_bins, lo, hi)  # type: ignore[arg-type]
    return plugin_entropy(codes), plugin_mutual_information(codes, np.asarray(y))


@dataclass(frozen=True)
class InformationPlane:
    """What :func:`information_plane` records.

    Attributes:
        epochs: the epochs at which the layers were measured, shape ``(C,)``.
        i_xt: binned ``I(X; T_l)`` in bits, shape ``(S, C, L)`` (seeds, checkpoints, layers).
        i_ty: binned ``I(T_l; Y)`` in bits, shape ``(S, C, L)``.
        saturated: fraction of hidden units in the first or last bin, shape ``(S, C, L)``.
        i_xt_exact: the unbinned ``I(X; T_l) = H(T_l)`` in bits, the plug-in entropy of the
            distinct rows of the layer's float64 activations, shape ``(S, C, L)``: the true
            mutual information of the deterministic layer with the ``n`` equally likely inputs.
        i_xt_fixed: ``I(X; T_l)`` binned with bins of a fixed width on the whole real line,
            shape ``(S, C, L)``.
        zero_rows: fraction of the ``n`` inputs on which every unit of the layer is exactly 0,
            shape ``(S, C, L)`` (only ReLU layers can have them).
        bin_top: the upper end of the bin range, shape ``(S, C, L)`` (1 for tanh; the largest
            activation of the layer for ReLU).
        accuracy: training accuracy, shape ``(S, C)``.
        activations: the hidden activations of the first seed at the last checkpoint, one
            ``(n, width)`` array per layer.
    """

    epochs: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    saturated: np.ndarray
    accuracy: np.ndarray
    activations: list[np.ndarray]
    i_xt_exact: np.ndarray
    i_xt_fixed: np.ndarray
    zero_rows: np.ndarray
    bin_top: np.ndarray


def information_plane(x: np.ndarray, y: np.ndarray, widths: tuple[int, ...],
                      activation: Literal["tanh", "relu"], epochs: int, lr: float,
                      seeds: list[int], n_checkpoints: int = 30, n_bins: int = 30,
                      optimizer: Literal["adam", "sgd"] = "adam",
                      fixed_width: float | None = None) -> InformationPlane:
    """Train one MLP per seed (all seeds at once, full batch) and record the binned
    information of every hidden layer over training, in the manner of Saxe et al. (2018).

    The net is ``x -> widths[0] -> ... -> widths[-1] -> 2`` with softmax cross-entropy and
    Gaussian initialisation of variance ``1/fan_in``. Binning: ``tanh`` layers use ``n_bins``
    equal bins on ``[-1, 1]``; ``relu`` layers use ``n_bins`` equal bins on ``[0, max]``, with
    ``max`` the largest activation of that layer at that checkpoint (adaptive). Besides, every
    layer is binned with bins of the fixed width ``fixed_width`` on the whole real line
    (``floor(t / fixed_width)``; recorded in ``i_xt_fixed``) and not binned at all
    (``i_xt_exact``).

    Args:
        x: inputs, shape ``(n, d)``; the inputs must be distinct.
        y: binary labels in ``{0, 1}``, shape ``(n,)``.
        widths: hidden widths.
        activation: ``"tanh"`` or ``"relu"``.
        epochs: number of full-batch steps.
        lr: Adam learning rate.
        seeds: one seed per network (pass them through ``runtime.seeded``).
        n_checkpoints: number of log-spaced checkpoints (epoch 0 and the last included).
        n_bins: bins per unit.
        optimizer: ``"adam"`` or ``"sgd"`` (with momentum 0.9), learning rate ``lr``.
        fixed_width: width of the unbounded fixed bins; default ``2 / n_bins``, the width of
            the tanh bins (for tanh the two binnings then coincide).
    """
    import torch

    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}.")
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}.")
    epochs = positive_int("epochs", epochs)
    lr = positive_float("lr", lr)
    n_checkpoints = positive_int("n_checkpoints", n_checkpoints)
    n_bins = positive_int("n_bins", n_bins)
    width = 2.0 / n_bins if fixed_width is None else positive_float("fixed_width", fixed_width)
    if not widths or any(positive_int("widths[i]", w) < 1 for w in widths):
        raise ValueError("widths must be a non-empty tuple of positive integers.")
    if not seeds:
        raise ValueError("seeds must be a non-empty list of seeds.")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),) or not set(np.unique(y)) <= {0, 1}:
        raise ValueError("x must have shape (n, d) and y shape (n,) with labels in {0, 1}.")

    sizes = [x.shape[1], *widths, 2]
    ws, bs = [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        w = torch.empty(len(seeds), a, b, dtype=torch.float64)
        for s, seed in enumerate(seeds):
            g = torch.Generator().manual_seed(int(seed) * 101 + len(ws))
            w[s] = torch.randn(a, b, generator=g, dtype=torch.float64) / np.sqrt(a)
        ws.append(w.requires_grad_())
        bs.append(torch.zeros(len(seeds), 1, b, dtype=torch.float64, requires_grad=True))
    xt = torch.tensor(x, dtype=torch.float64).expand(len(seeds), -1, -1)
    yt = torch.tensor(y, dtype=torch.long).repeat(len(seeds))
    act = torch.tanh if activation == "tanh" else torch.relu
    params = [*ws, *bs]
    opt = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(params, lr=lr, momentum=0.9))

    def forward() -> tuple[list[torch.Tensor], torch.Tensor]:
        h, hidden = xt, []
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if i < len(ws) - 1:
                h = act(h)
                hidden.append(h)
        return hidden, h

    marks = np.unique(np.round(np.geomspace(1, epochs + 1, n_checkpoints) - 1).astype(int))
    shape = (len(seeds), len(marks), len(widths))
    i_xt, i_ty, sat = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    exact, zero_rows, top = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    fixed = np.zeros(shape)
    acc = np.zeros(shape[:2])
    last: list[np.ndarray] = []
    c = 0
    for epoch in range(epochs + 1):
        if c < len(marks) and epoch == marks[c]:
            with torch.no_grad():
                hidden, out = forward()
            acc[:, c] = (out.argmax(-1).numpy() == y).mean(axis=1)
            for layer, h in enumerate(hidden):
                hs = h.numpy()
                for s in range(len(seeds)):
                    lo, hi = (-1.0, 1.0) if activation == "tanh" else (0.0, max(hs[s].max(), 1e-12))
                    codes = bin_codes(hs[s], n_bins, lo, hi)
                    i_xt[s, c, layer] = plugin_entropy(codes)
                    i_ty[s, c, layer] = plugin_mutual_information(codes, y)
                    sat[s, c, layer] = np.mean((codes == 0) | (codes == n_bins - 1))
                    exact[s, c, layer] = plugin_entropy(hs[s])
                    fixed[s, c, layer] = plugin_entropy(np.floor(hs[s] / width).astype(np.int64))
                    zero_rows[s, c, layer] = np.mean(np.all(hs[s] == 0.0, axis=1))
                    top[s, c, layer] = hi
            if c == len(marks) - 1:
                last = [h[0].numpy().copy() for h in hidden]
            c += 1
        if epoch == epochs:
            break
        opt.zero_grad()
        _, out = forward()
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, 2), yt) * len(seeds)
        loss.backward()
        opt.step()
    return InformationPlane(epochs=marks, i_xt=i_xt, i_ty=i_ty, saturated=sat, accuracy=acc,
                            activations=last, i_xt_exact=exact, i_xt_fixed=fixed,
                            zero_rows=zero_rows, bin_top=top)
