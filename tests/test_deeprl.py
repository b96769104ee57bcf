"""Tests for dlscience.deeprl: returns-to-go, the REINFORCE estimator, replay, DQN targets."""

from __future__ import annotations

import copy

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


# ---------------------------------------------------------------------------------------------
# Argument checks: exact messages and boundaries.

def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("call, message", [
    (lambda: rl.returns_to_go(np.ones(3), gamma=True), r"^gamma must be a number in \[0, 1\]"),
    (lambda: rl.returns_to_go(np.ones(3), gamma="0.5"), r"^gamma must be a number in \[0, 1\]"),
    (lambda: rl.returns_to_go(np.ones(3), gamma=-0.01), r"^gamma must be a number in \[0, 1\]"),
    (lambda: rl.returns_to_go(np.ones(3), gamma=1.01), r"^gamma must be a number in \[0, 1\]"),
    (lambda: rl.returns_to_go(np.float64(2.0)), r"^rewards must have at least one axis"),
    (lambda: rl.make_cartpole(0), r"^num_envs must be a positive integer"),
    (lambda: rl.EnsembleMLP(0, (4, 2), _gen()), r"^members must be a positive integer"),
    (lambda: rl.EnsembleMLP(1, (4,), _gen()), r"^sizes must hold at least an input and an"),
    (lambda: rl.EnsembleMLP(1, (4, 0), _gen()), r"^sizes must be a positive integer"),
    (lambda: rl.EnsembleMLP(2, (4, 2), _gen())(torch.zeros(2, 1, 3)),
     r"^x must have shape \(2, B, 4\), got \(2, 1, 3\)"),
    (lambda: rl.EnsembleMLP(2, (4, 2), _gen())(torch.zeros(3, 1, 4)), r"^x must have shape"),
    (lambda: rl.EnsembleMLP(2, (4, 2), _gen())(torch.zeros(2, 4)), r"^x must have shape"),
    (lambda: rl.EnsembleMLP(3, (4, 2), _gen()).member(3), r"^k must be in \[0, 3\), got 3"),
    (lambda: rl.EnsembleMLP(3, (4, 2), _gen()).member(-1), r"^k must be in \[0, 3\)"),
    (lambda: rl.rollout_episodes(linear_policy(2), 0, np.random.default_rng(0)),
     r"^per_member must be a positive integer"),
    (lambda: rl.rollout_episodes(linear_policy(2), 2, np.random.default_rng(0),
                                 env=rl.make_cartpole(3)[0]),
     r"^env must hold members \* per_member = 4 environments, got 3"),
    (lambda: rl.random_policy_returns(0, seed=0), r"^episodes must be a positive integer"),
    (lambda: rl.evaluate_greedy(linear_policy(1), 0, seed=0),
     r"^episodes must be a positive integer"),
    (lambda: rl.reinforce_loss(torch.zeros(2, 3, 2), torch.zeros(2, 3, dtype=torch.int64),
                               torch.zeros(2, 3), torch.zeros(2, 3)), r"^logits must have shape"),
    (lambda: rl.reinforce_loss(torch.zeros(1, 2, 3, 2), torch.zeros(1, 2, 4, dtype=torch.int64),
                               torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)),
     r"^logits must have shape"),
    (lambda: rl.reinforce_loss(torch.zeros(1, 2, 3, 2), torch.zeros(1, 2, 3, dtype=torch.int64),
                               torch.zeros(1, 2, 4), torch.zeros(1, 2, 3)),
     r"^logits must have shape"),
    (lambda: rl.reinforce_loss(torch.zeros(1, 2, 3, 2), torch.zeros(1, 2, 3, dtype=torch.int64),
                               torch.zeros(1, 2, 3), torch.zeros(1, 2, 4)),
     r"^logits must have shape"),
    (lambda: rl.per_step_scores(linear_policy(2), np.zeros((1, 4)), np.zeros(1, dtype=int)),
     r"^policy must have one member, got 2"),
    (lambda: rl.per_step_scores(linear_policy(1), np.zeros(4), np.zeros(1, dtype=int)),
     r"^obs must be \(n, 4\) and actions \(n,\)"),
    (lambda: rl.per_step_scores(linear_policy(1), np.zeros((2, 4)), np.zeros(3, dtype=int)),
     r"^obs must be \(n, 4\) and actions \(n,\)"),
    (lambda: rl.train_reinforce(0, 1, 1, seed=0), r"^runs must be a positive integer"),
    (lambda: rl.train_reinforce(1, 0, 1, seed=0), r"^updates must be a positive integer"),
    (lambda: rl.train_reinforce(1, 1, 0, seed=0),
     r"^episodes_per_update must be a positive integer"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, lr=0.0), r"^lr must be a positive finite"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, value_lr=0.0),
     r"^value_lr must be a positive finite"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, value_steps=0),
     r"^value_steps must be a positive integer"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, gamma=1.5), r"^gamma must be a number in"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, value_scale=0.0),
     r"^value_scale must be a positive finite"),
    (lambda: rl.train_reinforce(1, 1, 1, seed=0, snapshot_at=-1),
     r"^snapshot_at must be a non-negative integer"),
    (lambda: rl.ReplayBuffer(0, 1), r"^capacity must be a positive integer"),
    (lambda: rl.ReplayBuffer(1, 0), r"^runs must be a positive integer"),
    (lambda: rl.ReplayBuffer(1, 1, obs_dim=0), r"^obs_dim must be a positive integer"),
    (lambda: rl.ReplayBuffer(2, 3, obs_dim=1).add(np.zeros((3, 1)), np.zeros(3), np.zeros(3),
                                                  np.zeros((3, 1)), np.zeros(3),
                                                  which=np.ones(2, bool)),
     r"^which must have shape \(3,\), got \(2,\)"),
    (lambda: rl.ReplayBuffer(2, 1).sample(0, np.random.default_rng(0)),
     r"^batch must be a positive integer"),
    (lambda: rl.ReplayBuffer(2, 1).sample(1, np.random.default_rng(0)),
     r"^cannot sample: some run has no stored transition yet"),
    (lambda: rl.td_targets(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3), 1.1),
     r"^gamma must be a number in"),
    (lambda: rl.td_targets(torch.zeros(3, 2), torch.zeros(3), torch.zeros(2), 0.9),
     r"^next_q must have shape \(\.\.\., A\)"),
    (lambda: rl.td_targets(torch.zeros(3, 2), torch.zeros(2), torch.zeros(3), 0.9),
     r"^next_q must have shape \(\.\.\., A\)"),
    (lambda: rl.linear_epsilon(-1, 1.0, 0.1, 10), r"^step must be a non-negative integer"),
    (lambda: rl.linear_epsilon(1, 1.5, 0.1, 10), r"^start must be a number in \[0, 1\]"),
    (lambda: rl.linear_epsilon(1, 1.0, -0.1, 10), r"^end must be a number in \[0, 1\]"),
    (lambda: rl.linear_epsilon(1, 1.0, 0.1, 0), r"^duration must be a positive integer"),
    (lambda: rl.train_dqn(0, 10, seed=0), r"^runs must be a positive integer"),
    (lambda: rl.train_dqn(1, 0, seed=0), r"^steps must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, lr=0.0), r"^lr must be a positive finite"),
    (lambda: rl.train_dqn(1, 10, seed=0, gamma=1.5), r"^gamma must be a number in"),
    (lambda: rl.train_dqn(1, 10, seed=0, batch=0), r"^batch must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, capacity=0), r"^capacity must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, learning_starts=-1),
     r"^learning_starts must be a non-negative integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, train_every=0),
     r"^train_every must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, target_every=0),
     r"^target_every must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, eps_fraction=1.5), r"^eps_fraction must be a number"),
    (lambda: rl.train_dqn(1, 10, seed=0, record_every=0),
     r"^record_every must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, window=0), r"^window must be a positive integer"),
    (lambda: rl.train_dqn(1, 10, seed=0, eps_start=1.5), r"^start must be a number in"),
])
def test_invalid_arguments_exact_messages(call, message):
    """Bad input raises a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match=message):
        call()


def test_episode_gradients_argument_checks():
    """episode_gradients names chunk, the member count and the offending weights' key."""
    ep = rl.Episodes(obs=np.zeros((1, 2, 3, 4), np.float32), actions=np.zeros((1, 2, 3), int),
                     rewards=np.zeros((1, 2, 3)), mask=np.ones((1, 2, 3), np.float32),
                     returns=np.zeros((1, 2)))
    single = linear_policy(1)
    with pytest.raises(ValueError, match=r"^chunk must be a positive integer"):
        rl.episode_gradients(single, ep, {"w": np.zeros((2, 3))}, chunk=0)
    with pytest.raises(ValueError, match=r"^weights\['w'\] must have shape \(2, 3\), got \(3, 2\)"):
        rl.episode_gradients(single, ep, {"w": np.zeros((3, 2))})
    two = rl.Episodes(obs=np.zeros((2, 2, 3, 4), np.float32), actions=np.zeros((2, 2, 3), int),
                      rewards=np.zeros((2, 2, 3)), mask=np.ones((2, 2, 3), np.float32),
                      returns=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^episodes must come from a one-member policy \(R = 1\), "
                                         r"got R = 2"):
        rl.episode_gradients(single, two, {"w": np.zeros((2, 3))})


