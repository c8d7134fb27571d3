# %% [markdown]
# # 13. Images: the 8x8 digits
#
# WGAN-GP with two MLPs on scikit-learn's 8x8 handwritten digits.
#
# The library's own loop (``TrainingJob``) with its defaults for the dataset ``"digits"``
# (``config.DATASET_DEFAULTS``; the same run as ``python -m tinywgan train --dataset digits``):
# each image is a vector of 64 pixels scaled to [-1, 1] (``data.sample`` draws them with
# replacement from the 1797 images), the generator maps z ~ N(0, I_32) -> 256 -> 256 -> 64 (a
# linear last layer; the grid clips to [-1, 1]), the critic 64 -> 256 -> 256 -> 1, ReLU.
# Gulrajani et al. (2017)'s settings for images: five critic steps per generator step and
# lam = 10; Adam 1e-3, betas (0.5, 0.9), decayed linearly to 0 over 8000 generator iterations of
# batch 64. No convolutions: the critic sees 64 unrelated numbers, and still the samples become
# digits.
#
# What it shows:
#
# - a grid of generated digits beside real ones;
# - the curves of one evaluation protocol, every ``eval_every`` iterations and at the end, all
#   at one n = ``eval_n`` = 898 (the most two disjoint halves of the 1797 digits allow: a real
#   image is never matched with itself): the exact W1 (an assignment problem,
#   ``metrics.w1_exact``) between 898 generated digits and 898 real ones, and the floor, the exact
#   W1 between those real ones and the other 898 (``Trainer.evaluate``); the critic's estimate
#   mean f(real) - mean f(generated) on the same 898 + 898 points, and on the two real halves;
#   and, faint, the estimate on each training batch of 64;
# - a copying check: the mean distance from a generated digit to its nearest real digit, against
#   the same for a real digit and its nearest OTHER real digit (leave-one-out: a fresh sample of
#   the same law would score about that; a generator that copied its training images would score
#   near 0, a blurry one more).
#
# Why the critic's estimate (0.92 at the end) is far below the exact W1 (2.63): both are true,
# and they measure different things.
#
# - The exact W1 here is between two finite samples, 898 points in 64 dimensions, and there it
#   is mostly sampling noise: two halves of the REAL set, one law, are already 2.52 apart (the
#   floor), because so few points leave each far from all the others (the W1 between a sample
#   and its law shrinks only like n^(-1/d) in d > 2 dimensions); the generated digits sit a
#   little above the floor.
# - The critic is a smooth function, about 1-Lipschitz (the penalty pulls ||grad_x f|| towards 1
#   at the interpolates of each batch of 64; it bounds nothing elsewhere, and the numbers below
#   measure how far it holds), so mean f(real) - mean f(generated) is about a lower bound on the
#   W1 between the two LAWS, which the sampling noise does not inflate: the critic gives the two
#   real halves almost no difference (printed), and the generated digits a clear one.
#
#     python demos/13_digits.py                   # about 100 s on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/13_digits.py  # seconds
#
# Needs scikit-learn (it ships the digits): pip install scikit-learn. Writes figures/digits.png
# under the working folder.

# %%
from dataclasses import dataclass
from typing import Optional

from tinywgan import lesson


@dataclass
class Config:
    # the networks and the optimizer: config.DATASET_DEFAULTS["digits"] (printed when it starts)
    iters: int = 8000            # generator iterations (the learning rates decay to 0 over them)
    width: Optional[int] = None  # hidden width of both networks (None: the default, 256)
    log_every: int = 100         # the training batch's W estimate every so many iterations
    eval_every: int = 1000       # exact W1, floor and the critic's estimates every so many
    eval_n: int = 898            # points of every evaluation (898: the most two halves allow)
    nn_n: int = 1000             # generated digits for the copying check
    show: int = 100              # digits per grid (10 per row)
    seed: int = 0                # the run's seed


cfg = lesson.setup(Config, smoke=dict(iters=40, width=32, log_every=10, eval_every=20,
                                      eval_n=200, nn_n=200))

# %%
import time

import numpy as np

from tinywgan import backend
from tinywgan.measure import data
from tinywgan.job import TrainingJob, make_config
from tinywgan.measure.plot import draw_digits, pyplot

plt = pyplot()                   # matplotlib, file-only backend


