"""Generative adversarial networks: the optimal discriminator, and small GANs on a ring of modes.

Two halves. On one-dimensional densities tabulated on a grid: the GAN value
:func:`gan_value`, the optimal discriminator :func:`optimal_discriminator` ``p / (p + q)``, the
Jensen-Shannon divergence :func:`js_divergence`, a derivative-free pointwise maximizer of the
discriminator's objective (:func:`maximize_pointwise`) and a small discriminator trained on
samples (:func:`train_discriminator`), to check the theory against.

On the plane: the ring of Gaussian modes (:func:`ring_centers`, :func:`sample_ring`), the
mode-coverage metrics (:func:`mode_coverage`), and :func:`train_ring_gan`, which trains one GAN
per seed, all seeds at once as a batch of independent networks (:class:`BatchedMLP`), with the
GAN loss (logistic discriminator, non-saturating generator) or the Wasserstein loss with a
gradient penalty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from dlscience.checks import positive_int as _positive_int

__all__ = ["gan_value", "optimal_discriminator", "js_divergence", "maximize_pointwise",
           "train_discriminator", "ring_centers", "sample_ring", "mode_coverage", "Coverage",
           "BatchedMLP", "GANConfig", "GANRun", "train_ring_gan"]

Loss = Literal["gan", "wgan-gp"]


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _densities(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"p and q must be 1-D arrays of the same length, got shapes {p.shape} "
                         f"and {q.shape}.")
    if (p < 0).any() or (q < 0).any() or not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise ValueError("p and q must hold finite non-negative density values.")
    return p, q


# --- One dimension: the optimal discriminator and the Jensen-Shannon divergence ---------------


def gan_value(d: np.ndarray, p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """The GAN value ``V(D) = int p log D + q log(1 - D) dx`` on a uniform grid (Riemann sum).

    Args:
        d: the discriminator's values on the grid, in ``(0, 1)`` wherever ``p`` resp. ``q`` is
            positive, shape ``(n,)``.
        p: the data density on the grid, shape ``(n,)``.
        q: the generator's density on the grid, shape ``(n,)``.
        dx: the grid step.

    Returns:
        The value; terms with a zero density weight count as 0 (``0 log 0 = 0``).
    """
    p, q = _densities(p, q)
    d = np.asarray(d, dtype=float)
    if d.shape != p.shape:
        raise ValueError(f"d must have the shape of p, {p.shape}, got {d.shape}.")
    dx = _positive_float("dx", dx)
    with np.errstate(divide="ignore", invalid="ignore"):
        real = np.where(p > 0, p * np.log(d), 0.0)
        fake = np.where(q > 0, q * np.log1p(-d), 0.0)
    return float((real + fake).sum() * dx)


def optimal_discriminator(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``D*(x) = p(x) / (p(x) + q(x))``, the discriminator that maximizes the GAN value.

    Where both densities vanish, any value is optimal; 1/2 is returned there.
    """
    p, q = _densities(p, q)
    total = p + q
    return np.divide(p, total, out=np.full_like(p, 0.5), where=total > 0)


