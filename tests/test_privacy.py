"""Tests of dlscience.privacy: per-example gradients, clipping, noise, DP-SGD, the accountant
calls, and membership advantages, against autograd, Opacus and values computed by hand."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlscience import privacy as pv
from dlscience.models import MLP


def _model_and_batch(n: int = 7, seed: int = 0
                     ) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = MLP([5, 8, 3], bias_std=0.1)
    x = 3 * torch.randn(n, 5)
    y = torch.randint(0, 3, (n,))
    return model, x, y


def test_per_example_gradients_match_an_autograd_loop():
    model, x, y = _model_and_batch()
    grads = pv.per_example_gradients(model, x, y)
    names = [k for k, _ in model.named_parameters()]
    assert set(grads) == set(names)
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for k, p in model.named_parameters():
            assert grads[k].shape == (len(y), *p.shape)
            torch.testing.assert_close(grads[k][i], p.grad, rtol=1e-5, atol=1e-6)


def test_per_example_gradients_sum_to_the_batch_gradient():
    model, x, y = _model_and_batch(n=11)
    grads = pv.per_example_gradients(model, x, y)
    model.zero_grad()
    F.cross_entropy(model(x), y, reduction="sum").backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(grads[k].sum(0), p.grad, rtol=1e-5, atol=1e-5)


def test_clipping_bounds_norms_and_keeps_directions():
    model, x, y = _model_and_batch(n=20)
    grads = pv.per_example_gradients(model, x, y)
    max_norm = 0.5
    clipped, norms = pv.clip_gradients(grads, max_norm)
    by_hand = torch.sqrt(sum((g.reshape(len(y), -1) ** 2).sum(1) for g in grads.values()))
    torch.testing.assert_close(norms, by_hand)
    after = torch.sqrt(sum((g.reshape(len(y), -1) ** 2).sum(1) for g in clipped.values()))
    # large gradients end at norm C exactly, small ones are unchanged
    big = norms > max_norm
    assert big.any() and (~big).any()
    torch.testing.assert_close(after[big], torch.full_like(after[big], max_norm))
    for k in grads:
        torch.testing.assert_close(clipped[k][~big], grads[k][~big])
        # same direction: clipped = grads * positive factor
        factor = (max_norm / norms).clamp(max=1.0).view(-1, *([1] * (grads[k].dim() - 1)))
        torch.testing.assert_close(clipped[k], grads[k] * factor)


def test_clipping_mixed_norms_by_hand():
    grads = {"w": torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])}
    clipped, norms = pv.clip_gradients(grads, 1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5, 0.0]))
    torch.testing.assert_close(clipped["w"], torch.tensor([[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]]))


def test_clipped_sum_matches_opacus():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

    model, x, y = _model_and_batch(n=16, seed=3)
    max_norm = 0.7
    ours, norms = pv.clip_gradients(pv.per_example_gradients(model, x, y), max_norm)
    assert (norms > max_norm).any() and (norms < max_norm).any()
    gs_model = GradSampleModule(MLP([5, 8, 3]), loss_reduction="sum")
    gs_model._module.load_state_dict(model.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = DPOptimizer(torch.optim.SGD(gs_model.parameters(), lr=0.1), noise_multiplier=0.0,
                          max_grad_norm=max_norm, expected_batch_size=len(y),
                          loss_reduction="sum")
    with warnings.catch_warnings():   # "full backward hook" notice: x needs no gradient
        warnings.simplefilter("ignore")
        F.cross_entropy(gs_model(x), y, reduction="sum").backward()
    for k, p in gs_model._module.named_parameters():   # Opacus's per-sample gradients
        torch.testing.assert_close(p.grad_sample, pv.per_example_gradients(model, x, y)[k],
                                   rtol=1e-5, atol=1e-6)
    opt.clip_and_accumulate()
    for k, p in gs_model._module.named_parameters():
        # Opacus divides by norm + 1e-6, hence the relative tolerance
        torch.testing.assert_close(p.summed_grad, ours[k].sum(0), rtol=1e-4, atol=1e-6)


def test_noise_has_standard_deviation_sigma_c():
    gen = torch.Generator().manual_seed(0)
    clipped = {"w": torch.zeros(4, 200, 500)}
    noisy = pv.noisy_sum(clipped, max_norm=0.5, noise_multiplier=2.0, generator=gen)["w"]
    assert noisy.shape == (200, 500)
    # 1e5 draws: the sample std of N(0, 1) is within 1% with overwhelming probability
    assert abs(float(noisy.std()) - 1.0) < 0.01
    assert abs(float(noisy.mean())) < 0.01
    assert torch.equal(pv.noisy_sum({"w": torch.ones(3, 2)}, 1.0, 0.0)["w"], torch.full((2,), 3.0))


def test_dp_sgd_without_noise_or_clipping_is_gradient_descent():
    model, x, y = _model_and_batch(n=9, seed=5)
    ref = MLP([5, 8, 3])
    ref.load_state_dict(model.state_dict())
    run = pv.dp_sgd(model, x, y, sample_rate=1.0, steps=1, max_norm=1e6, noise_multiplier=0.0,
                    lr=0.3, seed=0)
    assert run.batch_sizes.tolist() == [9]
    F.cross_entropy(ref(x), y).backward()
    with torch.no_grad():
        for (_, p), (_, r) in zip(model.named_parameters(), ref.named_parameters()):
            torch.testing.assert_close(p, r - 0.3 * r.grad, rtol=1e-5, atol=1e-6)


def test_dp_sgd_poisson_batches_and_reproducibility():
    model, x, y = _model_and_batch(n=200, seed=6)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    run = pv.dp_sgd(model, x, y, sample_rate=0.1, steps=60, max_norm=1.0, noise_multiplier=1.0,
                    lr=0.1, seed=4)
    # Binomial(200, 0.1) batch sizes: mean 20, sd 4.24; the mean of 60 has sd 0.55
    assert abs(run.batch_sizes.mean() - 20) < 2.0
    assert run.clipped_fraction.shape == (60,)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    pv.dp_sgd(model, x, y, sample_rate=0.1, steps=60, max_norm=1.0, noise_multiplier=1.0,
              lr=0.1, seed=4)
    for k, v in model.state_dict().items():
        assert torch.equal(v, first[k])


def test_epsilon_is_opacus_number_and_grows_with_steps():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants import RDPAccountant

        acc = RDPAccountant()
        for _ in range(50):
            acc.step(noise_multiplier=1.1, sample_rate=0.05)
        theirs = acc.get_epsilon(delta=1e-5)
    assert pv.epsilon(1.1, 0.05, 50, 1e-5) == pytest.approx(theirs, rel=1e-12)
    eps = [pv.epsilon(1.1, 0.05, t, 1e-5) for t in (10, 50, 100, 500, 1000)]
    assert all(b > a for a, b in zip(eps, eps[1:]))
    assert pv.epsilon(2.0, 0.05, 100, 1e-5) < pv.epsilon(1.0, 0.05, 100, 1e-5)


def test_noise_multiplier_for_hits_the_target():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants.utils import get_noise_multiplier

        theirs = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=0.1,
                                      steps=300)
    sigma = pv.noise_multiplier_for(2.0, 1e-5, 0.1, 300)
    assert sigma == theirs
    assert 2.0 - 0.01 <= pv.epsilon(sigma, 0.1, 300, 1e-5) <= 2.0


def test_membership_advantage_by_hand():
    members = np.array([0.1, 0.2, 0.5])
    others = np.array([0.3, 0.6])
    assert pv.membership_advantage(members, others, 0.25) == pytest.approx(2 / 3)
    assert pv.membership_advantage(members, others, 0.5) == pytest.approx(1 - 0.5)
    assert pv.membership_advantage(members, others, 0.6) == pytest.approx(0.0)
    adv, tau = pv.best_advantage(members, others)
    assert adv == pytest.approx(2 / 3) and tau == pytest.approx(0.2)
    # no threshold helps when non-members have lower losses: the best is the empty test
    assert pv.best_advantage(np.array([1.0, 2.0]), np.array([0.1, 0.2])) == (0.0, -math.inf)


def test_best_advantage_is_the_brute_force_maximum():
    rng = np.random.default_rng(0)
    for _ in range(20):
        members = rng.exponential(1.0, size=rng.integers(1, 30)).round(1)
        others = rng.exponential(1.5, size=rng.integers(1, 30)).round(1)
        grid = np.concatenate([[-1.0], members, others])
        brute = max(pv.membership_advantage(members, others, t) for t in grid)
        adv, tau = pv.best_advantage(members, others)
        assert adv == pytest.approx(max(brute, 0.0))
        if adv > 0:
            assert pv.membership_advantage(members, others, tau) == pytest.approx(adv)


def test_dp_advantage_bounds_by_hand():
    assert pv.dp_advantage_bound(0.0) == 0.0
    assert pv.dp_advantage_bound(1.0) == pytest.approx(math.tanh(0.5))
    e = math.exp(2.0)
    assert pv.dp_advantage_bound(2.0, 0.01) == pytest.approx((e - 1 + 0.02) / (e + 1))
    assert pv.dp_advantage_bound(50.0, 0.5) == 1.0
    assert pv.yeom_dp_bound(1.0) == pytest.approx(math.e - 1)
    for eps in (0.1, 1.0, 3.0):
        assert pv.dp_advantage_bound(eps) <= pv.yeom_dp_bound(eps) / 2 + 1e-15


def test_example_losses_match_cross_entropy():
    model, x, y = _model_and_batch(n=6)
    losses = pv.example_losses(model, x, y)
    assert losses.shape == (6,)
    for i in range(6):
        with torch.no_grad():
            ref = float(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]))
        assert losses[i] == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("call, arg", [
    (lambda: pv.clip_gradients({"w": torch.ones(2, 3)}, 0.0), "max_norm"),
    (lambda: pv.clip_gradients({}, 1.0), "grads"),
    (lambda: pv.noisy_sum({"w": torch.ones(2, 3)}, 1.0, -1.0), "noise_multiplier"),
    (lambda: pv.epsilon(1.0, 1.5, 10, 1e-5), "sample_rate"),
    (lambda: pv.epsilon(1.0, 0.1, 0, 1e-5), "steps"),
    (lambda: pv.epsilon(1.0, 0.1, 10, 0.0), "delta"),
    (lambda: pv.epsilon(0.0, 0.1, 10, 1e-5), "noise_multiplier"),
    (lambda: pv.noise_multiplier_for(-1.0, 1e-5, 0.1, 10), "target_epsilon"),
    (lambda: pv.membership_advantage([], [1.0], 0.5), "member_losses"),
    (lambda: pv.membership_advantage([1.0], [np.nan], 0.5), "nonmember_losses"),
    (lambda: pv.membership_advantage([1.0], [1.0], float("nan")), "threshold"),
    (lambda: pv.dp_advantage_bound(1.0, 1.5), "delta"),
    (lambda: pv.dp_advantage_bound(-1.0), "eps"),
    (lambda: pv.dp_advantage_bound(float("inf")), "eps"),
    (lambda: pv.yeom_dp_bound(True), "eps"),
    (lambda: pv.noisy_sum({"w": torch.ones(2, 3)}, 1.0, float("nan")), "noise_multiplier"),
    (lambda: pv.dp_sgd(MLP([2, 2]), torch.ones(3, 2), torch.zeros(3, dtype=torch.long),
                       sample_rate=0.5, steps=1, max_norm=1.0, noise_multiplier=1.0, lr=0.0,
                       seed=0), "lr"),
    (lambda: pv.dp_sgd(MLP([2, 2]), torch.ones(3, 2), torch.zeros(3, dtype=torch.long),
                       sample_rate=0.5, steps=2.0, max_norm=1.0, noise_multiplier=1.0, lr=0.1,
                       seed=0), "steps"),
    (lambda: pv.dp_sgd(MLP([2, 2]), torch.ones(3, 2), torch.zeros(3, dtype=torch.long),
                       sample_rate=0.0, steps=1, max_norm=1.0, noise_multiplier=1.0, lr=0.1,
                       seed=0), "sample_rate"),
    (lambda: pv.dp_sgd(MLP([2, 2]), torch.ones(3, 2), torch.zeros(3, dtype=torch.long),
                       sample_rate=0.5, steps=1, max_norm=1.0, noise_multiplier=1.0, lr=0.1,
                       seed=-1), "seed"),
    (lambda: pv.per_example_gradients(MLP([2, 2]), torch.ones(3, 2),
                                      torch.zeros(2, dtype=torch.long)), "x and y"),
])
def test_invalid_arguments_are_named(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


# --- exact argument checks, boundaries and hand-computed DP-SGD steps ---------------------------

def _linear_setup() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A bias-free linear map with a loss linear in its output: example i's gradient is x_i.

    Rows of x have norms 1, 2, 0.5 and 3, so with C = 1 the clipped gradients are
    [1, 0], [1, 0], [0.5, 0] and [0, 1] (norm exactly C is not clipped)."""
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.25, -0.5]]))
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.5, 0.0], [0.0, 3.0]])
    return model, x, torch.ones(4)