# %% [markdown]
# ## 1. The real digits (also a check that scikit-learn is there, before any training)

# %%
try:
    real = data.digits()                                                      # (1797, 64)
except ImportError as e:
    raise SystemExit("demos/13_digits.py: %s" % e)


# %% [markdown]
# ## 2. Train with the library's loop; at each evaluation, the critic on the same points
#
# ``Trainer.evaluate`` takes its real points as two disjoint slices of one permutation of the
# digits (seeded), and its generated points from a fixed stream; the critic is read on exactly
# those points.

# %%
trainer = TrainingJob(make_config(
    method="wgan-gp", dataset="digits", iters=cfg.iters, width=cfg.width,
    log_every=cfg.log_every, eval_every=cfg.eval_every, curve_n=cfg.eval_n, eval_n=cfg.eval_n,
    seed=cfg.seed))
tc = trainer.cfg
print("G: %s   D: %s   %d generator iterations, %d critic steps each, batch %d, lam %g, "
      "Adam %g betas %s" % (" -> ".join(map(str, trainer.G.widths)),
                            " -> ".join(map(str, trainer.D.widths)), tc.iters, tc.n_critic,
                            tc.batch, tc.lam, tc.lr_d, tc.betas))
n = min(cfg.eval_n, data.DIGITS_N // 2)                  # as Trainer.evaluate (floor_pairs=1)
halves = backend.rng(np, cfg.seed, "eval-real").permutation(data.DIGITS_N)
x_ref = trainer.xp.asarray(real[halves[:n]])                                  # (n, 64) real
x_other = trainer.xp.asarray(real[halves[n:2 * n]])                           # (n, 64) real


def critic_estimates(trainer):
    """mean f(x_ref) - mean f(generated) and mean f(x_ref) - mean f(x_other), on the points
    ``Trainer.evaluate`` compares (the same stream of generated digits)."""
    f = trainer.D
    f_ref = f(x_ref).mean()
    return (float(f_ref - f(trainer.sample(n, ("eval-fake",))).mean()),
            float(f_ref - f(x_other).mean()))


print("%6s %8s %10s %12s %12s %10s %10s" % ("iter", "seconds", "W est", "critic", "critic",
                                             "exact W1", "floor"))
print("%6s %8s %10s %12s %12s %10s %10s" % ("", "", "(batch)", "(gen, n)", "(real, n)", "", ""))


def on_log(trainer, row):
    if "w1" in row:                                   # an evaluation row (every eval_every)
        row["critic_gen"], row["critic_real"] = critic_estimates(trainer)
        print("%6d %8.1f %10.4f %12.4f %12.4f %10.4f %10.4f" % (
            row["iter"], row["seconds"], row["w_estimate"], row["critic_gen"],
            row["critic_real"], row["w1"], row["w1_floor"]), flush=True)


t0 = time.perf_counter()
trainer.train(on_log=on_log)
seconds = time.perf_counter() - t0


# %% [markdown]
# ## 3. The end: exact W1 and its floor, the critic's estimates, and how Lipschitz it is

# %%
final = trainer.history[-1]                          # the evaluation at the last iteration
tail = [r["w_estimate"] for r in trainer.history[-10:]]
print("\ntrained in %.1f s (%.0f generator iterations/s)" % (seconds, cfg.iters / seconds))
print("at iteration %d, n = %d: exact W1 generated vs real %.4f, real vs real (floor) %.4f, "
      "ratio %.3f" % (final["iter"], final["eval_n"], final["w1"], final["w1_floor"],
                      final["w1"] / final["w1_floor"]))
print("the critic's estimate mean f(real) - mean f(.) on the same points: generated %.4f, the "
      "other real half %.4f; on training batches of %d (mean of the last %d logged) %.4f"
      % (final["critic_gen"], final["critic_real"], tc.batch, len(tail), float(np.mean(tail))))
x_gen = trainer.sample(n, ("eval-fake",))                                     # (n, 64)
eps = backend.rng(trainer.xp, cfg.seed, "lipschitz").random((n, 1), dtype=trainer.D.dtype)
print("||grad_x f|| (1 for a 1-Lipschitz critic at its steepest):")
for name, x in (("real", x_ref), ("generated", x_gen),
                ("interpolates", eps * x_ref + (1 - eps) * x_gen)):
    g = backend.to_numpy(trainer.D.input_gradient(x))                        # (n, 64)
    norm = np.sqrt((g.astype(np.float64) ** 2).sum(axis=1))                  # (n,)
    print("  at %-13s mean %.3f, 90 %% below %.3f, largest %.3f, %4.1f %% above 1"
          % (name, norm.mean(), np.percentile(norm, 90), norm.max(), 100 * (norm > 1).mean()))


# %% [markdown]
# ## 4. The copying check: distance to the nearest real digit, generated vs real (leave-one-out)

# %%


def nearest(x, y, exclude_self=False):
    """For each row of x (n, 64): the Euclidean distance to its nearest row of y (m, 64)."""
    d2 = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T      # (n, m)
    if exclude_self:
        np.fill_diagonal(d2, np.inf)                                          # x is y
    return np.sqrt(np.maximum(d2.min(axis=1), 0))                             # (n,)


real64 = real.astype(np.float64)                                              # (1797, 64)
fake = backend.to_numpy(trainer.sample(cfg.nn_n, ("nn",))).astype(np.float64)  # (nn_n, 64)
nn_fake, nn_real = nearest(fake, real64), nearest(real64, real64, exclude_self=True)
print("nearest real digit: from a generated one %.3f (median %.3f), from a real one to another "
      "%.3f (median %.3f); copies would give 0" % (nn_fake.mean(), np.median(nn_fake),
                                                     nn_real.mean(), np.median(nn_real)))
print("(distances in the [-1, 1] pixel scale over 64 pixels)")


# %% [markdown]
# ## 5. The figure: generated beside real, and the curves of one evaluation protocol

# %%
shown = backend.rng(np, cfg.seed, "demo-real").permutation(data.DIGITS_N)[:cfg.show]
fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 5.2),
                              gridspec_kw=dict(width_ratios=[1, 1, 1.2]))
