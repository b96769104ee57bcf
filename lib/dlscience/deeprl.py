"""Deep reinforcement learning on CartPole: REINFORCE with a baseline and a small DQN.

Chapter 28 trains several independent runs of one algorithm *in lockstep*: the ``R`` runs'
networks are the members of one :class:`EnsembleMLP` (weights of shape ``(R, fan_in, fan_out)``,
multiplied with :func:`torch.baddbmm`), every run steps its own CartPole environments, and one
optimizer step updates all runs at once. Adam acts coordinate-wise and the loss is a sum over
runs, so each run's update is exactly the one it would get alone; batching only removes Python
and PyTorch overhead, which dominates on networks this small.

The environment is Gymnasium's ``CartPole-v1`` in its vectorised form
(``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``, numpy stepping of all
environments at once, episodes truncated at 500 steps, reward 1 per step). Its auto-reset mode
is *next step*: the call to ``step`` after an episode ends resets that environment, ignores its
action and returns reward 0; :func:`rollout_episodes` and :func:`train_dqn` discard that step.

Shapes: ``R`` runs, ``N`` environments per run, ``T`` time steps, observation size 4, 2 actions.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlscience.checks import nonnegative_int, positive_float, positive_int

__all__ = ["OBS_DIM", "N_ACTIONS", "make_cartpole", "returns_to_go", "EnsembleMLP",
           "Episodes", "rollout_episodes", "random_policy_returns", "evaluate_greedy",
           "reinforce_loss", "per_step_scores", "episode_gradients", "ReinforceResult",
           "train_reinforce",
           "ReplayBuffer", "td_targets", "sync_target", "linear_epsilon", "DQNResult",
           "train_dqn"]

#: CartPole's observation size (cart position, cart velocity, pole angle, pole angular velocity).
OBS_DIM = 4
#: CartPole's number of actions (push left, push right).
N_ACTIONS = 2
_MAX_STEPS = 500


def _unit_interval(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    return float(value)


def make_cartpole(num_envs: int, seed: int | None = None):
    """``num_envs`` copies of Gymnasium's ``CartPole-v1``, stepped together in numpy.

    Args:
        num_envs: how many environments.
        seed: if given, the environments are reset with ``env.reset(seed=seed)`` (which seeds the
            initial states of all of them) and the action space is seeded with the same seed.

    Returns:
        ``(env, obs)``: the vector environment and its first observations, shape
        ``(num_envs, 4)``.
    """
    import gymnasium as gym

    num_envs = positive_int("num_envs", num_envs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make_vec("CartPole-v1", num_envs=num_envs,
                           vectorization_mode="vector_entry_point")
        obs, _ = env.reset(seed=seed)
    if seed is not None:
        env.action_space.seed(seed)
    return env, obs


def returns_to_go(rewards: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Discounted rewards-to-go along the last axis: ``G_t = sum_{k >= t} gamma^(k-t) r_k``.

    Args:
        rewards: shape ``(..., T)``; padding after an episode's end must be 0.
        gamma: the discount, in ``[0, 1]``.

    Returns:
        An array of the shape of ``rewards``.
    """
    gamma = _unit_interval("gamma", gamma)
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim < 1:
        raise ValueError("rewards must have at least one axis (time), got a scalar.")
    out = np.empty_like(rewards)
    running = np.zeros(rewards.shape[:-1])
    for t in range(rewards.shape[-1] - 1, -1, -1):
        running = rewards[..., t] + gamma * running
        out[..., t] = running
    return out