def _linear_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (out.squeeze(-1) * t).sum()


_CLIPPED_BY_HAND = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.0, 1.0]])


def test_dp_sgd_linear_steps_by_hand():
    """q = 1, sigma = 0: each step subtracts lr * (sum of clipped gradients) / (q n), by hand
    0.8 * [2.5, 1] / 4 = [0.5, 0.2]; two of the four norms (2 and 3) exceed C = 1."""
    model, x, t = _linear_setup()
    run = pv.dp_sgd(model, x, t, sample_rate=1.0, steps=2, max_norm=1.0, noise_multiplier=0.0,
                    lr=0.8, seed=0, loss_fn=_linear_loss)
    torch.testing.assert_close(model.weight.detach(),
                               torch.tensor([[0.25 - 2 * 0.5, -0.5 - 2 * 0.2]]))
    assert run.steps == 2 and run.sample_rate == 1.0 and run.noise_multiplier == 0.0
    assert run.max_norm == 1.0
    assert run.batch_sizes.tolist() == [4, 4]
    assert run.clipped_fraction.tolist() == [0.5, 0.5]


def test_dp_sgd_single_example_is_one_clipped_step():
    """n = 1 with q = 1: the update is lr * clip(g) / 1; g = [2, 0] clipped to [1, 0]."""
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    run = pv.dp_sgd(model, torch.tensor([[2.0, 0.0]]), torch.ones(1), sample_rate=1.0, steps=1,
                    max_norm=1.0, noise_multiplier=0.0, lr=0.5, seed=3, loss_fn=_linear_loss)
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[-0.5, 0.0]]))
    assert run.batch_sizes.tolist() == [1] and run.clipped_fraction.tolist() == [1.0]


