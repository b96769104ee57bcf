"""Tests of dlscience.robust: our attacks against Foolbox 3 on the same model, and by hand."""

from __future__ import annotations

import foolbox as fb
import numpy as np
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


# --- closed forms on linear models, argument checks, random draws ---------------------------


def _two_class_linear(d: int = 4, seed: int = 0) -> torch.nn.Linear:
    """A linear 2-class model whose weight difference has no zero coordinate."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(d, 2).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.5, -1.0, 0.25, 2.0][:d], [-0.5, 1.0, 1.25, -1.0][:d]]))
        model.bias.zero_()
    return model


def test_random_perturbation_defaults_bounds_and_float64():
    """Default norm linf: every coordinate moves by exactly eps (float64 exact); l2: the norm is
    eps; with bounds the result is the clipped noise; both signs are drawn."""
    x = torch.full((500, 6), 0.5, dtype=torch.float64)
    out = robust.random_perturbation(x, 0.3, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.float64
    delta = out - x
    torch.testing.assert_close(delta.abs(), torch.full_like(x, 0.3), rtol=1e-15, atol=1e-15)
    assert 0.45 < float((delta > 0).double().mean()) < 0.55  # random signs, about half each
    l2 = robust.random_perturbation(x, 0.3, norm="l2", generator=torch.Generator().manual_seed(0))
    assert l2.dtype == torch.float64
    torch.testing.assert_close((l2 - x).norm(dim=1), torch.full((500,), 0.3, dtype=torch.float64),
                               rtol=1e-14, atol=0)
    clipped = robust.random_perturbation(x, 0.7, bounds=(0.0, 1.0),
                                         generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(clipped, (x + 0.7 * (clipped - x).sign()).clamp(0.0, 1.0))
    assert set(clipped.unique().tolist()) == {0.0, 1.0}
    l2c = robust.random_perturbation(x, 2.0, norm="l2", bounds=(0.0, 1.0),
                                     generator=torch.Generator().manual_seed(1))
    assert l2c.min() >= 0.0 and l2c.max() <= 1.0 and (l2c == 1.0).any()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_random_draws_come_from_the_generator(norm):
    """The same generator seed gives the same draw whatever the global RNG state; another seed
    gives another draw (random_perturbation and PGD's random start)."""
    model = torch.nn.Linear(5, 3)
    x, y = torch.rand(8, 5), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    outs = []
    for global_seed in (0, 123):
        torch.manual_seed(global_seed)
        outs.append((robust.random_perturbation(x, 0.2, norm=norm,
                                                generator=torch.Generator().manual_seed(4)),
                     robust.pgd(model, x, y, 0.2, alpha=1e-9, steps=1, norm=norm,
                                generator=torch.Generator().manual_seed(4))))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    other = robust.random_perturbation(x, 0.2, norm=norm,
                                       generator=torch.Generator().manual_seed(5))
    assert not torch.equal(other, outs[0][0])


def test_pgd_random_start_is_uniform_in_the_ball():
    """With a negligible step, PGD returns its random start: uniform in [-eps, eps]^d (mean 0,
    variance eps^2 / 3) for linf; for l2 in dimension 2, P(||delta|| <= eps / 2) = 1/4 and the
    mean radius is 2 eps / 3."""
    model = torch.nn.Linear(2, 2).double()
    n, eps = 20000, 0.5
    x = torch.zeros(n, 2, dtype=torch.float64)
    y = torch.zeros(n, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    d_inf = robust.pgd(model, x, y, eps, alpha=1e-12, steps=1, generator=gen)
    assert d_inf.abs().max() <= eps
    assert abs(float(d_inf.mean())) < 0.01
    assert float(d_inf.var()) == pytest.approx(eps**2 / 3, rel=0.03)
    d_2 = robust.pgd(model, x, y, eps, alpha=1e-12, steps=1, norm="l2", generator=gen)
    r = d_2.norm(dim=1)
    assert r.max() <= eps * (1 + 1e-9)
    assert float((r <= eps / 2).double().mean()) == pytest.approx(0.25, abs=0.015)
    assert float(r.mean()) == pytest.approx(2 * eps / 3, rel=0.01)
    angle = torch.atan2(d_2[:, 1], d_2[:, 0])
    assert float((angle > 0).double().mean()) == pytest.approx(0.5, abs=0.015)
    # images (n, 1, 2, 2): the ball is per example, in dimension 4: mean radius 4 eps / 5
    d_img = robust.pgd(model_img := torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)),
                       torch.zeros(5000, 1, 2, 2), torch.zeros(5000, dtype=torch.long), eps,
                       alpha=1e-12, steps=1, norm="l2", generator=gen)
    assert model_img is not None
    r_img = d_img.flatten(1).norm(dim=1)
    assert float(r_img.max()) <= eps * (1 + 1e-6)
    assert float(r_img.mean()) == pytest.approx(4 * eps / 5, rel=0.02)


