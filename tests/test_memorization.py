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


def test_integer_records_are_read_as_booleans():
    """A 0/1 integer record gives the same counts as the boolean one (values by hand above)."""
    as_int = CORRECT.astype(np.int64)
    np.testing.assert_array_equal(mem.forgetting_events(as_int), [1, 0, 0, 2])
    np.testing.assert_array_equal(mem.first_correct(as_int), [1, 0, 5, 0])
    np.testing.assert_array_equal(mem.unforgettable(as_int), [False, True, False, False])


def test_a_single_record_is_valid():
    """One record (e.g. only the initialization): nothing forgotten, first correct 0 or 1."""
    one = np.array([[1, 0, 1]])
    np.testing.assert_array_equal(mem.forgetting_events(one), [0, 0, 0])
    np.testing.assert_array_equal(mem.first_correct(one), [0, 1, 0])
    np.testing.assert_array_equal(mem.unforgettable(one), [True, False, True])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((0, 3), dtype=bool),
     r"^correct must be a 2-D array of shape \(records, examples\), got shape \(0, 3\)\.$"),
    (np.ones(3, dtype=bool), r"^correct must be a 2-D array of shape \(records, examples\)"),
    (np.array([[0, 1], [2, 1]]),
     r"^correct must hold booleans \(or 0/1\), one per record and example\.$"),
    (np.array([[0, 1], [-1, 1]]), r"^correct must hold booleans"),
])
def test_bad_records_have_exact_messages(bad, message):
    """Empty, 1-D and non-0/1 records are rejected with the message a reader sees."""
    with pytest.raises(ValueError, match=message):
        mem.forgetting_events(bad)


def test_flip_labels_edge_fractions_and_two_classes():
    """fraction 0 flips nothing, fraction 1 flips all; with 2 classes a flip is 1 - y."""
    y = np.array([0, 1, 1, 0, 1])
    same, none = mem.flip_labels(y, 0.0, 2, seed=3)
    assert not none.any() and np.array_equal(same, y)
    other, every = mem.flip_labels(y, 1.0, 2, seed=3)
    assert every.all() and np.array_equal(other, 1 - y)


def test_flip_labels_new_label_is_uniform_over_the_other_classes():
    """Each shift (new - old) mod 10 in 1..9 is equally likely: 1000 flips over 9 shifts give
    about 111 each (binomial sd ~10), so each count lies well inside [60, 170]."""
    y = np.arange(1000) % 10
    noisy, flipped = mem.flip_labels(y, 1.0, 10, seed=5)
    assert flipped.all()
    counts = np.bincount((noisy - y) % 10, minlength=10)
    assert counts[0] == 0
    assert np.all((counts[1:] > 60) & (counts[1:] < 170))


def test_flip_labels_is_reproducible_from_its_seed():
    """The same seed gives the same labels; another seed gives other ones."""
    y = np.arange(200) % 5
    a, fa = mem.flip_labels(y, 0.5, 5, seed=11)
    b, fb = mem.flip_labels(y, 0.5, 5, seed=11)
    c, fc = mem.flip_labels(y, 0.5, 5, seed=12)
    assert np.array_equal(a, b) and np.array_equal(fa, fb)
    assert not np.array_equal(fa, fc)


@pytest.mark.parametrize("args, message", [
    ((np.zeros((2, 2)), 0.5, 3), r"^y must be a 1-D array of labels, got shape \(2, 2\)\.$"),
    ((np.zeros(4), -0.1, 3), r"^fraction must be in \[0, 1\], got -0\.1\.$"),
    ((np.zeros(4), 0.5, 0), r"^num_classes must be a positive integer, got 0\.$"),
    ((np.zeros(4), 0.5, 1), r"^num_classes must be at least 2 to flip a label\.$"),
])
def test_flip_labels_bad_arguments_have_exact_messages(args, message):
    """Each bad argument of flip_labels is named in its ValueError."""
    with pytest.raises(ValueError, match=message):
        mem.flip_labels(*args, seed=0)


