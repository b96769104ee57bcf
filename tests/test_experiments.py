import pytest
from dlscience.experiments import mnist1d_mlp


def test_mnist1d_mlp_fits_and_is_reproducible():
    a = mnist1d_mlp(width=64, num_samples=500, steps=300, seed=0, stop_at_full_fit=True)
    b = mnist1d_mlp(width=64, num_samples=500, steps=300, seed=0, stop_at_full_fit=True)
    assert a.train_accuracy == b.train_accuracy and a.test_accuracy == b.test_accuracy
    assert a.train_accuracy > 0.9
    assert a.test_accuracy > 0.3  # far above chance (0.1)
    with pytest.raises(ValueError, match="width"):
        mnist1d_mlp(width=0)


def test_mnist1d_mlp_tracks_clean_and_corrupted_examples():
    import numpy as np
    from dlscience import data

    r = mnist1d_mlp(width=32, num_samples=500, steps=60, seed=3, label_noise=0.5, log_every=20)
    true = data.mnist1d(num_samples=500, seed=3).y_train
    assert np.array_equal(r.corrupted, r.split.y_train != true)
    assert 0.3 < r.corrupted.mean() < 0.6  # half replaced, a tenth of those by the same label
    h, f = r.history, r.corrupted.mean()
    # the training accuracy is the mixture of the two subsets' accuracies
    assert np.allclose(h["train_acc"], (1 - f) * h["clean_acc"] + f * h["noisy_acc"], atol=1e-6)
    # a prediction cannot equal both the random label and the (different) true label
    assert np.all(h["noisy_acc"] + h["noisy_true_acc"] <= 1 + 1e-9)
    clean = mnist1d_mlp(width=32, num_samples=500, steps=20, seed=3, log_every=20)
    assert not clean.corrupted.any() and "clean_acc" not in clean.history.metrics