@pytest.mark.parametrize("bounds", [None, (0.0, 1.0)])
def test_pgd_on_a_linear_model_reaches_the_closed_form(bounds):
    """For a linear 2-class model the loss increases along w_other - w_y: linf PGD ends at
    x + eps sign(w_other - w_y) and l2 PGD at x + eps (w_other - w_y) / ||.||, clipped to the
    bounds; FGSM with linf reaches the same corner in one step."""
    model = _two_class_linear()
    x = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.1, 0.9, 0.5, 0.95], [0.3, 0.2, 0.8, 0.6]],
                     dtype=torch.float64)
    y = torch.tensor([0, 1, 0])
    w = model.weight.detach()
    direction = torch.where(y[:, None] == 0, w[1] - w[0], w[0] - w[1])
    eps = 0.2

    def clip(t):
        return t if bounds is None else t.clamp(*bounds)

    linf = robust.pgd(model, x, y, eps, alpha=0.08, steps=4, random_start=False, bounds=bounds)
    torch.testing.assert_close(linf, clip(x + eps * direction.sign()), rtol=0, atol=1e-12)
    start = robust.pgd(model, x, y, eps, alpha=0.08, steps=6, bounds=bounds,
                       generator=torch.Generator().manual_seed(0))  # random start, same end
    torch.testing.assert_close(start, clip(x + eps * direction.sign()), rtol=0, atol=1e-12)
    fg = robust.fgsm(model, x, y, eps, bounds=bounds)
    torch.testing.assert_close(fg, clip(x + eps * direction.sign()), rtol=0, atol=1e-12)
    l2 = robust.pgd(model, x, y, eps, alpha=0.1, steps=5, norm="l2", random_start=False)
    unit = direction / direction.norm(dim=1, keepdim=True)
    torch.testing.assert_close(l2, x + eps * unit, rtol=0, atol=1e-12)
    assert model.weight.grad is None and not linf.requires_grad


def test_l2_steps_and_projection_are_per_example_on_images():
    """l2 FGSM on inputs (n, 2, 3): each example moves by exactly eps; l2 PGD stays within eps
    per example (the projection scales only the examples outside the ball)."""
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3)).double()
    x = torch.rand(5, 2, 3, dtype=torch.float64) * torch.arange(1, 6, dtype=torch.float64).view(
        -1, 1, 1)
    y = torch.tensor([0, 1, 2, 0, 1])
    g = robust.input_gradient(model, x, y)
    adv = robust.fgsm(model, x, y, 0.5, norm="l2")
    torch.testing.assert_close(adv, x + 0.5 * g / g.flatten(1).norm(dim=1).view(-1, 1, 1))
    torch.testing.assert_close(robust.perturbation_norm(adv, x, "l2"),
                               torch.full((5,), 0.5, dtype=torch.float64))
    pgd = robust.pgd(model, x, y, 0.5, alpha=0.3, steps=4, norm="l2", random_start=False)
    torch.testing.assert_close(robust.perturbation_norm(pgd, x, "l2"),
                               torch.full((5,), 0.5, dtype=torch.float64))
    # a single step of 0.2 < eps is not projected: it is the FGSM step of radius 0.2
    one = robust.pgd(model, x, y, 0.5, alpha=0.2, steps=1, norm="l2", random_start=False)
    torch.testing.assert_close(one, robust.fgsm(model, x, y, 0.2, norm="l2"))
    linf_one = robust.pgd(model, x, y, 0.5, alpha=0.2, steps=1, random_start=False)
    torch.testing.assert_close(linf_one, robust.fgsm(model, x, y, 0.2))


def test_zero_gradient_gives_no_step():
    """A model with zero weights has zero input gradient: FGSM and PGD leave x unchanged."""
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.zero_()
    x, y = torch.rand(4, 3), torch.tensor([0, 1, 0, 1])
    for norm in robust.NORMS:
        assert torch.equal(robust.fgsm(model, x, y, 0.3, norm=norm), x)
        assert torch.equal(robust.pgd(model, x, y, 0.3, alpha=0.1, steps=2, norm=norm,
                                      random_start=False), x)


