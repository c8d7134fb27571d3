# %% [markdown]
# # 9. Lipschitz, checked
#
# Is the critic really Lipschitz? Clipping, gradient penalty and spectral norm, checked.
#
# Trains a WGAN three times on 8gaussians with the library's Trainer and each method's defaults
# (widths 128, 3 hidden layers, learning rates decayed to 0; weight clipping with c = 0.01,
# RMSProp 5e-4 and five critic steps; WGAN-GP with lam = 1, Adam 2e-3 and one critic step;
# spectral normalisation with Adam 1e-3 and five critic steps), then for each critic f:
#
# - the distribution of ||grad_x f(x_hat)|| on interpolates x_hat = eps x + (1 - eps) x_fake,
#   eps ~ U[0, 1] per point, the points the gradient penalty looks at (GP pulls them towards 1);
# - the empirical Lipschitz constant, max ||grad_x f|| over many points (``lipschitz_estimate``,
#   a LOWER bound on the true constant), against the proven UPPER bound prod_l ||W_l||_2
#   (``lipschitz_bound``) and, for clipping, the bound every [-c, c] network obeys
#   (``clipping_bound``): estimate <= bound must hold every time.
#
#     python demos/09_lipschitz_checked.py                  # about a minute on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/09_lipschitz_checked.py # seconds

# %%
from dataclasses import dataclass, field
from typing import List

from tinywgan import lesson


@dataclass
class Config:
    methods: List[str] = field(default_factory=lambda: ["wgan", "wgan-gp", "wgan-sn"])  # trained
    dataset: str = "8gaussians"  # the real data
    iters: int = 2000            # generator iterations per method (library defaults otherwise)
    n_points: int = 10000        # interpolates for the histogram
    grid: int = 100              # plus a grid x grid lattice over [-box, box]^2 for the estimate
    box: float = 2.0             # (see grid)
    seed: int = 0                # of the runs and the points


cfg = lesson.setup(Config, smoke=dict(iters=20, n_points=500, grid=20))

# %%
import time

import numpy as np

from tinywgan import backend
from tinywgan.measure import data
from tinywgan.measure import bounds
from tinywgan.job import TrainingJob, make_config
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend

# %% [markdown]
# ## 1. The points every critic is checked on (the same for all)

# %%
rng = backend.rng(np, cfg.seed, "lipschitz-demo")
x_real = data.sample(cfg.dataset, cfg.n_points, rng)                            # (N, 2)
eps = rng.random((cfg.n_points, 1), dtype=np.float32)                           # U[0,1] per point
side = np.linspace(-cfg.box, cfg.box, cfg.grid, dtype=np.float32)
lattice = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)             # (grid^2, 2)


# %% [markdown]
# ## 2. Each method: train a WGAN, then measure its critic on the points

# %%
rows = []
for method in cfg.methods:
    # 1. train a WGAN with this method; keep its critic D and a batch of its fakes
    t0 = time.perf_counter()
    trainer = TrainingJob(make_config(method=method, dataset=cfg.dataset,
                                              iters=cfg.iters, seed=cfg.seed))
    trainer.train()
    D = trainer.D
    x_fake = trainer.sample(cfg.n_points)                                       # (N, 2)

    # 2. input-gradient norms on the interpolates
    x_hat = eps * x_real + (1 - eps) * x_fake                                   # (N, 2)
    g = D.input_gradient(x_hat)                                                 # (N, 2) grad_x f
    norms = np.sqrt((g * g).sum(axis=1))                                        # (N,) ||grad_x f||

    # 3. empirical Lipschitz constant over interpolates, real, fake and the lattice; the bounds
    points = np.concatenate([x_hat, x_real, x_fake, lattice])                   # (3N + grid^2, 2)
    estimate = bounds.lipschitz_estimate(D, points)        # max_i ||grad_x f(x_i)|| <= Lip(f)
    bound = bounds.lipschitz_bound(D)                      # Lip(f) <= prod_l ||W_l||_2
    clip_bound = bounds.clipping_bound(D.widths, trainer.cfg.clip) \
        if method == "wgan" else None                         # prod_l c sqrt(d_l d_{l+1})
    rows.append(dict(method=method, norms=norms, estimate=estimate, bound=bound,
                     clip_bound=clip_bound, n=len(points), seconds=time.perf_counter() - t0))
    print("trained %-8s %5d iterations  %5.1f s" % (method, cfg.iters, rows[-1]["seconds"]),
          flush=True)