@pytest.mark.parametrize("sigma", [0.0, 0.7])
def test_dp_sgd_matches_the_algorithm_replayed_with_the_seeded_generator(sigma: float):
    """Replays the documented algorithm with its private generator: per step, a Bernoulli(q)
    mask from torch.rand(n), then (if sigma > 0) Gaussian noise sigma * C * randn; the update
    is lr * (clipped sum + noise) / (q n). Includes an empty batch (noise only)."""
    q, lr, c, seed, steps = 0.3, 0.3, 1.0, 1, 8
    model, x, t = _linear_setup()
    run = pv.dp_sgd(model, x, t, sample_rate=q, steps=steps, max_norm=c, noise_multiplier=sigma,
                    lr=lr, seed=seed, loss_fn=_linear_loss)
    gen = torch.Generator().manual_seed(seed)
    w = torch.tensor([[0.25, -0.5]])
    sizes, shares = [], []
    big = torch.tensor([False, True, False, True])   # norms 1, 2, 0.5, 3 against C = 1
    for _ in range(steps):
        mask = torch.rand(4, generator=gen) < q
        total = _CLIPPED_BY_HAND[mask].sum(0, keepdim=True)
        if sigma > 0:
            total = total + sigma * c * torch.randn((1, 2), generator=gen)
        w = w - lr * total / (q * 4)
        sizes.append(int(mask.sum()))
        shares.append(float(big[mask].float().mean()) if mask.any() else 0.0)
    assert 0 in sizes and 1 in sizes   # the seed covers an empty and a single-example batch
    assert run.batch_sizes.tolist() == sizes
    np.testing.assert_allclose(run.clipped_fraction, shares)
    torch.testing.assert_close(model.weight.detach(), w)
    assert run.noise_multiplier == sigma and run.sample_rate == q