def test_pgd_restarts_keep_the_best_restart_per_example():
    """Restarts draw their starts one after another from the generator, so restart k equals the
    k-th single-restart run on the same generator; per example the kept one is the highest-loss
    misclassifying restart if any, else the highest-loss one."""
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(),
                                torch.nn.Linear(6, 3)).double()
    x = torch.rand(40, 3, dtype=torch.float64)
    with torch.no_grad():
        y = model(x).argmax(1)
    kw = dict(eps=0.6, alpha=0.01, steps=2, bounds=(0.0, 1.0))
    gen = torch.Generator().manual_seed(11)
    runs = torch.stack([robust.pgd(model, x, y, generator=gen, **kw) for _ in range(4)])
    best = robust.pgd(model, x, y, restarts=4, generator=torch.Generator().manual_seed(11), **kw)
    with torch.no_grad():
        logits = model(runs.flatten(0, 1)).view(4, 40, 3)
        loss = F.cross_entropy(logits.flatten(0, 1), y.repeat(4), reduction="none").view(4, 40)
        wrong = logits.argmax(-1) != y
    score = torch.where(wrong, loss + 1e6, loss)  # misclassified first, then the loss
    expected = runs[score.argmax(0), torch.arange(40)]
    assert wrong.any(0).sum() > 0 and (~wrong.any(0)).sum() > 0  # both cases occur
    assert (wrong.sum(0) >= 2).any()  # some example has several misclassifying restarts
    torch.testing.assert_close(best, expected, rtol=0, atol=0)


