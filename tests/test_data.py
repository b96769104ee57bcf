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


# ---------------------------------------------------------------------------------------------
# Values against scikit-learn / the mnist1d package, defaults, boundaries and exact messages.


def test_two_moons_defaults_equal_sklearn_make_moons():
    """Reference: sklearn's make_moons with the documented defaults noise=0.2, seed 0, the first
    n_train rows for training and the rest for testing; float32 features, int64 labels."""
    from sklearn.datasets import make_moons

    s = data.two_moons(30, 10)
    x, y = make_moons(n_samples=40, noise=0.2, random_state=0)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert s.y_test.dtype == np.int64
    np.testing.assert_array_equal(s.x_train, x[:30].astype(np.float32))
    np.testing.assert_array_equal(s.x_test, x[30:].astype(np.float32))
    np.testing.assert_array_equal(s.y_train, y[:30])
    np.testing.assert_array_equal(s.y_test, y[30:])


def test_two_moons_without_noise_lie_on_unit_half_circles():
    """noise=0 is allowed: the upper moon is the unit circle at (0, 0), the lower one the unit
    circle at (1, 0.5) (make_moons' construction)."""
    s = data.two_moons(20, 4, noise=0.0)
    x = np.concatenate([s.x_train, s.x_test]).astype(float)
    y = np.concatenate([s.y_train, s.y_test])
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    assert np.allclose(np.linalg.norm(x - centre, axis=1), 1.0, atol=1e-6)


def test_digits_default_split_and_pixel_scale():
    """Pixels are the 0..16 counts of sklearn's digits divided by 16 (so the maximum is exactly
    1); the default seed is 0 and a seed gives the same split every time."""
    from sklearn.datasets import load_digits

    s = data.digits()
    ref = load_digits()
    assert s.x_train.max() == 1.0 and len(s.y_test) == round(0.25 * 1797) == 449
    x_all = np.concatenate([s.x_train, s.x_test]) * 16
    assert np.allclose(x_all, np.round(x_all), atol=1e-5)  # multiples of 1/16
    zero = data.digits(seed=0)
    np.testing.assert_array_equal(s.y_test, zero.y_test)
    np.testing.assert_array_equal(s.x_train, zero.x_train)
    one, again = data.digits(seed=1), data.digits(seed=1)
    np.testing.assert_array_equal(one.y_train, again.y_train)
    assert not np.array_equal(one.y_train, zero.y_train)
    # every test image is one of sklearn's images with its own label
    images = {tuple(r): t for r, t in zip((ref.data / 16.0).astype(np.float32), ref.target)}
    assert all(images[tuple(r)] == t for r, t in zip(s.x_test[:50], s.y_test[:50]))


def test_mnist1d_defaults_are_the_papers(monkeypatch):
    """mnist1d() asks the generator for the paper's data set: the defaults of
    mnist1d.data.get_dataset_args() (5000 samples, train split 0.8, seed 42). The generator is
    replaced by a recorder so that nothing is generated."""
    from mnist1d.data import get_dataset_args

    seen = []

    def fake(num_samples, train_split, seed):
        seen.append((num_samples, train_split, seed))
        z = np.zeros((1, 40), dtype=np.float32)
        return z, np.zeros(1, dtype=np.int64), z, np.zeros(1, dtype=np.int64)

    monkeypatch.setattr(data, "_mnist1d_cached", fake)
    data.mnist1d()
    args = get_dataset_args()
    assert seen == [(args.num_samples, args.train_split, args.seed)] == [(5000, 0.8, 42)]


def test_corrupt_labels_default_seed_and_full_corruption():
    """The default seed is 0 and each seed is reproducible; fraction=1 (allowed) redraws every
    label uniformly, so about 1/num_classes of them keep their value."""
    y = np.arange(2000) % 7
    z = data.corrupt_labels(y, 0.3, num_classes=7)
    np.testing.assert_array_equal(z, data.corrupt_labels(y, 0.3, num_classes=7, seed=0))
    np.testing.assert_array_equal(data.corrupt_labels(y, 0.3, 7, seed=5),
                                  data.corrupt_labels(y, 0.3, 7, seed=5))
    assert not np.array_equal(z, data.corrupt_labels(y, 0.3, 7, seed=1))
    full = data.corrupt_labels(y, 1.0, num_classes=7, seed=2)
    assert abs((full == y).mean() - 1 / 7) < 0.03  # binomial sd about 0.008
    assert set(np.unique(full)) == set(range(7))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: data.two_moons(0, 10), r"^n_train must be a positive integer, got 0\.$"),
        (lambda: data.two_moons(10, 0), r"^n_test must be a positive integer, got 0\.$"),
        (lambda: data.two_moons(10, 5, noise=-0.1), r"^noise must be non-negative, got -0\.1\.$"),
        (lambda: data.digits(test_fraction=1.5),
         r"^test_fraction must be a number in \[0, 1\], got 1\.5\.$"),
        (lambda: data.mnist1d(num_samples=0), r"^num_samples must be a positive integer, got 0"),
        (lambda: data.mnist1d(num_samples=10, train_split=-0.5),
         r"^train_split must be a number in \[0, 1\], got -0\.5\.$"),
        (lambda: data.corrupt_labels(np.zeros(3), 2.0, 10),
         r"^fraction must be a number in \[0, 1\], got 2\.0\.$"),
        (lambda: data.corrupt_labels(np.zeros(3), 0.5, 0),
         r"^num_classes must be a positive integer, got 0\.$"),
    ],
)
def test_bad_input_exact_messages(call, message):
    """The message starts with the argument's name and says what was expected."""
    with pytest.raises(ValueError, match=message):
        call()
