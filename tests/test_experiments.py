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
