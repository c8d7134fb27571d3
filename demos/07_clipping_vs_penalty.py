# %% [markdown]
# # 7. Weight clipping against the gradient penalty (WGAN-GP paper, Figure 1b)
#
# Why weight clipping fails in deep critics: the WGAN-GP paper's Figure 1b, from scratch.
#
# As in the paper (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Fig. 1b), a
# whole WGAN is trained on swissroll with a 12-layer ReLU critic without batch norm, once per
# setting:
#
# - weight clipping, c in {0.1, 0.01, 0.001} (RMSProp at the WGAN paper's 5e-5);
# - the gradient penalty, lam 10 (Adam, betas (0.5, 0.9), as WGAN-GP);
# - spectral normalisation (Adam).
#
# The generator is the library's default MLP (3 hidden layers of 128), trained by the library's
# ``Trainer`` with 5 critic steps per generator step. Adam runs at 1e-3, ten times the WGAN-GP
# paper's 1e-4, so that 1000 generator iterations train these networks (at 1e-4 they barely move).
#
# Then, on fresh batches of real and generated points, for L = mean f(fake) - mean f(real):
#
# - ||dL/dH[l]||, the gradient w.r.t. each layer's input activations H[l] (H[0] = x), what the
#   paper plots. Backprop multiplies it by W[l]^T and a ReLU mask at every layer,
#   dL/dH[l] = (dL/dH[l+1] * s'(A[l])) W[l]^T, so a factor g per layer makes it g^12 at the
#   input. Clipping sets g: a d x d layer of weights +-c with random signs scales a vector by
#   about c sqrt(d / 2) (0.057 at c = 0.01, d = 64: sixteen orders of magnitude over the
#   critic; 28 at c = 0.001), and the generator, which learns only through this gradient, never
#   moves. Weights that training aligns scale it by up to c d (6.4 at c = 0.1): at c = 0.1 it
#   explodes, twelve-thousand-fold here. The penalty and spectral normalisation keep g near 1;
# - the critic's weights, trained, against their start: the first clip already puts most of the
#   He-uniform start at +-c, and the clipped critics keep them there (at c = 0.01 and 0.001 the
#   vanished gradient cannot move them at all); the penalised and normalised weights are held
#   nowhere: they move away from their start and spread beyond its edges.
#
#     python demos/07_clipping_vs_penalty.py                  # about two minutes on 2 cores
#     TINYWGAN_SMOKE=1 python demos/07_clipping_vs_penalty.py # seconds
#
# Writes figures/clipping_vs_penalty.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass, field
from typing import List

from tinywgan import lesson


@dataclass
class Config:
    critic_widths: List[int] = field(
        default_factory=lambda: [2] + [64] * 12 + [1])    # the critic: 12 ReLU layers, no BN
    width: int = 128             # the generator's hidden width (the library's default)
    depth: int = 3               # the generator's hidden layers (the library's default)
    clips: List[float] = field(
        default_factory=lambda: [0.1, 0.01, 0.001])    # weight clipping at each c (RMSProp)
    methods: List[str] = field(
        default_factory=lambda: ["wgan-gp", "wgan-sn"])  # against (Adam): wgan-gp, -lp or -sn
    iters: int = 1000            # generator iterations per setting
    n_critic: int = 5            # critic steps per generator iteration (both papers')
    batch: int = 256             # real and generated points per step
    lam: float = 10.0            # gradient-penalty weight (the WGAN-GP paper's)
    lr_rmsprop: float = 5e-5     # clipping's learning rate, both networks (the WGAN paper's)
    lr_adam: float = 1e-3        # the others', both networks, betas (0.5, 0.9)
    measure_batches: int = 10    # the gradient norms are averaged over this many fresh batches
    eval_n: int = 500            # points for the generator's exact W1, before and after
    dtype: str = "float64"       # float32 rounds the clipped critics' tiny gradients to 0
    seed: int = 0                # of the weights and every draw
    workers: int = 2             # processes, one setting each (one after another in a notebook)


cfg = lesson.setup(Config, smoke=dict(iters=4, batch=64, measure_batches=2, eval_n=100))

