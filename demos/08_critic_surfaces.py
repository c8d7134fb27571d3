# %% [markdown]
# # 8. What each critic sees (WGAN-GP paper, Figure 1a)
#
# Critic value surfaces: what clipping, the penalty and spectral norm let a critic see, next to
# the optimal critic.
#
# The WGAN-GP paper's Figure 1a (Gulrajani et al. 2017), from scratch. The 'generator' is held
# FIXED at the real data plus unit Gaussian noise, x_fake = x + e with e ~ N(0, I), and a critic
# is trained alone against it (``fit_critic``: the library's critic step without generator
# steps) on 8gaussians, 25gaussians and swissroll, with
#
# - weight clipping, c = 0.01 (RMSProp, as WGAN);
# - the gradient penalty, lam = 10 (Adam, as WGAN-GP);
# - spectral normalisation (Adam).
#
# The bottom row is the critic they all approximate: an exact optimum of the W1 dual for a
# sample of the two distributions (``metrics.w1_critic``: a max of unit-slope cones on the real
# points, its heights from the optimal transport plan). It peaks on every mode and runs as a
# ridge along the spiral: the fake mass reaches the data from every side.
#
# To compare critics whose scales differ hundreds-fold (the clipped critic's slope is about
# 0.005, the penalised one's about 1), each panel shows f / K, its values divided by its
# Lipschitz estimate K (the largest ||grad f|| on the drawn grid), shifted so that its maximum
# is 0: in units of distance, one colour scale for all. Printed per critic:
#
# - the local contrast: how sharply f peaks on the real points, mean over real x and directions u
#   of (f(x) - f(x + delta u)) / (delta K). It is 0 where f is locally linear (a hill seen from
#   its side has as much uphill as downhill), and 1 where f falls away from every real point at
#   its full slope, as the optimal critic does at a mode;
# - the W estimate E f(real) - E f(fake) divided by K, against the exact W1 of the same two
#   samples: the share of W1 each critic captures when made 1-Lipschitz.
#
# What the default run shows (the README quotes its numbers): the clipped critic is a
# box-shaped hill on all three datasets that ignores the modes, and made 1-Lipschitz it captures
# the least of W1 on each. The penalised critic is the one that bends its level sets around the
# data: a star with a point on each of the ring's modes, dents at the grid's, the highest contrast
# of the trained critics on both. On the spiral, 3000 steps leave every trained critic a plain
# hill: the spiral's ridge is the last thing a critic learns (the paper's were trained "to
# optimality"; ``--steps`` trains longer). Spectral normalisation's critic is a rounded hill,
# between the two on the ring.
#
#     python demos/08_critic_surfaces.py                  # under a minute on 2 cores
#     TINYWGAN_SMOKE=1 python demos/08_critic_surfaces.py # seconds
#
# Writes figures/critic_surfaces.png under the working folder and prints the numbers above.

# %%
from dataclasses import dataclass, field
from typing import List, Tuple

from tinywgan import lesson


@dataclass
class Config:
    datasets: List[str] = field(default_factory=lambda: ["8gaussians", "25gaussians",
                                                         "swissroll"])    # the real data
    # (label, method, optimizer, learning rate): 'wgan' clips to [-clip, clip] after each step;
    # Adam with betas (0.5, 0.9)
    methods: List[Tuple[str, str, str, float]] = field(default_factory=lambda: [
        ("weight clipping", "wgan", "rmsprop", 5e-4),
        ("gradient penalty", "wgan-gp", "adam", 1e-3),
        ("spectral norm", "wgan-sn", "adam", 1e-3)])
    widths: List[int] = field(default_factory=lambda: [2, 128, 128, 128, 1])   # ReLU critic
    steps: int = 3000            # critic updates, the learning rate decaying linearly to 0
    batch: int = 256             # real and generated points per step
    clip: float = 0.01           # the WGAN paper's c
    lam: float = 10.0            # the WGAN-GP paper's lambda
    noise: float = 1.0           # x_fake = x_real + noise * N(0, I)
    grid: int = 96               # the surface is drawn on a grid x grid lattice
    delta: float = 0.1           # the local contrast's step (below the data's gaps, ~0.5)
    directions: int = 16         # ... and its directions u, evenly spaced on the circle
    n_eval: int = 1000           # points for the W estimate, the exact W1 and the contrast
    n_optimal: int = 1000        # points of the sample the optimal critic is exact for
    seed: int = 0                # of the weights and every draw
    workers: int = 2             # processes, one critic each (one after another in a notebook)


cfg = lesson.setup(Config, smoke=dict(steps=20, batch=64, grid=24, n_eval=200, n_optimal=200))

# %%
import textwrap
import time

import numpy as np

from tinywgan import MLP, backend
from tinywgan.measure import data, metrics
from tinywgan.measure.critic import fit_critic
from tinywgan.core.lipschitz import clip_weights
from tinywgan.core.optim import make_optimizer
from tinywgan.measure.plot import pyplot

