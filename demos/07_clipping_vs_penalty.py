# %% [markdown]
# # 7. Weight clipping against the gradient penalty (WGAN-GP paper, Figure 1b)
#
# Why weight clipping fails in deep critics: the WGAN-GP paper's Figure 1b, from scratch.
#
# A 12-layer ReLU critic (no batch norm) is trained as a critic only, on swissroll (real) against
# a FIXED generator distribution, real + unit Gaussian noise (Gulrajani et al. 2017, Fig. 1), with
#
# - weight clipping, c in {0.1, 0.01, 0.001} (RMSProp, as WGAN);
# - the gradient penalty, lam 10 (Adam, as WGAN-GP);
# - spectral normalisation (Adam).
#
# Then, for each trained critic and its loss L = mean f(fake) - mean f(real):
#
# - ||dL/dH[l]||, the gradient w.r.t. each layer's input activations (what the paper plots): under
#   clipping it grows (c = 0.1) or decays (c = 0.01, 0.001) exponentially as it flows back to the
#   input, each layer multiplying it by about the same factor; with GP or SN it stays level;
# - ||dL/dW[l]||, the gradient w.r.t. each layer's weights, what the optimizer gets. This one is
#   level across layers for every critic: a ReLU net is (biases aside) linear in each W[l] alone,
#   so <W[l], dL/dW[l]> ~ L for every l and ||dL/dW[l]|| ~ |L| / ||W[l]||. What clipping changes
#   is its overall size: about 2 at c = 0.1, 1e-16 at c = 0.01, 1e-28 at c = 0.001;
# - the weights: clipped ones pile up at +-c, GP and SN weights spread out.
#
#     python demos/07_clipping_vs_penalty.py                  # about a minute on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/07_clipping_vs_penalty.py # seconds
#
# Writes figures/clipping_vs_penalty.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass, field
from typing import List

from tinywgan import lesson


@dataclass
class Config:
    widths: List[int] = field(default_factory=lambda: [2] + [64] * 12 + [1])  # 12 ReLU layers
    clips: List[float] = field(
        default_factory=lambda: [0.1, 0.01, 0.001])    # weight clipping at each c (RMSProp)
    methods: List[str] = field(
        default_factory=lambda: ["wgan-gp", "wgan-sn"])  # against (Adam): wgan-gp, -lp or -sn
    steps: int = 1200            # critic steps per setting
    batch: int = 256             # real and generated points per step
    lam: float = 10.0            # gradient-penalty weight (the WGAN-GP paper's)
    lr_rmsprop: float = 5e-5     # the WGAN paper's
    lr_adam: float = 1e-4        # the WGAN-GP paper's, betas (0.5, 0.9)
    measure_batches: int = 10    # the gradient norms are averaged over this many fresh batches
    dtype: str = "float64"       # float32 rounds the clipped critics' tiny gradients to 0
    seed: int = 0                # of the weights and every draw


cfg = lesson.setup(Config, smoke=dict(steps=20, batch=64, measure_batches=2))

# %%
import time

import numpy as np

from tinywgan import MLP, backend, data, train
from tinywgan.lipschitz import clip_weights
from tinywgan.losses import wasserstein_critic_loss
from tinywgan.optim import Adam, RMSProp
from tinywgan.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend


def batch(rng, dtype):
    """x_real: (B, 2) swissroll; x_fake: (B, 2) from the fixed 'generator', real + N(0, I)."""
    B = cfg.batch
    x_fake = data.swissroll(B, rng, dtype) + rng.standard_normal((B, 2), dtype=dtype)
    return data.swissroll(B, rng, dtype), x_fake


def gradient_norms(D, rng):
    """On a fresh batch, for L = mean f(fake) - mean f(real) (no penalty term):
    ||dL/dH[l]|| over the stacked real and fake rows, ||dL/dW[l]|| (raw W under SN), and -L."""
    x_real, x_fake = batch(rng, D.dtype)
    D.zero_grad()
    f_real, c_real = D.forward(x_real)
    f_fake, c_fake = D.forward(x_fake)
    loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    dH_real, dH_fake = [], []                               # dL/dH[l]: (B, d_l), l = 0..L-1
    D.backward(d_real, c_real, dH=dH_real)
    D.backward(d_fake, c_fake, dH=dH_fake)
    D.spectral_backward()
    act = [np.sqrt(np.sum(r * r) + np.sum(f * f)) for r, f in zip(dH_real, dH_fake)]
    weight = [np.linalg.norm(dW) for dW in D.dW]                                # Frobenius norms
    return np.array(act), np.array(weight), float(-loss)


# %% [markdown]
# ## 1. Train one critic per setting, then measure its gradients

# %%
L = len(cfg.widths) - 1
NAMES = {"wgan-gp": "GP lam=%g" % cfg.lam, "wgan-lp": "LP lam=%g" % cfg.lam, "wgan-sn": "SN"}
settings = [("clip c=%g" % c, "wgan", c) for c in cfg.clips] + \
    [(NAMES.get(m, m), m, 0.0) for m in cfg.methods]          # (label, method, clip value)
