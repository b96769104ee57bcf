import numpy as np
import pytest
from dlscience import data


def test_two_moons_shapes_and_determinism():
    a = data.two_moons(50, 20, seed=1)
    b = data.two_moons(50, 20, seed=1)
    assert a.x_train.shape == (50, 2) and a.x_test.shape == (20, 2)
    assert set(np.unique(a.y_train)) <= {0, 1}
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_digits_split():
    s = data.digits(test_fraction=0.25, seed=0)
    assert s.x_train.shape[1] == 64
    assert len(s.y_train) + len(s.y_test) == 1797
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0


def test_mnist1d_is_generated_locally():
    s = data.mnist1d(num_samples=200, seed=0)
    assert s.x_train.shape == (160, 40) and s.x_test.shape == (40, 40)
    assert s.y_train.dtype == np.int64 and s.y_train.max() <= 9


def test_corrupt_labels_fraction():
    y = np.zeros(10_000, dtype=np.int64)
    z = data.corrupt_labels(y, 0.5, num_classes=10, seed=0)
    # a replaced label equals the old one with probability 1/10
    assert abs((z != y).mean() - 0.45) < 0.02
    np.testing.assert_array_equal(data.corrupt_labels(y, 0.0, 10), y)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: data.two_moons(0, 10), "n_train"),
        (lambda: data.digits(test_fraction=2.0), "test_fraction"),
        (lambda: data.mnist1d(num_samples=-5), "num_samples"),
        (lambda: data.corrupt_labels(np.zeros(3), 1.5, 10), "fraction"),
        (lambda: data.corrupt_labels(np.zeros((3, 2)), 0.5, 10), "y must be a 1-D"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