OPTIMAL = "optimal (exact)"


def fixed_pair(name, n, rng):
    """x_real: (n, 2) from the dataset; x_fake: (n, 2) = another real draw + noise N(0, I)."""
    x_real = data.sample(name, n, rng)
    x_fake = data.sample(name, n, rng) + cfg.noise * rng.standard_normal((n, 2),
                                                                          dtype=np.float32)
    return x_real, x_fake


def box(name):
    """The plotted square [-lim, lim]^2: the data and a unit noise std around it."""
    return float(np.abs(data.sample(name, 2000, backend.rng(np, cfg.seed, "box"))).max()) + 1.0


def lattice(lim):
    """xs: (n,) and the grid's points (n*n, 2), row-major as np.meshgrid(xs, xs)."""
    xs = np.linspace(-lim, lim, cfg.grid)
    return xs, np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2)


def measure(f, grad_norm, name, label):
    """The numbers and the surface of a critic f: (n, 2) -> (n,), with grad_norm: (n, 2) -> (n,)
    its ||grad f|| (None: 1-Lipschitz with slope 1, the optimal critic). Host float64."""
    x_real, x_fake = fixed_pair(name, cfg.n_eval, backend.rng(np, cfg.seed, "eval", name))
    xs, points = lattice(box(name))
    K = 1.0 if grad_norm is None else float(grad_norm(points).max())   # Lipschitz estimate
    angles = 2 * np.pi * np.arange(cfg.directions) / cfg.directions
    u = np.stack([np.cos(angles), np.sin(angles)], axis=1)                     # (M, 2)
    around = f((x_real[:, None, :] + cfg.delta * u[None]).reshape(-1, 2))      # (n*M,)
    drop = f(x_real)[:, None] - around.reshape(len(x_real), cfg.directions)    # (n, M)
    surface = f(points).reshape(cfg.grid, cfg.grid) / K                        # f / K
    return dict(dataset=name, label=label, xs=xs, surface=surface - surface.max(), K=K,
                est=float(f(x_real).mean() - f(x_fake).mean()),
                w1=metrics.w1_exact(x_real, x_fake), contrast=float(drop.mean()) / (cfg.delta * K))


def train_one(job):
    """Train one critic against the fixed generator and measure it."""
    name, (label, method, opt_name, lr) = job
    t0 = time.perf_counter()
    D = MLP(cfg.widths, activation="relu", spectral_norm=(method == "wgan-sn"), seed=cfg.seed)
    if method == "wgan":
        clip_weights(D.params, cfg.clip)                      # start inside [-c, c] too
    opt = make_optimizer(opt_name, lr=lr, **(dict(betas=(0.5, 0.9)) if opt_name == "adam"
                                             else {}))
    fit_critic(D, opt, lambda rng: fixed_pair(name, cfg.batch, rng), cfg.steps,
               method=method, lam=cfg.lam, clip=cfg.clip, seed=cfg.seed, lr_decay=True)
    D.spectral_normalise()                          # SN: W / sigma of the final weights

    def f(x):
        return D(x.astype(D.dtype))[:, 0].astype(np.float64)

    def grad_norm(x):
        g = D.input_gradient(x.astype(D.dtype)).astype(np.float64)            # (n, 2)
        return np.sqrt(np.sum(g * g, axis=1))

    return dict(measure(f, grad_norm, name, label), seconds=time.perf_counter() - t0)


def optimal(name):
    """The optimal critic for a sample of n_optimal real and fake points (metrics.w1_critic),
    measured on the same held-out points as the trained ones."""
    from scipy.spatial.distance import cdist
    t0 = time.perf_counter()
    x_real, x_fake = fixed_pair(name, cfg.n_optimal, backend.rng(np, cfg.seed, "optimal", name))
    _, heights = metrics.w1_critic(x_real, x_fake)
    cones = x_real.astype(np.float64)

    def f(x):                                            # max_i (u_i - ||x - x_real_i||)
        return np.max(heights - cdist(x, cones), axis=1)

    return dict(measure(f, None, name, OPTIMAL), seconds=time.perf_counter() - t0)


# %% [markdown]
# ## 1. Train one critic per (dataset, method) against the fixed generator; solve the optimum

# %%
jobs = [(name, m) for name in cfg.datasets for m in cfg.methods]
rows = []
for r in lesson.map_jobs(train_one, jobs, cfg.workers):
    rows.append(r)
    print("trained %-11s %-16s %5d steps  %5.1f s" % (r["dataset"], r["label"], cfg.steps,
                                                      r["seconds"]), flush=True)
for name in cfg.datasets:
    rows.append(optimal(name))
    print("solved  %-11s %-16s %5d points %5.1f s" % (name, OPTIMAL, cfg.n_optimal,
                                                      rows[-1]["seconds"]), flush=True)
