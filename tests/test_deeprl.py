"""Tests for dlscience.deeprl: returns-to-go, the REINFORCE estimator, replay, DQN targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dlscience import deeprl as rl


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks: one thread is faster (and much faster on a loaded machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def linear_policy(members: int = 2, seed: int = 0) -> rl.EnsembleMLP:
    """A softmax policy with linear logits s W + c (an ensemble with no hidden layer)."""
    return rl.EnsembleMLP(members, (4, 2), torch.Generator().manual_seed(seed))


def hand_scores(W: np.ndarray, c: np.ndarray, obs: np.ndarray, actions: np.ndarray):
    """grad_W and grad_c of log softmax(s W + c)[a], by the formula (e_a - pi) outer s."""
    logits = obs @ W + c
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    delta = np.eye(2)[actions] - p                          # (..., 2)
    return obs[..., :, None] * delta[..., None, :], delta   # (..., 4, 2), (..., 2)


def test_returns_to_go_by_hand():
    got = rl.returns_to_go(np.array([1.0, 2.0, 3.0]), gamma=0.5)
    np.testing.assert_allclose(got, [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])
    padded = rl.returns_to_go(np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(padded, [[3, 2, 1, 0], [1, 0, 0, 0]])


def test_reinforce_loss_gradient_is_the_score_function_estimate():
    rng = np.random.default_rng(0)
    R, N, T = 2, 3, 5
    policy = linear_policy(R)
    obs = rng.normal(size=(R, N, T, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=(R, N, T))
    weights = rng.normal(size=(R, N, T)).astype(np.float32)
    mask = (rng.random((R, N, T)) < 0.8).astype(np.float32)
    logits = policy(torch.from_numpy(obs).view(R, N * T, 4)).view(R, N, T, 2)
    loss = rl.reinforce_loss(logits, torch.from_numpy(actions), torch.from_numpy(weights),
                             torch.from_numpy(mask))
    loss.backward()
    W = policy.weights[0].detach().numpy()                  # (R, 4, 2)
    c = policy.biases[0].detach().numpy()                   # (R, 1, 2)
    for r in range(R):
        gW, gc = hand_scores(W[r].astype(np.float64), c[r, 0].astype(np.float64),
                             obs[r].astype(np.float64), actions[r])
        wm = (weights[r] * mask[r])[..., None]
        expect_W = -(gW * wm[..., None]).sum(axis=(0, 1)) / N
        expect_c = -(gc * wm).sum(axis=(0, 1)) / N
        np.testing.assert_allclose(policy.weights[0].grad[r].numpy(), expect_W, rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(policy.biases[0].grad[r, 0].numpy(), expect_c, rtol=1e-4,
                                   atol=1e-5)


def test_per_step_scores_match_formula_and_autograd():
    rng = np.random.default_rng(1)
    single = linear_policy(1, seed=3)
    obs = rng.normal(size=(7, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=7)
    got = rl.per_step_scores(single, obs, actions)          # (7, 4*2 + 2)
    W = single.weights[0].detach().numpy()[0].astype(np.float64)
    c = single.biases[0].detach().numpy()[0, 0].astype(np.float64)
    gW, gc = hand_scores(W, c, obs.astype(np.float64), actions)
    np.testing.assert_allclose(got, np.concatenate([gW.reshape(7, -1), gc], axis=1), rtol=1e-4,
                               atol=1e-6)
    # an MLP: compare with one autograd backward per step
    mlp = rl.EnsembleMLP(1, (4, 8, 2), torch.Generator().manual_seed(0))
    got = rl.per_step_scores(mlp, obs, actions)
    for i in range(len(obs)):
        mlp.zero_grad()
        out = mlp(torch.from_numpy(obs[i]).view(1, 1, 4)).view(-1)
        torch.log_softmax(out, dim=0)[int(actions[i])].backward()
        ref = torch.cat([p.grad.reshape(-1) for p in mlp.parameters()]).numpy()
        np.testing.assert_allclose(got[i], ref, rtol=1e-5, atol=1e-6)


def test_episode_gradients_sum_scores_over_steps():
    rng = np.random.default_rng(2)
    single = linear_policy(1, seed=5)
    N, T = 5, 6
    lengths = np.array([6, 1, 3, 4, 2])
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float32)
    obs = rng.normal(size=(1, N, T, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=(1, N, T))
    rewards = mask[None].copy()
    ep = rl.Episodes(obs=obs, actions=actions, rewards=rewards, mask=mask[None],
                     returns=rewards.sum(axis=-1))
    w = rng.normal(size=(N, T))
    got = rl.episode_gradients(single, ep, {"w": w}, chunk=2)["w"]
    for i in range(N):
        sc = rl.per_step_scores(single, obs[0, i, :lengths[i]], actions[0, i, :lengths[i]])
        np.testing.assert_allclose(got[i], (sc * w[i, :lengths[i], None]).sum(axis=0),
                                   rtol=1e-5, atol=1e-6)


def test_ensemble_members_are_independent_networks():
    gen = torch.Generator().manual_seed(0)
    net = rl.EnsembleMLP(3, (4, 16, 2), gen)
    x = torch.randn(3, 5, 4)
    out = net(x)
    for k in range(3):
        np.testing.assert_allclose(net.member(k)(x[k:k + 1]).detach().numpy(),
                                   out[k:k + 1].detach().numpy(), rtol=1e-6, atol=1e-6)
    assert net.weights[0].abs().max() <= 4 ** -0.5 and net.weights[1].abs().max() <= 16 ** -0.5
    # a member's gradient does not depend on the other members' inputs
    net.zero_grad()
    net(x)[1].sum().backward()
    assert net.weights[0].grad[0].abs().sum() == 0 and net.weights[0].grad[1].abs().sum() > 0


def test_replay_buffer_capacity_and_sampling():
    buf = rl.ReplayBuffer(capacity=3, runs=2, obs_dim=1)
    with pytest.raises(ValueError, match="no stored transition"):
        buf.sample(4, np.random.default_rng(0))
    for i in range(5):                 # run 1 skips the third transition
        which = np.array([True, i != 2])
        o = np.array([[i], [10 + i]], dtype=np.float32)
        buf.add(o, np.array([i % 2, 0]), np.array([1.0, 1.0]), o + 0.5,
                np.array([0.0, 1.0]), which=which)
    np.testing.assert_array_equal(buf.size, [3, 3])
    # run 0 keeps the last three transitions 2, 3, 4; run 1 keeps 11, 13, 14
    assert sorted(buf.obs[0, :, 0]) == [2, 3, 4]
    assert sorted(buf.obs[1, :, 0]) == [11, 13, 14]
    obs, actions, rewards, next_obs, term = buf.sample(2000, np.random.default_rng(1))
    assert obs.shape == (2, 2000, 1) and actions.shape == (2, 2000)
    assert set(np.unique(obs[0, :, 0])) == {2, 3, 4}
    assert set(np.unique(obs[1, :, 0])) == {11, 13, 14}
    np.testing.assert_allclose(next_obs, obs + 0.5)          # transitions stay together
    counts = np.unique(obs[0, :, 0], return_counts=True)[1]
    assert np.all(np.abs(counts / 2000 - 1 / 3) < 0.04)      # uniform


def test_td_targets_by_hand():
    next_q = torch.tensor([[1.0, 3.0], [2.0, -1.0], [0.5, 0.2]])
    rewards = torch.tensor([1.0, 0.0, 2.0])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    got = rl.td_targets(next_q, rewards, terminated, gamma=0.9)
    np.testing.assert_allclose(got.numpy(), [1 + 0.9 * 3, 0.9 * 2, 2.0])


def test_sync_target_copies_and_detaches():
    online = rl.EnsembleMLP(2, (4, 8, 2), torch.Generator().manual_seed(0))
    target = rl.EnsembleMLP(2, (4, 8, 2), torch.Generator().manual_seed(1))
    x = torch.randn(2, 3, 4)
    assert not torch.allclose(online(x), target(x))
    rl.sync_target(online, target)
    assert torch.equal(online(x), target(x))
    with torch.no_grad():
        online.weights[0].add_(1.0)
    assert not torch.allclose(online(x), target(x))


def test_linear_epsilon():
    assert rl.linear_epsilon(0, 1.0, 0.05, 100) == 1.0
    assert rl.linear_epsilon(50, 1.0, 0.05, 100) == pytest.approx(0.525)
    assert rl.linear_epsilon(500, 1.0, 0.05, 100) == pytest.approx(0.05)


def test_random_policy_on_cartpole_is_reproducible_and_short():
    a = rl.random_policy_returns(300, seed=0)
    b = rl.random_policy_returns(300, seed=0)
    np.testing.assert_array_equal(a, b)
    assert 18 < a.mean() < 27            # about 22 steps on average
    assert a.min() >= 1 and a.max() <= 500


def test_rollout_masks_and_returns():
    policy = rl.EnsembleMLP(2, (4, 8, 2), torch.Generator().manual_seed(0))
    ep = rl.rollout_episodes(policy, 3, np.random.default_rng(0), seed=1)
    assert ep.obs.shape[:2] == (2, 3) and ep.obs.shape[-1] == 4
    np.testing.assert_allclose(ep.returns, ep.mask.sum(axis=-1))   # reward 1 per step
    # the mask is a prefix of ones
    assert np.all(np.diff(ep.mask, axis=-1) <= 0)
    # identical members facing the same seeded starts return the same greedy scores
    same = policy.member(0)
    twin = rl.EnsembleMLP(2, (4, 8, 2), torch.Generator().manual_seed(0))
    for w, b in zip(twin.weights, twin.biases):
        w.data[1] = w.data[0]
        b.data[1] = b.data[0]
    scores = rl.evaluate_greedy(twin, 4, seed=3)
    np.testing.assert_array_equal(scores[0], scores[1])
    np.testing.assert_array_equal(scores[0], rl.evaluate_greedy(same, 4, seed=3)[0])


def test_training_loops_run_and_have_shapes():
    pg = rl.train_reinforce(2, 3, 2, seed=0, hidden=(8,), snapshot_at=1)
    assert pg.returns.shape == (2, 3) and np.all(np.diff(pg.env_steps, axis=1) > 0)
    assert pg.snapshot is not None and pg.snapshot[0].members == 1
    dqn = rl.train_dqn(2, 300, seed=0, hidden=(8,), learning_starts=50, record_every=100)
    assert dqn.curve.shape == (2, 3) and dqn.grid.tolist() == [100, 200, 300]
    assert all(len(r) > 0 for r in dqn.episode_returns)


@pytest.mark.parametrize("call, match", [
    (lambda: rl.returns_to_go(np.ones(3), gamma=1.5), "gamma"),
    (lambda: rl.EnsembleMLP(0, (4, 2), torch.Generator()), "members"),
    (lambda: rl.EnsembleMLP(1, (4,), torch.Generator()), "sizes"),
    (lambda: rl.EnsembleMLP(2, (4, 2), torch.Generator())(torch.zeros(3, 1, 4)), "shape"),
    (lambda: rl.ReplayBuffer(0, 1), "capacity"),
    (lambda: rl.td_targets(torch.zeros(3, 2), torch.zeros(2), torch.zeros(2), 0.9), "shape"),
    (lambda: rl.td_targets(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3), -0.1), "gamma"),
    (lambda: rl.linear_epsilon(1, 1.0, 0.1, 0), "duration"),
    (lambda: rl.train_reinforce(0, 1, 1, seed=0), "runs"),
    (lambda: rl.train_dqn(1, 10, seed=0, lr=0.0), "lr"),
    (lambda: rl.random_policy_returns(0, seed=0), "episodes"),
    (lambda: rl.make_cartpole(0), "num_envs"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lockstep_greedy_evaluation_matches_member_by_member_rollouts():
    # evaluate_greedy runs all members at once from shared starts; compare with the independent
    # path: each member alone through rollout_episodes, whose environment is seeded the same way
    policy = rl.EnsembleMLP(3, (4, 16, 2), torch.Generator().manual_seed(4))
    with torch.no_grad():               # a policy that balances for a while: push towards the lean
        for k in range(3):
            policy.weights[-1][k] *= 0.1
            policy.weights[0][k, 2, :] += 3.0 * (k + 1)
    got = rl.evaluate_greedy(policy, 6, seed=11)
    assert got.shape == (3, 6)
    for k in range(3):
        ref = rl.rollout_episodes(policy.member(k), 6, np.random.default_rng(0), greedy=True,
                                  seed=11).returns[0]
        np.testing.assert_array_equal(got[k], ref)