# %%
import time

import numpy as np

from tinywgan import MLP, backend, fast
from tinywgan.core import steps
from tinywgan.core.steps import Trainer, wasserstein_critic_loss
from tinywgan.core.optim import Adam, RMSProp
from tinywgan.measure import data, metrics
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend
L = len(cfg.critic_widths) - 1   # linear layers; H[0] = x, ..., H[L-1] the last hidden layer
NAMES = {"wgan-gp": "GP lam=%g" % cfg.lam, "wgan-lp": "LP lam=%g" % cfg.lam, "wgan-sn": "SN"}


def weights(D):
    """The critic's raw W[0..L-1] as host arrays (under SN: before the division by sigma)."""
    return [backend.to_numpy(W).copy() for W in D.W]


def activation_gradients(trainer, rng):
    """||dL/dH[l]||, l = 0..L-1, over the stacked rows of a fresh batch of real and generated
    points, for L = mean f(fake) - mean f(real) (no penalty term); and E f(real) - E f(fake).
    The norms are taken in float64: in float32 the squares of 1e-24 would underflow to 0."""
    D, G = trainer.D, trainer.G
    x_real = data.sample("swissroll", cfg.batch, rng, D.dtype)                  # (B, 2)
    x_fake = G(rng.standard_normal((cfg.batch, G.widths[0]), dtype=G.dtype))    # (B, 2)
    D.spectral_normalise()                                   # SN: W / sigma; else a no-op
    f_real, cache_real = D.forward(x_real)                                      # (B, 1)
    f_fake, cache_fake = D.forward(x_fake)
    loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    dH_real, dH_fake = [], []                               # dL/dH[l]: (B, d_l), l = 0..L-1
    D.backward(d_real, cache_real, param_grads=False, dH=dH_real)
    D.backward(d_fake, cache_fake, param_grads=False, dH=dH_fake)
    return [float(np.linalg.norm(np.concatenate([r, f]).astype(np.float64)))
            for r, f in zip(dH_real, dH_fake)], -float(loss)


def weight_change(start, trained, c):
    """How far training moved the weights W[0..L-1] (lists of host arrays) from their start:
    moved = ||W - W_start|| / ||W_start|| and corr, over all entries; outside = the share of
    entries beyond the largest |w| of their layer's start; and for clipping (c > 0) the shares
    at +-c (|w| >= 0.99 c), trained and at the start."""
    w, w0 = (np.concatenate([W.ravel() for W in Ws]) for Ws in (trained, start))
    out = dict(trained=w, start=w0, moved=float(np.linalg.norm(w - w0) / np.linalg.norm(w0)),
               corr=float(np.corrcoef(w, w0)[0, 1]),
               outside=sum(int(np.sum(np.abs(W) > np.abs(W0).max()))
                           for W, W0 in zip(trained, start)) / w0.size)
    if c > 0:
        out.update(at_c=float(np.mean(np.abs(w) >= 0.99 * c)),
                   at_c_start=float(np.mean(np.abs(w0) >= 0.99 * c)))
    return out


def w1_to_data(G, n):
    """Exact W1 between n generated and n real swiss-roll points (the main job's streams)."""
    fake = G(backend.rng(np, cfg.seed, "eval-fake").standard_normal((n, 2), dtype=G.dtype))
    real = data.sample("swissroll", n, backend.rng(np, cfg.seed, "eval-real", 0))
    return metrics.w1_exact(backend.to_numpy(fake), real)