draw_digits(a, trainer.sample(cfg.show, ("plot",)),
            title="generated (WGAN-GP, MLPs), iteration %d" % trainer.t)
draw_digits(b, real[shown], title="real (scikit-learn's 8x8 digits)")
hist, ev = trainer.history, [r for r in trainer.history if "w1" in r]
it = [r["iter"] for r in ev]
c.plot([r["iter"] for r in hist], [r["w_estimate"] for r in hist], c="tab:blue", alpha=0.3,
       lw=0.8, label="critic's estimate, one training batch (64 + 64)")
c.plot(it, [r["w1"] for r in ev], "o-", c="black", label="exact W1, generated vs real")
c.plot(it, [r["w1_floor"] for r in ev], "s--", c="gray", label="exact W1, real vs real (floor)")
c.plot(it, [r["critic_gen"] for r in ev], "o-", c="tab:blue",
       label="critic's estimate, generated vs real")
c.plot(it, [r["critic_real"] for r in ev], "s--", c="tab:cyan",
       label="critic's estimate, real vs real")
note = ("exact W1 between two samples of %d in 64 dimensions is mostly\n"
        "sampling noise: two halves of the real set are the floor apart.\n"
        "The critic, smooth and about 1-Lipschitz, sees no difference\n"
        "between the halves (cyan), and about a lower bound on the W1\n"
        "between the generator's law and the data's (blue)" % final["eval_n"])
c.text(0.97, (final["w1_floor"] + final["critic_gen"]) / 2, note, fontsize=8, ha="right",
       va="center", transform=c.get_yaxis_transform())     # between the floor and the critic
c.set_xlabel("generator iteration")
c.set_ylabel("W (exact W1; the critic's mean f(real) - mean f(.))")
c.set_ylim(min(0, min(r["critic_real"] for r in ev)) - 0.1,
           1.45 * max(max(r["w1"] for r in ev), max(r["w_estimate"] for r in hist)))
c.legend(fontsize=8, loc="upper right", title="points of every evaluation: n = %d + %d"
         % (final["eval_n"], final["eval_n"]), title_fontsize=8)
c.set_title("at iteration %d: W1 %.3f vs floor %.3f; critic %.3f vs %.3f"
            % (final["iter"], final["w1"], final["w1_floor"], final["critic_gen"],
               final["critic_real"]), fontsize=10)
fig.tight_layout()
lesson.save(fig, "digits")
