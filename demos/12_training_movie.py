# %% [markdown]
# # 12. A training movie
#
# WGAN-GP on the ring of 8 Gaussians, the critic and the samples evolving.
#
# The library's main job, unchanged (``TrainingJob(make_config(dataset="8gaussians",
# seed=0))``: width 128, 3 hidden layers, one critic step per generator step, lam 1, Adam 2e-3
# decayed linearly to 0 over 8000 generator iterations), paused at snapshots spaced geometrically
# (the first few hundred iterations change the picture most) and drawn as the WGAN-GP paper's
# Figure 1 draws its toys: the critic's contour, the real points (orange) and 512 generated points
# (green), with a colour bar for the critic's values (its scale changes as it trains). Each
# frame's title gives the iteration and two numbers on the 512 real and 512 generated points
# drawn (the same real points and the same latent draws in every frame):
#
# - the critic's estimate of W, mean f(x_real) - mean f(x_fake). For a 1-Lipschitz f it is a
#   lower bound on W1 (Kantorovich-Rubinstein: W1 is the largest such difference), reached only
#   by the best critic, so an untrained critic's estimate can be anything below W1, negative
#   included; the penalty keeps f only about 1-Lipschitz, so it can also overshoot a little.
#   Training curves elsewhere (and the main job's log) show the same difference on one batch of
#   256, which is noisier still.
# - the exact W1 between the same two point sets (``metrics.w1_exact``), what the estimate is
#   after; at 512 points even two real sets sit about 0.1 apart (the floor).
#
# The frames go into an animated GIF, and six of them, drawn again at full resolution, side by
# side into a PNG (the still).
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
    frame_size: float = 4.0      # inches high (5 wide, the colour bar beside); at dpi 64 a
    #                              320 x 256 pixel frame
    dpi: int = 64                # the GIF's dots per inch
    lim: float = 3.0             # frames show [-lim, lim]^2 (the data: a ring of radius 1.41)
    points: int = 512            # real and generated points drawn and measured in each frame
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

from tinywgan.measure import metrics
from tinywgan.job import TrainingJob, make_config
from tinywgan.measure.plot import draw_toy, pyplot

plt = pyplot()                   # matplotlib, file-only backend

# the snapshot iterations: 0, then geometric from `first` to `iters` (rounding duplicates dropped)
snapshots = [0] + sorted(set(np.geomspace(cfg.first, cfg.iters, cfg.frames - 1)
                             .round().astype(int).tolist()))
stills = [snapshots[i] for i in np.linspace(0, len(snapshots) - 1, cfg.stills).round()
          .astype(int)]


def draw(ax, trainer, fontsize, cax=True):
    """One snapshot: contour, colour bar and points (tinywgan.measure.plot.draw_toy; cax: the colour
    bar's Axes, or True for one beside ax), and in the title the iteration, the critic's
    estimate and the exact W1 on the points drawn. Returns (estimate, exact W1)."""
    ax.clear()
    real, fake = draw_toy(ax, trainer, n=cfg.points, lim=cfg.lim, colorbar=cax)     # (n, 2) each
    D = trainer.D
    f_real = D(D.xp.asarray(real, dtype=D.dtype)).mean()                # mean f(x_real)
    f_fake = D(D.xp.asarray(fake, dtype=D.dtype)).mean()                # mean f(x_fake)
    estimate, w1 = float(f_real - f_fake), metrics.w1_exact(fake, real)
    ax.set_title("iteration %d\ncritic's estimate %.3f\nexact W1 %.3f" % (trainer.t, estimate, w1),
                 fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])
    return estimate, w1


# %% [markdown]
# ## 1. The run, paused at each snapshot: one GIF frame each, and the chosen stills drawn as well

# %%
trainer = TrainingJob(make_config(dataset=cfg.dataset, iters=cfg.iters, seed=cfg.seed))
fig = plt.figure(figsize=(1.25 * cfg.frame_size, cfg.frame_size), dpi=cfg.dpi)
ax = fig.add_axes((0.02, 0.02, 0.74, 0.78))        # fixed places: no jitter between frames
cax = fig.add_axes((0.80, 0.06, 0.04, 0.70))       # the colour bar's, redrawn every frame
strip, strip_axes = plt.subplots(1, cfg.stills, figsize=(3.4 * cfg.stills, 3.6),
                                 layout="constrained")
strip.get_layout_engine().set(h_pad=0.06)          # room between the suptitle and the titles
path = lesson.figure_path("training_movie.gif")
writer = PillowWriter(fps=cfg.fps)
t0 = time.perf_counter()
print("%9s %18s %10s (on %d real and %d generated points)" % (
    "iteration", "critic's estimate", "exact W1", cfg.points, cfg.points))
with writer.saving(fig, path, dpi=cfg.dpi):
    for t in snapshots:
        trainer.train(iters=t)           # continues until t iterations are done in total
        cax.clear()
        estimate, w1 = draw(ax, trainer, fontsize=9, cax=cax)
        writer.grab_frame()              # renders the figure: one frame
        if t in stills:
            i = stills.index(t)
            draw(strip_axes[i], trainer, fontsize=10)
            strip_axes[i].get_legend().remove()      # the suptitle names the colours
        print("%9d %18.4f %10.4f   %5.1f s" % (t, estimate, w1, time.perf_counter() - t0),
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
for bar in set(strip.axes) - set(strip_axes):      # the colour bars: readable at the README's
    bar.tick_params(labelsize=12)                  # width, where the still is shrunk to 70 %
    bar.yaxis.label.set_size(13)
strip.suptitle("WGAN-GP on %s: critic contour (each panel its own scale), real (orange) and "
               "generated (green) points; the critic's estimate mean f(real) - mean f(fake) "
               "against the exact W1, on the %d points of each drawn" % (cfg.dataset, cfg.points),
               fontsize=11)
lesson.save(strip, "training_movie", dpi=100)


# %% [markdown]
# ## 3. Where it ended: the library's evaluation on fresh points

# %%
ev = trainer.evaluate(cfg.eval_n, floor_pairs=cfg.floor_pairs)
print("\nfinal (iteration %d, n = %d): %d/%d modes, %.1f %% high quality, W1 %.4f "
      "(real-vs-real floor %.4f); %.0f s in all"
      % (trainer.t, ev["eval_n"], ev["modes"], ev["modes_total"], 100 * ev["high_quality"],
         ev["w1"], ev["w1_floor"], time.perf_counter() - t0))