def test_boundary_values_are_accepted():
    """The ends of each allowed range are valid: gamma 0 and 1, k = 0 and members - 1, step 0."""
    r = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(rl.returns_to_go(r, gamma=0), r)          # G_t = r_t
    np.testing.assert_allclose(rl.returns_to_go(r, gamma=1), [7.0, 6.0, 4.0])
    np.testing.assert_allclose(rl.returns_to_go(r, gamma=np.float32(0.5)), [3.0, 4.0, 4.0])
    net = rl.EnsembleMLP(3, (4, 2), _gen())
    assert net.member(0).members == 1 and net.member(2).members == 1
    torch.testing.assert_close(net.member(2).weights[0][0], net.weights[0][2].detach())
    assert rl.linear_epsilon(0, 0.0, 1.0, 1) == 0.0 and rl.linear_epsilon(1, 0.0, 1.0, 1) == 1.0
    # 1 - 0.5 * 3 / 4 by hand; numpy integers count as integers
    assert rl.linear_epsilon(np.int64(3), 1.0, 0.5, np.int64(4)) == pytest.approx(0.625)
    got = rl.td_targets(torch.tensor([[1.0, 2.0]]), torch.tensor([0.5]), torch.tensor([0.0]), 1)
    assert got.item() == pytest.approx(2.5)                               # 0.5 + 1 * 2


