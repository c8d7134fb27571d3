# %% [markdown]
# # 10. A loss that means something
#
# The WGAN paper's central promise: the critic's loss estimates a distance that falls as the
# samples improve, where the vanilla GAN's discriminator loss does not.
#
# Arjovsky, Chintala and Bottou (2017, "Wasserstein GAN", Figures 3 and 4) plotted over training
# the critic's estimate of W1, which fell as their samples got better, beside the GAN
# discriminator's estimate of the Jensen-Shannon divergence, which stayed flat or rose while the
# samples improved. On a toy we can do what they could not: compute the exact W1 between the
# generated and the real points at every evaluation (an assignment problem,
# ``metrics.w1_exact``) and ask how well each loss follows it.
#
# Three runs on 8gaussians, one each, with the library's own loop (``TrainingJob``) and the
# settings written out in the configuration below (so a retune of the library's defaults does not
# change the lesson). Every ``every`` generator iterations, on one large FIXED sample (``n_est``
# real points and ``n_est`` latent vectors, drawn once; a batch's estimate would be noise):
#
#     critic's estimate    mean f(x_real) - mean f(G(z))            (WGAN-GP; clipped WGAN)
#     GAN's JS estimate    log 2 - L_D / 2,  L_D = -mean log D(x_real) - mean log(1 - D(G(z)))
#     exact W1             between the first ``n_w1`` generated and real points of that sample
#
# Each loss is a lower bound found by training: sup over 1-Lipschitz f of E f(real) - E f(fake)
# is W1 (Kantorovich-Rubinstein), and log 2 - L_D / 2 <= JS(P_r, P_g) with equality at the
# optimal discriminator (Goodfellow et al. 2014); for a poor discriminator (L_D > 2 log 2) it is
# negative, though JS never is. Each is only as good as its network's training:
# all three get five steps per generator step, and the clipped WGAN also Arjovsky et al.'s
# warm-up. The penalised critic is only about 1-Lipschitz (lam = 1 pulls its gradient norm
# towards 1 on the training batches; it bounds nothing elsewhere), so early on its estimate can
# exceed W1. The clipped critic is K-Lipschitz for some K set by the clipping bound c and the
# architecture, and nobody knows K: its estimate is about K W1, so it is drawn on its own axis.
# (c = 0.1, not the paper's 0.01: their critic is a large convolutional network; on this small
# MLP c = 0.01 leaves the critic's values near 1e-4, its estimate in float32's noise. Try
# ``--clip 0.01``.) What matters is whether each curve follows W1 up to its scale, which
# Pearson's correlation r over the run measures (r ignores scale and offset), and the last panel
# shows: each loss against W1, a point per evaluation, on a line if the loss measures W1.
#
#     python demos/10_meaningful_loss.py                   # a minute and a half on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/10_meaningful_loss.py  # seconds
#
# Needs SciPy for the exact W1 (pip install scipy). Writes figures/meaningful_loss.png under the
# working folder and prints every number it plots.

# %%
from dataclasses import dataclass

from tinywgan import lesson


@dataclass
class Config:
    iters: int = 2000            # generator iterations of each run (learning rates decay to 0)
    every: int = 50              # evaluate every so many generator iterations
    n_est: int = 4096            # the fixed sample the losses are measured on (real and z)
    n_w1: int = 1000             # exact W1 between the first n_w1 generated and real points
    width: int = 128             # hidden width of every network (2 -> width x3 -> 1, ReLU)
    batch: int = 256             # points per training step
    n_critic: int = 5            # critic (or discriminator) steps per generator step
    lr: float = 1e-3             # Adam, betas (0.5, 0.9): WGAN-GP and the GAN
    lam: float = 1.0             # WGAN-GP penalty weight
    clip: float = 0.1            # the clipped critic's weights stay in [-clip, clip]
    lr_clip: float = 5e-4        # RMSProp for the clipped WGAN (with the paper's warm-up)
    seed: int = 0                # of every network and every draw
    workers: int = 2             # processes (one run each); in a notebook, one after another


cfg = lesson.setup(Config, smoke=dict(iters=60, every=10, n_est=512, n_w1=200, width=32))

# %%
import math
import time

import numpy as np

from tinywgan import backend
from tinywgan.measure import data, metrics
from tinywgan.job import TrainingJob, make_config
from tinywgan.core.steps import gan_discriminator_loss
from tinywgan.measure.plot import pyplot