results = []
for label, method, c in settings:
    t0 = time.perf_counter()
    D = MLP(cfg.widths, activation="relu", spectral_norm=(method == "wgan-sn"), dtype=cfg.dtype,
            seed=cfg.seed)
    if method == "wgan":
        clip_weights(D.params, c)                       # every parameter in [-c, c] from the start
        opt = RMSProp(lr=cfg.lr_rmsprop)
    else:
        opt = Adam(lr=cfg.lr_adam, betas=(0.5, 0.9))
    train.fit_critic(D, opt, lambda rng: batch(rng, D.dtype), cfg.steps, method=method,
                     lam=cfg.lam, clip=c, seed=cfg.seed)     # the library's critic step, G fixed
    act, weight, w_est = zip(*[gradient_norms(D, backend.rng(np, cfg.seed, "measure", k))
                               for k in range(cfg.measure_batches)])
    results.append(dict(label=label, method=method, c=c, act=np.mean(act, axis=0),
                        weight=np.mean(weight, axis=0), w_est=np.mean(w_est),
                        weights=np.concatenate([W.ravel() for W in D.W])))  # raw W (SN: not /sigma)
    print("trained %-13s %5d steps   E f(real) - E f(fake) = %10.3e   %5.1f s"
          % (label, cfg.steps, results[-1]["w_est"], time.perf_counter() - t0), flush=True)


# %% [markdown]
# ## 2. The tables: one row per layer, and the ratio last / first (a steady gradient gives ~1)

# %%
def table(title, key, row_name):
    print("\n" + title)
    print("%10s " % row_name + " ".join("%13s" % r["label"] for r in results))
    for l in range(L):
        print("%10d " % l + " ".join("%13.3e" % r[key][l] for r in results))
    print("%10s " % "last/first" + " ".join(
        ("%13.3e" % (r[key][-1] / r[key][0])) if r[key][0] > 0 else "%13s" % "n/a"
        for r in results))


table("||dL/dH[l]||, gradient w.r.t. layer l's input activations (0 = the input x), "
      "mean over %d batches" % cfg.measure_batches, "act", "H[l], l =")
table("||dL/dW[l]||, gradient w.r.t. layer l's weights, mean over %d batches"
      % cfg.measure_batches, "weight", "W[l], l =")
if any((r["weight"] == 0).any() for r in results):
    print("(0: below float64's resolution: f's dependence on x is lost under the biases, so the "
          "real and fake terms cancel exactly)")


# %% [markdown]
# ## 3. The weights: how many sit on the clipping boundary

# %%
print("\nweights (all %d entries of W[0..%d])" % (results[0]["weights"].size, L - 1))
print("%-13s %10s %10s %14s" % ("setting", "std", "max |w|", "|w| >= 0.99 c"))
for r in results:
    w = r["weights"]
    at_c = "%13.1f%%" % (100 * np.mean(np.abs(w) >= 0.99 * r["c"])) if r["method"] == "wgan" else \
        "%14s" % "-"
    print("%-13s %10.3e %10.3e %s" % (r["label"], w.std(), np.abs(w).max(), at_c))


# %% [markdown]
# ## 4. The figure: both gradient norms by layer (log scale) above, weight histograms below

# %%
fig = plt.figure(figsize=(3.2 * len(results), 8))
grid = fig.add_gridspec(2, len(results) * 2, height_ratios=[1.3, 1])
panels = [("act", "||dL/dH[l]||: w.r.t. activations (the paper's Fig. 1b)", "input of layer l"),
          ("weight", "||dL/dW[l]||: w.r.t. weights (what the optimizer gets)", "layer l")]
for p, (key, title, xlabel) in enumerate(panels):
    ax = fig.add_subplot(grid[0, p * len(results):(p + 1) * len(results)])
    for r in results:
        ax.semilogy(np.arange(L), r[key], marker="o", ls="--" if r["method"] == "wgan" else "-",
                    label=r["label"])
    ax.set(title=title, xlabel=xlabel + " (0 = input side)", ylabel="norm (log scale)",
           xticks=np.arange(L))
    ax.legend(fontsize=8)
for i, r in enumerate(results):
    ax = fig.add_subplot(grid[1, 2 * i:2 * i + 2])
    span = 1.1 * r["c"] if r["method"] == "wgan" else np.percentile(np.abs(r["weights"]), 99.9)
    ax.hist(r["weights"], bins=60, range=(-span, span), color="C%d" % i)      # GP, SN: 99.9 %
    ax.set(title=r["label"] + ": weights", xlabel="weight w", ylabel="count")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
fig.suptitle("12-layer ReLU critic, swissroll vs real + N(0, I), %d critic steps" % cfg.steps)
fig.tight_layout()
print()
lesson.save(fig, "clipping_vs_penalty", dpi=100)
