"""Tests of dlscience.information against scipy and values by hand."""

import math
import warnings

import numpy as np
import pytest
from dlscience import information as inf
from scipy.stats import entropy as scipy_entropy


def _joint(rng, n_x=5, n_y=4):
    p = rng.random((n_x, n_y))
    return p / p.sum()


def test_entropy_matches_scipy_and_hand_values():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7))
    assert inf.entropy(p) == pytest.approx(scipy_entropy(p, base=2), rel=1e-12)
    assert inf.entropy([0.5, 0.5]) == pytest.approx(1.0)
    assert inf.entropy([1.0, 0.0]) == 0.0
    assert inf.entropy(np.full(8, 1 / 8)) == pytest.approx(3.0)


def test_kl_matches_scipy_and_is_infinite_off_support():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    assert inf.kl_divergence(p, q) == pytest.approx(scipy_entropy(p, q, base=2), rel=1e-12)
    assert inf.kl_divergence([0.5, 0.5], [1.0, 0.0]) == float("inf")
    assert inf.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-15)


def test_mutual_information_identities():
    rng = np.random.default_rng(2)
    p = _joint(rng)
    h_x, h_y = inf.entropy(p.sum(1)), inf.entropy(p.sum(0))
    mi = inf.mutual_information(p)
    assert mi == pytest.approx(h_x - inf.conditional_entropy(p), abs=1e-12)
    assert mi == pytest.approx(h_x + h_y - inf.entropy(p), abs=1e-12)
    assert mi > 0
    # independent and copy channels
    assert inf.mutual_information(np.outer([0.3, 0.7], [0.1, 0.9])) == pytest.approx(0, abs=1e-15)
    assert inf.mutual_information(np.diag([0.25, 0.25, 0.5])) == pytest.approx(1.5)


def test_data_processing_on_random_channels():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p_x = rng.dirichlet(np.ones(5))
        k1, k2 = inf.random_channel(5, 4, rng, 0.5), inf.random_channel(4, 6, rng, 0.5)
        assert np.allclose(k1.sum(1), 1)
        i1 = inf.mutual_information(p_x[:, None] * k1)
        i2 = inf.mutual_information(p_x[:, None] * (k1 @ k2))
        assert i2 <= i1 + 1e-12


def test_plugin_and_binned_estimators_known_answers():
    rng = np.random.default_rng(4)
    n = 64
    x = rng.normal(size=(n, 3))
    y = np.arange(n) % 2
    # T = X (distinct rows): I(X;T) = log2 n, I(T;Y) = H(Y) = 1
    i_xt, i_ty = inf.binned_information(x, y, n_bins=10**6)
    assert i_xt == pytest.approx(np.log2(n))
    assert i_ty == pytest.approx(1.0)
    # T constant: both zero
    assert inf.binned_information(np.zeros((n, 2)), y, n_bins=30) == (0.0, 0.0)
    # T = Y: I(X;T) = H(Y) = I(T;Y) = 1
    i_xt, i_ty = inf.binned_information(y.astype(float), y, n_bins=2)
    assert i_xt == pytest.approx(1.0) and i_ty == pytest.approx(1.0)
    # plug-in MI of independent uniform pairs laid out on a grid is 0
    a, b = np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4)
    assert inf.plugin_mutual_information(a, b) == pytest.approx(0.0, abs=1e-12)
    assert inf.plugin_entropy(np.stack([a, b], 1)) == pytest.approx(4.0)


def test_bin_codes_edges():
    codes = inf.bin_codes(np.array([-2.0, -1.0, -0.01, 0.0, 0.99, 1.0, 3.0]), 4, -1.0, 1.0)
    assert codes.tolist() == [0, 0, 1, 2, 3, 3, 3]