class EnsembleMLP(nn.Module):
    """``members`` independent MLPs with the same layer sizes, evaluated in one batched call.

    Each layer's weight has shape ``(members, fan_in, fan_out)`` and is initialized like
    :class:`torch.nn.Linear` (weights and biases uniform in ``+-1/sqrt(fan_in)``), member by
    member from one generator. Hidden layers use ReLU; the last layer is linear.

    Args:
        members: the number of networks (the runs).
        sizes: layer widths, input first and output last, e.g. ``(4, 64, 64, 2)``.
        generator: the random generator of the initialization.
    """

    def __init__(self, members: int, sizes: tuple[int, ...], generator: torch.Generator):
        super().__init__()
        self.members = positive_int("members", members)
        if len(sizes) < 2:
            raise ValueError("sizes must hold at least an input and an output width, "
                             f"got {sizes!r}.")
        self.sizes = tuple(positive_int("sizes", s) for s in sizes)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = fan_in ** -0.5
            w = (torch.rand(self.members, fan_in, fan_out, generator=generator) * 2 - 1) * bound
            b = (torch.rand(self.members, 1, fan_out, generator=generator) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def forward(self, x: Tensor) -> Tensor:
        """Map inputs of shape ``(members, B, sizes[0])`` to outputs ``(members, B, sizes[-1])``."""
        if x.ndim != 3 or x.shape[0] != self.members or x.shape[2] != self.sizes[0]:
            raise ValueError(f"x must have shape ({self.members}, B, {self.sizes[0]}), "
                             f"got {tuple(x.shape)}.")
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < n - 1:
                x = torch.relu(x)
        return x

    def member(self, k: int) -> EnsembleMLP:
        """A one-member copy of member ``k`` (detached from this ensemble's parameters)."""
        if not 0 <= k < self.members:
            raise ValueError(f"k must be in [0, {self.members}), got {k!r}.")
        single = copy.deepcopy(self)
        single.members = 1
        for plist in (single.weights, single.biases):
            for p in plist:
                p.data = p.data[k:k + 1].clone()
        return single


@dataclass(frozen=True)
class Episodes:
    """One episode per environment, padded to the longest.

    Attributes:
        obs: observations, shape ``(R, N, T, 4)``.
        actions: actions taken, shape ``(R, N, T)`` (int64).
        rewards: rewards, shape ``(R, N, T)``; 0 after the episode's end.
        mask: 1 for the steps of the episode, 0 for the padding, shape ``(R, N, T)``.
        returns: each episode's (undiscounted) return, shape ``(R, N)``.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray
    returns: np.ndarray


def rollout_episodes(policy: EnsembleMLP, per_member: int, rng: np.random.Generator,
                     env=None, greedy: bool = False, seed: int | None = None) -> Episodes:
    """Run one episode in each of ``per_member`` environments for every member of ``policy``.

    The policy's outputs are the logits of a softmax policy (or, with ``greedy``, any scores
    whose argmax is the action: Q-values do). Steps continue until every episode has ended.

    Args:
        policy: an ensemble with ``R`` members mapping ``(R, N, 4)`` to ``(R, N, 2)``.
        per_member: ``N``, the episodes per member.
        rng: draws the actions of the stochastic policy.
        env: a CartPole vector environment with ``R * N`` environments, reset at the start of
            this call (continuing its random stream); if None, a new one is made with ``seed``.
        greedy: take the argmax action instead of sampling.
        seed: the reset seed of a new environment (only when ``env`` is None).

    Returns:
        The :class:`Episodes`.
    """
    per_member = positive_int("per_member", per_member)
    members = policy.members
    n = members * per_member
    if env is None:
        env, obs = make_cartpole(n, seed)
    else:
        if env.num_envs != n:
            raise ValueError(f"env must hold members * per_member = {n} environments, "
                             f"got {env.num_envs}.")
        obs, _ = env.reset()
    obs_buf = np.zeros((_MAX_STEPS, n, OBS_DIM), dtype=np.float32)
    act_buf = np.zeros((_MAX_STEPS, n), dtype=np.int64)
    rew_buf = np.zeros((_MAX_STEPS, n), dtype=np.float32)
    mask_buf = np.zeros((_MAX_STEPS, n), dtype=np.float32)
    alive = np.ones(n, dtype=bool)
    t = 0
    with torch.no_grad():
        while alive.any() and t < _MAX_STEPS:
            out = policy(torch.from_numpy(obs).view(members, per_member, OBS_DIM))
            out = out.reshape(n, N_ACTIONS)
            if greedy:
                actions = out.argmax(dim=1).numpy()
            else:
                p1 = torch.softmax(out, dim=1)[:, 1].numpy()
                actions = (rng.random(n) < p1).astype(np.int64)
            obs_buf[t] = obs
            act_buf[t] = actions
            mask_buf[t] = alive
            obs, reward, terminated, truncated, _ = env.step(actions)
            rew_buf[t] = reward * alive
            alive &= ~(terminated | truncated)
            t += 1

    def shaped(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x[:t].swapaxes(0, 1))   # (n, T, ...)
        return x.reshape(members, per_member, *x.shape[1:])

    rewards = shaped(rew_buf)
    return Episodes(obs=shaped(obs_buf), actions=shaped(act_buf), rewards=rewards,
                    mask=shaped(mask_buf), returns=rewards.sum(axis=-1).astype(np.float64))


def random_policy_returns(episodes: int, seed: int) -> np.ndarray:
    """Returns of the uniformly random policy on CartPole-v1, shape ``(episodes,)``.

    Actions come from the environment's own action space, seeded with ``seed`` (as are the
    resets).
    """
    episodes = positive_int("episodes", episodes)
    env, _ = make_cartpole(episodes, seed)
    alive = np.ones(episodes, dtype=bool)
    total = np.zeros(episodes)
    while alive.any():
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total += reward * alive
        alive &= ~(terminated | truncated)
    return total


def evaluate_greedy(policy: EnsembleMLP, episodes: int, seed: int) -> np.ndarray:
    """Greedy (argmax) returns of every member over ``episodes`` seeded episodes, ``(R, episodes)``.

    All members face the same ``episodes`` initial states, those that ``make_cartpole(episodes,
    seed)`` draws, so their returns are comparable (common random numbers). The members are
    evaluated in lockstep: one environment per member and episode, started in those states.
    """
    episodes = positive_int("episodes", episodes)
    members = policy.members
    n = members * episodes
    starts = make_cartpole(episodes, seed)[0].unwrapped.state     # (4, episodes), float64
    env, _ = make_cartpole(n, seed)
    env.unwrapped.state = np.tile(starts, (1, members))             # member-major, like the view
    obs = env.unwrapped.state.T.astype(np.float32)
    alive = np.ones(n, dtype=bool)
    total = np.zeros(n)
    with torch.no_grad():
        while alive.any():
            out = policy(torch.from_numpy(obs).view(members, episodes, OBS_DIM))
            actions = out.reshape(n, N_ACTIONS).argmax(dim=1).numpy()
            obs, reward, terminated, truncated, _ = env.step(actions)
            total += reward * alive
            alive &= ~(terminated | truncated)
    return total.reshape(members, episodes)


def reinforce_loss(logits: Tensor, actions: Tensor, weights: Tensor, mask: Tensor) -> Tensor:
    """The surrogate loss whose gradient is the REINFORCE estimate, summed over members.

    ``loss = - sum_{r, n, t} mask * weights * log pi(a_t | s_t) / N``: for each member the
    gradient is minus the average over its ``N`` episodes of ``sum_t w_t grad log pi(a_t|s_t)``.

    Args:
        logits: shape ``(R, N, T, 2)``.
        actions: shape ``(R, N, T)`` (int64).
        weights: the ``w_t`` (return, reward-to-go or advantage), shape ``(R, N, T)``, treated as
            constants.
        mask: shape ``(R, N, T)``.
    """
    if logits.shape[:-1] != actions.shape or actions.shape != weights.shape \
            or weights.shape != mask.shape or logits.ndim != 4:
        raise ValueError("logits must have shape (R, N, T, A) and actions, weights, mask "
                         f"(R, N, T); got {tuple(logits.shape)}, {tuple(actions.shape)}, "
                         f"{tuple(weights.shape)}, {tuple(mask.shape)}.")
    logp = torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return -(mask * weights.detach() * logp).sum() / logits.shape[1]


def per_step_scores(policy: EnsembleMLP, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Score vectors ``grad_theta log pi(a | s)`` of a one-member policy, one row per step.

    Args:
        policy: a one-member ensemble (see :meth:`EnsembleMLP.member`).
        obs: shape ``(n, 4)``.
        actions: shape ``(n,)``.

    Returns:
        Shape ``(n, P)``, ``P`` the number of parameters, in the order of
        ``policy.parameters()`` flattened.
    """
    from torch.func import functional_call, grad, vmap

    if policy.members != 1:
        raise ValueError(f"policy must have one member, got {policy.members}.")
    obs_t = torch.as_tensor(np.asarray(obs, dtype=np.float32))
    act_t = torch.as_tensor(np.asarray(actions, dtype=np.int64))
    if obs_t.ndim != 2 or act_t.shape != obs_t.shape[:1]:
        raise ValueError(f"obs must be (n, 4) and actions (n,), got {tuple(obs_t.shape)} and "
                         f"{tuple(act_t.shape)}.")
    params = {k: v.detach() for k, v in policy.named_parameters()}

    def logp(p: dict[str, Tensor], o: Tensor, a: Tensor) -> Tensor:
        out = functional_call(policy, p, (o.view(1, 1, -1),))
        logp_all = torch.log_softmax(out.view(-1), dim=0)
        return (logp_all * (torch.arange(logp_all.shape[0]) == a)).sum()

    g = vmap(grad(logp), in_dims=(None, 0, 0))(params, obs_t, act_t)
    return torch.cat([g[k].reshape(len(obs_t), -1) for k, _ in policy.named_parameters()],
                     dim=1).numpy()



