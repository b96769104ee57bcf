"""Tests of the adversarial-training helpers of dlscience.robust (adversarial_fit, Quantize)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlscience import robust
from dlscience.models import MLP
from torch import nn


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread avoids the cost of thread synchronisation on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _toy(n: int = 40, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n, d), generator=gen)
    y = (x[:, 0] + x[:, 1] > 1.0).long()
    return x, y


def test_pgd_training_of_a_linear_model_follows_the_closed_form_gradient():
    # For a 2-class linear model, the worst linf perturbation is -eps*sign(w_y - w_other) and
    # the robust loss is softplus(-(margin - eps*||w_y - w_other||_1)); by Danskin's theorem
    # one full-batch SGD step on PGD examples is one gradient step on that closed form.
    x, y = _toy()
    eps, lr = 0.1, 0.5
    torch.manual_seed(0)
    model = nn.Linear(5, 2)
    ref = nn.Linear(5, 2)
    ref.load_state_dict(model.state_dict())
    robust.adversarial_fit(model, x, y, method="pgd", eps=eps, epochs=1, batch_size=len(x),
                           steps=10, alpha=0.5 * eps,
                           optimizer=torch.optim.SGD(model.parameters(), lr=lr))
    z = ref(x)
    sign = 2.0 * y.double() - 1.0                                  # +1 for class 1
    margin = sign * (z[:, 1] - z[:, 0]).double()
    w_diff = (ref.weight[1] - ref.weight[0]).double()
    closed = F.softplus(-(margin - eps * w_diff.abs().sum())).mean()
    closed.backward()
    with torch.no_grad():
        for p_model, p_ref in zip(model.parameters(), ref.parameters()):
            expected = p_ref - lr * p_ref.grad
            assert torch.allclose(p_model, expected.float(), atol=1e-6)


def test_zero_eps_is_standard_training():
    x, y = _toy()
    params = []
    for method in robust.TRAINING_METHODS:
        torch.manual_seed(1)
        model = MLP([5, 8, 2])
        robust.adversarial_fit(model, x, y, method=method, eps=0.0, epochs=3, batch_size=16,
                               alpha=0.01, seed=4)
        params.append(torch.cat([p.flatten() for p in model.parameters()]))
    for p in params[1:]:
        assert torch.equal(p, params[0])


def test_standard_training_equals_a_hand_written_loop():
    x, y = _toy()
    torch.manual_seed(2)
    model = MLP([5, 8, 2])
    ref = MLP([5, 8, 2])
    ref.load_state_dict(model.state_dict())
    losses = robust.adversarial_fit(model, x, y, method="standard", eps=0.1, epochs=2,
                                    batch_size=16, lr=0.01, seed=3)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(3)
    ref_losses = []
    for _ in range(2):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for start in range(0, len(x), 16):
            idx = order[start:start + 16]
            opt.zero_grad()
            loss = F.cross_entropy(ref(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        ref_losses.append(total / len(x))
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def _reference_fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float,
                   alpha: float, steps: int, epochs: int, batch_size: int, lr: float,
                   seed: int) -> list[float]:
    """adversarial_fit's documented algorithm written out by hand (linf, inputs in [0, 1]):
    batches from a generator seeded ``seed``, uniform starts from one seeded ``seed + 1``,
    ``steps`` sign steps of size ``alpha`` each projected onto the ball and the box, then one
    SGD step on the loss at the perturbed batch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    order_gen = torch.Generator().manual_seed(seed)
    attack_gen = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=order_gen)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            u = torch.rand(xb.shape, generator=attack_gen)
            xa = (xb + eps * (2 * u - 1)).clamp(0.0, 1.0)
            for _ in range(steps):
                xa = xa.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(F.cross_entropy(model(xa), yb, reduction="sum"), xa)
                xa = xa.detach() + alpha * g.sign()
                xa = torch.minimum(torch.maximum(xa, xb - eps), xb + eps).clamp(0.0, 1.0)
            opt.zero_grad()
            loss = F.cross_entropy(model(xa), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    return losses


@pytest.mark.parametrize("method, steps, alpha", [("fgsm", 1, 1.25), ("pgd", 3, 2.5 / 3)])
def test_adversarial_fit_equals_a_hand_written_loop(method, steps, alpha):
    # FGSM with a random start (Wong et al. 2020): one step of 1.25 eps; PGD: steps of
    # 2.5 eps / steps (the defaults), both from a uniform start, projected, then an SGD step
    eps, lr = 0.1, 0.1
    x, y = _toy(n=40, d=5, seed=7)
    torch.manual_seed(3)
    model = MLP([5, 8, 2])
    ref = MLP([5, 8, 2])
    ref.load_state_dict(model.state_dict())
    losses = robust.adversarial_fit(model, x, y, method=method, eps=eps, epochs=2, batch_size=16,
                                    steps=steps, bounds=(0.0, 1.0), seed=5,
                                    optimizer=torch.optim.SGD(model.parameters(), lr=lr))
    ref_losses = _reference_fit(ref, x, y, eps=eps, alpha=alpha * eps, steps=steps, epochs=2,
                                batch_size=16, lr=lr, seed=5)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_adversarial_training_moves_the_parameters_differently_from_standard_training():
    # a non-zero eps must change the training (guards against an attack that is silently skipped)
    x, y = _toy(n=40, d=5, seed=7)
    params = {}
    for method in robust.TRAINING_METHODS:
        torch.manual_seed(3)
        model = MLP([5, 8, 2])
        robust.adversarial_fit(model, x, y, method=method, eps=0.1, epochs=1, batch_size=16,
                               bounds=(0.0, 1.0), seed=5)
        params[method] = torch.cat([p.flatten() for p in model.parameters()])
    assert not torch.allclose(params["fgsm"], params["standard"])
    assert not torch.allclose(params["pgd"], params["standard"])
    assert not torch.allclose(params["pgd"], params["fgsm"])


def _closed_form_robust_loss(model: nn.Linear, x: torch.Tensor, y: torch.Tensor,
                             eps: float) -> float:
    with torch.no_grad():
        z = model(x)
        sign = 2.0 * y.float() - 1.0
        margin = sign * (z[:, 1] - z[:, 0])
        w_l1 = (model.weight[1] - model.weight[0]).abs().sum()
        return float(F.softplus(-(margin - eps * w_l1)).mean())


def test_pgd_training_lowers_the_robust_loss_of_a_linear_model():
    x, y = _toy(n=200, d=2, seed=5)
    robust_loss, clean_loss = {}, {}
    for method in ("standard", "pgd"):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        robust.adversarial_fit(model, x, y, method=method, eps=0.1, epochs=60, batch_size=200,
                               steps=5, alpha=0.05, lr=0.2, seed=0)
        robust_loss[method] = _closed_form_robust_loss(model, x, y, 0.1)
        clean_loss[method] = _closed_form_robust_loss(model, x, y, 0.0)
    # each method is better at its own objective
    assert robust_loss["pgd"] < robust_loss["standard"] - 0.03
    assert clean_loss["standard"] < clean_loss["pgd"] - 0.05


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="adam"), "method"), (dict(eps=-1.0), "eps"), (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size"), (dict(batch_size=41), "batch_size"),
    (dict(alpha=0.0), "alpha"), (dict(lr=0.0), "lr"), (dict(seed=-1), "seed"),
    (dict(steps=0), "steps"),
])
def test_adversarial_fit_validates_its_arguments(kwargs, match):
    x, y = _toy()
    args = dict(method="pgd", eps=0.1, epochs=1, batch_size=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        robust.adversarial_fit(nn.Linear(5, 2), x, y, **args)


@pytest.mark.parametrize("levels", [2, 3, 5, 17])
def test_quantize_rounds_to_the_levels(levels):
    x = torch.linspace(-0.2, 1.2, 301).reshape(1, -1)
    q = robust.Quantize(levels)(x).numpy()
    grid = np.linspace(0.0, 1.0, levels)
    xc = np.clip(x.numpy(), 0.0, 1.0)
    nearest = grid[np.abs(xc[..., None] - grid).argmin(axis=-1)]
    # points exactly half-way between two levels may round either way
    tie = np.isclose(np.abs(xc[..., None] - grid).min(axis=-1) * 2 * (levels - 1), 1.0)
    assert np.allclose(q[~tie], nearest[~tie], atol=1e-6)


def test_quantize_on_other_bounds():
    q = robust.Quantize(3, bounds=(-1.0, 1.0))(torch.tensor([[-0.9, -0.4, 0.1, 0.6, 2.0]]))
    assert torch.allclose(q, torch.tensor([[-1.0, -0.0, 0.0, 1.0, 1.0]]))


def test_quantize_gradient_is_zero_and_bpda_is_the_identity():
    x = torch.tensor([[0.1, 0.3, 0.55, 0.9]], requires_grad=True)
    w = torch.tensor([1.0, -2.0, 3.0, 0.5])
    (g_true,) = torch.autograd.grad((robust.Quantize(5)(x) * w).sum(), x)
    assert torch.equal(g_true, torch.zeros_like(x))
    layer = robust.Quantize(5, straight_through=True)
    out = layer(x)
    assert torch.equal(out, robust.Quantize(5)(x))
    (g_bpda,) = torch.autograd.grad((out * w).sum(), x)
    assert torch.allclose(g_bpda, w.reshape(1, -1))


@pytest.mark.parametrize("kwargs", [dict(levels=1), dict(levels=2.5), dict(levels=3,
                                                                            bounds=(1.0, 0.0))])
def test_quantize_validates_its_arguments(kwargs):
    with pytest.raises(ValueError):
        robust.Quantize(**kwargs)