labels = [m[0] for m in cfg.methods] + [OPTIMAL]


# %% [markdown]
# ## 2. The table

# %%
print("\nfixed generator: real + %g N(0, I); %d held-out real and fake points per dataset"
      % (cfg.noise, cfg.n_eval))
print("%-11s %-16s %11s %10s %8s %8s %9s %9s" % ("dataset", "critic", "E f(r)-f(g)",
                                                "K", "est/K", "W1", "share W1", "contrast"))
for name in cfg.datasets:
    for label in labels:
        r = next(r for r in rows if (r["dataset"], r["label"]) == (name, label))
        print("%-11s %-16s %11.3e %10.3e %8.4f %8.4f %9.3f %9.3f"
              % (name, label, r["est"], r["K"], r["est"] / r["K"], r["w1"],
                 r["est"] / r["K"] / r["w1"], r["contrast"]))
print("(K: the largest ||grad f|| on the drawn grid, 1 for the optimal critic; est/K <= W1 when "
      "K is f's true Lipschitz constant;\n contrast: 0 = f locally linear at the real points, "
      "1 = a peak on each, falling at slope K)")


# %% [markdown]
# ## 3. The figure: rows = critics, columns = datasets, as the paper's Figure 1a, on one scale

# %%
plt = pyplot()                   # matplotlib, file-only backend
n_d, n_r = len(cfg.datasets), len(labels)
fig, axes = plt.subplots(n_r, n_d, figsize=(3.9 * n_d + 1.2, 3.5 * n_r), squeeze=False)
low = np.floor(min(r["surface"].min() for r in rows) / 0.25) * 0.25
levels = np.linspace(low, 0, int(round(-low / 0.25)) + 1)    # one scale for every panel
holds_90 = []                  # the datasets whose panel holds 90 % of the density's mass
for j, name in enumerate(cfg.datasets):
    lim = box(name)
    real, _ = fixed_pair(name, 400, backend.rng(np, cfg.seed, "plot", name))
    xs, points = lattice(lim)
    # the fixed fake density p(x) = mean_i N(x; real_i, noise^2 I), and the levels holding 50 %
    # and 90 % of its mass (the lattice's highest cells, summed, times the cell's area)
    sq = np.sum((points[:, None, :] - real[None].astype(np.float64)) ** 2, axis=2)
    p = np.exp(-sq / (2 * cfg.noise ** 2)).mean(axis=1) / (2 * np.pi * cfg.noise ** 2)
    mass = np.cumsum(np.sort(p)[::-1]) * (xs[1] - xs[0]) ** 2
    holds = [np.sort(p)[::-1][np.searchsorted(mass, q)] for q in (0.9, 0.5) if mass[-1] > q]
    holds_90 += [name] if mass[-1] > 0.9 else []
    for i, label in enumerate(labels):
        r = next(r for r in rows if (r["dataset"], r["label"]) == (name, label))
        ax = axes[i, j]
        cs = ax.contourf(r["xs"], r["xs"], r["surface"], levels=levels, cmap="viridis")
        ax.contour(r["xs"], r["xs"], r["surface"], levels=levels, colors="k", linewidths=0.3,
                   alpha=0.5)
        if holds:
            ax.contour(xs, xs, p.reshape(cfg.grid, cfg.grid), levels=holds, colors="w",
                       linewidths=1, linestyles="--")
        ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:orange")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        if i < n_r - 1:                # the points' coordinates on the outer panels only
            ax.set_xticks([])
        if j > 0:
            ax.set_yticks([])
        ax.set(xlabel="x1" if i == n_r - 1 else None, ylabel="x2" if j == 0 else None)
        ax.set_title("%s, %s\nK = %.2g; contrast %.2f; %.2f of W1"
                     % (label, name, r["K"], r["contrast"], r["est"] / r["K"] / r["w1"]),
                     fontsize=8)
fig.tight_layout(rect=(0, 0, 0.9, 0.95))
bar = fig.colorbar(cs, cax=fig.add_axes([0.915, 0.1, 0.015, 0.8]),
                   ticks=np.arange(0, low - 1e-9, -0.5))
bar.set_label("(f(x) - max f) / K, in units of distance")
fig.suptitle(textwrap.fill(
    "Critics trained against a fixed generator, real + N(0, I) (its density: dashed white, "
    "holding 50 %% of its mass and, %s, 90 %%); real points orange. Each critic f is divided by "
    "its largest slope K and shifted to a maximum of 0: yellow = high f, the critic's 'real'."
    % ("only where the panel holds that much (%s)" % ", ".join(holds_90) if holds_90 else
       "beyond every panel,"), width=int(16 * fig.get_figwidth())), fontsize=9)
lesson.save(fig, "critic_surfaces")