def test_ensemble_init_bounds_weights_and_biases():
    """Weights and biases are uniform in +-1/sqrt(fan_in), like torch.nn.Linear: inside the
    bound, and filling it (a uniform sample of 4000 comes within 1 % of each end)."""
    net = rl.EnsembleMLP(1000, (4, 4, 1), _gen())
    for w, b, fan_in in zip(net.weights, net.biases, (4, 4)):
        bound = fan_in ** -0.5
        for p in (w, b):
            assert p.abs().max() <= bound
            assert p.max() > 0.99 * bound and p.min() < -0.99 * bound
            assert abs(p.mean().item()) < 0.05 * bound
    assert [tuple(w.shape) for w in net.weights] == [(1000, 4, 4), (1000, 4, 1)]
    assert [tuple(b.shape) for b in net.biases] == [(1000, 1, 4), (1000, 1, 1)]


def test_ensemble_forward_matches_per_member_linear_layers():
    """Each member is relu(x W1 + b1) W2 + b2, computed here with plain matrix products."""
    net = rl.EnsembleMLP(2, (4, 3, 2), _gen())
    x = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(1))
    out = net(x).detach()
    for k in range(2):
        h = torch.clamp(x[k] @ net.weights[0][k] + net.biases[0][k], min=0)
        torch.testing.assert_close(out[k], (h @ net.weights[1][k] + net.biases[1][k]).detach())
    # member() copies, so changing the copy leaves the ensemble alone
    single = net.member(1)
    with torch.no_grad():
        single.weights[0].zero_()
    assert net.weights[0][1].abs().sum() > 0


def test_rollout_buffers_dtypes_and_rewards():
    """Episodes hold float32 observations and rewards, int64 actions, and one reward per
    masked step; with greedy the actions are the argmax of the policy's outputs."""
    policy = rl.EnsembleMLP(2, (4, 8, 2), _gen())
    ep = rl.rollout_episodes(policy, 2, np.random.default_rng(0), seed=3)
    assert ep.obs.dtype == np.float32 and ep.rewards.dtype == np.float32
    assert ep.actions.dtype == np.int64 and ep.mask.dtype == np.float32
    np.testing.assert_array_equal(ep.rewards, ep.mask)
    assert ep.returns.dtype == np.float64
    ep = rl.rollout_episodes(policy, 2, np.random.default_rng(0), seed=3, greedy=True)
    out = policy(torch.from_numpy(ep.obs).view(2, -1, 4)).view(*ep.actions.shape, 2)
    m = ep.mask.astype(bool)
    np.testing.assert_array_equal(ep.actions[m], out.argmax(-1).numpy()[m])
    # a reused environment must hold members * per_member environments and is reset again
    env, _ = rl.make_cartpole(4, seed=3)
    again = rl.rollout_episodes(policy, 2, np.random.default_rng(0), env=env, greedy=True)
    assert again.obs.shape[:2] == (2, 2)


