# %% [markdown]
# # 15. What the critic really computes
#
# "The critic estimates W1 and the generator descends it." Stanczuk, Etmann, Kreusser and
# Schonlieb (2021, "Wasserstein GANs Work Because They Fail (to Approximate the Wasserstein
# Distance)") and Korotin, Kolesov and Burnaev (2022, "Kantorovich Strikes Back! Wasserstein
# GANs are not Optimal Transport?") question it. Here every critic (weight clipping, the
# gradient penalty, spectral normalisation, GroupSort with orthonormal weights: Anil, Lucas and
# Grosse 2019) is compared with the EXACT answer for the same finite samples
# (``metrics.w1_exact`` and the optimal plan behind it, a permutation sigma):
#
# - its estimate mean f(real) - mean f(fake), raw and divided by its proven Lipschitz bound
#   K = prod_l ||W_l||_2 (``bounds.lipschitz_bound``; 1 for spectral norm and GroupSort):
#   f / K is 1-Lipschitz, so by duality est / K <= W1 of the samples, always;
# - the direction it pushes each fake point, grad_x f(x_j), against the exact one, the unit
#   vector from x_j to its partner in the optimal plan: cosine, mean and spread over the points
#   (0 is chance; a random direction's cosine has spread 1/sqrt(d)).
#
# Part 1 trains each critic against a FIXED generator (``fit_critic``): real = 8 Gaussians
# (std 0.2) at random points of the sphere of radius 2 in d = 2, 8, 32; fake = N(0, 0.5^2 I);
# 1,000 points each for the exact plan. Part 2 trains each as a whole WGAN on 8gaussians (2-D).
# Sampling noise is W1 between two real samples of the same size.
#
#     python demos/15_what_the_critic_computes.py                  # about 3 minutes on 2 cores
#     TINYWGAN_SMOKE=1 python demos/15_what_the_critic_computes.py # seconds

# %%
from dataclasses import dataclass, field
from typing import List

from tinywgan import lesson


@dataclass
class Config:
    methods: List[str] = field(default_factory=lambda: ["wgan", "wgan-gp", "wgan-sn",
                                                        "wgan-gs"])  # the critics compared
    dims: List[int] = field(default_factory=lambda: [2, 8, 32])  # part 1's dimensions
    n: int = 1000                # points per sample for the exact W1 and plan
    critic_steps: int = 600      # part 1: critic updates against the fixed generator
    width: int = 128             # critics' hidden width (3 hidden layers)
    batch: int = 256             # part 1's batch
    iters: int = 1000            # part 2: WGAN iterations per method on 8gaussians
    seed: int = 0                # of everything


cfg = lesson.setup(Config, smoke=dict(dims=[2, 8], n=200, critic_steps=20, iters=20, width=32))

# %%
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from tinywgan import backend
from tinywgan.core.mlp import MLP
from tinywgan.core.optim import make_optimizer
from tinywgan.measure.critic import fit_critic
from tinywgan.job import TrainingJob, make_config
from tinywgan.job.config import default_optimizer
from tinywgan.measure import bounds, data, metrics
from tinywgan.measure.plot import pyplot

plt = pyplot()

#: each method's critic in part 1: activation, optimizer and learning rate (the main job's)
PART1 = {"wgan": ("relu", 5e-4), "wgan-gp": ("relu", 1e-3), "wgan-sn": ("relu", 1e-3),
         "wgan-gs": ("groupsort", 1e-3)}


# %% [markdown]
# ## 1. The exact answer for two finite samples, and how to score a critic against it

# %%
def compare(D, x_real, x_fake):
    """The critic D against the exact optimum for these samples (each (n, d)).
    Returns raw and bound-rescaled estimates, exact W1, and the cosines (n,) between
    grad_x f(x_fake_j) and the unit vector from x_fake_j to its partner in the optimal plan."""
    x_real, x_fake = np.asarray(x_real, np.float64), np.asarray(x_fake, np.float64)
    cost = cdist(x_fake, x_real)                                 # (n, n) ||fake_j - real_i||
    fake_idx, partner = linear_sum_assignment(cost)              # the optimal permutation
    w1 = float(cost[fake_idx, partner].mean())                   # = metrics.w1_exact
    to_partner = x_real[partner] - x_fake                        # (n, d) exact push directions
    to_partner /= np.linalg.norm(to_partner, axis=1, keepdims=True)
    f = lambda x: np.asarray(D(x.astype(D.dtype)), np.float64)[:, 0]
    est = float(f(x_real).mean() - f(x_fake).mean())
    K = bounds.lipschitz_bound(D)
    g = np.asarray(D.input_gradient(x_fake.astype(D.dtype)), np.float64)   # (n, d) grad_x f
    norm = np.linalg.norm(g, axis=1)
    cos = (g * to_partner).sum(axis=1) / np.where(norm > 0, norm, 1)        # 0 where f is flat
    return dict(est=est, K=K, rescaled=est / K, w1=w1, cos=cos)


def mixture(d, seed):
    """8 Gaussians (std 0.2) at random points of the radius-2 sphere in R^d, and a sampler."""
    c = np.random.default_rng(seed).normal(size=(8, d))
    c *= 2 / np.linalg.norm(c, axis=1, keepdims=True)
    return lambda n, rng: c[rng.integers(0, 8, n)] + 0.2 * rng.standard_normal((n, d))


