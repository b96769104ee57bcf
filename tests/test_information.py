"""Tests of dlscience.information against scipy and values by hand."""

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