def test_make_cartpole_seeds_resets_and_action_space():
    """The same seed gives the same first observations and action samples; observations lie in
    CartPole's initial range U(-0.05, 0.05)."""
    env_a, obs_a = rl.make_cartpole(3, seed=7)
    env_b, obs_b = rl.make_cartpole(3, seed=7)
    np.testing.assert_array_equal(obs_a, obs_b)
    assert obs_a.shape == (3, 4) and np.all(np.abs(obs_a) <= 0.05)
    np.testing.assert_array_equal(env_a.action_space.sample(), env_b.action_space.sample())


# ---------------------------------------------------------------------------------------------
# The training loops against plain single-run reference implementations.

def _copy_into(ensemble: rl.EnsembleMLP, members: list[rl.EnsembleMLP]) -> None:
    """Write one-member networks into the members of an ensemble (for the shared rollout)."""
    with torch.no_grad():
        for r, single in enumerate(members):
            for big, small in zip([*ensemble.weights, *ensemble.biases],
                                  [*single.weights, *single.biases]):
                big[r] = small[0]


def _reinforce_reference(runs, updates, n, seed, *, hidden, lr, baseline, value_lr, value_steps,
                         gamma, value_scale):
    """REINFORCE written run by run and episode by episode (the docstring's algorithm): each run
    its own networks and Adam optimizers, the loss -1/N sum_i sum_t (G_t - b(s_t)) log pi."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    ens = rl.EnsembleMLP(runs, (4, *hidden, 2), gen)
    pis = [ens.member(r) for r in range(runs)]
    vs = []
    if baseline:
        vens = rl.EnsembleMLP(runs, (4, *hidden, 1), gen)
        vs = [vens.member(r) for r in range(runs)]
    opts = [torch.optim.Adam(p.parameters(), lr=lr) for p in pis]
    vopts = [torch.optim.Adam(v.parameters(), lr=value_lr) for v in vs]
    env, _ = rl.make_cartpole(runs * n, seed)
    mean_returns, steps = np.zeros((runs, updates)), np.zeros((runs, updates))
    snapshots = []
    for u in range(updates):
        snapshots.append(copy.deepcopy((pis[0], vs[0] if baseline else None)))
        _copy_into(ens, pis)
        ep = rl.rollout_episodes(ens, n, rng, env=env)
        for r in range(runs):
            lengths = ep.mask[r].sum(axis=1).astype(int)
            mean_returns[r, u] = ep.rewards[r].astype(np.float64).sum() / n
            steps[r, u] = lengths.sum() + (steps[r, u - 1] if u else 0)
            data = []
            for i in range(n):
                L = lengths[i]
                rew = ep.rewards[r, i, :L].astype(np.float64)
                G = np.array([sum(gamma ** (k - t) * rew[k] for k in range(t, L))
                              for t in range(L)])
                data.append((torch.from_numpy(ep.obs[r, i, :L]).view(1, L, 4),
                             torch.from_numpy(ep.actions[r, i, :L]),
                             torch.tensor(G, dtype=torch.float32)))
            loss = 0.0
            for o, a, G in data:
                w = G - vs[r](o).view(-1).detach() * value_scale if baseline else G
                logp = torch.log_softmax(pis[r](o)[0], dim=-1)[torch.arange(len(a)), a]
                loss = loss - (w * logp).sum() / n
            opts[r].zero_grad()
            loss.backward()
            opts[r].step()
            for _ in range(value_steps if baseline else 0):
                sq = sum(((vs[r](o).view(-1) - G / value_scale) ** 2).sum() for o, _, G in data)
                vopts[r].zero_grad()
                (sq / lengths.sum()).backward()
                vopts[r].step()
    snapshots.append(copy.deepcopy((pis[0], vs[0] if baseline else None)))
    return pis, vs, mean_returns, steps, snapshots


def _assert_same_members(ensemble: rl.EnsembleMLP, members: list[rl.EnsembleMLP]) -> None:
    for r, single in enumerate(members):
        for big, small in zip([*ensemble.weights, *ensemble.biases],
                              [*single.weights, *single.biases]):
            np.testing.assert_allclose(big[r].detach().numpy(), small[0].detach().numpy(),
                                       rtol=1e-4, atol=1e-5)


REINFORCE_DEFAULTS = dict(hidden=(32, 32), lr=0.01, baseline=True, value_lr=0.01, value_steps=5,
                          gamma=1.0, value_scale=100.0)


def test_train_reinforce_defaults_match_reference():
    """With the documented defaults, two updates of one run equal the reference loop."""
    got = rl.train_reinforce(1, 2, 3, seed=4)
    pis, vs, returns, steps, _ = _reinforce_reference(1, 2, 3, 4, **REINFORCE_DEFAULTS)
    np.testing.assert_allclose(got.returns, returns, rtol=1e-12)
    np.testing.assert_array_equal(got.env_steps, steps)
    _assert_same_members(got.policy, pis)
    _assert_same_members(got.value, vs)
    assert got.snapshot is None and got.value_scale == 100.0


@pytest.mark.parametrize("baseline, snapshot_at", [(True, 1), (True, 2), (False, 0)])
def test_train_reinforce_options_match_reference(baseline, snapshot_at):
    """Two lockstep runs with every option changed equal two reference runs trained alone;
    the snapshot is run 0's networks after snapshot_at updates."""
    opts = dict(hidden=(6,), lr=0.05, baseline=baseline, value_lr=0.03, value_steps=2, gamma=0.9,
                value_scale=10.0)
    got = rl.train_reinforce(2, 2, 2, seed=1, snapshot_at=snapshot_at, **opts)
    pis, vs, returns, steps, snaps = _reinforce_reference(2, 2, 2, 1, **opts)
    np.testing.assert_allclose(got.returns, returns, rtol=1e-12)
    np.testing.assert_array_equal(got.env_steps, steps)
    _assert_same_members(got.policy, pis)
    _assert_same_members(got.snapshot[0], [snaps[snapshot_at][0]])
    assert got.value_scale == 10.0
    if baseline:
        _assert_same_members(got.value, vs)
        assert got.snapshot[1].members == 1
        _assert_same_members(got.snapshot[1], [snaps[snapshot_at][1]])
    else:
        assert got.value is None and got.snapshot[1] is None