def test_attacks_restore_the_mode_and_run_in_eval():
    """Every attack runs the model in eval mode (dropout off: deterministic, as on the eval
    model) and restores training mode afterwards; parameter gradients stay untouched."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.9),
                                torch.nn.Linear(16, 3))
    x, y = torch.rand(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    model.eval()
    ref_grad = robust.input_gradient(model, x, y)
    ref_fgsm = robust.fgsm(model, x, y, 0.1)
    ref_pgd = robust.pgd(model, x, y, 0.1, alpha=0.03, steps=3, random_start=False)
    ref_acc = robust.accuracy(model, x, y)
    ref_margin = robust.linearized_margin(model, x, y, 0.1)
    model.train()
    torch.testing.assert_close(robust.input_gradient(model, x, y), ref_grad)
    assert model.training
    torch.testing.assert_close(robust.fgsm(model, x, y, 0.1), ref_fgsm)
    assert model.training
    torch.testing.assert_close(robust.pgd(model, x, y, 0.1, alpha=0.03, steps=3,
                                          random_start=False), ref_pgd)
    assert model.training
    assert robust.accuracy(model, x, y) == ref_acc
    assert model.training
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.1), ref_margin)
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_accuracy_and_perturbation_norm_by_hand():
    """Accuracy 3/4 for a fixed linear model; perturbation norms of (n, 2, 2) differences."""
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert robust.accuracy(model, x, torch.tensor([0, 1, 0, 0])) == 0.75
    assert robust.robust_accuracy(model, x, torch.tensor([0, 1, 0, 0]), robust.fgsm,
                                  eps=0.0) == 0.75
    a = torch.zeros(2, 2, 2)
    b = torch.tensor([[[3.0, 0.0], [0.0, -4.0]], [[0.5, 0.5], [-0.5, 0.5]]])
    torch.testing.assert_close(robust.perturbation_norm(b, a), torch.tensor([4.0, 0.5]))
    torch.testing.assert_close(robust.perturbation_norm(b, a, "l2"), torch.tensor([5.0, 1.0]))


def test_linearized_margin_by_hand():
    """Two classes, w_0 - w_1 = (1, -2), margin z_0 - z_1 = x_0 - 2 x_1 for y = 0: the worst
    linf margin is m - eps * 3, the l2 one m - eps * sqrt(5); images (n, 1, 2) too."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 1.0]]))
    x = torch.tensor([[[0.5, 0.1]], [[0.2, 0.4]]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    m = torch.tensor([0.5 - 0.2, -(0.2 - 0.8)], dtype=torch.float64)
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.1), m - 0.3)
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.1, norm="l2"),
                               m - 0.1 * 5**0.5)
    # with bounds (0, 1) and eps 0.3: example 0 lowers x_0 to 0.2 and raises x_1 to 0.4,
    # margin 0.2 - 0.8 = -0.6; example 1 (margin 2 x_1 - x_0) goes to (0.5, 0.1): -0.3
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.3, bounds=(0.0, 1.0)),
                               torch.tensor([-0.6, -0.3], dtype=torch.float64))
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.3, bounds=(0.0, 0.45)),
                               torch.tensor([0.2 - 2 * 0.4, 2 * 0.1 - 0.45],
                                            dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^the model must output at least two logits, got 1\."):
        robust.linearized_margin(torch.nn.Linear(2, 1), torch.rand(3, 2), torch.zeros(3).long(),
                                 0.1)
    with pytest.raises(ValueError, match=r"^linearized_margin supports bounds only with "
                       r"norm='linf' \(the l2 ball intersected with a box has no closed-form "
                       r"linear maximizer\)\.$"):
        robust.linearized_margin(model, x, y, 0.1, norm="l2", bounds=(0.0, 1.0))


def test_linearized_margin_three_classes_takes_the_worst_other_class():
    """Three classes: the minimum over k != y of m_k - eps ||g_k||_1, written out."""
    model = torch.nn.Linear(2, 3, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    x = torch.tensor([[1.0, 0.2], [0.3, 0.3]], dtype=torch.float64)
    y = torch.tensor([0, 2])
    # example 0: m_1 = 0.8 with g = (1, -1), m_2 = 0.4 with g = (0.5, -0.5); eps 0.1:
    #   0.8 - 0.2 = 0.6 and 0.4 - 0.1 = 0.3 -> 0.3
    # example 1: z = (0.3, 0.3, 0.3), m_0 = m_1 = 0, g = (-0.5, 0.5) and (0.5, -0.5): -0.1
    torch.testing.assert_close(robust.linearized_margin(model, x, y, 0.1),
                               torch.tensor([0.3, -0.1], dtype=torch.float64))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda m, x, y: robust.fgsm(m, x, y, 0.1, norm="l1"), ValueError,
     r"^norm must be one of \('linf', 'l2'\), got 'l1'\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y, True), ValueError,
     r"^eps must be a finite non-negative number, got True\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y, float("inf")), ValueError,
     r"^eps must be a finite non-negative number"),
    (lambda m, x, y: robust.fgsm(m, x, y, -1e-9), ValueError,
     r"^eps must be a finite non-negative number"),
    (lambda m, x, y: robust.fgsm(m, x, y, "0.1"), ValueError,
     r"^eps must be a finite non-negative number"),
    (lambda m, x, y: robust.fgsm(m, x, y, 0.1, bounds=(0.0, 0.5, 1.0)), ValueError,
     r"^bounds must be None or a pair \(low, high\), got \(0\.0, 0\.5, 1\.0\)\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y, 0.1, bounds="01"), ValueError,
     r"^bounds must be None or a pair"),
    (lambda m, x, y: robust.fgsm(m, x, y, 0.1, bounds=(1.0, 1.0)), ValueError,
     r"^bounds must satisfy low < high, got \(1\.0, 1\.0\)\.$"),
    (lambda m, x, y: robust.fgsm(m, x.numpy(), y, 0.1), TypeError,
     r"^x and y must be torch tensors, got ndarray and Tensor\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y.tolist(), 0.1), TypeError,
     r"^x and y must be torch tensors, got Tensor and list\.$"),
    (lambda m, x, y: robust.fgsm(m, x[0], y[:1], 0.1), ValueError,
     r"^x must have shape \(n, \.\.\.\) with a batch dimension, got \(4,\)\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y[:2], 0.1), ValueError,
     r"^y must have shape \(n,\) with n = x\.shape\[0\] = 3, got \(2,\)\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y[:, None], 0.1), ValueError,
     r"^y must have shape \(n,\) with n = x\.shape\[0\] = 3, got \(3, 1\)\.$"),
    (lambda m, x, y: robust.fgsm(m, x, y.float(), 0.1), ValueError,
     r"^y must hold integer class labels of dtype torch\.int64 or torch\.uint8, got dtype "
     r"torch\.float32\.$"),
    (lambda m, x, y: robust.pgd(m, x, y, 0.1, alpha=True, steps=1), ValueError,
     r"^alpha must be a positive number, got True\.$"),
    (lambda m, x, y: robust.pgd(m, x, y, 0.1, alpha="0.1", steps=1), ValueError,
     r"^alpha must be a positive number"),
    (lambda m, x, y: robust.pgd(m, x, y, 0.1, alpha=0.1, steps=0), ValueError,
     r"^steps must be a positive integer"),
    (lambda m, x, y: robust.pgd(m, x, y, 0.1, alpha=0.1, steps=1, restarts=0), ValueError,
     r"^restarts must be a positive integer"),
    (lambda m, x, y: robust.pgd(m, x, y, 0.1, alpha=0.1, steps=1, restarts=2,
                                random_start=False), ValueError,
     r"^restarts > 1 needs random_start=True: without a random start every restart is the same "
     r"deterministic run\.$"),
    (lambda m, x, y: robust.perturbation_norm(x, x[:2]), ValueError,
     r"^x_adv and x must have the same shape, got \(3, 4\) and \(2, 4\)\.$"),
    (lambda m, x, y: robust.perturbation_norm(x, x, "l1"), ValueError, r"^norm must be one of"),
    (lambda m, x, y: robust.random_perturbation([[0.0]], 0.1), ValueError,
     r"^x must be a torch tensor of shape \(n, \.\.\.\)\.$"),
    (lambda m, x, y: robust.random_perturbation(x[0], 0.1), ValueError,
     r"^x must be a torch tensor of shape \(n, \.\.\.\)\.$"),
    (lambda m, x, y: robust.random_perturbation(x, -0.1), ValueError, r"^eps must be"),
    (lambda m, x, y: robust.random_perturbation(x, 0.1, norm="l3"), ValueError, r"^norm must be"),
    (lambda m, x, y: robust.random_perturbation(x, 0.1, bounds=(1.0, 0.0)), ValueError,
     r"^bounds must satisfy low < high"),
    (lambda m, x, y: robust.input_gradient(m, x, y.float()), ValueError, r"^y must hold integer"),
    (lambda m, x, y: robust.accuracy(m, x, y[:2]), ValueError, r"^y must have shape"),
    (lambda m, x, y: robust.linearized_margin(m, x, y, -1.0), ValueError, r"^eps must be"),
    (lambda m, x, y: robust.Quantize(0), ValueError, r"^levels must be a positive integer"),
    (lambda m, x, y: robust.Quantize(1), ValueError, r"^levels must be at least 2, got 1\.$"),
])
def test_argument_errors_are_precise(call, error, match):
    """Each check names the argument and says what was expected."""
    model = torch.nn.Linear(4, 3)
    x, y = torch.rand(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(error, match=match):
        call(model, x, y)


def test_accepted_argument_forms():
    """Labels int64 or uint8 (the dtypes cross_entropy takes), bounds as a list, integer eps."""
    model = _two_class_linear()
    x = torch.full((2, 4), 0.5, dtype=torch.float64)
    w = model.weight.detach()
    for dtype in (torch.int64, torch.uint8):
        y = torch.tensor([0, 1], dtype=dtype)
        adv = robust.fgsm(model, x, y, 1, bounds=[0.0, 0.75])
        expected = torch.stack([x[0] + (w[1] - w[0]).sign(), x[1] + (w[0] - w[1]).sign()])
        torch.testing.assert_close(adv, expected.clamp(0.0, 0.75))
    assert robust.Quantize(2).levels == 2
    assert torch.equal(robust.fgsm(model, x, torch.tensor([0, 1]), 0), x)  # eps = 0 is valid


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(method="adam"), ValueError,
     r"^method must be one of \('standard', 'fgsm', 'pgd'\), got 'adam'\.$"),
    (dict(eps=-1.0), ValueError, r"^eps must be a finite non-negative number"),
    (dict(epochs=0), ValueError, r"^epochs must be a positive integer"),
    (dict(steps=0), ValueError, r"^steps must be a positive integer"),
    (dict(batch_size=0), ValueError, r"^batch_size must be a positive integer"),
    (dict(batch_size=9), ValueError,
     r"^batch_size must be at most the number of examples 8, got 9\.$"),
    (dict(bounds=(1.0, 0.0)), ValueError, r"^bounds must satisfy low < high"),
    (dict(alpha=0.0), ValueError, r"^alpha must be a positive number or None, got 0\.0\.$"),
    (dict(alpha=True), ValueError, r"^alpha must be a positive number or None, got True\.$"),
    (dict(alpha="0.1"), ValueError, r"^alpha must be a positive number or None"),
    (dict(lr=0.0), ValueError, r"^lr must be a positive number, got 0\.0\.$"),
    (dict(lr=True), ValueError, r"^lr must be a positive number, got True\.$"),
    (dict(lr="0.1"), ValueError, r"^lr must be a positive number"),
    (dict(seed=-1), ValueError, r"^seed must be a non-negative integer, got -1\.$"),
    (dict(seed=True), ValueError, r"^seed must be a non-negative integer, got True\.$"),
    (dict(seed=1.0), ValueError, r"^seed must be a non-negative integer, got 1\.0\.$"),
    (dict(y=torch.zeros(8)), ValueError, r"^y must hold integer class labels"),
])
def test_adversarial_fit_argument_errors_are_precise(kwargs, error, match):
    """adversarial_fit names the bad argument and what it expected (anchored messages)."""
    args = dict(x=torch.rand(8, 3), y=torch.tensor([0, 1] * 4), method="pgd", eps=0.1, epochs=1,
                batch_size=4)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        robust.adversarial_fit(torch.nn.Linear(3, 2), **args)


