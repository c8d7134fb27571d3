# %% [markdown]
# # 8. What each critic sees (WGAN-GP paper, Figure 1a)
#
# Critic value surfaces: what clipping, the penalty and spectral norm let a critic see.
#
# The WGAN-GP paper's Figure 1a, from scratch. The 'generator' is held FIXED at the real data
# plus unit Gaussian noise, x_fake = x + e with e ~ N(0, I), and a critic is trained alone against
# it (``train.fit_critic``: the library's critic step without generator steps) on 8gaussians,
# 25gaussians and swissroll, with
#
# - weight clipping, c = 0.01 (RMSProp, as WGAN);
# - the gradient penalty, lam = 10 (Adam, as WGAN-GP);
# - spectral normalisation (Adam).
#
# The fake distribution has the real one's mean, so a linear critic sees nothing; it is wider,
# so a bowl (a quadratic, the second moment) sees something; only a critic that follows the modes
# sees the rest. The paper's lesson: the clipped critic learns a simple hill and misses the
# data's structure ("fails to capture higher moments"); the penalised critic bends its level sets
# around the modes. Printed per critic:
#
# - the local contrast: how sharply f peaks on the real points, mean over real x and directions u
#   of (f(x) - f(x + delta u)) / (delta max|grad f|). It is 0 where f is locally linear (a hill
#   seen from its side has as much uphill as downhill), and 1 where f falls away from every real
#   point at its full slope, as the optimal critic does where fake mass reaches a mode from all
#   sides;
# - the critic's W estimate E f(real) - E f(fake) divided by its largest input-gradient norm on
#   the grid (the estimate f would give rescaled to be 1-Lipschitz, approximately), against the
#   exact W1 between the two sample sets: the share of W1 each critic captures.
#
#     python demos/08_critic_surfaces.py                  # about a minute on a 2-core CPU
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
    # (label, method, optimizer, learning rate): 'wgan' clips to [-clip, clip] after each step
    methods: List[Tuple[str, str, str, float]] = field(default_factory=lambda: [
        ("weight clipping", "wgan", "rmsprop", 5e-4),
        ("gradient penalty", "wgan-gp", "adam", 1e-3),
        ("spectral norm", "wgan-sn", "adam", 1e-3)])
    widths: List[int] = field(default_factory=lambda: [2, 128, 128, 128, 1])   # ReLU critic
    steps: int = 2000            # critic updates: long enough for each surface to settle
    batch: int = 256             # real and generated points per step
    clip: float = 0.01           # the WGAN paper's c
    lam: float = 10.0            # the WGAN-GP paper's lambda
    noise: float = 1.0           # x_fake = x_real + noise * N(0, I)
    grid: int = 96               # the surface is drawn on a grid x grid lattice
    delta: float = 0.1           # the local contrast's step (below the data's gaps, ~0.5)
    directions: int = 16         # ... and its directions u, evenly spaced on the circle
    n_eval: int = 1000           # points for the W estimate and the exact W1
    seed: int = 0                # of the weights and every draw


cfg = lesson.setup(Config, smoke=dict(steps=20, batch=64, grid=24, n_eval=200))

# %%
import time

import numpy as np

from tinywgan import MLP, backend, data, metrics, train
from tinywgan.lipschitz import clip_weights
from tinywgan.optim import Adam, RMSProp
from tinywgan.plot import critic_grid, pyplot

plt = pyplot()                   # matplotlib, file-only backend


def fixed_pair(name, n, rng):
    """x_real: (n, 2) from the dataset; x_fake: (n, 2) = another real draw + noise N(0, I)."""
    x_real = data.sample(name, n, rng)
    x_fake = data.sample(name, n, rng) + cfg.noise * rng.standard_normal((n, 2),
                                                                          dtype=np.float32)
    return x_real, x_fake


def local_contrast(D, x, lip):
    """mean over x (n, 2) and unit u of (f(x) - f(x + delta u)) / (delta lip): 0 locally linear,
    1 a peak at every x falling at slope lip in every direction."""
    angles = 2 * np.pi * np.arange(cfg.directions) / cfg.directions
    u = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)  # (K, 2)
    f_x = D(x)                                                                  # (n, 1)
    f_around = D((x[:, None, :] + cfg.delta * u[None]).reshape(-1, 2))         # (n*K, 1)
    drop = f_x - f_around.reshape(len(x), cfg.directions)                      # (n, K)
    return float(drop.mean()) / (cfg.delta * lip)