def _dqn_reference(runs, steps, seed, *, hidden, lr, gamma, batch, capacity, learning_starts,
                   train_every, target_every, eps_start, eps_end, eps_fraction, record_every,
                   window):
    """DQN written run by run with Python lists as the ring buffer and the Huber loss by hand;
    the random draws are taken in the order the docstring's algorithm needs them."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    ens = rl.EnsembleMLP(runs, (4, *hidden, 2), gen)
    qs = [ens.member(r) for r in range(runs)]
    targets = [copy.deepcopy(q) for q in qs]
    opts = [torch.optim.Adam(q.parameters(), lr=lr) for q in qs]
    env, obs = rl.make_cartpole(runs, seed)
    memory: list[list[tuple]] = [[] for _ in range(runs)]
    stored = [0] * runs
    skip = [False] * runs
    ep_ret = [0.0] * runs
    finished: list[list[float]] = [[] for _ in range(runs)]
    grid = list(range(record_every, steps + 1, record_every))
    curve = np.full((runs, len(grid)), np.nan)
    decay = max(1, int(eps_fraction * steps))
    for t in range(1, steps + 1):
        eps = eps_start + (eps_end - eps_start) * min((t - 1) / decay, 1.0)
        with torch.no_grad():
            greedy = [int(qs[r](torch.from_numpy(obs[r]).view(1, 1, 4)).argmax())
                      for r in range(runs)]
        explore = rng.random(runs) < eps
        random_actions = rng.integers(0, 2, runs)
        actions = np.array([random_actions[r] if explore[r] else greedy[r] for r in range(runs)])
        next_obs, reward, term, trunc, _ = env.step(actions)
        for r in range(runs):
            if skip[r]:                        # the auto-reset step is not a transition
                skip[r] = False
                continue
            item = (obs[r].copy(), actions[r], reward[r], next_obs[r].copy(), float(term[r]))
            if len(memory[r]) < capacity:
                memory[r].append(item)
            else:
                memory[r][stored[r] % capacity] = item
            stored[r] += 1
            ep_ret[r] += reward[r]
            if term[r] or trunc[r]:
                finished[r].append(ep_ret[r])
                ep_ret[r] = 0.0
                skip[r] = True
        obs = next_obs
        if t > learning_starts and t % train_every == 0:
            u = rng.random((runs, batch))
            for r in range(runs):
                picks = [memory[r][int(x * len(memory[r]))] for x in u[r]]
                o, a, rew, o2, done = (torch.tensor(np.array(col)) for col in zip(*picks))
                with torch.no_grad():
                    y = rew.float() + gamma * (1 - done.float()) * targets[r](
                        o2.view(1, batch, 4))[0].max(dim=1).values
                pred = qs[r](o.view(1, batch, 4))[0][torch.arange(batch), a]
                d = (pred - y).abs()
                loss = torch.where(d < 1, 0.5 * d ** 2, d - 0.5).mean()
                opts[r].zero_grad()
                loss.backward()
                opts[r].step()
        if t % target_every == 0:
            targets = [copy.deepcopy(q) for q in qs]
        if t % record_every == 0:
            for r in range(runs):
                if finished[r]:
                    curve[r, t // record_every - 1] = np.mean(finished[r][-window:])
    return qs, finished, grid, curve


def _check_dqn(got: rl.DQNResult, ref) -> None:
    qs, finished, grid, curve = ref
    assert got.grid.tolist() == grid
    assert got.episode_returns == finished
    np.testing.assert_allclose(got.curve, curve, equal_nan=True)
    _assert_same_members(got.q, qs)


def test_train_dqn_defaults_match_reference():
    """Default settings (training starts after 500 steps) equal the reference loop."""
    defaults = dict(hidden=(64, 64), lr=1e-3, gamma=0.99, batch=64, capacity=10_000,
                    learning_starts=500, train_every=1, target_every=250, eps_start=1.0,
                    eps_end=0.05, eps_fraction=0.3, record_every=250, window=10)
    got = rl.train_dqn(1, 560, seed=2)
    _check_dqn(got, _dqn_reference(1, 560, 2, **defaults))
    assert got.q.members == 1 and not np.isnan(got.curve).any()


def test_train_dqn_options_match_reference():
    """Two lockstep runs with every option changed equal two reference runs: a small ring
    buffer, sparse training and target syncs, a short window, NaN before the first episode."""
    opts = dict(hidden=(8,), lr=0.01, gamma=0.9, batch=5, capacity=30, learning_starts=20,
                train_every=3, target_every=7, eps_start=0.8, eps_end=0.1, eps_fraction=0.5,
                record_every=5, window=2)
    got = rl.train_dqn(2, 120, seed=3, **opts)
    ref = _dqn_reference(2, 120, 3, **opts)
    _check_dqn(got, ref)
    assert np.isnan(got.curve[:, 0]).all()           # no episode ends within 5 steps
    assert all(len(r) >= 3 for r in got.episode_returns)


def test_replay_buffer_layout_defaults_and_sampling_indices():
    """A fresh buffer is empty with CartPole's observation size by default and float32/int64
    storage; add() without ``which`` stores for every run, wrapping at capacity; sample() picks
    slot floor(u * size) for the generator's uniforms u (reproduced here)."""
    buf = rl.ReplayBuffer(capacity=2, runs=3)
    assert buf.obs.shape == (3, 2, 4) and buf.next_obs.shape == (3, 2, 4)
    assert buf.obs.dtype == np.float32 and buf.next_obs.dtype == np.float32
    assert buf.actions.dtype == np.int64 and buf.rewards.dtype == np.float32
    assert buf.terminated.dtype == np.float32
    np.testing.assert_array_equal(buf.size, [0, 0, 0])
    np.testing.assert_array_equal(buf.pos, [0, 0, 0])
    for i in range(3):
        o = np.full((3, 4), float(i), dtype=np.float32) + np.arange(3)[:, None]
        buf.add(o, np.array([1, 0, 1]), np.full(3, 0.5 + i), o + 1, np.array([0.0, 1.0, 0.0]))
    np.testing.assert_array_equal(buf.size, [2, 2, 2])
    np.testing.assert_array_equal(buf.pos, [1, 1, 1])           # 3 additions mod capacity 2
    np.testing.assert_array_equal(buf.obs[:, :, 0], [[2, 1], [3, 2], [4, 3]])
    np.testing.assert_array_equal(buf.rewards, [[2.5, 1.5]] * 3)
    np.testing.assert_array_equal(buf.terminated, [[0, 0], [1, 1], [0, 0]])
    np.testing.assert_array_equal(buf.actions, [[1, 1], [0, 0], [1, 1]])
    obs, actions, rewards, next_obs, term = buf.sample(6, np.random.default_rng(5))
    idx = np.floor(np.random.default_rng(5).random((3, 6)) * 2).astype(int)
    np.testing.assert_array_equal(obs, buf.obs[np.arange(3)[:, None], idx])
    np.testing.assert_array_equal(rewards, buf.rewards[np.arange(3)[:, None], idx])
    np.testing.assert_array_equal(term, buf.terminated[np.arange(3)[:, None], idx])
    np.testing.assert_array_equal(actions, buf.actions[np.arange(3)[:, None], idx])
    np.testing.assert_array_equal(next_obs, obs + 1)


