# %% [markdown]
# # 12. A training movie
#
# WGAN-GP on the ring of 8 Gaussians, the critic and the samples evolving.
#
# The library's main job, unchanged (``train.Trainer(train.make_config(dataset="8gaussians",
# seed=0))``: width 128, 3 hidden layers, one critic step per generator step, lam 1, Adam 2e-3
# decayed linearly to 0 over 8000 generator iterations), paused at snapshots spaced geometrically
# (the first few hundred iterations change the picture most) and drawn as the WGAN-GP paper's
# Figure 1 draws its toys: the critic's contour, the real points (orange) and 512 generated points
# (green). Each frame's title gives the iteration and the critic's W estimate, mean f(x_real) -
# mean f(x_fake) on that iteration's batch. The frames go into an animated GIF, and six of them,
# drawn again at full resolution, side by side into a PNG (the still).
#
# Pausing does not change the run: the learning-rate schedule follows cfg.iters and every random
# draw is counter-based, so the snapshots show the run ``python -m tinywgan train`` trains.
#
#     python demos/12_training_movie.py                   # under a minute on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/12_training_movie.py  # seconds
#
#
# Writes figures/training_movie.gif and figures/training_movie.png under the working folder.

# %%
from dataclasses import dataclass

from tinywgan import lesson


@dataclass
class Config:
    dataset: str = "8gaussians"  # the real data
    iters: int = 8000            # generator iterations: the library's default schedule
    frames: int = 36             # snapshots: iteration 0, then geometric from `first` to iters
    first: int = 5               # the first snapshot after iteration 0
    stills: int = 6              # snapshots in the PNG strip, evenly spaced among the frames
    fps: int = 8                 # GIF frames per second
    hold: float = 1.5            # seconds the last frame stays before the GIF loops
    frame_size: float = 4.0      # inches, square; at dpi 64 a 256 x 256 pixel frame (~22 KB)
    dpi: int = 64                # the GIF's dots per inch
    lim: float = 3.0             # frames show [-lim, lim]^2 (the data: a ring of radius 1.41)
    eval_n: int = 2500           # points of the final evaluation (exact W1, modes)
    floor_pairs: int = 3         # real-vs-real pairs averaged for the W1 floor
    seed: int = 0                # the run's seed


cfg = lesson.setup(Config, smoke=dict(iters=60, frames=6, eval_n=300, floor_pairs=1))

# %%
import os
import time

import numpy as np
from matplotlib.animation import PillowWriter   # Pillow ships with matplotlib
from PIL import Image

from tinywgan import backend, data, train
from tinywgan.plot import draw_toy, pyplot

plt = pyplot()                   # matplotlib, file-only backend

# the snapshot iterations: 0, then geometric from `first` to `iters` (rounding duplicates dropped)
snapshots = [0] + sorted(set(np.geomspace(cfg.first, cfg.iters, cfg.frames - 1)
                             .round().astype(int).tolist()))
stills = [snapshots[i] for i in np.linspace(0, len(snapshots) - 1, cfg.stills).round()
          .astype(int)]


def w_estimate(trainer):
    """The critic's W estimate, mean f(x_real) - mean f(x_fake), at the current iteration: the
    number the training step just logged, or at iteration 0 (nothing logged yet) the same
    quantity on one batch of cfg.batch fresh points, for the untrained critic."""
    if trainer.t > 0:
        row = trainer.history[-1]
        assert row["iter"] == trainer.t, "no log row at iteration %d" % trainer.t
        return row["w_estimate"]
    B, rng = trainer.cfg.batch, backend.rng(trainer.xp, cfg.seed, "movie")
    x_real = data.sample(trainer.cfg.dataset, B, rng, trainer.D.dtype)               # (B, 2)
    x_fake = trainer.sample(B, ("movie",))                                            # (B, 2)
    return float(trainer.D(x_real).mean() - trainer.D(x_fake).mean())


def draw(ax, trainer, w, fontsize):
    """One snapshot: contour and points (tinywgan.plot.draw_toy), iteration and W in the title."""
    ax.clear()
    draw_toy(ax, trainer, lim=cfg.lim, title="iteration %d\nW estimate %.3f" % (trainer.t, w))
    ax.title.set_fontsize(fontsize)
    ax.set_xticks([])
    ax.set_yticks([])


# %% [markdown]
# ## 1. The run, paused at each snapshot: one GIF frame each, and the chosen stills drawn as well

# %%
trainer = train.Trainer(train.make_config(dataset=cfg.dataset, iters=cfg.iters, seed=cfg.seed))
fig, ax = plt.subplots(figsize=(cfg.frame_size, cfg.frame_size), dpi=cfg.dpi)
fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.87)   # fixed: no jitter
strip, strip_axes = plt.subplots(1, cfg.stills, figsize=(2.7 * cfg.stills, 3.2),
                                 layout="constrained")
strip.get_layout_engine().set(h_pad=0.06)          # room between the suptitle and the titles
path = lesson.figure_path("training_movie.gif")
writer = PillowWriter(fps=cfg.fps)
t0 = time.perf_counter()
with writer.saving(fig, path, dpi=cfg.dpi):
    for t in snapshots:
        trainer.train(iters=t)           # continues until t iterations are done in total
        w = w_estimate(trainer)
        draw(ax, trainer, w, fontsize=11)
        writer.grab_frame()              # renders the figure: one (256, 256) frame
        if t in stills:
            i = stills.index(t)
            draw(strip_axes[i], trainer, w, fontsize=10)
            if i > 0:
                strip_axes[i].get_legend().remove()      # one legend for the strip
        print("iteration %5d   W estimate %8.4f   %5.1f s" % (t, w, time.perf_counter() - t0),
              flush=True)
    for _ in range(round(cfg.hold * cfg.fps)):     # hold the last frame before the loop
        writer.grab_frame()
plt.close(fig)
with Image.open(path) as gif:            # read back: Pillow merges the held copies into one
    n_gif = gif.n_frames                 # frame with a longer duration
print("wrote %s: %d frames (%d snapshots at %d fps, the last held %.1f s), %.0f KB"
      % (path, n_gif, len(snapshots), cfg.fps, cfg.hold, os.path.getsize(path) / 1024))


# %% [markdown]
# ## 2. The still: the chosen snapshots side by side

# %%
strip.suptitle("WGAN-GP on %s: critic contour, real (orange) and generated (green) points"
               % cfg.dataset, fontsize=11)
lesson.save(strip, "training_movie", dpi=100)


# %% [markdown]
# ## 3. Where it ended: the library's evaluation on fresh points

# %%
ev = trainer.evaluate(cfg.eval_n, floor_pairs=cfg.floor_pairs)
print("\nfinal (iteration %d, n = %d): %d/%d modes, %.1f %% high quality, W1 %.4f "
      "(real-vs-real floor %.4f); %.0f s in all"
      % (trainer.t, ev["eval_n"], ev["modes"], ev["modes_total"], 100 * ev["high_quality"],
         ev["w1"], ev["w1_floor"], time.perf_counter() - t0))
