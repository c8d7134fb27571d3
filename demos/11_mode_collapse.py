# %% [markdown]
# # 11. Mode collapse, measured
#
# The vanilla GAN against three WGANs, over several seeds.
#
# Each method trains with the library's Trainer and its own defaults (``make_config``:
# WGAN-GP's tuned settings, and ``METHOD_DEFAULTS`` for clipping and spectral norm) on the ring
# of 8 and the grid of 25 Gaussians, once per seed; then 2500 generated points are scored as the
# published tables score them (VEEGAN: Srivastava et al. 2017; PacGAN: Lin et al. 2018):
#
# - a sample is high quality when it lies within 3 std of its nearest mode centre (perfect
#   samples score 1 - exp(-4.5) = 98.9 %);
# - a mode is captured when at least one high-quality sample has it as its nearest centre;
#
# reported as mean +- standard error over the seeds, in the published tables' form. The vanilla
# GAN runs twice: with the minimax loss log(1 - D(G(z))) that saturates, and with the
# non-saturating -log D(G(z)) everyone uses.
#
# The default is a shorter look: every run gets ``budget`` = 30 % of its method's iterations
# (its learning rate decays over that shorter schedule), three seeds, so all 30 runs fit in
# about three minutes on two cores (two worker processes, one BLAS thread each: these
# small networks run faster that way; in a notebook the runs go one after another). That is
# enough for the lesson: the clipped and spectrally normalised WGANs, which take five critic
# steps per generator step, need about that many iterations to spread over the modes (at 10 %
# they had found no more than the GAN). ``TINYWGAN_FULL=1`` runs the full schedules over five
# seeds (about 25 minutes), the table quoted in the README.
#
#     python demos/11_mode_collapse.py                   # about three minutes on a 2-core CPU
#     TINYWGAN_FULL=1 python demos/11_mode_collapse.py   # the full schedules
#     TINYWGAN_SMOKE=1 python demos/11_mode_collapse.py  # seconds
#
# Writes figures/mode_collapse.png (seed 0's final samples per method and dataset, and every
# seed's modes found) under the working folder and prints the table.

# %%
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from tinywgan import lesson


@dataclass
class Config:
    # (label, config fields): everything not given is the library's default for that method
    methods: List[Tuple[str, Dict]] = field(default_factory=lambda: [
        ("GAN (minimax)", dict(method="gan", gan_loss="minimax")),
        ("GAN (non-saturating)", dict(method="gan")),
        ("WGAN (clipping)", dict(method="wgan")),
        ("WGAN-GP", dict(method="wgan-gp")),
        ("WGAN (spectral norm)", dict(method="wgan-sn"))])
    datasets: List[str] = field(default_factory=lambda: ["8gaussians", "25gaussians"])  # data
    seeds: int = 3               # runs per method and dataset
    budget: float = 0.3          # fraction of each method's default iterations (1 = full)
    n_eval: int = 2500           # generated points scored per run (the published protocol)
    workers: int = 2             # processes; each run is independent
    n_plot: int = 1000           # points per panel of the figure (seed 0)


cfg = lesson.setup(Config, smoke=dict(budget=0.005, seeds=2, n_eval=500, n_plot=200),
                   full=dict(budget=1.0, seeds=5))

# %%
import math
import time

import numpy as np

from tinywgan import backend
from tinywgan.measure import data, metrics
from tinywgan.job import TrainingJob, make_config
from tinywgan.measure.plot import pyplot


def run_one(job):
    """Train one (method, dataset, seed) and score its samples. Returns a dict (host numbers)."""
    label, fields, dataset, seed = job
    t0 = time.perf_counter()
    full = make_config(dataset=dataset, **fields)          # the method's own defaults
    iters = max(1, int(round(cfg.budget * full.iters)))
    trainer = TrainingJob(make_config(dataset=dataset, seed=seed, iters=iters,
                                              log_every=max(1, iters), **fields))
    trainer.train()
    x = backend.to_numpy(trainer.sample(cfg.n_eval, ("mode-collapse",)))      # (n_eval, 2)
    score = metrics.mode_coverage(x, data.centres(dataset), data.mode_std(dataset))
    return dict(label=label, dataset=dataset, seed=seed, iters=iters, modes=score["modes"],
                modes_total=score["modes_total"], high_quality=score["high_quality"],
                points=x[:cfg.n_plot], seconds=time.perf_counter() - t0)