# %% [markdown]
# ## 1. Train one critic per (dataset, method) against the fixed generator, and measure it

# %%
rows = []
for name in cfg.datasets:
    eval_real, eval_fake = fixed_pair(name, cfg.n_eval, backend.rng(np, cfg.seed, "eval", name))
    w1 = metrics.w1_exact(eval_real, eval_fake)                   # exact W1 of the two samples
    lim = float(np.abs(eval_real).max()) + 1.0                    # the plotted box [-lim, lim]^2
    for label, method, opt_name, lr in cfg.methods:
        t0 = time.perf_counter()
        D = MLP(cfg.widths, activation="relu", spectral_norm=(method == "wgan-sn"),
                seed=cfg.seed)
        if method == "wgan":
            clip_weights(D.params, cfg.clip)                      # start inside [-c, c] too
            opt = RMSProp(lr=lr)
        else:
            opt = Adam(lr=lr, betas=(0.5, 0.9))
        train.fit_critic(D, opt, lambda rng: fixed_pair(name, cfg.batch, rng), cfg.steps,
                         method=method, lam=cfg.lam, clip=cfg.clip, seed=cfg.seed)
        D.spectral_normalise()                          # SN: W / sigma of the final weights
        xs, f = critic_grid(D, lim, cfg.grid)                                   # f: (n, n)
        lattice = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2).astype(np.float32)
        g = D.input_gradient(lattice)                                           # (n*n, 2)
        lip = float(np.sqrt((g * g).sum(axis=1)).max())          # max ||grad f|| on the grid
        est = float(D(eval_real).mean() - D(eval_fake).mean())   # E f(real) - E f(fake)
        rows.append(dict(dataset=name, label=label, xs=xs, f=f, lim=lim, w1=w1, est=est,
                         lip=lip, share=est / lip / w1, contrast=local_contrast(D, eval_real, lip),
                         seconds=time.perf_counter() - t0))
        print("trained %-11s %-16s %5d steps  %5.1f s" % (name, label, cfg.steps,
                                                          rows[-1]["seconds"]), flush=True)


# %% [markdown]
# ## 2. The table

# %%
print("\nfixed generator: real + N(0, I); W estimate rescaled by the largest gradient on the grid")
print("%-11s %-16s %11s %10s %8s %8s %9s %9s" % ("dataset", "critic", "E f(r)-f(g)",
                                                "max|grad|", "est/max", "W1", "share W1",
                                                "contrast"))
for r in rows:
    print("%-11s %-16s %11.3e %10.3e %8.4f %8.4f %9.3f %9.3f"
          % (r["dataset"], r["label"], r["est"], r["lip"], r["est"] / r["lip"], r["w1"],
             r["share"], r["contrast"]))
print("(est/max <= W1 when max|grad| is the critic's true Lipschitz constant; contrast: 0 = f "
      "locally linear at the real points, 1 = a sharp peak on each)")


# %% [markdown]
# ## 3. The figure: rows = critics, columns = datasets, as the paper's Figure 1a

# %%
n_d, n_m = len(cfg.datasets), len(cfg.methods)
fig, axes = plt.subplots(n_m, n_d, figsize=(4.4 * n_d, 3.5 * n_m), squeeze=False)
for r, ax in zip(rows, axes.T.ravel()):
    real, _ = fixed_pair(r["dataset"], 400, backend.rng(np, cfg.seed, "plot", r["dataset"]))
    cs = ax.contourf(r["xs"], r["xs"], r["f"], levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, shrink=0.8, label="critic value f(x)", format="%.2g")
    ax.contour(r["xs"], r["xs"], r["f"], levels=20, colors="k", linewidths=0.3, alpha=0.5)
    ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:orange", label="real")
    ax.set_xlim(-r["lim"], r["lim"])
    ax.set_ylim(-r["lim"], r["lim"])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("%s, %s\nlocal contrast %.2f, W estimate %.2f of W1"
                 % (r["label"], r["dataset"], r["contrast"], r["share"]), fontsize=8)
fig.suptitle("Critics trained against a fixed generator (real + N(0, I)): value surfaces "
             "(yellow = high f, the critic's 'real')", fontsize=10)
fig.tight_layout()
lesson.save(fig, "critic_surfaces")