def test_noisy_sum_adds_sigma_c_times_the_generators_normals():
    """The noise is sigma * C times standard normals drawn from the given generator, in the
    dtype of the sum (float64 draws, not rounded float32 ones), parameter by parameter in the
    dict's order."""
    clipped = {"a": torch.arange(12, dtype=torch.float64).reshape(3, 2, 2),
               "b": torch.ones(3, 4, dtype=torch.float64)}
    out = pv.noisy_sum(clipped, 0.4, 1.5, torch.Generator().manual_seed(7))
    ref = torch.Generator().manual_seed(7)
    noise_a = torch.randn((2, 2), generator=ref, dtype=torch.float64)
    noise_b = torch.randn((4,), generator=ref, dtype=torch.float64)
    assert out["a"].dtype == torch.float64
    torch.testing.assert_close(out["a"], torch.tensor([[12.0, 15.0], [18.0, 21.0]],
                                                      dtype=torch.float64) + 0.6 * noise_a,
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out["b"], torch.full((4,), 3.0, dtype=torch.float64)
                               + 0.6 * noise_b, rtol=1e-12, atol=1e-12)


def test_clipping_higher_rank_gradients_by_hand():
    """Norms taken over all parameters and all coordinates: example 0 has ||(3, 4, 12)|| = 13,
    example 1 has ||(0.6, 0.8, 0)|| = 1; with C = 2.6 the first is scaled by 0.2."""
    grads = {"w": torch.tensor([[[3.0, 0.0], [4.0, 0.0]], [[0.6, 0.0], [0.0, 0.8]]]),
             "b": torch.tensor([[12.0], [0.0]])}
    clipped, norms = pv.clip_gradients(grads, 2.6)
    torch.testing.assert_close(norms, torch.tensor([13.0, 1.0]))
    torch.testing.assert_close(clipped["w"], torch.tensor([[[0.6, 0.0], [0.8, 0.0]],
                                                           [[0.6, 0.0], [0.0, 0.8]]]))
    torch.testing.assert_close(clipped["b"], torch.tensor([[2.4], [0.0]]))


