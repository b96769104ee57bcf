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


# ---------------------------------------------------------------------------------------------
# The batches, steps and records of fit against an explicit schedule.


class _BatchRecorder(torch.nn.Module):
    """A linear model whose input is an example index; it records the indices of every
    training batch (the logging evaluations run under no_grad and are not recorded)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(1, 2)
        self.batches: list[list[int]] = []

    def forward(self, x):
        if torch.is_grad_enabled():
            self.batches.append(x[:, 0].long().tolist())
        return self.lin(x)


def _expected_batches(n: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """The documented schedule: a permutation from torch.Generator().manual_seed(seed), cut
    into consecutive batches, a fresh permutation when the next batch would not fit."""
    gen = torch.Generator().manual_seed(seed)
    order, cursor, out = torch.randperm(n, generator=gen), 0, []
    for _ in range(steps):
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        out.append(order[cursor:cursor + batch_size].tolist())
        cursor += batch_size
    return out


def _fit_recorder(n: int = 10, **kwargs):
    torch.manual_seed(0)
    model = _BatchRecorder()
    x = torch.arange(n, dtype=torch.float32)[:, None]
    y = torch.arange(n) % 2
    hist = train.fit(model, x, y, loss_fn=torch.nn.functional.cross_entropy,
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.01), **kwargs)
    return model, hist


@pytest.mark.parametrize(("batch_size", "seed"), [(3, 0), (5, 2), (10, 1), (1, 4)])
def test_fit_minibatch_schedule_matches_the_reference(batch_size, seed):
    """Batches seen in training equal the explicit schedule (seed 0 is the default); the
    generator is fit's own, so the global RNG does not change them."""
    kwargs = {} if seed == 0 else {"seed": seed}
    model, _ = _fit_recorder(steps=7, batch_size=batch_size, **kwargs)
    assert model.batches == _expected_batches(10, batch_size, 7, seed)


def test_fit_full_batch_default_logging_and_step_count():
    """Full batch: one forward per step, all 10 examples; with the default log_every = 10 a
    run of 25 steps records steps 0, 10, 20 and the last one, 25."""
    model, hist = _fit_recorder(steps=25)
    assert model.batches == [list(range(10))] * 25
    assert hist.steps == [0, 10, 20, 25]


def test_fit_boundaries_one_step_and_log_every_one():
    """steps=1 and log_every=1 are allowed: every step is recorded, and the callback gets the
    step number being recorded."""
    seen = []

    def cb(step, model):
        seen.append(step)
        return {"twice": 2.0 * step}

    model, hist = _fit_recorder(steps=1)
    assert hist.steps == [0, 1] and len(model.batches) == 1
    model, hist = _fit_recorder(steps=3, log_every=1, callbacks=(cb,))
    assert hist.steps == [0, 1, 2, 3] and seen == [0, 1, 2, 3]
    assert list(hist["twice"]) == [0.0, 2.0, 4.0, 6.0]


def test_fit_batch_size_bounds_and_shape_message():
    """batch_size must lie in 1..n (1 and n allowed, 0 rejected); x and y of different lengths
    are rejected naming both lengths."""
    _fit_recorder(steps=2, batch_size=1)
    _fit_recorder(steps=2, batch_size=10)
    with pytest.raises(ValueError, match=r"^batch_size must be in 1\.\.10 or None, got 0\.$"):
        _fit_recorder(steps=2, batch_size=0)
    net = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError,
                       match=r"^x and y must have the same first dimension, got 4 and 5\.$"):
        train.fit(net, torch.ones(4, 3), torch.zeros(5, 3, dtype=torch.long),
                  loss_fn=torch.nn.functional.cross_entropy,
                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1), steps=1)