def episode_gradients(policy: EnsembleMLP, episodes: Episodes, weights: dict[str, np.ndarray],
                      chunk: int = 64) -> dict[str, np.ndarray]:
    """Per-episode score-function gradient estimates ``g_i = sum_t w_{i,t} grad log pi(a_t|s_t)``.

    Args:
        policy: a one-member policy (the one that generated ``episodes``).
        episodes: episodes of that policy with ``R = 1``, ``N`` episodes.
        weights: for each estimator a weight array of shape ``(N, T)`` (return, reward-to-go,
            advantage, ...); padding steps are masked out.
        chunk: episodes whose per-step scores are held in memory at once.

    Returns:
        For each estimator, the estimates, shape ``(N, P)``.
    """
    chunk = positive_int("chunk", chunk)
    if episodes.actions.shape[0] != 1:
        raise ValueError("episodes must come from a one-member policy (R = 1), got "
                         f"R = {episodes.actions.shape[0]}.")
    _, N, T = episodes.actions.shape
    for name, w in weights.items():
        if np.shape(w) != (N, T):
            raise ValueError(f"weights[{name!r}] must have shape ({N}, {T}), got {np.shape(w)}.")
    out: dict[str, list[np.ndarray]] = {name: [] for name in weights}
    for lo in range(0, N, chunk):
        hi = min(N, lo + chunk)
        m = episodes.mask[0, lo:hi].astype(bool)                     # (n, T)
        scores = per_step_scores(policy, episodes.obs[0, lo:hi][m],
                                 episodes.actions[0, lo:hi][m]).astype(np.float64)
        starts = np.concatenate([[0], np.cumsum(m.sum(axis=1))[:-1]])  # first step of each
        for name, w in weights.items():
            wm = np.asarray(w, dtype=np.float64)[lo:hi][m][:, None]
            out[name].append(np.add.reduceat(scores * wm, starts, axis=0))
    return {name: np.concatenate(v) for name, v in out.items()}