DATASET = "8gaussians"
RUNS = [                         # (label, method, the fields that differ between the runs)
    ("WGAN-GP", "wgan-gp", dict(optimizer="adam", lr_d=cfg.lr, lr_g=cfg.lr, lam=cfg.lam)),
    ("WGAN (clipping)", "wgan", dict(optimizer="rmsprop", lr_d=cfg.lr_clip, lr_g=cfg.lr_clip,
                                     clip=cfg.clip, warmup=True)),
    ("GAN (non-saturating)", "gan", dict(optimizer="adam", lr_d=cfg.lr, lr_g=cfg.lr))]
COLOURS = {"wgan-gp": "tab:blue", "wgan": "tab:purple", "gan": "tab:red"}   # each run's loss


# %% [markdown]
# ## 1. One run per method, measured on a fixed sample every ``every`` iterations
#
# The warm-up of the clipped WGAN is Arjovsky et al.'s: 100 critic steps for the first 25
# generator iterations and every 500th, so that the critic is near its best when it is read.

# %%


def fixed_sample(xp, dtype):
    """The sample every evaluation of every run uses: x_real: (n_est, 2), z: (n_est, 2)."""
    x_real = data.sample(DATASET, cfg.n_est, backend.rng(xp, cfg.seed, "loss-real"), dtype)
    z = backend.rng(xp, cfg.seed, "loss-z").standard_normal((cfg.n_est, 2), dtype=dtype)
    return x_real, z


def measure(trainer, x_real, z):
    """(the run's loss on the fixed sample, exact W1) for the trainer's networks as they are."""
    x_fake = trainer.G(z)                                                     # (n_est, 2)
    f_real, f_fake = trainer.D(x_real), trainer.D(x_fake)                     # (n_est, 1) each
    if trainer.cfg.method == "gan":                                  # log 2 - L_D / 2 <= JS
        loss = math.log(2) - float(gan_discriminator_loss(f_real, f_fake)[0]) / 2
    else:                                                            # mean f(real) - mean f(fake)
        loss = float(f_real.mean() - f_fake.mean())
    return loss, metrics.w1_exact(x_fake[:cfg.n_w1], x_real[:cfg.n_w1])


def run(job):
    """Train one method with every setting given here; measure it every ``every`` iterations.
    Returns host numbers: its (evaluated iterations), loss and w1 (one per iteration), seconds."""
    label, method, fields = job
    t0 = time.perf_counter()
    trainer = TrainingJob(make_config(
        method=method, dataset=DATASET, iters=cfg.iters, batch=cfg.batch,
        n_critic=cfg.n_critic, width=cfg.width, depth=3, activation="relu", latent=2,
        betas=(0.5, 0.9), lr_decay=True, gan_loss="nonsaturating", seed=cfg.seed,
        dtype="float32", log_every=cfg.every, eval_every=0, **fields))
    x_real, z = fixed_sample(trainer.xp, trainer.D.dtype)
    its, losses, w1 = [], [], []

    def on_log(trainer, row):
        loss, w = measure(trainer, x_real, z)
        its.append(trainer.t)
        losses.append(loss)
        w1.append(w)
    trainer.train(on_log=on_log)
    return dict(label=label, method=method, its=its, loss=losses, w1=w1,
                seconds=time.perf_counter() - t0)


t0 = time.perf_counter()
runs = list(lesson.map_jobs(run, RUNS, cfg.workers))
seconds = time.perf_counter() - t0
x_a = data.sample(DATASET, cfg.n_w1, backend.rng(np, cfg.seed, "loss-floor", 0), np.float64)
x_b = data.sample(DATASET, cfg.n_w1, backend.rng(np, cfg.seed, "loss-floor", 1), np.float64)
floor = metrics.w1_exact(x_a, x_b)                  # two real samples of n_w1: W1 is not 0


# %% [markdown]
# ## 2. How well each loss follows the exact W1: Pearson's r over the run

# %%


def pearson(a, b):
    return float(np.corrcoef(a, b)[0, 1])


print("8gaussians, %d generator iterations per run, %d critic steps each; every %d iterations "
      "the loss on a fixed sample of %d and exact W1 on %d of its points (real vs real at that "
      "n: %.4f)" % (cfg.iters, cfg.n_critic, cfg.every, cfg.n_est, cfg.n_w1, floor))