def js_divergence(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """The Jensen-Shannon divergence ``KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2``, in nats.

    Computed from its definition by a Riemann sum on a uniform grid (no use of the GAN value).
    """
    p, q = _densities(p, q)
    dx = _positive_float("dx", dx)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum() * dx
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum() * dx
    return float(0.5 * kl_p + 0.5 * kl_q)


def maximize_pointwise(a: np.ndarray, b: np.ndarray, iterations: int = 80,
                       eps: float = 1e-12) -> np.ndarray:
    """Maximize ``a log t + b log(1 - t)`` over ``t`` in ``[eps, 1 - eps]``, elementwise.

    A golden-section search on the function itself (no derivative, no closed form), vectorized
    over the entries of ``a`` and ``b``; the function is concave in ``t``, so the search
    converges to its maximizer (to about ``0.618 ** iterations``).

    Args:
        a, b: non-negative weights of the same shape (e.g. the two densities on a grid).
        iterations: golden-section steps.
        eps: the search interval's distance from 0 and 1.

    Returns:
        The maximizers, shape of ``a``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}.")
    if (a < 0).any() or (b < 0).any():
        raise ValueError("a and b must be non-negative.")
    iterations = _positive_int("iterations", iterations)
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 1/2), got {eps!r}.")

    def f(t: np.ndarray) -> np.ndarray:
        return a * np.log(t) + b * np.log1p(-t)

    ratio = (math.sqrt(5) - 1) / 2
    lo, hi = np.full(a.shape, eps), np.full(a.shape, 1 - eps)
    t1, t2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = f(t1), f(t2)
    for _ in range(iterations):
        left = f1 >= f2                       # the maximizer lies in [lo, t2]
        hi = np.where(left, t2, hi)
        lo = np.where(left, lo, t1)
        t1_new = np.where(left, hi - ratio * (hi - lo), t2)
        t2_new = np.where(left, t1, lo + ratio * (hi - lo))
        f1_new = np.where(left, f(t1_new), f2)
        f2_new = np.where(left, f1, f(t2_new))
        t1, t2, f1, f2 = t1_new, t2_new, f1_new, f2_new
    return 0.5 * (lo + hi)


def train_discriminator(real: torch.Tensor, fake: torch.Tensor, *, width: int = 64,
                        steps: int = 2000, lr: float = 3e-3,
                        generator: torch.Generator | None = None
                        ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Train a discriminator ``D = sigmoid(f)`` (``f`` an MLP ``1 -> width -> width -> 1``) to
    maximize the empirical GAN value on two 1-D samples, full batch, with Adam.

    Maximizing ``mean log D(real) + mean log(1 - D(fake))`` is minimizing the logistic loss of
    classifying real (label 1) against fake (label 0) with equal class weights.

    Args:
        real: samples of the data density, shape ``(n,)``.
        fake: samples of the generator's density, shape ``(m,)``.
        width: hidden width.
        steps: Adam steps on the full sample.
        lr: Adam's learning rate.
        generator: the random generator of the initialization.

    Returns:
        A function mapping points ``(k,)`` to the trained ``D`` at them, ``(k,)`` (no gradient).
    """
    real, fake = torch.as_tensor(real, dtype=torch.float32), torch.as_tensor(fake,
                                                                                dtype=torch.float32)
    if real.ndim != 1 or fake.ndim != 1 or len(real) == 0 or len(fake) == 0:
        raise ValueError("real and fake must be non-empty 1-D samples.")
    width = _positive_int("width", width)
    steps = _positive_int("steps", steps)
    lr = _positive_float("lr", lr)
    net = BatchedMLP(1, [1, width, width, 1], generator=generator)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xr, xf = real.reshape(1, -1, 1), fake.reshape(1, -1, 1)
    for _ in range(steps):
        loss = F.softplus(-net(xr)).mean() + F.softplus(net(xf)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def discriminator(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            x = torch.as_tensor(x, dtype=torch.float32).reshape(1, -1, 1)
            return torch.sigmoid(net(x)).reshape(-1)

    return discriminator


# --- The plane: a ring of Gaussian modes and how many of them a sample covers -----------------


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The centres of ``modes`` Gaussians equally spaced on a circle, shape ``(modes, 2)``."""
    modes = _positive_int("modes", modes)
    radius = _positive_float("radius", radius)
    angle = 2 * math.pi * torch.arange(modes, dtype=torch.float32) / modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def sample_ring(n: int, *, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of the equal-weight mixture of ``N(c_k, std^2 I)`` over the ring's centres.

    Returns:
        Shape ``(n, 2)``.
    """
    n = _positive_int("n", n)
    std = _positive_float("std", std)
    centers = ring_centers(modes, radius)
    k = torch.randint(len(centers), (n,), generator=generator)
    return centers[k] + std * torch.randn(n, 2, generator=generator)


@dataclass(frozen=True)
class Coverage:
    """What a sample of a generator covers of the ring (one row per generator).

    Attributes:
        counts: high-quality samples nearest to each mode, shape ``(members, modes)``.
        high_quality: the fraction of samples within ``n_sigma * std`` of the nearest centre,
            shape ``(members,)``.
        covered: the number of modes whose count is at least ``min_share`` of the sample,
            shape ``(members,)``.
        top_share: the largest share of the sample that has one same nearest centre, whatever
            its distance, shape ``(members,)`` (``1 / modes`` for the data, 1 for a generator
            whose every point lies in one mode's cell of the plane).
    """

    counts: np.ndarray
    high_quality: np.ndarray
    covered: np.ndarray
    top_share: np.ndarray


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float, *,
                  n_sigma: float = 3.0, min_share: float = 0.05) -> Coverage:
    """Count the modes a sample covers and the fraction of its points that are high quality.

    A point is *high quality* if it lies within ``n_sigma * std`` of the nearest centre. A mode
    is *covered* if at least ``min_share`` of all points are high-quality points nearest to it.

    Args:
        samples: ``(n, 2)`` for one generator or ``(members, n, 2)`` for several.
        centers: the modes' centres, ``(modes, 2)``.
        std: the standard deviation of each mode.
        n_sigma: the radius of a mode's high-quality disc, in units of ``std``.
        min_share: the share of the sample a mode needs to count as covered.

    Returns:
        A :class:`Coverage` with one row per generator.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32)
    if samples.ndim == 2:
        samples = samples.unsqueeze(0)
    if samples.ndim != 3 or samples.shape[-1] != 2 or samples.shape[1] == 0:
        raise ValueError(f"samples must have shape (n, 2) or (members, n, 2), got "
                         f"{tuple(samples.shape)}.")
    centers = torch.as_tensor(centers, dtype=torch.float32)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"centers must have shape (modes, 2), got {tuple(centers.shape)}.")
    std = _positive_float("std", std)
    n_sigma = _positive_float("n_sigma", n_sigma)
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}.")
    dist = torch.cdist(samples, centers.expand(samples.shape[0], -1, -1))
    nearest, k = dist.min(dim=-1)
    good = nearest <= n_sigma * std
    counts = np.stack([np.bincount(k[m][good[m]].numpy(), minlength=len(centers))
                       for m in range(samples.shape[0])])
    n = samples.shape[1]
    cells = np.stack([np.bincount(k[m].numpy(), minlength=len(centers))
                      for m in range(samples.shape[0])])
    return Coverage(counts=counts, high_quality=good.float().mean(dim=1).numpy(),
                    covered=(counts >= min_share * n).sum(axis=1), top_share=cells.max(axis=1) / n)


# --- Many small GANs at once --------------------------------------------------------------------


class BatchedMLP(nn.Module):
    """``members`` independent ReLU MLPs of the same shape, evaluated together with ``bmm``.

    Member ``m`` maps ``x[m]`` of shape ``(batch, widths[0])`` to ``(batch, widths[-1])``;
    hidden layers apply ReLU, the last is linear. Each member's weights and biases are drawn
    like PyTorch's default ``nn.Linear`` (uniform on ``+-1/sqrt(fan_in)``) from its own
    generator, so that member ``m`` is the same network whatever the other members are.

    Args:
        members: how many networks.
        widths: layer sizes, input first, at least two entries.
        generator: one generator for all members, or a sequence of one per member.
    """

    def __init__(self, members: int, widths: Sequence[int],
                 generator: torch.Generator | Sequence[torch.Generator] | None = None):
        super().__init__()
        members = _positive_int("members", members)
        widths = list(widths)
        if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w <= 0
                                  for w in widths):
            raise ValueError(f"widths must list at least two positive integers, got {widths!r}.")
        if generator is None or isinstance(generator, torch.Generator):
            gens = [generator] * members
        else:
            gens = list(generator)
            if len(gens) != members:
                raise ValueError(f"generator must hold one generator per member ({members}), "
                                 f"got {len(gens)}.")
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            w, b = torch.empty(members, fan_in, fan_out), torch.empty(members, 1, fan_out)
            bound = 1 / math.sqrt(fan_in)
            for m, g in enumerate(gens):
                w[m].uniform_(-bound, bound, generator=g)
                b[m].uniform_(-bound, bound, generator=g)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(members, batch, widths[0])`` to ``(members, batch, widths[-1])``."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x


@dataclass(frozen=True)
class GANConfig:
    """One GAN recipe on the ring.

    Attributes:
        loss: ``"gan"`` (the discriminator's logistic loss; the generator's non-saturating loss
            ``-log D(G(z))``) or ``"wgan-gp"`` (a critic with the Wasserstein loss and a gradient
            penalty ``gp_weight * (|grad f(x_hat)| - 1)^2`` at random interpolates).
        steps: generator steps.
        critic_steps: discriminator steps per generator step.
        batch: real and fake points per step.
        width: hidden width of both networks (two hidden layers each).
        latent_dim: dimension of the generator's standard Gaussian input.
        lr_g, lr_d: Adam learning rates of the generator and the discriminator.
        betas: Adam's betas (both players).
        gp_weight: the gradient-penalty weight (``"wgan-gp"`` only).
        modes, radius, std: the ring.
        eval_every: generator steps between two looks at the generator.
        eval_samples: points drawn from each generator at a look.
    """

    loss: Loss = "gan"
    steps: int = 1000
    critic_steps: int = 1
    batch: int = 128
    width: int = 64
    latent_dim: int = 2
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    gp_weight: float = 0.1
    modes: int = 8
    radius: float = 2.0
    std: float = 0.05
    eval_every: int = 100
    eval_samples: int = 2000

    def __post_init__(self) -> None:
        if self.loss not in ("gan", "wgan-gp"):
            raise ValueError(f"loss must be 'gan' or 'wgan-gp', got {self.loss!r}.")
        for name in ("steps", "critic_steps", "batch", "width", "latent_dim", "modes",
                     "eval_every", "eval_samples"):
            _positive_int(name, getattr(self, name))
        for name in ("lr_g", "lr_d", "radius", "std"):
            _positive_float(name, getattr(self, name))
        if self.gp_weight < 0:
            raise ValueError(f"gp_weight must be non-negative, got {self.gp_weight!r}.")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}.")


@dataclass
class GANRun:
    """The record of :func:`train_ring_gan`.

    Attributes:
        config: the recipe.
        seeds: one seed per member.
        steps: the generator steps at which the generators were looked at, ``(looks,)``.
        samples: at each look, ``eval_samples`` points per member, ``(looks, members, n, 2)``.
        generator: the trained generators (a :class:`BatchedMLP`).
    """

    config: GANConfig
    seeds: list[int]
    steps: np.ndarray
    samples: torch.Tensor
    generator: BatchedMLP = field(repr=False)


def _gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                      generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Per member, the mean of ``(|grad f(x_hat)| - 1)^2`` at ``x_hat = u real + (1-u) fake``."""
    u = torch.stack([torch.rand(real.shape[1], 1, generator=g) for g in generators])
    x_hat = (u * real + (1 - u) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(dim=-1) - 1) ** 2).mean(dim=1)


def train_ring_gan(config: GANConfig, seeds: Sequence[int]) -> GANRun:
    """Train one GAN per seed on the ring of Gaussians, all of them at once.

    Member ``m`` draws its initialization, data, latent codes and interpolation weights from
    ``torch.Generator().manual_seed(seeds[m])`` only: its run is the one it would have alone.
    Its loss is a sum of per-member terms, and Adam's update is elementwise, so the members do
    not interact.

    Args:
        config: the recipe (:class:`GANConfig`).
        seeds: one non-negative integer per member.

    Returns:
        A :class:`GANRun` with the generators' samples every ``config.eval_every`` steps (the
        first look after ``eval_every`` steps, the last at ``config.steps``).
    """
    if not isinstance(config, GANConfig):
        raise TypeError(f"config must be a GANConfig, got {type(config).__name__}.")
    seeds = [int(s) for s in seeds]
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}.")
    c = config
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    members = len(seeds)
    gen_net = BatchedMLP(members, [c.latent_dim, c.width, c.width, 2], gens)
    critic = BatchedMLP(members, [2, c.width, c.width, 1], gens)
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=c.lr_g, betas=c.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=c.lr_d, betas=c.betas)

    def real_batch() -> torch.Tensor:
        return torch.stack([sample_ring(c.batch, modes=c.modes, radius=c.radius, std=c.std,
                                        generator=g) for g in gens])

    def latent(n: int) -> torch.Tensor:
        return torch.stack([torch.randn(n, c.latent_dim, generator=g) for g in gens])

    looks, samples = [], []
    for step in range(1, c.steps + 1):
        for _ in range(c.critic_steps):
            real = real_batch()
            with torch.no_grad():
                fake = gen_net(latent(c.batch))
            if c.loss == "gan":
                per_member = (F.softplus(-critic(real)).mean(dim=(1, 2))
                              + F.softplus(critic(fake)).mean(dim=(1, 2)))
            else:
                per_member = (critic(fake).mean(dim=(1, 2)) - critic(real).mean(dim=(1, 2))
                              + c.gp_weight * _gradient_penalty(critic, real, fake, gens))
            opt_d.zero_grad()
            per_member.sum().backward()
            opt_d.step()
        out = critic(gen_net(latent(c.batch)))
        if c.loss == "gan":
            g_loss = F.softplus(-out).mean(dim=(1, 2))
        else:
            g_loss = -out.mean(dim=(1, 2))
        opt_g.zero_grad()
        g_loss.sum().backward()
        opt_g.step()
        if step % c.eval_every == 0 or step == c.steps:
            with torch.no_grad():
                samples.append(gen_net(latent(c.eval_samples)))
            looks.append(step)
    return GANRun(config=c, seeds=seeds, steps=np.array(looks), samples=torch.stack(samples),
                  generator=gen_net)
