# %% [markdown]
# # 13. Images: the 8x8 digits
#
# WGAN-GP with two MLPs on scikit-learn's 8x8 handwritten digits.
#
# The library's own loop (``train.Trainer``) with its defaults for the dataset ``"digits"``
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
# - the critic's W estimate, mean f(x_real) - mean f(G(z)) on one batch, over training, with
#   the exact W1 (an assignment problem, ``metrics.w1_exact``) between 500 generated and 500 real
#   digits every 1000 iterations and the real-vs-real floor at the same n. In 64 dimensions two
#   finite samples of the SAME law are far apart (the floor, about 2.5 at n = 898), so W1 is read
#   against the floor; the critic's estimate (about 1) is far below both;
# - at the end ``Trainer.evaluate``: exact W1 between 898 generated digits and 898 real ones
#   against the W1 between those and the other 898 real digits (two disjoint halves of the set:
#   a real image is never matched with itself);
# - a copying check: the mean distance from a generated digit to its nearest real digit, against
#   the same for a real digit and its nearest OTHER real digit (leave-one-out: a fresh sample of
#   the same law would score about that; a generator that copied its training images would score
#   near 0, a blurry one more).
#
#     python demos/13_digits.py                   # about 85 s on a 2-core CPU
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
    log_every: int = 100         # a W estimate every so many iterations (the curve)
    eval_every: int = 1000       # exact W1 on curve_n points every so many (printed)
    curve_n: int = 500           # (see eval_every)
    eval_n: int = 898            # the final W1: the most a floor of two disjoint halves allows
    nn_n: int = 1000             # generated digits for the copying check
    show: int = 100              # digits per grid (10 per row)
    seed: int = 0                # the run's seed


cfg = lesson.setup(Config, smoke=dict(iters=40, width=32, log_every=10, eval_every=20,
                                      curve_n=100, eval_n=200, nn_n=200))

# %%
import time

import numpy as np

from tinywgan import backend, data, train
from tinywgan.plot import draw_curves, draw_digits, pyplot

plt = pyplot()                   # matplotlib, file-only backend


# %% [markdown]
# ## 1. The real digits (also a check that scikit-learn is there, before any training)

# %%
try:
    real = data.digits()                                                      # (1797, 64)
except ImportError as e:
    raise SystemExit("demos/13_digits.py: %s" % e)


# %% [markdown]
# ## 2. Train with the library's loop; print the numbers of every evaluation

# %%
trainer = train.Trainer(train.make_config(
    method="wgan-gp", dataset="digits", iters=cfg.iters, width=cfg.width,
    log_every=cfg.log_every, eval_every=cfg.eval_every, curve_n=cfg.curve_n, seed=cfg.seed))
tc = trainer.cfg
print("G: %s   D: %s   %d generator iterations, %d critic steps each, batch %d, lam %g, "
      "Adam %g betas %s" % (" -> ".join(map(str, trainer.G.widths)),
                            " -> ".join(map(str, trainer.D.widths)), tc.iters, tc.n_critic,
                            tc.batch, tc.lam, tc.lr_d, tc.betas))
print("%6s %8s %10s %10s %10s" % ("iter", "seconds", "W est", "exact W1", "floor"))


def report(row, iters):
    if "w1" in row:                                   # an evaluation row (every eval_every)
        print("%6d %8.1f %10.4f %10.4f %10.4f" % (row["iter"], row["seconds"], row["w_estimate"],
                                                 row["w1"], row["w1_floor"]), flush=True)


t0 = time.perf_counter()
trainer.train(progress=report)
seconds = time.perf_counter() - t0


# %% [markdown]
# ## 3. The final evaluation: exact W1 against the floor, two disjoint halves of the set

# %%
final = trainer.evaluate(cfg.eval_n, floor_pairs=1)
tail = [r["w_estimate"] for r in trainer.history[-10:]]
print("\ntrained in %.1f s (%.0f generator iterations/s)" % (seconds, cfg.iters / seconds))
print("final exact W1 (n = %d): generated vs real %.4f, real vs real (floor) %.4f, ratio %.3f"
      % (final["eval_n"], final["w1"], final["w1_floor"], final["w1"] / final["w1_floor"]))
print("critic's W estimate, mean of the last %d logged batches: %.4f"
      % (len(tail), float(np.mean(tail))))


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
print("(distances in the [-1, 1] pixel scale over 64 pixels; W1 floor: %d real digits vs %d "
      "others)" % (final["eval_n"], final["eval_n"]))


# %% [markdown]
# ## 5. The figure: generated beside real, and the curves

# %%
shown = backend.rng(np, cfg.seed, "demo-real").permutation(data.DIGITS_N)[:cfg.show]
fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 5.2),
                              gridspec_kw=dict(width_ratios=[1, 1, 1.2]))
draw_digits(a, trainer.sample(cfg.show, ("plot",)),
            title="generated (WGAN-GP, MLPs), iteration %d" % trainer.t)
draw_digits(b, real[shown], title="real (scikit-learn's 8x8 digits)")
draw_curves(c, trainer.history)
c.set_title("W1 %.3f vs floor %.3f (n = %d) at the end"
            % (final["w1"], final["w1_floor"], final["eval_n"]))
fig.tight_layout()
lesson.save(fig, "digits")
