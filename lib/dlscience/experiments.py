"""Training runs shared by several chapters, so that every page gets the same run from one place.

``mnist1d_mlp`` trains the book's reference classifier: a ReLU MLP on MNIST-1D. The
generalization chapters measure bounds, random-label fitting and double descent on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlscience import data, models, train
from dlscience.runtime import get_device, set_seed


@dataclass
class TrainedClassifier:
    """A trained classifier with its data and its record.

    Attributes:
        model: the network (on the CPU, in eval mode).
        split: the data it was trained on (training labels possibly corrupted).
        history: losses and accuracies recorded during training.
        train_accuracy: final accuracy on ``split.x_train`` / ``split.y_train``.
        test_accuracy: final accuracy on the (clean) test set.
        steps_to_fit: first recorded step at which training accuracy reached 100%, or ``None``.
        corrupted: boolean mask ``(n_train,)`` of the training examples whose label differs from
            the true one (all ``False`` without label noise).
    """

    model: nn.Module
    split: data.Split
    history: train.History
    train_accuracy: float
    test_accuracy: float
    steps_to_fit: int | None
    corrupted: np.ndarray | None = None


def mnist1d_mlp(width: int = 256, depth: int = 2, *, num_samples: int = 5000, steps: int = 3000,
                lr: float = 0.05, batch_size: int = 128, label_noise: float = 0.0,
                seed: int = 0, log_every: int = 100,
                stop_at_full_fit: bool = False) -> TrainedClassifier:
    """Train a ReLU MLP (``depth`` hidden layers of ``width`` units) on MNIST-1D by SGD.

    Args:
        width: hidden units per layer.
        depth: number of hidden layers.
        num_samples: size of the generated MNIST-1D data set (80% train, 20% test).
        steps: SGD steps (momentum 0.9, constant learning rate ``lr``).
        batch_size: minibatch size.
        label_noise: fraction of training labels replaced by uniformly random labels
            (test labels stay clean).
        seed: seeds the data, the label noise, the initialization and the batch order.
        log_every: record losses and accuracies every this many steps.
        stop_at_full_fit: stop as soon as training accuracy reaches 100%.

    Returns:
        a ``TrainedClassifier``. Its history holds ``train_acc`` (against the labels trained
        on) and ``test_acc``; with label noise also, as in Arpit et al. (2017), ``clean_acc``
        (accuracy on the examples whose label is still the true one), ``noisy_acc`` (on the
        corrupted examples, against their random label: how many are memorized) and
        ``noisy_true_acc`` (on the corrupted examples, against their true label).
    """
    if not isinstance(width, int) or width <= 0:
        raise ValueError(f"width must be a positive integer, got {width!r}.")
    if not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"depth must be a positive integer, got {depth!r}.")
    set_seed(seed)
    split = data.mnist1d(num_samples=num_samples, seed=seed)
    y_train = data.corrupt_labels(split.y_train, label_noise, 10, seed=seed) \
        if label_noise > 0 else split.y_train
    corrupted = y_train != split.y_train
    y_true = torch.from_numpy(split.y_train)
    split = data.Split(split.x_train, y_train, split.x_test, split.y_test)
    device = get_device()
    xtr = torch.from_numpy(split.x_train).to(device)
    ytr = torch.from_numpy(split.y_train).to(device)
    xte = torch.from_numpy(split.x_test).to(device)
    yte = torch.from_numpy(split.y_test).to(device)
    model = models.MLP([xtr.shape[1], *[width] * depth, 10], activation="relu", init="he")
    model.to(device)

    mask = torch.from_numpy(corrupted).to(device)
    y_true = y_true.to(device)

    def accuracies(step: int, m: nn.Module) -> dict[str, float]:
        with torch.no_grad():
            pred = m(xtr).argmax(dim=1)
        hit = (pred == ytr).float()
        out = {"train_acc": float(hit.mean()), "test_acc": train.accuracy(m, xte, yte)}
        if label_noise > 0:
            out["clean_acc"] = float(hit[~mask].mean()) if bool((~mask).any()) else float("nan")
            out["noisy_acc"] = float(hit[mask].mean()) if bool(mask.any()) else float("nan")
            out["noisy_true_acc"] = (float((pred[mask] == y_true[mask]).float().mean())
                                     if bool(mask.any()) else float("nan"))
        return out

    history = train.fit(
        model, xtr, ytr, loss_fn=nn.functional.cross_entropy, steps=steps,
        optimizer=torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
        batch_size=batch_size, seed=seed, log_every=log_every, callbacks=(accuracies,),
        stop_when=(lambda h: h["train_acc"][-1] >= 1.0) if stop_at_full_fit else None,
    )
    fitted = np.flatnonzero(history["train_acc"] >= 1.0)
    steps_to_fit = int(history.steps[fitted[0]]) if len(fitted) else None
    model.cpu().eval()
    return TrainedClassifier(
        model=model, split=split, history=history,
        train_accuracy=float(history["train_acc"][-1]),
        test_accuracy=float(history["test_acc"][-1]), steps_to_fit=steps_to_fit,
        corrupted=corrupted,
    )