# %% [markdown]
# ## 3. The table

# %%
print("\n%-8s %10s %10s %10s %10s %7s %10s %10s %8s %10s %8s" % (
    "method", "mean ||g||", "median", "p5", "p95", "zero %", "estimate", "bound", "est<=bnd",
    "clip bound", "est<=cb"))
for r in rows:
    n, cb = r["norms"], r["clip_bound"]
    print("%-8s %10.4g %10.4g %10.4g %10.4g %7.1f %10.4g %10.4g %8s %10s %8s" % (
        r["method"], n.mean(), np.median(n), np.percentile(n, 5), np.percentile(n, 95),
        100 * np.mean(n == 0), r["estimate"], r["bound"], r["estimate"] <= r["bound"],
        "-" if cb is None else "%.4g" % cb, "-" if cb is None else r["estimate"] <= cb))
print("(||g|| = ||grad_x f(x_hat)|| over %d interpolates; zero %%: where f is flat there; "
      "estimate = max ||grad_x f|| over %d points: interpolates, real, fake and a %dx%d lattice "
      "on [-%g, %g]^2)" % (cfg.n_points, rows[0]["n"], cfg.grid, cfg.grid, cfg.box, cfg.box))


# %% [markdown]
# ## 4. The figure: the histograms on one shared log axis, and estimate vs bounds

# %%
fig, axes = plt.subplots(1, len(rows) + 1, figsize=(4.2 * (len(rows) + 1), 3.8))
positive = np.concatenate([r["norms"][r["norms"] > 0] for r in rows])
bins = np.geomspace(positive.min() / 2, 2 * max(r["estimate"] for r in rows), 80)
for i, (ax, r) in enumerate(zip(axes, rows)):
    zeros = int(np.sum(r["norms"] == 0))                   # flat spots (all ReLUs off): no log
    ax.hist(r["norms"], bins=bins, color="C%d" % i)
    ax.axvline(1.0, color="k", ls="--", lw=1, label="1 (GP's target)")
    ax.axvline(r["estimate"], color="r", lw=1, label="estimate (max)")
    ax.set(xscale="log", xlabel="||grad_x f(x_hat)||" + (" (%d zeros not shown)" % zeros
                                                         if zeros else ""),
           ylabel="interpolates (count)", title="%s: gradient norm on interpolates" % r["method"])
    ax.legend(fontsize=7, loc="upper left")
ax, x = axes[-1], np.arange(len(rows))
colours = ["C%d" % i for i in range(len(rows))]                 # one per method, as left
ax.bar(x - 0.2, [r["estimate"] for r in rows], 0.4, color=colours,
       label="filled: estimate (lower bound)")
ax.bar(x + 0.2, [r["bound"] for r in rows], 0.4, color="none", edgecolor=colours, hatch="//",
       label="hatched: prod ||W_l||_2 (upper bound)")
for i, r in enumerate(rows):
    if r["clip_bound"] is not None:
        ax.plot([i - 0.4, i + 0.4], [r["clip_bound"]] * 2, "k-", lw=2, label="clipping bound")
ax.set(yscale="log", xticks=x, xticklabels=[r["method"] for r in rows],
       ylabel="Lipschitz constant (log scale)", title="Lipschitz constant: estimate vs bounds")
ax.set_ylim(top=1e3 * max(r["bound"] for r in rows))                  # room for the legend
ax.legend(fontsize=7, loc="upper center")
fig.tight_layout()
print()
lesson.save(fig, "lipschitz_checked", dpi=100)