def _hand_fit(model, x, y, *, method, eps, epochs, batch_size, opt, seed, attack_kw):
    """adversarial_fit's loop written out: batch order from a generator seeded ``seed``, attack
    starts from one seeded ``seed + 1``, one optimizer step per batch, size-weighted losses."""
    order_gen = torch.Generator().manual_seed(seed)
    attack_gen = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=order_gen)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            if method != "standard":
                xb = robust.pgd(model, xb, yb, eps, generator=attack_gen, **attack_kw)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    return losses


def test_adversarial_fit_defaults_match_the_hand_loop():
    """Defaults: Adam with lr 3e-3 and seed 0 (standard); PGD with 5 steps of 2.5 eps / 5; FGSM
    one step of 1.25 eps; a batch size equal to n is allowed; the model is left in training
    mode. With eps = 0 and the default alpha every method is standard training."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(12, 3, generator=gen)
    y = (x[:, 0] > x[:, 1]).long()
    # eps = 1 is large enough for the PGD iterates not to settle on a corner of the ball, so that
    # the number of steps matters
    for method, eps, attack_kw in (("standard", 0.1, {}), ("pgd", 1.0, dict(alpha=0.5, steps=5)),
                                   ("fgsm", 0.1, dict(alpha=0.125, steps=1))):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 2))
        ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
        ref.load_state_dict(model.state_dict())
        model.eval()
        if method == "standard":
            ours = robust.adversarial_fit(model, x, y, method=method, eps=eps, epochs=2,
                                          batch_size=5)
            opt = torch.optim.Adam(ref.parameters(), lr=3e-3)
            theirs = _hand_fit(ref, x, y, method=method, eps=eps, epochs=2, batch_size=5,
                               opt=opt, seed=0, attack_kw=attack_kw)
        else:
            ours = robust.adversarial_fit(model, x, y, method=method, eps=eps, epochs=2,
                                          batch_size=12, seed=3,
                                          optimizer=torch.optim.SGD(model.parameters(), lr=0.5))
            opt = torch.optim.SGD(ref.parameters(), lr=0.5)
            theirs = _hand_fit(ref, x, y, method=method, eps=eps, epochs=2, batch_size=12,
                               opt=opt, seed=3, attack_kw=attack_kw)
        assert model.training
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        for a, b in zip(model.parameters(), ref.parameters()):
            torch.testing.assert_close(a, b)
    params = []
    for method in robust.TRAINING_METHODS:
        torch.manual_seed(2)
        model = torch.nn.Linear(3, 2)
        robust.adversarial_fit(model, x, y, method=method, eps=0.0, epochs=1, batch_size=4)
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(params[0], params[1]) and torch.equal(params[0], params[2])


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16])
def test_labels_cross_entropy_cannot_take_are_rejected_with_a_message(dtype: torch.dtype) -> None:
    """int32/int16 labels used to pass the check and crash inside F.cross_entropy ("expected
    target dtype to be Long or Byte"); they now get the argument's message."""
    model = torch.nn.Linear(2, 2)
    x, y = torch.zeros(2, 2), torch.tensor([0, 1], dtype=dtype)
    message = r"^y must hold integer class labels of dtype torch\.int64"
    with pytest.raises(ValueError, match=message):
        robust.fgsm(model, x, y, 0.1)
