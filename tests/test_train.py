import pytest
import torch
from dlscience import models, train


def _problem():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = (x[:, 0] > 0).long()
    return x, y


def test_fit_decreases_loss_and_records_callbacks():
    x, y = _problem()
    net = models.MLP([3, 16, 2])
    hist = train.fit(net, x, y, loss_fn=torch.nn.functional.cross_entropy,
                     optimizer=torch.optim.SGD(net.parameters(), lr=0.5), steps=50,
                     log_every=10, callbacks=(lambda s, m: {"acc": train.accuracy(m, x, y)},))
    assert hist.steps == [0, 10, 20, 30, 40, 50]
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["acc"][-1] > 0.9
    with pytest.raises(KeyError, match="no metric"):
        hist["nope"]


def test_fit_minibatches_and_early_stop_are_deterministic():
    x, y = _problem()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        net = models.MLP([3, 16, 2])
        runs.append(train.fit(net, x, y, loss_fn=torch.nn.functional.cross_entropy,
                              optimizer=torch.optim.SGD(net.parameters(), lr=0.5), steps=40,
                              batch_size=8, seed=3, log_every=5,
                              stop_when=lambda h: h["loss"][-1] < 0.3))
    assert runs[0].metrics == runs[1].metrics
    # It stops at the first record below 0.3 (step 5 here), not before and not at the end.
    losses = list(runs[0]["loss"])
    assert runs[0].steps == [0, 5]
    assert losses[-1] < 0.3 and all(v >= 0.3 for v in losses[:-1])
    # Without the predicate the same run goes on to step 40.
    torch.manual_seed(1)
    net = models.MLP([3, 16, 2])
    full = train.fit(net, x, y, loss_fn=torch.nn.functional.cross_entropy,
                     optimizer=torch.optim.SGD(net.parameters(), lr=0.5), steps=40,
                     batch_size=8, seed=3, log_every=5)
    assert full.steps[-1] == 40 and list(full["loss"])[:2] == losses


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"steps": 0}, "steps"), ({"steps": 5, "batch_size": 100}, "batch_size"),
     ({"steps": 5, "log_every": 0}, "log_every")],
)
def test_fit_bad_input(kwargs, name):
    x, y = _problem()
    net = models.MLP([3, 4, 2])
    with pytest.raises(ValueError, match=name):
        train.fit(net, x, y, loss_fn=torch.nn.functional.cross_entropy,
                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1), **kwargs)
