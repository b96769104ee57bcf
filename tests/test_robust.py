"""Tests of dlscience.robust: our attacks against Foolbox 3 on the same model, and by hand."""

from __future__ import annotations

import foolbox as fb
import pytest
import torch
import torch.nn.functional as F
from dlscience import data, robust
from dlscience.models import MLP

BOUNDS = (0.0, 1.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread avoids oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A small MLP trained on the digits, and 300 test digits."""
    torch.manual_seed(0)
    split = data.digits(seed=0)
    xt, yt = torch.tensor(split.x_train), torch.tensor(split.y_train)
    model = MLP([64, 64, 10])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(0, len(yt), (64,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()
    model.eval()
    return model, torch.tensor(split.x_test[:300]), torch.tensor(split.y_test[:300])


def test_model_is_accurate(trained):
    model, x, y = trained
    assert robust.accuracy(model, x, y) > 0.9


@pytest.mark.parametrize("eps", [0.03, 0.1, 0.3])
def test_fgsm_equals_foolbox(trained, eps):
    model, x, y = trained
    ours = robust.fgsm(model, x, y, eps, bounds=BOUNDS)
    _, theirs, _ = fb.attacks.FGSM()(fb.PyTorchModel(model, bounds=BOUNDS), x, y, epsilons=eps)
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("eps", [0.3, 1.0])
def test_l2_fgsm_matches_foolbox_fgm(trained, eps):
    model, x, y = trained
    ours = robust.fgsm(model, x, y, eps, norm="l2", bounds=BOUNDS)
    _, theirs, _ = fb.attacks.FGM()(fb.PyTorchModel(model, bounds=BOUNDS), x, y, epsilons=eps)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("norm", "eps", "attack"), [
    ("linf", 0.05, fb.attacks.LinfPGD), ("linf", 0.1, fb.attacks.LinfPGD),
    ("l2", 0.5, fb.attacks.L2PGD), ("l2", 1.0, fb.attacks.L2PGD)])
def test_pgd_matches_foolbox(trained, norm, eps, attack):
    model, x, y = trained
    alpha, steps = eps / 4, 20
    ours = robust.pgd(model, x, y, eps, alpha=alpha, steps=steps, norm=norm,
                      random_start=False, bounds=BOUNDS)
    fmodel = fb.PyTorchModel(model, bounds=BOUNDS)
    _, theirs, _ = attack(abs_stepsize=alpha, steps=steps, random_start=False)(
        fmodel, x, y, epsilons=eps)
    clean = robust.accuracy(model, x, y)
    ours_acc, theirs_acc = robust.accuracy(model, ours, y), robust.accuracy(model, theirs, y)
    assert ours_acc < clean - 0.1  # the attack does something
    # Same deterministic iteration: the iterates agree up to float rounding (measured: 0 for
    # linf, < 5e-7 for l2), so the two attacks misclassify exactly the same examples.
    assert (ours - theirs).abs().max() < 1e-5
    assert ours_acc == theirs_acc


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_random_start_respects_ball_and_bounds(trained, norm):
    model, x, y = trained
    eps = 0.1 if norm == "linf" else 1.0
    gen = torch.Generator().manual_seed(3)
    adv = robust.pgd(model, x, y, eps, alpha=eps / 4, steps=10, norm=norm, restarts=2,
                     bounds=BOUNDS, generator=gen)
    assert adv.shape == x.shape and not adv.requires_grad
    assert robust.perturbation_norm(adv, x, norm).max() <= eps * (1 + 1e-5)
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    # Random-start PGD at these radii is at least as strong as Foolbox's, within a few points.
    attack = fb.attacks.LinfPGD if norm == "linf" else fb.attacks.L2PGD
    _, theirs, _ = attack(abs_stepsize=eps / 4, steps=10)(
        fb.PyTorchModel(model, bounds=BOUNDS), x, y, epsilons=eps)
    assert robust.accuracy(model, adv, y) <= robust.accuracy(model, theirs, y) + 0.03


def test_projection_without_bounds(trained):
    model, x, y = trained
    eps = 0.07
    adv = robust.pgd(model, x, y, eps, alpha=0.05, steps=5, generator=torch.Generator())
    torch.testing.assert_close(robust.perturbation_norm(adv, x, "linf"),
                               torch.full((len(y),), eps), atol=1e-6, rtol=0)


def test_restarts_keep_the_best(trained):
    model, x, y = trained
    kw = dict(eps=1.0, alpha=0.05, steps=3, norm="l2", bounds=BOUNDS)
    one = robust.pgd(model, x, y, generator=torch.Generator().manual_seed(5), **kw)
    three = robust.pgd(model, x, y, restarts=3, generator=torch.Generator().manual_seed(5), **kw)
    with torch.no_grad():
        loss1 = F.cross_entropy(model(one), y, reduction="none")
        loss3 = F.cross_entropy(model(three), y, reduction="none")
        wrong1 = model(one).argmax(1) != y
        wrong3 = model(three).argmax(1) != y
    # The first restart is the single run: three restarts never do worse on any example.
    assert torch.all(wrong3 | (~wrong1 & (loss3 >= loss1 - 1e-6)))
    assert robust.accuracy(model, three, y) <= robust.accuracy(model, one, y)


def test_input_gradient_of_a_linear_model_by_hand():
    torch.manual_seed(1)
    model = torch.nn.Linear(5, 3)
    x = torch.randn(4, 5)
    y = torch.tensor([0, 2, 1, 2])
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        expected = (p - F.one_hot(y, 3).float()) @ model.weight  # d CE / dx = W^T (p - e_y)
    torch.testing.assert_close(robust.input_gradient(model, x, y), expected)
    assert model.weight.grad is None  # parameter gradients untouched
    adv = robust.fgsm(model, x, y, 0.25)
    torch.testing.assert_close(adv, x + 0.25 * expected.sign())
    adv2 = robust.fgsm(model, x, y, 0.25, norm="l2")
    torch.testing.assert_close(adv2, x + 0.25 * expected / expected.norm(dim=1, keepdim=True))


def test_fgsm_maximizes_the_linearized_loss_over_the_ball():
    """Hoelder: no point of the l_inf (l_2) ball has a larger g . delta than the FGSM step."""
    torch.manual_seed(2)
    model = torch.nn.Linear(6, 3)
    x, y = torch.randn(1, 6), torch.tensor([1])
    g = robust.input_gradient(model, x, y)[0]
    for norm, dual in (("linf", g.abs().sum()), ("l2", g.norm())):
        step = robust.fgsm(model, x, y, 1.0, norm=norm)[0] - x[0]
        torch.testing.assert_close(g @ step, dual)
        noise = robust.random_perturbation(x.repeat(1000, 1), 1.0, norm=norm,
                                           generator=torch.Generator().manual_seed(0)) - x
        assert (noise @ g).max() <= dual + 1e-6


def test_mode_restored_and_random_perturbation_norm():
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 2))
    model.train()
    x, y = torch.rand(6, 4), torch.tensor([0, 1, 0, 1, 1, 0])
    robust.pgd(model, x, y, 0.1, alpha=0.05, steps=2)
    assert model.training
    model.eval()
    robust.fgsm(model, x, y, 0.1)
    assert not model.training
    gen = torch.Generator().manual_seed(0)
    for norm in robust.NORMS:
        noisy = robust.random_perturbation(x, 0.3, norm=norm, generator=gen)
        torch.testing.assert_close(robust.perturbation_norm(noisy, x, norm),
                                   torch.full((6,), 0.3), atol=1e-6, rtol=0)


def test_zero_eps_returns_the_input(trained):
    model, x, y = trained
    assert torch.equal(robust.fgsm(model, x, y, 0.0), x)
    torch.testing.assert_close(robust.pgd(model, x, y, 0.0, alpha=0.1, steps=3, norm="l2"), x)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(norm="l1"), "norm"),
    (dict(eps=-0.1), "eps"),
    (dict(eps=float("nan")), "eps"),
    (dict(steps=0), "steps"),
    (dict(alpha=0.0), "alpha"),
    (dict(restarts=0), "restarts"),
    (dict(restarts=2, random_start=False), "restarts"),
    (dict(bounds=(1.0, 0.0)), "bounds"),
])
def test_pgd_invalid_arguments(kwargs, match):
    model = torch.nn.Linear(4, 3)
    x, y = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    args = dict(eps=0.1, alpha=0.01, steps=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        robust.pgd(model, x, y, **args)


def test_shape_and_type_errors():
    model = torch.nn.Linear(4, 3)
    x = torch.rand(5, 4)
    with pytest.raises(ValueError, match="y must have shape"):
        robust.fgsm(model, x, torch.tensor([0, 1, 2]), 0.1)
    with pytest.raises(ValueError, match="integer class labels"):
        robust.fgsm(model, x, torch.zeros(5), 0.1)
    with pytest.raises(ValueError, match="batch dimension"):
        robust.fgsm(model, torch.rand(4), torch.tensor([0]), 0.1)
    with pytest.raises(ValueError, match="norm"):
        robust.fgsm(model, x, torch.zeros(5, dtype=torch.long), 0.1, norm="linf2")
    with pytest.raises(ValueError, match="same shape"):
        robust.perturbation_norm(x, x[:2])


def _brute_force_margin(model, x, y, eps, bounds):
    """min over the vertices of the box (ball within bounds) of the smallest margin z_y - z_k."""
    import itertools

    d = x.shape[1]
    low = x - eps if bounds is None else torch.clamp(x - eps, min=bounds[0])
    high = x + eps if bounds is None else torch.clamp(x + eps, max=bounds[1])
    out = []
    for i in range(x.shape[0]):
        best = float("inf")
        for corner in itertools.product((0, 1), repeat=d):
            c = torch.tensor(corner, dtype=torch.bool)
            point = torch.where(c, high[i], low[i])
            with torch.no_grad():
                z = model(point[None])[0]
            others = torch.cat([z[: y[i]], z[y[i] + 1:]])
            best = min(best, float(z[y[i]] - others.max()))
        out.append(best)
    return torch.tensor(out)


@pytest.mark.parametrize("bounds", [None, (0.0, 1.0)])
def test_linearized_margin_is_exact_for_an_affine_model(bounds):
    """For an affine model the minimum of each margin over the box is at a vertex: brute force."""
    torch.manual_seed(4)
    model = torch.nn.Linear(4, 3)
    x, y = torch.rand(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    for eps in (0.05, 0.3):
        ours = robust.linearized_margin(model, x, y, eps, bounds=bounds)
        torch.testing.assert_close(ours, _brute_force_margin(model, x, y, eps, bounds),
                                   atol=1e-5, rtol=0)


def test_linearized_margin_l2_and_errors():
    torch.manual_seed(5)
    model = torch.nn.Linear(3, 2)
    x, y = torch.rand(4, 3), torch.tensor([0, 1, 1, 0])
    w = model.weight.detach()
    with torch.no_grad():
        z = model(x)
    sign = torch.where(y == 0, 1.0, -1.0)
    expected = sign * (z[:, 0] - z[:, 1]) - 0.2 * (w[0] - w[1]).norm()
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.2, norm="l2"), expected)
    with pytest.raises(ValueError, match="bounds"):
        robust.linearized_margin(model, x, y, 0.2, norm="l2", bounds=(0.0, 1.0))


def test_linearized_accuracy_bounds_pgd_on_an_affine_model():
    """No attack beats the exact optimum of the affine model: PGD accuracy >= linearized one."""
    torch.manual_seed(6)
    model = torch.nn.Linear(8, 4)
    x, y = torch.rand(200, 8), torch.randint(0, 4, (200,))
    y = model(x).argmax(1).detach()  # start from correct predictions
    lin = float((robust.linearized_margin(model, x, y, 0.1, bounds=BOUNDS) > 0).float().mean())
    adv = robust.pgd(model, x, y, 0.1, alpha=0.01, steps=50, bounds=BOUNDS,
                     generator=torch.Generator().manual_seed(0))
    assert robust.accuracy(model, adv, y) >= lin - 1e-9


def test_robust_accuracy_is_accuracy_on_the_attack(trained):
    model, x, y = trained
    assert robust.robust_accuracy(model, x, y, robust.fgsm, eps=0.0) == robust.accuracy(model, x, y)
    adv = robust.fgsm(model, x, y, 0.1, bounds=BOUNDS)
    by_hand = float((model(adv).argmax(1) == y).float().mean())
    assert robust.robust_accuracy(model, x, y, robust.fgsm, eps=0.1, bounds=BOUNDS) == by_hand