def run_one(setting):
    """Train one WGAN (the core Trainer, given the lesson's deep critic) and measure its
    critic."""
    label, method, c = setting
    t0 = time.perf_counter()
    clipped = method == "wgan"
    lr = cfg.lr_rmsprop if clipped else cfg.lr_adam
    # The parts: the paper's critic is deeper than its generator (cfg.critic_widths)
    G = MLP([2] + [cfg.width] * cfg.depth + [2], dtype=cfg.dtype, seed=cfg.seed * 2 + 1,
            check_finite=False)                                       # latent 2 -> swiss roll
    D = MLP(cfg.critic_widths, activation="relu", spectral_norm=(method == "wgan-sn"),
            dtype=cfg.dtype, seed=cfg.seed, check_finite=False)

    def optimizer():
        return RMSProp(lr) if clipped else Adam(lr, betas=(0.5, 0.9))
    trainer = Trainer(G, D, optimizer(), optimizer(),
                      real=lambda n, rng: data.sample("swissroll", n, rng, D.dtype),
                      step_fns=fast.FusedSteps() if fast.applies(method, G, D) else steps,
                      method=method, lam=cfg.lam, clip=c if clipped else 0.01,
                      batch=cfg.batch, n_critic=cfg.n_critic, seed=cfg.seed)
    start = weights(D)
    if clipped:                          # where the first update's clip puts the He-uniform start
        start = [np.clip(W, -c, c) for W in start]
    w1_start = w1_to_data(G, cfg.eval_n)
    trainer.train(cfg.iters, log_every=cfg.iters)
    measured = [activation_gradients(trainer, backend.rng(np, cfg.seed, "measure", k))
                for k in range(cfg.measure_batches)]
    return dict(weight_change(start, weights(D), c), label=label, method=method, c=c,
                act=np.mean([m[0] for m in measured], axis=0),      # (L,), l = 0 the input x
                w_est=np.mean([m[1] for m in measured]), w1_start=w1_start,
                w1_end=w1_to_data(G, cfg.eval_n), seconds=time.perf_counter() - t0)


# %% [markdown]
# ## 1. Train one WGAN per setting, then measure its critic's gradients

# %%
settings = [("clip c=%g" % c, "wgan", c) for c in cfg.clips] + \
    [(NAMES.get(m, m), m, 0.0) for m in cfg.methods]          # (label, method, clip value)
t0 = time.perf_counter()
results = []
for r in lesson.map_jobs(run_one, settings, cfg.workers):
    results.append(r)
    print("trained %-12s %5d generator iterations (x %d critic steps)  %6.1f s"
          % (r["label"], cfg.iters, cfg.n_critic, r["seconds"]), flush=True)
print("%d settings in %.0f s (%d workers)" % (len(results), time.perf_counter() - t0,
                                               cfg.workers))


# %% [markdown]
# ## 2. The gradient w.r.t. each layer's input, from the output side (l = L-1) down to x (l = 0)

# %%
def row(name, values, fmt="%12.3e"):
    print("%-12s" % name + " ".join(fmt % v for v in values))


print("\n||dL/dH[l]||, mean over %d batches of %d real and %d generated points"
      % (cfg.measure_batches, cfg.batch, cfg.batch))
row("H[l], l =", [r["label"] for r in results], "%12s")
for l in range(L - 1, -1, -1):
    row("%d%s" % (l, " (= x)" if l == 0 else ""), [r["act"][l] for r in results])
ratio = [r["act"][0] / r["act"][-1] for r in results]
row("H[0]/H[%d]" % (L - 1), ratio)
row("min H/H[%d]" % (L - 1), [min(r["act"]) / r["act"][-1] for r in results])
row("max H/H[%d]" % (L - 1), [max(r["act"]) / r["act"][-1] for r in results])
if any((r["act"] == 0).any() for r in results):
    print("(0: the gradient underflowed to exactly 0; the figure marks it at its floor)")


# %% [markdown]
# ## 3. The weights and the generator: where the training left them

# %%
print("\n%-12s %9s %9s %9s %9s %9s %11s %9s %9s" % (
    "setting", "at +-c", "(start)", "moved", "corr", "outside", "E f(r)-f(g)", "W1 start",
    "W1 end"))
for r in results:
    at_c = "%8.1f%% %8.1f%%" % (100 * r["at_c"], 100 * r["at_c_start"]) if "at_c" in r else \
        "%9s %9s" % ("-", "-")
    print("%-12s %s %8.1f%% %9.4f %8.2f%% %11.3e %9.4f %9.4f" % (
        r["label"], at_c, 100 * r["moved"], r["corr"], 100 * r["outside"], r["w_est"],
        r["w1_start"], r["w1_end"]))