def test_information_plane_small_run():
    x = ((np.arange(16)[:, None] >> np.arange(4)) & 1) * 2.0 - 1
    y = (x.sum(1) > 0).astype(int)
    r = inf.information_plane(x, y, (4, 3), "tanh", epochs=20, lr=0.01, seeds=[0, 1],
                              n_checkpoints=5)
    assert r.i_xt.shape == (2, len(r.epochs), 2)
    assert np.all(r.i_xt <= 4 + 1e-12) and np.all(r.i_ty <= r.i_xt + 1e-12)
    assert r.epochs[0] == 0 and r.epochs[-1] == 20
    # binning can only lose what the unbinned layer has: binned <= exact <= log2 n
    assert np.all(r.i_xt <= r.i_xt_exact + 1e-12) and np.all(r.i_xt_exact <= 4 + 1e-12)
    # for tanh the fixed-width bins of width 2/B are the bins on [-1, 1], shifted by B/2
    assert np.allclose(r.i_xt_fixed, r.i_xt)
    assert np.all(r.bin_top == 1.0) and np.all(r.zero_rows == 0.0)


def test_information_plane_exact_entropy_and_relu_merging():
    x = ((np.arange(16)[:, None] >> np.arange(4)) & 1) * 2.0 - 1
    y = (x[:, 0] > 0).astype(int)
    r = inf.information_plane(x, y, (3, 2), "relu", epochs=5, lr=0.01, seeds=[3],
                              n_checkpoints=3)
    h = r.activations[-1]                      # seed 0, last checkpoint, last hidden layer
    # exact I(X;T) is the entropy of the partition of the inputs into equal rows, by hand
    _, counts = np.unique(h, axis=0, return_counts=True)
    p = counts / counts.sum()
    assert r.i_xt_exact[0, -1, -1] == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
    assert r.zero_rows[0, -1, -1] == pytest.approx(np.mean(np.all(h == 0, axis=1)))
    assert r.bin_top[0, -1, -1] == pytest.approx(max(h.max(), 1e-12))
    # fixed-width binning by hand
    codes = np.floor(h / (2 / 30)).astype(int)
    _, counts = np.unique(codes, axis=0, return_counts=True)
    q = counts / counts.sum()
    assert r.i_xt_fixed[0, -1, -1] == pytest.approx(-(q * np.log2(q)).sum(), abs=1e-12)
    # every input with an all-zero row in the layer is merged into one value
    z = r.zero_rows[0, -1, -1]
    if z > 0:
        assert r.i_xt_exact[0, -1, -1] < 4


