import numpy as np
import pytest
import torch
from dlscience import data, experiments, models, train
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


# --- defaults, argument checks, label-noise bookkeeping and the returned record -----------------

class _Stop(Exception):
    """Raised by the spy of train.fit: the test only needs what training was asked to do."""


def _spy_training(monkeypatch) -> dict:
    """Record what mnist1d_mlp asks of set_seed, the data, the model and train.fit.

    The data set is replaced by a 50-example one (the requested size is recorded) and fit stops
    the run before any step.
    """
    calls: dict = {}
    real_mnist1d, real_mlp = data.mnist1d, models.MLP

    def mnist1d(num_samples: int = 5000, seed: int = 42, **kw: object) -> data.Split:
        calls["data"] = {"num_samples": num_samples, "seed": seed, **kw}
        return real_mnist1d(num_samples=50, seed=0)

    def mlp(widths: list[int], **kw: object) -> torch.nn.Module:
        calls["widths"] = list(widths)
        return real_mlp(widths, **kw)

    def fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, **kw: object) -> None:
        calls["fit"] = kw
        calls["devices"] = {x.device.type, y.device.type,
                            *(p.device.type for p in model.parameters())}
        raise _Stop

    monkeypatch.setattr(experiments, "set_seed", lambda seed: calls.setdefault("set_seed", seed))
    monkeypatch.setattr(data, "mnist1d", mnist1d)
    monkeypatch.setattr(models, "MLP", mlp)
    monkeypatch.setattr(train, "fit", fit)
    return calls


def test_mnist1d_mlp_defaults_are_the_documented_run(monkeypatch):
    """With no arguments: 5000 examples, a 256x2 ReLU MLP with 10 outputs, 3000 SGD steps of
    batch 128 (lr 0.05, momentum 0.9), seed 0, a record every 100 steps, no early stop."""
    calls = _spy_training(monkeypatch)
    with pytest.raises(_Stop):
        mnist1d_mlp()
    assert calls["set_seed"] == 0 and calls["data"] == {"num_samples": 5000, "seed": 0}
    assert calls["widths"] == [40, 256, 256, 10]
    fit = calls["fit"]
    assert (fit["steps"], fit["batch_size"], fit["seed"], fit["log_every"]) == (3000, 128, 0, 100)
    assert fit["stop_when"] is None and fit["loss_fn"] is torch.nn.functional.cross_entropy
    group = fit["optimizer"].param_groups[0]
    assert (group["lr"], group["momentum"]) == (0.05, 0.9)


def test_mnist1d_mlp_passes_its_arguments_on(monkeypatch):
    """Explicit arguments reach the data, the model and fit; the early stop fires exactly when
    the last recorded training accuracy is 100%."""
    calls = _spy_training(monkeypatch)
    with pytest.raises(_Stop):
        mnist1d_mlp(width=1, depth=1, num_samples=60, steps=9, lr=0.1, batch_size=4, seed=7,
                    log_every=5, stop_at_full_fit=True)
    assert calls["set_seed"] == 7 and calls["data"] == {"num_samples": 60, "seed": 7}
    assert calls["widths"] == [40, 1, 10]
    fit = calls["fit"]
    assert (fit["steps"], fit["batch_size"], fit["seed"], fit["log_every"]) == (9, 4, 7, 5)
    assert fit["optimizer"].param_groups[0]["lr"] == 0.1
    stop = fit["stop_when"]
    assert stop(train.History([0, 5], {"train_acc": [0.5, 1.0]}))
    assert not stop(train.History([0, 5], {"train_acc": [1.0, 0.975]}))


def test_mnist1d_mlp_trains_on_the_device_of_get_device(monkeypatch):
    """Data and model are moved to get_device() (here PyTorch's meta device stands for CUDA)."""
    calls = _spy_training(monkeypatch)
    monkeypatch.setattr(experiments, "get_device", lambda: torch.device("meta"))
    with pytest.raises(_Stop):
        mnist1d_mlp(width=4, depth=1)
    assert calls["devices"] == {"meta"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"width": 0}, "width must be a positive integer, got 0."),
    ({"width": 1.5}, "width must be a positive integer, got 1.5."),
    ({"depth": 0}, "depth must be a positive integer, got 0."),
    ({"depth": 1.5}, "depth must be a positive integer, got 1.5."),
])
def test_mnist1d_mlp_rejects_bad_width_and_depth(monkeypatch, kwargs, message):
    """0 and non-integers are rejected with the argument's name, before anything is built."""
    _spy_training(monkeypatch)
    with pytest.raises(ValueError) as err:
        mnist1d_mlp(**kwargs)
    assert str(err.value) == message


def _first_fit(history: train.History) -> int | None:
    """The first recorded step with 100% training accuracy, by a plain loop."""
    for step, acc in zip(history.steps, history["train_acc"], strict=True):
        if acc >= 1.0:
            return step
    return None


def test_mnist1d_mlp_record_matches_its_final_model():
    """Stopped at full fit: steps_to_fit is the first fitted record and the last one; the
    reported accuracies are those of the returned (CPU, eval-mode) model, recomputed here."""
    r = mnist1d_mlp(width=32, depth=1, num_samples=50, steps=400, batch_size=8, log_every=10,
                    seed=0, stop_at_full_fit=True)
    h = r.history
    assert r.steps_to_fit is not None and r.steps_to_fit == _first_fit(h) == h.steps[-1] < 400
    assert not r.model.training
    x, y = (torch.from_numpy(a) for a in (r.split.x_train, r.split.y_train))
    xt, yt = (torch.from_numpy(a) for a in (r.split.x_test, r.split.y_test))
    with torch.no_grad():
        assert r.train_accuracy == float((r.model(x).argmax(1) == y).float().mean()) == 1.0
        assert r.test_accuracy == float((r.model(xt).argmax(1) == yt).float().mean())
    assert r.test_accuracy == h["test_acc"][-1] and h["train_acc"][0] < 1.0


def test_mnist1d_mlp_all_labels_corrupted():
    """Seed 3, 16 training examples, label_noise=1: every label is redrawn and differs (checked
    against data.corrupt_labels), so clean_acc is undefined (NaN) and noisy_acc is train_acc."""
    r = mnist1d_mlp(width=8, depth=1, num_samples=20, steps=2, batch_size=8, log_every=1,
                    seed=3, label_noise=1.0)
    true = data.mnist1d(num_samples=20, seed=3).y_train
    np.testing.assert_array_equal(r.split.y_train, data.corrupt_labels(true, 1.0, 10, seed=3))
    assert r.corrupted.all()
    h = r.history
    assert np.isnan(h["clean_acc"]).all() and len(h["clean_acc"]) == 3
    np.testing.assert_array_equal(h["noisy_acc"], h["train_acc"])
    assert r.steps_to_fit == _first_fit(h)


def test_mnist1d_mlp_no_label_actually_corrupted():
    """A tiny positive label_noise that redraws no label: the corrupted subset is empty, so
    noisy_acc and noisy_true_acc are NaN and clean_acc is the training accuracy."""
    r = mnist1d_mlp(width=8, depth=1, num_samples=20, steps=2, batch_size=8, log_every=1,
                    seed=1, label_noise=1e-9)
    assert not r.corrupted.any()
    h = r.history
    assert np.isnan(h["noisy_acc"]).all() and np.isnan(h["noisy_true_acc"]).all()
    assert len(h["noisy_acc"]) == 3
    np.testing.assert_array_equal(h["clean_acc"], h["train_acc"])