def mean_se(values):
    """Mean and standard error (sample std / sqrt(n); 0 for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    return v.mean(), (v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0)


# %% [markdown]
# ## 1. Every (method, dataset, seed) run, spread over the worker processes

# %%
jobs = [(label, fields, dataset, seed) for dataset in cfg.datasets
        for label, fields in cfg.methods for seed in range(cfg.seeds)]
t0 = time.perf_counter()
results = []
for r in lesson.map_jobs(run_one, jobs, cfg.workers):
    results.append(r)
    print("%-11s %-21s seed %d  %6d iters  modes %2d/%d  high quality %5.1f %%  %5.1f s"
          % (r["dataset"], r["label"], r["seed"], r["iters"], r["modes"],
             r["modes_total"], 100 * r["high_quality"], r["seconds"]), flush=True)
print("%d runs in %.0f s (%d workers)" % (len(results), time.perf_counter() - t0, cfg.workers))


# %% [markdown]
# ## 2. The table, in the published tables' form: mean +- standard error

# %%
print("\n%d seeds, %s of each method's default iterations, %d points scored per run"
      % (cfg.seeds, "100 %" if cfg.budget == 1 else "%g %%" % (100 * cfg.budget), cfg.n_eval))
print("| method | ring modes (of 8) | ring HQ % | grid modes (of 25) | grid HQ % |")
print("|---|---|---|---|---|")
for label, _ in cfg.methods:
    cells = []
    for dataset in ("8gaussians", "25gaussians"):
        rows = [r for r in results if r["label"] == label and r["dataset"] == dataset]
        if not rows:
            cells += ["-", "-"]
            continue
        m, m_se = mean_se([r["modes"] for r in rows])
        q, q_se = mean_se([100 * r["high_quality"] for r in rows])
        cells += ["%.1f +- %.1f" % (m, m_se), "%.1f +- %.1f" % (q, q_se)]
    print("| %s | %s |" % (label, " | ".join(cells)))


# %% [markdown]
# ## 3. The figure: seed 0's samples, one row per dataset, one column per method; below, every
# seed's modes (one seed's picture can mislead: a GAN run may find every mode where the next
# drops half)

# %%
plt = pyplot()
n_d, n_m = len(cfg.datasets), len(cfg.methods)
fig = plt.figure(figsize=(2.8 * n_m, 3.3 * n_d + 2.6))
gs = fig.add_gridspec(n_d + 1, n_d * n_m, height_ratios=[1.3] * n_d + [1])
axes = [[fig.add_subplot(gs[i, n_d * j:n_d * (j + 1)]) for j in range(n_m)] for i in range(n_d)]
for i, dataset in enumerate(cfg.datasets):
    centres = data.centres(dataset)
    lim = 1.25 * float(np.abs(centres).max()) + 0.2
    for j, (label, _) in enumerate(cfg.methods):
        r = next(r for r in results if r["label"] == label and r["dataset"] == dataset
                 and r["seed"] == 0)
        ax = axes[i][j]
        ax.scatter(centres[:, 0], centres[:, 1], marker="o", s=60, facecolors="none",
                   edgecolors="tab:orange", lw=1, zorder=1)          # under the samples
        ax.scatter(r["points"][:, 0], r["points"][:, 1], s=2, c="tab:green", alpha=0.5,
                   zorder=2)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("%s\n%d/%d modes, HQ %.0f %%" % (label, r["modes"], r["modes_total"],
                                                      100 * r["high_quality"]), fontsize=8)
    ax = fig.add_subplot(gs[n_d, n_m * i:n_m * (i + 1)])              # every seed's modes
    for j, (label, _) in enumerate(cfg.methods):
        modes = [r["modes"] for r in results if r["label"] == label and r["dataset"] == dataset]
        ax.scatter([j] * len(modes), modes, s=18, c="tab:green", alpha=0.6, zorder=2)
        ax.plot([j - 0.25, j + 0.25], [np.mean(modes)] * 2, c="k", lw=1.5, zorder=3)
    ax.axhline(len(centres), c="tab:orange", ls=":", lw=1)
    ax.set_xticks(range(n_m))
    ax.set_xticklabels([label.replace(" (", "\n(") for label, _ in cfg.methods], fontsize=7)
    ax.set_ylim(0, len(centres) + 1)
    ax.set_title("%s: modes found by each of the %d seeds (dots), their mean (bar), of %d"
                 % (dataset, cfg.seeds, len(centres)), fontsize=8)
fig.suptitle("Final samples (green) and mode centres (orange circles), seed 0, %s of the "
             "default iterations" % ("100 %" if cfg.budget == 1 else "%g %%" % (100 * cfg.budget)),
             fontsize=9)
fig.tight_layout()
lesson.save(fig, "mode_collapse")
