"""Per-example records, forgetting events and the spectral filter, against values by hand."""

from __future__ import annotations

import numpy as np
import pytest
from dlscience import memorization as mem

# Three examples over five records (rows): by hand,
#   example 0: 0 1 0 1 1 -> forgotten once (record 2), first correct at 1, not unforgettable
#   example 1: 1 1 1 1 1 -> never forgotten, first correct at 0, unforgettable
#   example 2: 0 0 0 0 0 -> never learned: no forgetting, first correct "never" (5)
#   example 3: 1 0 1 0 0 -> forgotten twice
CORRECT = np.array([[0, 1, 0, 1],
                    [1, 1, 0, 0],
                    [0, 1, 0, 1],
                    [1, 1, 0, 0],
                    [1, 1, 0, 0]], dtype=bool)


def test_forgetting_events_by_hand():
    np.testing.assert_array_equal(mem.forgetting_events(CORRECT), [1, 0, 0, 2])


def test_first_correct_and_unforgettable_by_hand():
    np.testing.assert_array_equal(mem.first_correct(CORRECT), [1, 0, 5, 0])
    np.testing.assert_array_equal(mem.unforgettable(CORRECT), [False, True, False, False])


def test_record_checks_its_shape():
    with pytest.raises(ValueError, match="2-D array"):
        mem.forgetting_events(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="booleans"):
        mem.forgetting_events(np.full((2, 2), 0.5))


def test_flip_labels_always_changes_the_label_and_only_the_flipped():
    y = np.arange(1000) % 10
    noisy, flipped = mem.flip_labels(y, 0.3, 10, seed=0)
    assert np.all(noisy[flipped] != y[flipped]) and np.all(noisy[~flipped] == y[~flipped])
    assert abs(flipped.mean() - 0.3) < 0.05
    assert set(np.unique(noisy)) <= set(range(10))
    with pytest.raises(ValueError, match="fraction"):
        mem.flip_labels(y, 1.5, 10, seed=0)


def test_filter_matches_iterated_gd_and_the_eigendecomposition():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 5))
    kernel = a @ a.T
    lam, vecs = np.linalg.eigh(kernel)
    y = rng.normal(size=12)
    eta = 0.9 / lam.max()
    for t in (0, 1, 7, 50):
        closed = vecs @ (mem.gd_fit_filter(lam, eta, t) * (vecs.T @ y))
        np.testing.assert_allclose(mem.kernel_gd_fit(kernel, y, eta, t), closed, atol=1e-10)
    # One step by hand: f_1 = eta K y.
    np.testing.assert_allclose(mem.kernel_gd_fit(kernel, y, eta, 1), eta * kernel @ y)
    assert mem.gd_fit_filter(np.array([0.0, 1.0]), 0.5, 2).tolist() == [0.0, 0.75]


def test_filter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="eta"):
        mem.gd_fit_filter(np.ones(2), 0.0, 3)
    with pytest.raises(ValueError, match="steps"):
        mem.kernel_gd_fit(np.eye(2), np.ones(2), 0.1, -1)
    with pytest.raises(ValueError, match="square"):
        mem.kernel_gd_fit(np.ones((2, 3)), np.ones(2), 0.1, 1)


def test_training_record_shapes_and_learning():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    rec = mem.train_recording_examples(x, y, {"val": (x[:50], y[:50])}, width=32, epochs=5,
                                       batch_size=20, lr=0.1, seed=0)
    assert rec.correct.shape == (6, 200) and rec.correct.dtype == bool
    assert rec.predicted.shape == (6, 200)
    assert np.array_equal(rec.correct, rec.predicted == y)
    assert set(np.unique(rec.predicted)) <= {0, 1}
    assert rec.accuracy["val"].shape == (6,) and rec.train_loss.shape == (6,)
    assert rec.train_loss[-1] < rec.train_loss[0] and rec.correct[-1].mean() > 0.9
    with pytest.raises(ValueError, match="evaluate"):
        mem.train_recording_examples(x, y, {"val": (x[:, :2], y)}, epochs=1)
    with pytest.raises(ValueError, match="width"):
        mem.train_recording_examples(x, y, {}, width=0)