@pytest.mark.parametrize("call, word", [
    (lambda: inf.entropy([0.5, 0.6]), "sum to 1"),
    (lambda: inf.entropy([-0.5, 1.5]), "non-negative"),
    (lambda: inf.kl_divergence([0.5, 0.5], [1.0]), "same shape"),
    (lambda: inf.mutual_information([0.5, 0.5]), "2-D"),
    (lambda: inf.bin_codes(np.zeros(3), 0, 0.0, 1.0), "n_bins"),
    (lambda: inf.bin_codes(np.zeros(3), 3, 1.0, 1.0), "lo < hi"),
    (lambda: inf.binned_information(np.zeros((3, 1)), [0, 1], 3), "one label"),
    (lambda: inf.binned_information(np.zeros((3, 1)), [0, 1, 0], 3, lo=0.0), "both"),
    (lambda: inf.random_channel(0, 2, np.random.default_rng(0)), "n_in"),
    (lambda: inf.information_plane(np.zeros((2, 1)), np.array([0, 1]), (2,), "tanh", 1, 0.1,
                                   [0], fixed_width=0.0), "fixed_width"),
    (lambda: inf.information_plane(np.zeros((2, 1)), np.array([0, 1]), (2,), "elu", 1, 0.1,
                                   [0]), "activation"),
])
def test_invalid_arguments(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_plugin_mutual_information_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    t = rng.normal(size=(500, 2))
    y = (t[:, 0] + 0.5 * rng.normal(size=500) > 0).astype(int)
    codes = inf.bin_codes(t, 6, -3.0, 3.0)
    labels = inf.row_ids(codes)                      # one label per distinct binned row
    ref_bits = metrics.mutual_info_score(labels, y) / np.log(2)
    assert inf.plugin_mutual_information(codes, y) == pytest.approx(ref_bits, abs=1e-12)
    i_xt, i_ty = inf.binned_information(t, y, 6, lo=-3.0, hi=3.0)
    assert i_ty == pytest.approx(ref_bits, abs=1e-12)
    # I(X;T) of the binned layer is the entropy of its codes, against scipy
    _, counts = np.unique(labels, return_counts=True)
    assert i_xt == pytest.approx(scipy_entropy(counts, base=2), abs=1e-12)


# --- messages, boundaries and dtypes -------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: inf.entropy([]), r"^p must not be empty\.$"),
    (lambda: inf.entropy([0.5, 0.6]), r"^p must sum to 1"),
    (lambda: inf.kl_divergence([0.5, 0.6], [0.5, 0.5]), r"^p must sum to 1"),
    (lambda: inf.kl_divergence([0.5, 0.5], [0.5, 0.6]), r"^q must sum to 1"),
    (lambda: inf.mutual_information([[0.5, 0.6]]), r"^p_xy must sum to 1"),
    (lambda: inf.random_channel(0, 2, np.random.default_rng(0)), r"^n_in must be a positive"),
    (lambda: inf.random_channel(2, 0, np.random.default_rng(0)), r"^n_out must be a positive"),
    (lambda: inf.random_channel(2, 2, np.random.default_rng(0), 0.0),
     r"^concentration must be a positive finite number"),
    (lambda: inf.row_ids(np.zeros(0)), r"^codes must have shape \(n,\) or \(n, d\) with n >= 1"),
    (lambda: inf.row_ids(np.zeros((2, 2, 2))), r"^codes must have shape"),
    (lambda: inf.plugin_mutual_information(np.zeros(3), np.zeros(4)),
     r"^a and b must have the same number of rows, got 3 and 4\.$"),
    (lambda: inf.bin_codes(np.zeros(3), 0, 0.0, 1.0), r"^n_bins must be a positive integer"),
    (lambda: inf.bin_codes(np.zeros(3), 3, -np.inf, 1.0), r"^the bin range needs finite lo < hi"),
    (lambda: inf.bin_codes(np.zeros(3), 3, 0.0, np.inf), r"^the bin range needs finite lo < hi"),
    (lambda: inf.binned_information(np.zeros((2, 2, 2)), [0, 1], 3),
     r"^t must have shape \(n, d\), got \(2, 2, 2\)\.$"),
    (lambda: inf.binned_information(np.zeros((3, 1)), [0, 1, 0], 3, hi=1.0),
     r"^give both lo and hi \(fixed binning\) or neither \(adaptive binning\)\.$"),
])
def test_error_messages_name_the_argument(call, message):
    """Each bad argument is named at the start of the message (anchored match)."""
    with pytest.raises(ValueError, match=message):
        call()


def test_entropy_of_a_point_mass_is_plus_zero():
    """H of a point mass is 0.0, not -0.0 (the sign shows in printed tables)."""
    assert math.copysign(1.0, inf.entropy([1.0, 0.0])) == 1.0
    assert str(inf.entropy([0.0, 1.0, 0.0])) == "0.0"


def test_float32_input_is_computed_in_float64():
    """A float32 distribution (exactly representable) gives the float64 entropy to 1e-15."""
    p32 = np.array([0.5, 0.375, 0.125], dtype=np.float32)
    ref = -(0.5 * np.log2(0.5) + 0.375 * np.log2(0.375) + 0.125 * np.log2(0.125))
    assert inf.entropy(p32) == pytest.approx(ref, rel=1e-15)
    # bin_codes bins the float32 number itself: float32(0.7) = 0.69999998... lies in bin 6 of 10
    t32 = np.array([0.7, 0.9], dtype=np.float32)
    assert inf.bin_codes(t32, 10, 0.0, 1.0).tolist() == [6, 8]
    assert inf.bin_codes(t32, 10, 0.0, 1.0).dtype.kind == "i"


def test_kl_divergence_with_point_masses():
    """KL(p || p) = 0 for a point mass; mass where q has none is inf, without a warning."""
    assert inf.kl_divergence([1.0, 0.0], [1.0, 0.0]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inf.kl_divergence([0.5, 0.5], [1.0, 0.0]) == float("inf")
    # KL([1/2, 1/2] || [1/4, 3/4]) by hand: 1/2 log2 2 + 1/2 log2 (2/3)
    assert inf.kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.5 + 0.5 * np.log2(2 / 3), rel=1e-14)