LOSS_NAMES = {"wgan-gp": "WGAN-GP estimate", "wgan": "clipped estimate", "gan": "GAN JS est."}
print("%6s" % "iter" + "".join("%21s %9s" % (LOSS_NAMES[r["method"]], "W1") for r in runs))
for k, it in enumerate(runs[0]["its"]):
    print("%6d" % it + "".join("%21.4f %9.4f" % (r["loss"][k], r["w1"][k]) for r in runs))
print()
print("%-22s %9s %9s %9s %9s %8s %8s" % ("run", "loss", "", "W1", "", "r", "seconds"))
print("%-22s %9s %9s %9s %9s %8s %8s" % ("", "first", "last", "first", "last", "", ""))
for r in runs:
    r["r"] = pearson(r["loss"], r["w1"])
    print("%-22s %9.4f %9.4f %9.4f %9.4f %8.3f %8.1f" % (
        r["label"], r["loss"][0], r["loss"][-1], r["w1"][0], r["w1"][-1], r["r"],
        r["seconds"]))
print("(loss: the critic's estimate mean f(real) - mean f(fake), for the GAN log 2 - L_D/2; r: "
      "Pearson's correlation of the loss with exact W1 over the %d evaluations at iterations "
      "%d, %d, ..., %d)" % (len(runs[0]["its"]), runs[0]["its"][0], runs[0]["its"][1],
                            runs[0]["its"][-1]))
print("ran in %.1f s" % seconds)


# %% [markdown]
# ## 3. The figure: each loss beside the exact W1 over its run, and each against W1

# %%
plt = pyplot()
fig, axes = plt.subplots(1, 4, figsize=(18, 4.6), gridspec_kw=dict(width_ratios=[1, 1, 1, 0.9]))
HEADROOM = 1.6                   # the top of every axis, over its data: the legends go there
for ax, r in zip(axes, runs):
    its, c = np.array(r["its"]), COLOURS[r["method"]]
    ax.plot(its, r["w1"], c="black", label="exact W1 (n = %d)" % cfg.n_w1)
    ax.axhline(floor, c="gray", ls=":", label="W1 of two real samples (n = %d)" % cfg.n_w1)
    ax.set_xlabel("generator iteration")
    if r["method"] == "wgan-gp":                 # 1-Lipschitz (about): the same units as W1
        ax.plot(its, r["loss"], c=c, label="critic's estimate (same axis)")
        ax.set_ylabel("exact W1, and the critic's estimate")
        ax.set_ylim(0, HEADROOM * max(max(r["w1"]), max(r["loss"])))
        handles, labels = ax.get_legend_handles_labels()
    else:
        ax.set_ylabel("exact W1")
        ax.set_ylim(0, HEADROOM * max(r["w1"]))
        tw = ax.twinx()                          # the loss on its own axis, in its colour
        if r["method"] == "wgan":
            name = "critic's estimate, about K W1 (K unknown)"
            tw.set_ylim(min(0, min(r["loss"])), HEADROOM * max(r["loss"]))
        else:
            name = "JS estimate log 2 - L_D/2"
            tw.axhline(math.log(2), c=c, ls=":", lw=0.8, label="log 2, the most JS can be")
            tw.set_ylim(0, HEADROOM * math.log(2))
        tw.plot(its, r["loss"], c=c, label=name)
        tw.set_ylabel(name + " (own axis)", color=c)
        tw.tick_params(axis="y", colors=c)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = tw.get_legend_handles_labels()
        handles, labels = h1 + h2, l1 + l2
    ax.legend(handles, labels, fontsize=8, loc="upper right")
    ax.set_title("%s: r = %.3f" % (r["label"], r["r"]), fontsize=10)

sx = axes[3]
for r in runs:
    loss = np.array(r["loss"])
    sx.plot(r["w1"], loss / np.abs(loss).max(), "o", ms=3, c=COLOURS[r["method"]],
            label="%s (r = %.3f)" % (r["label"], r["r"]))
sx.set_xlabel("exact W1")
sx.set_ylabel("loss / its largest |value| over the run")
sx.set_ylim(None, HEADROOM)
sx.set_title("each loss against exact W1 (a point per evaluation)", fontsize=10)
sx.legend(fontsize=8, loc="upper left")
fig.tight_layout()
lesson.save(fig, "meaningful_loss")