def test_per_example_gradients_of_a_single_example():
    """n = 1 is allowed: the gradient equals autograd's on that one example."""
    model, x, y = _model_and_batch(n=1, seed=2)
    grads = pv.per_example_gradients(model, x, y)
    F.cross_entropy(model(x), y).backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(grads[k][0], p.grad, rtol=1e-5, atol=1e-6)


def test_accountant_accepts_full_batches():
    """sample_rate = 1 is valid (closed at 1): the accountant's epsilon equals Opacus's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus.accountants import RDPAccountant

        acc = RDPAccountant()
        acc.history = [(2.0, 1.0, 5)]
        theirs = acc.get_epsilon(delta=1e-5)
    assert pv.epsilon(2.0, 1.0, 5, 1e-5) == pytest.approx(theirs, rel=1e-12)
    sigma = pv.noise_multiplier_for(20.0, 1e-5, 1.0, 5)
    assert 20.0 - 0.01 <= pv.epsilon(sigma, 1.0, 5, 1e-5) <= 20.0


def test_advantage_extremes_and_exact_fractions():
    """Perfect separation gives advantage 1 at the largest member loss; equal losses give the
    empty test (0, -inf); Fractions are real numbers, and delta = 0 is allowed explicitly."""
    from fractions import Fraction

    assert pv.best_advantage([0.1, 0.2], [0.9]) == (1.0, 0.2)
    assert pv.best_advantage([1.0], [1.0]) == (0.0, -math.inf)
    assert pv.membership_advantage([Fraction(1, 3)], [Fraction(2, 3)], 0.5) == 1.0
    assert pv.membership_advantage([1, 2], [3], 2) == 1.0
    assert pv.dp_advantage_bound(1.0, 0.0) == pytest.approx(math.tanh(0.5))
    assert pv.dp_advantage_bound(0.0, 0.25) == pytest.approx(2 * 0.25 / 2)
    assert pv.noisy_sum({"w": torch.ones(2, 3)}, 1.0, 0)["w"].tolist() == [2.0, 2.0, 2.0]


def _tiny() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return MLP([2, 2]), torch.ones(3, 2), torch.zeros(3, dtype=torch.long)


def _sgd(**kw: object) -> pv.DPRun:
    model, x, y = _tiny()
    args: dict = dict(sample_rate=0.5, steps=1, max_norm=1.0, noise_multiplier=1.0, lr=0.1,
                      seed=0)
    args.update(kw)
    return pv.dp_sgd(model, args.pop("x", x), args.pop("y", y), **args)


@pytest.mark.parametrize("call, message", [
    (lambda: pv.clip_gradients({"w": torch.ones(2, 3)}, 0.0),
     "max_norm must be a positive finite number, got 0.0."),
    (lambda: pv.clip_gradients({}, 1.0),
     "grads must hold at least one parameter's per-example gradients."),
    (lambda: pv.clip_gradients({"w": torch.ones(2, 3), "b": torch.ones(3)}, 1.0),
     "grads must all have the same number of examples, got [2, 3]."),
    (lambda: pv.noisy_sum({"w": torch.ones(2)}, -1.0, 1.0),
     "max_norm must be a positive finite number, got -1.0."),
    (lambda: pv.noisy_sum({"w": torch.ones(2)}, 1.0, -0.5),
     "noise_multiplier must be a non-negative finite number, got -0.5."),
    (lambda: pv.noisy_sum({"w": torch.ones(2)}, 1.0, float("inf")),
     "noise_multiplier must be a non-negative finite number, got inf."),
    (lambda: pv.noisy_sum({"w": torch.ones(2)}, 1.0, "1"),
     "noise_multiplier must be a non-negative finite number, got '1'."),
    (lambda: pv.per_example_gradients(MLP([2, 2]), torch.ones(3, 2), torch.zeros(2)),
     "x and y must hold the same positive number of examples, got x: (3, 2) and y: (2,)."),
    (lambda: pv.per_example_gradients(MLP([2, 2]), torch.ones(0, 2), torch.zeros(0)),
     "x and y must hold the same positive number of examples, got x: (0, 2) and y: (0,)."),
    (lambda: _sgd(sample_rate=0.0), "sample_rate must be a number in (0, 1], got 0.0."),
    (lambda: _sgd(sample_rate=1.5), "sample_rate must be a number in (0, 1], got 1.5."),
    (lambda: _sgd(sample_rate="0.5"), "sample_rate must be a number in (0, 1], got '0.5'."),
    (lambda: _sgd(sample_rate=True), "sample_rate must be a number in (0, 1], got True."),
    (lambda: _sgd(steps=0), "steps must be a positive integer, got 0."),
    (lambda: _sgd(max_norm=0.0), "max_norm must be a positive finite number, got 0.0."),
    (lambda: _sgd(noise_multiplier=-1.0),
     "noise_multiplier must be a non-negative finite number, got -1.0."),
    (lambda: _sgd(lr=-0.1), "lr must be a positive finite number, got -0.1."),
    (lambda: _sgd(seed=-1), "seed must be a non-negative integer, got -1."),
    (lambda: _sgd(x=torch.ones(0, 2), y=torch.zeros(0, dtype=torch.long)),
     "x and y must hold the same positive number of examples, got x: (0, 2) and y: (0,)."),
    (lambda: _sgd(y=torch.zeros(2, dtype=torch.long)),
     "x and y must hold the same positive number of examples, got x: (3, 2) and y: (2,)."),
    (lambda: pv.epsilon(0.0, 0.1, 10, 1e-5),
     "noise_multiplier must be a positive finite number, got 0.0."),
    (lambda: pv.epsilon(1.0, 1.5, 10, 1e-5), "sample_rate must be a number in (0, 1], got 1.5."),
    (lambda: pv.epsilon(1.0, 0.1, 0, 1e-5), "steps must be a positive integer, got 0."),
    (lambda: pv.epsilon(1.0, 0.1, 10, 1.0), "delta must be a number in (0, 1), got 1.0."),
    (lambda: pv.epsilon(1.0, 0.1, 10, 0.0), "delta must be a number in (0, 1), got 0.0."),
    (lambda: pv.noise_multiplier_for(0.0, 1e-5, 0.1, 10),
     "target_epsilon must be a positive finite number, got 0.0."),
    (lambda: pv.noise_multiplier_for(1.0, 1.0, 0.1, 10),
     "delta must be a number in (0, 1), got 1.0."),
    (lambda: pv.noise_multiplier_for(1.0, 1e-5, 2.0, 10),
     "sample_rate must be a number in (0, 1], got 2.0."),
    (lambda: pv.noise_multiplier_for(1.0, 1e-5, 0.1, 0),
     "steps must be a positive integer, got 0."),
    (lambda: pv.example_losses(MLP([2, 2]), torch.ones(3, 2), torch.zeros(2, dtype=torch.long)),
     "x and y must hold the same number of examples, got x: (3, 2) and y: (2,)."),
    (lambda: pv.membership_advantage([[1.0]], [1.0], 0.5),
     "member_losses must be a non-empty 1-D array of finite numbers, got shape (1, 1)."),
    (lambda: pv.membership_advantage([1.0], [], 0.5),
     "nonmember_losses must be a non-empty 1-D array of finite numbers, got shape (0,)."),
    (lambda: pv.membership_advantage([1.0], [1.0], True),
     "threshold must be a real number, got True."),
    (lambda: pv.membership_advantage([1.0], [1.0], "0.5"),
     "threshold must be a real number, got '0.5'."),
    (lambda: pv.best_advantage([np.inf], [1.0]),
     "member_losses must be a non-empty 1-D array of finite numbers, got shape (1,)."),
    (lambda: pv.best_advantage([1.0], [[1.0, 2.0]]),
     "nonmember_losses must be a non-empty 1-D array of finite numbers, got shape (1, 2)."),
    (lambda: pv.dp_advantage_bound(-0.5), "eps must be a non-negative finite number, got -0.5."),
    (lambda: pv.dp_advantage_bound(1.0, 1.0), "delta must be a number in [0, 1), got 1.0."),
    (lambda: pv.dp_advantage_bound(1.0, 1.5), "delta must be a number in [0, 1), got 1.5."),
    (lambda: pv.dp_advantage_bound(1.0, -0.1), "delta must be a number in [0, 1), got -0.1."),
    (lambda: pv.dp_advantage_bound(1.0, True), "delta must be a number in [0, 1), got True."),
    (lambda: pv.dp_advantage_bound(1.0, "0"), "delta must be a number in [0, 1), got '0'."),
    (lambda: pv.yeom_dp_bound(-1.0), "eps must be a non-negative finite number, got -1.0."),
    (lambda: pv.yeom_dp_bound(True), "eps must be a non-negative finite number, got True."),
])
def test_invalid_arguments_give_the_exact_message(call, message: str):
    """Each check names its argument and the expected range, anchored at the start."""
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()