@dataclass
class ReinforceResult:
    """What :func:`train_reinforce` returns.

    Attributes:
        returns: mean return of each update's batch of episodes, shape ``(R, updates)``.
        env_steps: environment steps used by each run up to each update, shape ``(R, updates)``.
        policy: the final policies (an ensemble of ``R`` members).
        value: the final baselines (an ensemble of ``R`` members, or None without baseline).
        snapshot: ``(policy, value)`` of member 0 after ``snapshot_at`` updates, or None.
        value_scale: the value networks predict ``G_t / value_scale``.
    """

    returns: np.ndarray
    env_steps: np.ndarray
    policy: EnsembleMLP
    value: EnsembleMLP | None
    snapshot: tuple[EnsembleMLP, EnsembleMLP | None] | None
    value_scale: float


def train_reinforce(runs: int, updates: int, episodes_per_update: int, seed: int, *,
                    hidden: tuple[int, ...] = (32, 32), lr: float = 0.01,
                    baseline: bool = True, value_lr: float = 0.01, value_steps: int = 5,
                    gamma: float = 1.0, value_scale: float = 100.0,
                    snapshot_at: int | None = None) -> ReinforceResult:
    """REINFORCE with reward-to-go and (optionally) a learned state-value baseline.

    Every update samples ``episodes_per_update`` episodes per run with the current policy,
    computes the rewards-to-go ``G_t`` and the weights ``G_t - b(s_t)`` (``b`` the value network
    *before* this batch, so that the baseline does not depend on the batch's actions), takes one
    Adam step on :func:`reinforce_loss`, then fits the value network to the ``G_t`` of the batch
    (``value_steps`` Adam steps on the squared error, targets divided by ``value_scale``).

    Args:
        runs: ``R``, independent runs trained in lockstep.
        updates: policy updates.
        episodes_per_update: ``N``, episodes per update per run.
        seed: seeds the initializations, the action draws and the environment resets.
        hidden: hidden widths of the policy and value networks.
        lr: Adam step size of the policy.
        baseline: subtract the learned value baseline.
        value_lr: Adam step size of the value network.
        value_steps: value-network steps per update.
        gamma: the discount of the rewards-to-go.
        value_scale: targets of the value network are ``G_t / value_scale``.
        snapshot_at: keep a copy of run 0's networks after this many updates.
    """
    runs = positive_int("runs", runs)
    updates = positive_int("updates", updates)
    episodes_per_update = positive_int("episodes_per_update", episodes_per_update)
    lr = positive_float("lr", lr)
    value_lr = positive_float("value_lr", value_lr)
    value_steps = positive_int("value_steps", value_steps)
    gamma = _unit_interval("gamma", gamma)
    value_scale = positive_float("value_scale", value_scale)
    if snapshot_at is not None:
        snapshot_at = nonnegative_int("snapshot_at", snapshot_at)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    policy = EnsembleMLP(runs, (OBS_DIM, *hidden, N_ACTIONS), gen)
    value = EnsembleMLP(runs, (OBS_DIM, *hidden, 1), gen) if baseline else None
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    vopt = torch.optim.Adam(value.parameters(), lr=value_lr) if value is not None else None
    env, _ = make_cartpole(runs * episodes_per_update, seed)
    returns = np.zeros((runs, updates))
    steps = np.zeros((runs, updates))
    total_steps = np.zeros(runs)
    snapshot = None
    for u in range(updates):
        if snapshot_at == u:
            snapshot = (policy.member(0), value.member(0) if value is not None else None)
        ep = rollout_episodes(policy, episodes_per_update, rng, env=env)
        returns[:, u] = ep.returns.mean(axis=1)
        total_steps += ep.mask.sum(axis=(1, 2))
        steps[:, u] = total_steps
        R, N, T = ep.actions.shape
        obs = torch.from_numpy(ep.obs).view(R, N * T, OBS_DIM)
        mask = torch.from_numpy(ep.mask)
        g = torch.from_numpy(returns_to_go(ep.rewards, gamma).astype(np.float32))
        if value is not None:
            with torch.no_grad():
                b = value(obs).view(R, N, T) * value_scale
            weights = (g - b) * mask
        else:
            weights = g * mask
        logits = policy(obs).view(R, N, T, N_ACTIONS)
        loss = reinforce_loss(logits, torch.from_numpy(ep.actions), weights, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if value is not None:
            target = (g / value_scale).view(R, N * T, 1)
            m = mask.view(R, N * T, 1)
            steps_per_run = m.sum(dim=(1, 2))
            for _ in range(value_steps):     # each run's mean squared error, summed over runs
                vloss = (((value(obs) - target) ** 2 * m).sum(dim=(1, 2)) / steps_per_run).sum()
                vopt.zero_grad()
                vloss.backward()
                vopt.step()
    if snapshot_at == updates:
        snapshot = (policy.member(0), value.member(0) if value is not None else None)
    return ReinforceResult(returns=returns, env_steps=steps, policy=policy, value=value,
                           snapshot=snapshot, value_scale=value_scale)


class ReplayBuffer:
    """A ring buffer of transitions for ``runs`` runs that add one transition each per call.

    Once ``capacity`` transitions are stored, each new one overwrites the oldest.

    Args:
        capacity: transitions kept per run.
        runs: ``R``.
        obs_dim: observation size.
    """

    def __init__(self, capacity: int, runs: int, obs_dim: int = OBS_DIM):
        self.capacity = positive_int("capacity", capacity)
        self.runs = positive_int("runs", runs)
        obs_dim = positive_int("obs_dim", obs_dim)
        self.obs = np.zeros((self.runs, self.capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((self.runs, self.capacity), dtype=np.int64)
        self.rewards = np.zeros((self.runs, self.capacity), dtype=np.float32)
        self.terminated = np.zeros((self.runs, self.capacity), dtype=np.float32)
        self.size = np.zeros(self.runs, dtype=np.int64)
        self.pos = np.zeros(self.runs, dtype=np.int64)

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
            next_obs: np.ndarray, terminated: np.ndarray, which: np.ndarray | None = None) -> None:
        """Store one transition for each run in ``which`` (a bool mask over runs; default all).

        Arrays have a leading axis of length ``R`` (observations ``(R, obs_dim)``); rows of runs
        not in ``which`` are ignored.
        """
        which = np.ones(self.runs, dtype=bool) if which is None else np.asarray(which, bool)
        if which.shape != (self.runs,):
            raise ValueError(f"which must have shape ({self.runs},), got {which.shape}.")
        idx = np.flatnonzero(which)
        pos = self.pos[idx]
        self.obs[idx, pos] = np.asarray(obs)[idx]
        self.next_obs[idx, pos] = np.asarray(next_obs)[idx]
        self.actions[idx, pos] = np.asarray(actions)[idx]
        self.rewards[idx, pos] = np.asarray(rewards)[idx]
        self.terminated[idx, pos] = np.asarray(terminated)[idx]
        self.pos[idx] = (pos + 1) % self.capacity
        self.size[idx] = np.minimum(self.size[idx] + 1, self.capacity)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``batch`` transitions per run, uniformly with replacement among those stored.

        Returns:
            ``(obs, actions, rewards, next_obs, terminated)`` with leading shape ``(R, batch)``.
        """
        batch = positive_int("batch", batch)
        if (self.size == 0).any():
            raise ValueError("cannot sample: some run has no stored transition yet.")
        idx = (rng.random((self.runs, batch)) * self.size[:, None]).astype(np.int64)
        r = np.arange(self.runs)[:, None]
        return (self.obs[r, idx], self.actions[r, idx], self.rewards[r, idx],
                self.next_obs[r, idx], self.terminated[r, idx])


def td_targets(next_q: Tensor, rewards: Tensor, terminated: Tensor, gamma: float) -> Tensor:
    """DQN's targets ``y = r + gamma (1 - terminated) max_a' Q_target(s', a')``.

    Args:
        next_q: target-network values at the next states, shape ``(..., A)``.
        rewards, terminated: shape ``(...)``; ``terminated`` is 1 where ``s'`` is terminal (a
            truncation by the time limit is *not* terminal: the target bootstraps there).
        gamma: the discount, in ``[0, 1]``.
    """
    gamma = _unit_interval("gamma", gamma)
    if next_q.shape[:-1] != rewards.shape or rewards.shape != terminated.shape:
        raise ValueError("next_q must have shape (..., A) and rewards, terminated shape (...); "
                         f"got {tuple(next_q.shape)}, {tuple(rewards.shape)}, "
                         f"{tuple(terminated.shape)}.")
    return rewards + gamma * (1.0 - terminated) * next_q.max(dim=-1).values


def sync_target(online: nn.Module, target: nn.Module) -> None:
    """Copy the online network's parameters into the target network (a hard update)."""
    target.load_state_dict(online.state_dict())


def linear_epsilon(step: int, start: float, end: float, duration: int) -> float:
    """Exploration rate decaying linearly from ``start`` to ``end`` over ``duration`` steps."""
    step = nonnegative_int("step", step)
    start = _unit_interval("start", start)
    end = _unit_interval("end", end)
    duration = positive_int("duration", duration)
    return start + (end - start) * min(step / duration, 1.0)


@dataclass
class DQNResult:
    """What :func:`train_dqn` returns.

    Attributes:
        grid: environment steps at which the curve is recorded, shape ``(K,)``.
        curve: mean return of each run's last ``window`` finished episodes at those steps
            (exploration included), shape ``(R, K)``; NaN before the first episode ends.
        episode_returns: per run, the returns of its finished episodes, in order.
        q: the final online Q-networks (an ensemble of ``R`` members).
    """

    grid: np.ndarray
    curve: np.ndarray
    episode_returns: list[list[float]]
    q: EnsembleMLP


def train_dqn(runs: int, steps: int, seed: int, *, hidden: tuple[int, ...] = (64, 64),
              lr: float = 1e-3, gamma: float = 0.99, batch: int = 64, capacity: int = 10_000,
              learning_starts: int = 500, train_every: int = 1, target_every: int = 250,
              eps_start: float = 1.0, eps_end: float = 0.05, eps_fraction: float = 0.3,
              record_every: int = 250, window: int = 10) -> DQNResult:
    """DQN (replay buffer, target network, epsilon-greedy) with one CartPole per run.

    Every step each run acts epsilon-greedily on its online network and stores the transition;
    after ``learning_starts`` steps, every ``train_every`` steps, each run samples ``batch``
    transitions and takes one Adam step on the Huber loss between ``Q(s, a)`` and
    :func:`td_targets` computed with the target network, which is synchronised with the online
    one every ``target_every`` steps.

    Args:
        runs: ``R``, independent runs trained in lockstep.
        steps: environment steps per run.
        seed: seeds initializations, exploration, replay sampling and resets.
        eps_fraction: epsilon decays linearly from ``eps_start`` to ``eps_end`` over this
            fraction of ``steps``.
        record_every: spacing of the recorded learning curve, in environment steps.
        window: the curve averages this many most recent episodes.
    """
    runs = positive_int("runs", runs)
    steps = positive_int("steps", steps)
    lr = positive_float("lr", lr)
    gamma = _unit_interval("gamma", gamma)
    batch = positive_int("batch", batch)
    learning_starts = nonnegative_int("learning_starts", learning_starts)
    train_every = positive_int("train_every", train_every)
    target_every = positive_int("target_every", target_every)
    eps_fraction = _unit_interval("eps_fraction", eps_fraction)
    record_every = positive_int("record_every", record_every)
    window = positive_int("window", window)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    q = EnsembleMLP(runs, (OBS_DIM, *hidden, N_ACTIONS), gen)
    target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=lr, foreach=True)
    buffer = ReplayBuffer(capacity, runs)
    env, obs = make_cartpole(runs, seed)
    pending_reset = np.zeros(runs, dtype=bool)
    ep_return = np.zeros(runs)
    episode_returns: list[list[float]] = [[] for _ in range(runs)]
    grid = np.arange(record_every, steps + 1, record_every)
    curve = np.full((runs, len(grid)), np.nan)
    decay = max(1, int(eps_fraction * steps))
    run_idx = torch.arange(runs)[:, None]
    for t in range(1, steps + 1):
        eps = linear_epsilon(t - 1, eps_start, eps_end, decay)
        with torch.no_grad():
            greedy = q(torch.from_numpy(obs).view(runs, 1, OBS_DIM)).view(runs, N_ACTIONS)
        actions = greedy.argmax(dim=1).numpy()
        explore = rng.random(runs) < eps
        actions = np.where(explore, rng.integers(0, N_ACTIONS, runs), actions)
        next_obs, reward, terminated, truncated, _ = env.step(actions)
        store = ~pending_reset
        buffer.add(obs, actions, reward, next_obs, terminated, which=store)
        ep_return += reward * store
        done = (terminated | truncated) & store
        for r in np.flatnonzero(done):
            episode_returns[r].append(float(ep_return[r]))
            ep_return[r] = 0.0
        pending_reset = done
        obs = next_obs
        if t > learning_starts and t % train_every == 0:
            o, a, rew, o2, term = (torch.from_numpy(x) for x in buffer.sample(batch, rng))
            with torch.no_grad():
                y = td_targets(target(o2), rew, term, gamma)
            pred = q(o)[run_idx, torch.arange(batch)[None, :], a]
            loss = F.smooth_l1_loss(pred, y, reduction="sum") / batch
            opt.zero_grad()
            loss.backward()
            opt.step()
        if t % target_every == 0:
            sync_target(q, target)
        if t % record_every == 0:
            k = t // record_every - 1
            for r in range(runs):
                if episode_returns[r]:
                    curve[r, k] = np.mean(episode_returns[r][-window:])
    return DQNResult(grid=grid, curve=curve, episode_returns=episode_returns, q=q)