@pytest.fixture
def one_torch_thread():
    """Run a test's many tiny torch steps on one thread (much faster on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _reference_training(x, y, xe, ye, width, depth, epochs, batch_size, lr, momentum, seed):
    """An independent plain-torch rendering of the documented training loop."""
    import torch
    from torch import nn

    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    xv, yv = torch.tensor(xe, dtype=torch.float32), torch.tensor(ye, dtype=torch.int64)
    torch.manual_seed(seed)
    dims = [x.shape[1]] + [width] * depth
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(dims[-1], int(max(y.max(), ye.max())) + 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    losses, preds, accs = [], [], []

    def snapshot():
        with torch.no_grad():
            logits = model(xt)
            preds.append(logits.argmax(1).numpy())
            losses.append(float(nn.functional.cross_entropy(logits, yt)))
            accs.append(float((model(xv).argmax(1) == yv).float().mean()))

    snapshot()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for batch in order.split(batch_size):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
            opt.step()
        snapshot()
    return np.array(losses), np.array(preds), np.array(accs)


def test_training_matches_a_plain_torch_reference(one_torch_thread):
    """Loss, predictions and eval accuracy equal a plain-torch loop with the same seeds
    (10 examples in batches 4, 4, 2; momentum on). Inputs are float64 / int32 on purpose:
    the function converts them."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 3))
    y = (rng.random(10) < 0.5).astype(np.int32) + (x[:, 0] > 1)
    xe, ye = rng.normal(size=(7, 3)), np.array([0, 1, 2, 1, 0, 1, 1], dtype=np.int32)
    kw = dict(width=8, depth=2, epochs=4, batch_size=4, lr=0.2, momentum=0.9, seed=4)
    rec = mem.train_recording_examples(x, y, {"val": (xe, ye)}, **kw)
    loss, pred, acc = _reference_training(x, y, xe, ye, **kw)
    np.testing.assert_allclose(rec.train_loss, loss, rtol=1e-6)
    np.testing.assert_array_equal(rec.predicted, pred)
    np.testing.assert_array_equal(rec.correct, pred == y)
    np.testing.assert_allclose(rec.accuracy["val"], acc, rtol=1e-6)
    assert len(set(np.round(rec.train_loss, 6))) == 5  # the model does change every epoch


def test_training_defaults_are_the_documented_ones(one_torch_thread):
    """Called with defaults, training equals the call spelling out the signature's values
    (width 256, depth 2, 60 epochs, batch 32, lr 0.05, momentum 0.9, seed 0). 33 examples, so
    that batch size 32 gives batches of 32 and 1."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(33, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    ev = {"val": (x[:5], y[:5])}
    rec = mem.train_recording_examples(x, y, ev)
    ref = mem.train_recording_examples(x, y, ev, width=256, depth=2, epochs=60, batch_size=32,
                                       lr=0.05, momentum=0.9, seed=0)
    assert rec.correct.shape == (61, 33)
    np.testing.assert_array_equal(rec.train_loss, ref.train_loss)
    np.testing.assert_array_equal(rec.predicted, ref.predicted)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"width": 0}, ValueError, r"^width must be a positive integer, got 0\.$"),
    ({"depth": 0}, ValueError, r"^depth must be a positive integer, got 0\.$"),
    ({"epochs": 0}, ValueError, r"^epochs must be a positive integer, got 0\.$"),
    ({"batch_size": 0}, ValueError, r"^batch_size must be a positive integer, got 0\.$"),
    ({"lr": 0.0}, ValueError, r"^lr must be positive, got 0\.0\.$"),
    ({"y_train": np.zeros(4, dtype=int)}, ValueError,
     r"^x_train must be \(n, d\) and y_train \(n,\), got \(5, 2\) and \(4,\)\.$"),
    ({"evaluate": [(np.zeros((1, 2)), np.zeros(1))]}, TypeError,
     r"^evaluate must be a dict \{name: \(x, y\)\} of evaluation sets\.$"),
])
def test_training_bad_arguments_have_exact_messages(kwargs, error, message):
    """Each bad argument is named in the error, before any training."""
    args = {"x_train": np.zeros((5, 2)), "y_train": np.zeros(5, dtype=int), "evaluate": {},
            "epochs": 1, **kwargs}
    with pytest.raises(error, match=message):
        mem.train_recording_examples(**args)


def test_filter_is_computed_in_double_precision():
    """float32 eigenvalues still give the float64 closed form 1 - (1 - 0.3 lam)^5."""
    lam32 = np.array([0.1, 2.0], dtype=np.float32)
    lam = lam32.astype(np.float64)
    out = mem.gd_fit_filter(lam32, 0.3, 5)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, 1.0 - (1.0 - 0.3 * lam) ** 5, rtol=1e-14)


@pytest.mark.parametrize("steps", [-1, 1.5, 2.0, True])
def test_steps_must_be_a_non_negative_integer(steps):
    """Negative, fractional, float-typed and boolean step counts are all rejected, by name."""
    message = rf"^steps must be a non-negative integer, got {steps!r}\.$"
    with pytest.raises(ValueError, match=message):
        mem.gd_fit_filter(np.ones(2), 0.1, steps)
    with pytest.raises(ValueError, match=message):
        mem.kernel_gd_fit(np.eye(2), np.ones(2), 0.1, steps)


def test_kernel_gd_fit_checks_rows_and_returns_floats():
    """y must have one row per kernel row; integer targets still give float fits (0 steps: 0)."""
    with pytest.raises(ValueError, match=r"^y must have 2 rows like the kernel, got 3\.$"):
        mem.kernel_gd_fit(np.eye(2), np.ones(3), 0.1, 1)
    f0 = mem.kernel_gd_fit(np.eye(2, dtype=int), np.array([1, 2]), 0.5, 0)
    assert f0.dtype == np.float64 and f0.tolist() == [0.0, 0.0]
    # K = I, eta = 0.5: f_t = (1 - 0.5^t) y, so two steps give 0.75 y.
    f2 = mem.kernel_gd_fit(np.eye(2, dtype=int), np.array([1, 2]), 0.5, 2)
    assert f2.tolist() == [0.75, 1.5]
