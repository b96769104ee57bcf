"""Tests for dlscience.backprop: the NumPy reverse-mode loop against torch.autograd."""

import numpy as np
import pytest
import torch
from dlscience import backprop as bp


def _problem(seed=0, widths=(4, 16, 16, 3), n=20):
    rng = np.random.default_rng(seed)
    params = bp.init_params(list(widths), rng)
    return params, rng.normal(size=(n, widths[0])), rng.normal(size=(n, widths[-1]))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
def test_gradients_match_autograd(activation):
    params, x, y = _problem()
    loss, grads = bp.loss_and_gradients(params, x, y, activation)
    loss_t, leaves = bp.to_torch_mlp_loss(params, x, y, activation)
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-12
    for mine, leaf in zip([a for pair in grads for a in pair], leaves, strict=True):
        np.testing.assert_allclose(mine, leaf.grad.numpy(), rtol=0, atol=1e-12)


def test_input_gradient_matches_autograd():
    params, x, y = _problem(1)
    zs = bp.forward(params, x)
    _, r = bp.mse_loss(zs[-1], y)
    _, r0 = bp.backward(params, zs, r)
    xt = torch.tensor(x, requires_grad=True)
    z = xt
    for i, (w, b) in enumerate(params):
        z = z @ torch.tensor(w).T + torch.tensor(b)
        z = torch.tanh(z) if i < len(params) - 1 else z
    (0.5 * ((z - torch.tensor(y)) ** 2).sum() / len(x)).backward()
    np.testing.assert_allclose(r0, xt.grad.numpy(), rtol=0, atol=1e-12)


def test_finite_differences_agree():
    params, x, y = _problem(2)
    _, grads = bp.loss_and_gradients(params, x, y)
    idx = np.arange(0, bp.flatten(grads).size, 7)
    fd = bp.finite_difference_gradient(params, x, y, 1e-5, idx)
    np.testing.assert_allclose(fd, bp.flatten(grads)[idx], rtol=0, atol=1e-8)


@pytest.mark.parametrize("every", [1, 2, 3, 5, 10])
def test_checkpointing_same_gradients_and_counts(every):
    params, x, y = _problem(3, widths=(3,) + (8,) * 9 + (2,))
    n_layers = len(params)
    loss, grads = bp.loss_and_gradients(params, x, y)
    loss_c, grads_c, stats = bp.checkpointed_gradients(params, x, y, every)
    assert loss_c == loss
    for (w, b), (wc, bc) in zip(grads, grads_c, strict=True):
        assert np.array_equal(w, wc) and np.array_equal(b, bc)
    segments = -(-n_layers // every)
    assert stats.forward_layers == 2 * n_layers - segments
    assert stats.peak_stored <= segments + every
    if every == 1:
        assert stats.peak_stored == n_layers + 1


def test_flatten_roundtrip():
    params, _, _ = _problem()
    back = bp.unflatten(bp.flatten(params), params)
    assert all(np.array_equal(a, c) and np.array_equal(b, d)
               for (a, b), (c, d) in zip(params, back, strict=True))


def test_bad_inputs_raise():
    params, x, y = _problem()
    with pytest.raises(ValueError, match="activation"):
        bp.forward(params, x, activation="gelu")
    with pytest.raises(ValueError, match="every"):
        bp.checkpointed_gradients(params, x, y, every=0)
    with pytest.raises(ValueError, match="widths"):
        bp.init_params([3], np.random.default_rng(0))
    with pytest.raises(ValueError, match="h must"):
        bp.finite_difference_gradient(params, x, y, 0.0, np.arange(3))
    with pytest.raises(ValueError, match="z must"):
        bp.forward(params, x[:, :2])


def test_relative_errors_by_hand():
    g = np.array([1.0, -2.0, 1e-3, 0.0, 0.0])
    a = np.array([1.1, 2.0, 2e-3, 0.0, 1e-9])
    e = bp.relative_errors(g, a)
    np.testing.assert_allclose(e, [0.1 / 2.1, 1.0, 1e-3 / 3e-3, 0.0, 1.0], rtol=1e-15)
    # with a floor, tiny coordinates are compared in absolute terms
    e_floor = bp.relative_errors(g, a, floor=1e-6)
    np.testing.assert_allclose(e_floor[-1], 1e-3, rtol=1e-12)
    np.testing.assert_allclose(e_floor[:3], e[:3], rtol=0)
    with pytest.raises(ValueError, match="shape"):
        bp.relative_errors(g, a[:2])
    with pytest.raises(ValueError, match="floor"):
        bp.relative_errors(g, a, floor=-1.0)


@pytest.mark.parametrize("input_grad", [False, True])
def test_matmul_flops_match_torch_flop_counter(input_grad):
    from torch.utils.flop_counter import FlopCounterMode

    widths, n = [7, 16, 5, 9, 3], 11
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b, device="meta"))
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*layers)
    x = torch.empty(n, widths[0], device="meta", requires_grad=input_grad)
    with FlopCounterMode(display=False) as fwd:
        loss = net(x).square().sum()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    assert bp.matmul_flops(widths, n, input_grad) == (fwd.get_total_flops(),
                                                       bwd.get_total_flops())
    # by hand for one layer: forward 2 n d0 d1, backward twice that with the input gradient
    assert bp.matmul_flops([3, 4], 5, True) == (120, 240)
    assert bp.matmul_flops([3, 4], 5, False) == (120, 120)


def test_matmul_flops_bad_inputs():
    with pytest.raises(ValueError, match="widths"):
        bp.matmul_flops([3], 4)
    with pytest.raises(ValueError, match="batch"):
        bp.matmul_flops([3, 4], 0)