def fake_sampler(n, rng, d):
    return 0.5 * rng.standard_normal((n, d))                     # the fixed generator


# %% [markdown]
# ## 2. Part 1: each critic against a fixed generator, d = 2, 8, 32

# %%
rows = []
for d in cfg.dims:
    real = mixture(d, cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    x_real, x_real2, x_fake = real(cfg.n, rng), real(cfg.n, rng), fake_sampler(cfg.n, rng, d)
    noise = metrics.w1_exact(x_real, x_real2)                    # sampling noise at this n
    for method in cfg.methods:
        act, lr = PART1[method]
        D = MLP([d, cfg.width, cfg.width, cfg.width, 1], act, spectral_norm=(method == "wgan-sn"),
                seed=cfg.seed)
        opt = make_optimizer(default_optimizer(method), lr=lr)

        def draw(r, d=d, real=real):
            return (real(cfg.batch, r).astype(np.float32),
                    fake_sampler(cfg.batch, r, d).astype(np.float32))
        fit_critic(D, opt, lambda r: draw(np.random.default_rng(r.integers(2 ** 31))),
                   cfg.critic_steps, method=method, lam=10.0, seed=cfg.seed)
        rows.append(dict(part="fixed G", d=d, method=method, noise=noise,
                         **compare(D, x_real, x_fake)))
        print("part 1: d=%-3d %-8s trained" % (d, method), flush=True)

# %% [markdown]
# ## 3. Part 2: each critic over a whole WGAN run on 8gaussians (2-D)

# %%
for method in cfg.methods:
    job = TrainingJob(make_config(method=method, dataset="8gaussians", iters=cfg.iters,
                                  seed=cfg.seed, width=cfg.width))
    job.train()
    rng = backend.rng(np, cfg.seed, "lesson-15")
    x_real = data.sample("8gaussians", cfg.n, rng)
    noise = metrics.w1_exact(x_real, data.sample("8gaussians", cfg.n, rng))
    rows.append(dict(part="WGAN run", d=2, method=method, noise=noise,
                     **compare(job.D, x_real, job.sample(cfg.n))))
    print("part 2: %-8s trained" % method, flush=True)

# %% [markdown]
# ## 4. The table: estimate vs exact W1, push direction vs the exact plan's

# %%
print("\n%-8s %3s %-8s %9s %9s %7s %8s %7s %6s %6s %6s %6s %6s %6s %6s" % (
    "part", "d", "method", "est", "K", "est/K", "exact W1", "noise", "ratio", "cos", "std",
    "p25", "median", "p75", ">0"))
for r in rows:
    c = r["cos"]
    r["ratio"] = r["rescaled"] / r["w1"]
    r["cos_mean"], r["cos_std"], r["cos_pos"] = float(c.mean()), float(c.std()), \
        float((c > 0).mean())
    q = np.percentile(c, [25, 50, 75])
    print("%-8s %3d %-8s %9.4g %9.4g %7.4f %8.4f %7.4f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f"
          % (r["part"], r["d"], r["method"], r["est"], r["K"], r["rescaled"], r["w1"],
             r["noise"], r["ratio"], r["cos_mean"], r["cos_std"], *q, r["cos_pos"]))
print("(est = mean f(real) - mean f(fake) on the %d-point samples; K = prod ||W_l||_2, so est/K "
      "<= exact W1 by duality; ratio = (est/K) / exact W1 (bars), noise / exact W1 the marks; "
      "noise = W1 between two real samples of that size; cos: between "
      "grad_x f(fake_j) and the unit vector to fake_j's partner in the optimal plan, "
      "0 = chance; the boxes show p25, median, p75)" % cfg.n)

# %% [markdown]
# ## 5. The figure: est/K against exact W1, and the cosines

# %%
labels = ["%s\n%s d=%d" % (r["method"], "G fixed" if r["part"] == "fixed G" else "run", r["d"])
          for r in rows]
x = np.arange(len(rows))
colour = {m: "C%d" % i for i, m in enumerate(cfg.methods)}
cols = [colour[r["method"]] for r in rows]
fig, (a1, a2) = plt.subplots(2, 1, figsize=(13, 7.5))        # one size at every budget
a1.bar(x, [r["ratio"] for r in rows], color=cols)
a1.plot(x, [r["noise"] / r["w1"] for r in rows], "k_", ms=14, mew=2,
        label="sampling noise / exact W1")
a1.axhline(1, color="k", lw=1, ls="--")
a1.set(ylabel="(est / K) / exact W1", xticks=x, xticklabels=labels,
       title="The critic's estimate, divided by its Lipschitz bound, against exact W1 (<= 1)")
a1.legend(fontsize=8)
a2.boxplot([r["cos"] for r in rows], positions=x, widths=0.6, showfliers=False)
a2.axhline(0, color="k", lw=1, ls="--")
a2.set(ylabel="cos(grad f, exact push)", xticks=x, xticklabels=labels, ylim=(-1.05, 1.05),
       title="Direction each fake point is pushed vs the optimal transport plan (0 = chance)")
for ax in (a1, a2):
    ax.tick_params(axis="x", labelsize=7)
fig.tight_layout()
print()
lesson.save(fig, "what_the_critic_computes", dpi=100)