def test_rollout_samples_actions_from_the_softmax_policy():
    """Without greedy, step t's actions are 1 exactly where the t-th block of n uniforms from
    the generator falls below softmax(logits)[1] (every environment draws at every step); the
    first observations are the seeded resets of make_cartpole."""
    policy = rl.EnsembleMLP(2, (4, 8, 2), _gen())
    ep = rl.rollout_episodes(policy, 3, np.random.default_rng(9), seed=5)
    R, N, T = ep.actions.shape
    assert T == int(ep.mask.sum(axis=-1).max())              # steps stop with the last episode
    np.testing.assert_array_equal(ep.obs[:, :, 0].reshape(6, 4), rl.make_cartpole(6, seed=5)[1])
    logits = policy(torch.from_numpy(ep.obs).view(R, N * T, 4)).view(R, N, T, 2).detach()
    p1 = torch.softmax(logits.double(), dim=-1)[..., 1].numpy()
    u = np.random.default_rng(9).random((T, R * N)).T.reshape(R, N, T)
    np.testing.assert_array_equal(ep.actions, (u < p1).astype(np.int64))
    assert 0 < ep.actions.mean() < 1


def test_rollout_and_evaluation_stop_at_the_time_limit():
    """A balancing linear controller (push right when 0.1 x + 0.5 x' + 10 theta + 2 theta' > 0)
    keeps the pole up: every episode is truncated after exactly 500 steps of reward 1."""
    policy = rl.EnsembleMLP(1, (4, 2), _gen())
    with torch.no_grad():
        policy.weights[0].zero_()
        policy.biases[0].zero_()
        policy.weights[0][0, :, 1] = torch.tensor([0.1, 0.5, 10.0, 2.0])
    ep = rl.rollout_episodes(policy, 2, np.random.default_rng(0), greedy=True, seed=0)
    assert ep.actions.shape == (1, 2, 500)
    np.testing.assert_array_equal(ep.returns, [[500.0, 500.0]])
    np.testing.assert_array_equal(ep.mask, np.ones((1, 2, 500)))
    np.testing.assert_array_equal(rl.evaluate_greedy(policy, 2, seed=0), [[500.0, 500.0]])


def test_returns_to_go_of_integer_rewards_along_the_last_axis():
    """Integer rewards give float returns; a (2, 3, 4) array is discounted along its last axis
    only (each row equal to the 1-d result, computed by hand: G_t = r_t + 0.5 G_{t+1})."""
    got = rl.returns_to_go([[1, 0, 0, 1]], gamma=0.5)
    np.testing.assert_allclose(got, [[1.125, 0.25, 0.5, 1.0]])
    assert got.dtype == np.float64
    rewards = np.arange(24, dtype=float).reshape(2, 3, 4)
    got = rl.returns_to_go(rewards, gamma=0.5)
    assert got.shape == (2, 3, 4)
    for i in range(2):
        for j in range(3):
            r = rewards[i, j]
            expect = [r[0] + r[1] / 2 + r[2] / 4 + r[3] / 8, r[1] + r[2] / 2 + r[3] / 4,
                      r[2] + r[3] / 2, r[3]]
            np.testing.assert_allclose(got[i, j], expect)