print("(at +-c: |w| >= 0.99 c; start: the He-uniform start as the first clip leaves it;\n"
      " moved: ||W - W_start|| / ||W_start||; corr: the trained weights' correlation with their "
      "start;\n outside: |w| beyond the largest |w| of its layer's start; W1: exact, between %d "
      "generated\n and %d real points)" % (cfg.eval_n, cfg.eval_n))


# %% [markdown]
# ## 4. The figure: the gradient by layer (the paper's left panel, and its growth from the output
# side), and each critic's trained weights against their start (the paper's right panel)

# %%
fig = plt.figure(figsize=(16, 8.4))
grid = fig.add_gridspec(2, len(results) * 2, height_ratios=[1.25, 1])
colours = {r["label"]: "C%d" % i for i, r in enumerate(results)}
layers = np.arange(L)

ax = fig.add_subplot(grid[0, :len(results)])
positive = np.concatenate([r["act"][r["act"] > 0] for r in results])
floor = 10 ** np.floor(np.log10(positive.min()) - 1) if positive.size else 1e-300
for r in results:
    zero = r["act"] == 0
    ax.semilogy(layers[~zero], r["act"][~zero], marker="o", color=colours[r["label"]],
                ls="--" if r["method"] == "wgan" else "-", label=r["label"])
    if zero.any():                   # exact zeros have no logarithm: marked on the floor
        ax.plot(layers[zero], np.full(zero.sum(), floor), "v", ms=9, clip_on=False,
                color=colours[r["label"]], label="%s: exactly 0 (at the floor)" % r["label"])
ax.set_ylim(bottom=floor)
ax.set(title="||dL/dH[l]||, the gradient w.r.t. layer l's input (the paper's Fig. 1b)",
       xlabel="layer l (0 = the input x, %d = the last hidden layer)" % (L - 1),
       ylabel="gradient norm (log scale)", xticks=layers)
ax.legend(fontsize=8, loc="lower right")

ax = fig.add_subplot(grid[0, len(results):])
for r in results:
    if r["act"][-1] > 0 and r["act"][0] / r["act"][-1] > 1e-3:    # the ones that do not vanish
        ax.semilogy(layers, r["act"] / r["act"][-1], marker="o", color=colours[r["label"]],
                    ls="--" if r["method"] == "wgan" else "-",
                    label="%s: x%.3g at the input" % (r["label"], r["act"][0] / r["act"][-1]))
ax.axhline(1.0, color="k", lw=0.8)
ax.set(title="the same, divided by its value at layer %d (the settings that do not vanish)"
       % (L - 1), xlabel="layer l (0 = the input x)",
       ylabel="||dL/dH[l]|| / ||dL/dH[%d]|| (log scale)" % (L - 1), xticks=layers)
ax.legend(fontsize=8, loc="upper right")

for i, r in enumerate(results):
    ax = fig.add_subplot(grid[1, 2 * i:2 * i + 2])
    if "at_c" in r:
        span = 1.15 * r["c"]
        title = "%s\n%.1f%% at +-c (start %.1f%%)" % (r["label"], 100 * r["at_c"],
                                                      100 * r["at_c_start"])
    else:                          # the hidden layers' range (the first layer's is wider)
        span = 1.5 * np.percentile(np.abs(np.concatenate([r["trained"], r["start"]])), 99)
        title = "%s\nmoved %.0f%%, %.1f%% beyond the start" % (r["label"], 100 * r["moved"],
                                                                100 * r["outside"])
    bins = np.linspace(-span, span, 61)
    ax.hist(r["trained"], bins=bins, color=colours[r["label"]])
    ax.hist(r["start"], bins=bins, histtype="step", color="k", lw=1)
    ax.set_title(title, fontsize=10)
    ax.set(xlabel="weight w (all W[l])", ylabel="count")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
fig.suptitle("A WGAN on swissroll with a %d-layer ReLU critic, %d generator iterations x %d "
             "critic steps per setting\nbelow: each critic's weights after training (filled) and "
             "at their start (black outline)" % (L - 1, cfg.iters, cfg.n_critic))
fig.tight_layout()
print()
lesson.save(fig, "clipping_vs_penalty", dpi=100)