def test_random_channel_default_is_uniform_dirichlet():
    """Default concentration 1: the rows are numpy's Dirichlet(1, ..., 1) draws (same stream)."""
    k = inf.random_channel(3, 4, np.random.default_rng(7))
    ref = np.random.default_rng(7).dirichlet(np.ones(4), size=3)
    np.testing.assert_array_equal(k, ref)


def test_row_ids_single_row_and_columns():
    """One row is allowed; ids group equal rows, checked by hand."""
    assert inf.row_ids(np.array([[5, 6]])).tolist() == [0]
    ids = inf.row_ids(np.array([[1, 2], [3, 4], [1, 2]]))
    assert ids[0] == ids[2] != ids[1]


# --- information_plane against an independent reference trainer --------------------------------

_BITS = ((np.arange(16)[:, None] >> np.arange(4)) & 1) * 2.0 - 1     # 16 distinct inputs
_LABELS = ((_BITS[:, 0] + _BITS[:, 1] + 0.5 * _BITS[:, 2]) > 0).astype(int)


def _reference_hidden(seed, widths, activation, epochs, lr, optimizer, record):
    """One seed's net trained on its own: the documented init (N(0, 1/fan_in) weights drawn
    from torch.Generator seeded seed * 101 + layer, zero biases), mean cross-entropy, full-batch
    Adam or SGD with momentum 0.9. Returns {epoch: ([hidden activations], logits)}."""
    import torch

    sizes = [_BITS.shape[1], *widths, 2]
    ws, bs = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        g = torch.Generator().manual_seed(seed * 101 + i)
        ws.append((torch.randn(a, b, generator=g, dtype=torch.float64) / math.sqrt(a))
                  .requires_grad_())
        bs.append(torch.zeros(b, dtype=torch.float64, requires_grad=True))
    x = torch.tensor(_BITS, dtype=torch.float64)
    y = torch.tensor(_LABELS, dtype=torch.long)
    act = torch.tanh if activation == "tanh" else torch.relu
    opt = (torch.optim.Adam([*ws, *bs], lr=lr) if optimizer == "adam"
           else torch.optim.SGD([*ws, *bs], lr=lr, momentum=0.9))

    def forward():
        h, hidden = x, []
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if i < len(ws) - 1:
                h = act(h)
                hidden.append(h.detach().numpy().copy())
        return hidden, h

    out = {}
    for epoch in range(epochs + 1):
        if epoch in record:
            hidden, logits = forward()
            out[epoch] = (hidden, logits.detach().numpy())
        if epoch == epochs:
            return out
        opt.zero_grad()
        torch.nn.functional.cross_entropy(forward()[1], y).backward()
        opt.step()
    return out


@pytest.mark.parametrize("activation, optimizer, lr", [("relu", "sgd", 0.2),
                                                       ("tanh", "adam", 0.05)])
def test_information_plane_matches_reference_training(activation, optimizer, lr):
    """Every recorded quantity, at every checkpoint and for every seed, against a net trained
    on its own and binned by hand: codes floor((t - lo) / (hi - lo) * B) clipped to [0, B-1]."""
    seeds, widths, epochs, n_bins = [2, 5, 11], (3, 2), 12, 8
    r = inf.information_plane(_BITS, _LABELS, widths, activation, epochs=epochs, lr=lr,
                              seeds=seeds, n_checkpoints=4, n_bins=n_bins,
                              optimizer=optimizer)
    # geomspace(1, 13, 4) - 1 = 13^(k/3) - 1 = 0, 1.35, 4.53, 12 -> rounded 0, 1, 5, 12
    np.testing.assert_array_equal(r.epochs, [0, 1, 5, 12])
    assert r.epochs.dtype.kind == "i"
    assert r.accuracy.shape == (3, 4) and r.saturated.shape == (3, 4, 2)
    for s, seed in enumerate(seeds):
        ref = _reference_hidden(seed, widths, activation, epochs, lr, optimizer, set(r.epochs))
        for c, epoch in enumerate(r.epochs):
            hidden, logits = ref[epoch]
            assert r.accuracy[s, c] == pytest.approx(np.mean(logits.argmax(1) == _LABELS))
            for layer, h in enumerate(hidden):
                lo, hi = (-1.0, 1.0) if activation == "tanh" else (0.0, max(h.max(), 1e-12))
                codes = np.clip(np.floor((h - lo) / (hi - lo) * n_bins), 0, n_bins - 1)
                _, counts = np.unique(codes, axis=0, return_counts=True)
                assert r.i_xt[s, c, layer] == pytest.approx(
                    scipy_entropy(counts, base=2), abs=1e-12)
                assert (r.i_xt[s, c, layer], r.i_ty[s, c, layer]) == pytest.approx(
                    inf.binned_information(h, _LABELS, n_bins, lo, hi), abs=1e-12)
                edge = (codes == 0) | (codes == n_bins - 1)
                assert r.saturated[s, c, layer] == pytest.approx(edge.mean())
                assert r.bin_top[s, c, layer] == pytest.approx(hi, rel=1e-9)
        if s == 0:
            for got, want in zip(r.activations, ref[epochs][0]):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def _plane(**kw):
    args = dict(x=_BITS[:4], y=np.array([0, 1, 1, 0]), widths=(2,), activation="tanh", epochs=1,
                lr=0.1, seeds=[0])
    return inf.information_plane(**{**args, **kw})


