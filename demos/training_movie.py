"""A training movie: WGAN-GP on the ring of 8 Gaussians, critic and samples evolving.

The library's main job (``train.Trainer`` with the defaults: width 128, one critic step per
generator step, lam 1, Adam 2e-3 decayed to 0, 8000 iterations), stopped at snapshots spaced
geometrically (the early iterations change the picture most) and drawn as the WGAN-GP paper's
Figure 1 draws its toys: the critic's contour, the real points (orange) and 512 generated
points (green). The frames go into an animated GIF, and six of them side by side into a PNG.

    python demos/training_movie.py                   # about a minute on a 2-core CPU
    TINYWGAN_SMOKE=1 python demos/training_movie.py  # seconds
Writes figures/training_movie.gif and figures/training_movie.png under the working folder and
prints, per snapshot, the iteration and the critic's W estimate, then the final evaluation.
"""
import os
import time
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrices: one BLAS thread is faster, and
import numpy as np                              # a busy machine cannot slow it 100-fold

from tinywgan import train
from tinywgan.plot import draw_toy, pyplot, save_demo_figure

plt = pyplot()                   # matplotlib, file-only backend
from matplotlib.animation import PillowWriter   # noqa: E402  (Pillow ships with matplotlib)

# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------


@dataclass
class DemoConfig:
    dataset: str = "8gaussians"
    iters: int = 8000            # the library's default schedule
    frames: int = 36             # snapshots, geometrically spaced from first to iters
    first: int = 10              # the first snapshot's iteration (iteration 0 is shown too)
    stills: int = 6              # frames in the PNG strip, evenly chosen among the snapshots
    fps: int = 6
    frame_size: float = 4.0      # inches; with dpi 64 a 256 x 256 frame
    dpi: int = 64
    eval_n: int = 2500           # points of the final evaluation (exact W1, modes)
    seed: int = 0


cfg = DemoConfig()
if os.environ.get("TINYWGAN_SMOKE"):     # a budget of seconds
    cfg.iters, cfg.frames, cfg.first, cfg.stills, cfg.eval_n = 40, 4, 5, 3, 300

# the snapshot iterations: 0, then geometric from `first` to `iters` (duplicates dropped)
snapshots = [0] + sorted(set(np.geomspace(cfg.first, cfg.iters, cfg.frames - 1)
                             .round().astype(int).tolist()))

# 1. train, stopping at each snapshot to draw a frame (kept as an RGB image)
trainer = train.Trainer(train.make_config(dataset=cfg.dataset, iters=cfg.iters, seed=cfg.seed,
                                          log_every=cfg.first))
fig, ax = plt.subplots(figsize=(cfg.frame_size, cfg.frame_size), dpi=cfg.dpi)
frames, t0 = [], time.perf_counter()
for t in snapshots:
    trainer.train(iters=t)               # continues until t iterations are done in total
    w_est = trainer.history[-1]["w_estimate"] if trainer.history else 0.0
    ax.clear()
    draw_toy(ax, trainer, title="iteration %d, W estimate %.3f" % (t, w_est))
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.canvas.draw()
    frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())       # (H, W, 3)
    print("iteration %5d   W estimate %8.4f   %5.1f s" % (t, w_est, time.perf_counter() - t0),
          flush=True)
plt.close(fig)

# 2. the GIF: the frames, the last one held for a second
os.makedirs("figures", exist_ok=True)
path = os.path.join("figures", "training_movie.gif")
movie, mx = plt.subplots(figsize=(cfg.frame_size, cfg.frame_size), dpi=cfg.dpi)
movie.subplots_adjust(0, 0, 1, 1)
mx.axis("off")
image = mx.imshow(frames[0])
writer = PillowWriter(fps=cfg.fps)
with writer.saving(movie, path, dpi=cfg.dpi):
    for frame in frames + [frames[-1]] * cfg.fps:
        image.set_data(frame)
        writer.grab_frame()
plt.close(movie)
print("wrote %s: %d frames, %.0f KB" % (path, len(frames), os.path.getsize(path) / 1024))

# 3. the still: a strip of evenly chosen frames
pick = np.linspace(0, len(frames) - 1, cfg.stills).round().astype(int)
strip, axes = plt.subplots(1, cfg.stills, figsize=(2.6 * cfg.stills, 2.7))
for ax, i in zip(axes, pick):
    ax.imshow(frames[i])
    ax.axis("off")
strip.tight_layout()
save_demo_figure(strip, "training_movie")

# 4. where it ended
ev = trainer.evaluate(cfg.eval_n, floor_pairs=3)
print("final: %d/%d modes, %.1f %% high quality, W1 %.4f (floor %.4f), %.0f s in all"
      % (ev["modes"], ev["modes_total"], 100 * ev["high_quality"], ev["w1"], ev["w1_floor"],
         time.perf_counter() - t0))