@pytest.mark.parametrize("kw, message", [
    (dict(optimizer="rmsprop"), r"^optimizer must be 'adam' or 'sgd', got 'rmsprop'\.$"),
    (dict(epochs=0), r"^epochs must be a positive integer, got 0\.$"),
    (dict(lr=0.0), r"^lr must be a positive finite number"),
    (dict(n_checkpoints=0), r"^n_checkpoints must be a positive integer"),
    (dict(n_bins=0), r"^n_bins must be a positive integer"),
    (dict(fixed_width=-1.0), r"^fixed_width must be a positive finite number"),
    (dict(widths=()), r"^widths must be a non-empty tuple of positive integers\.$"),
    (dict(widths=(2, 0)), r"^widths\[i\] must be a positive integer"),
    (dict(seeds=[]), r"^seeds must be a non-empty list of seeds\.$"),
    (dict(x=np.zeros(4)), r"^x must have shape \(n, d\) and y shape \(n,\) with labels in "
                          r"\{0, 1\}\.$"),
    (dict(y=np.array([0, 1, 1])), r"^x must have shape \(n, d\)"),
    (dict(y=np.array([0, 1, 2, 0])), r"^x must have shape \(n, d\)"),
])
def test_information_plane_rejects_bad_arguments(kw, message):
    """Each bad argument of the trainer is named at the start of its message."""
    with pytest.raises(ValueError, match=message):
        _plane(**kw)


def test_information_plane_defaults_and_label_dtype():
    """Defaults are n_checkpoints = n_bins = 30, Adam and fixed bins of width 2/30: a run with
    defaults equals one with these values spelled out; int32 labels give the same run; a width
    of 1 is allowed."""
    y = _LABELS
    kw = dict(widths=(1, 3), activation="tanh", epochs=20, lr=0.05, seeds=[4])
    r = inf.information_plane(_BITS, y.astype(np.int32), **kw)
    ref = inf.information_plane(_BITS, y, **kw, n_checkpoints=30, n_bins=30, optimizer="adam",
                                fixed_width=2 / 30)
    for field in ("epochs", "i_xt", "i_ty", "saturated", "accuracy", "i_xt_fixed"):
        np.testing.assert_array_equal(getattr(r, field), getattr(ref, field))
    for a, b in zip(r.activations, ref.activations):
        np.testing.assert_array_equal(a, b)


def test_information_plane_explicit_fixed_width_by_hand():
    """i_xt_fixed with fixed_width = 0.25: entropy of the rows floor(t / 0.25), by hand."""
    r = inf.information_plane(_BITS, _LABELS, (3,), "relu", epochs=3, lr=0.05, seeds=[1],
                              n_checkpoints=2, fixed_width=0.25)
    h = r.activations[0]
    _, counts = np.unique(np.floor(h / 0.25), axis=0, return_counts=True)
    assert r.i_xt_fixed[0, -1, 0] == pytest.approx(scipy_entropy(counts, base=2), abs=1e-12)
