"""Figures. matplotlib is imported lazily (``pip install 'tinywgan[plot]'``); every array is
brought to the host explicitly before it is plotted."""
import numpy as np

from .. import backend
from . import data


def pyplot():
    """matplotlib.pyplot with a file-only backend, or an ImportError that says what to install."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("figures need matplotlib: pip install matplotlib "
                          "(or pip install 'tinywgan[plot]')") from e
    return plt


def critic_grid(critic, lim=3.0, n=128):
    """The critic's values on an n x n grid over [-lim, lim]^2 (host arrays xs: (n,), f: (n, n))."""
    xs = np.linspace(-lim, lim, n)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1).reshape(-1, 2)              # (n*n, 2)
    f = critic(critic.xp.asarray(grid, dtype=critic.dtype))                   # (n*n, 1)
    return xs, backend.to_numpy(f).reshape(n, n)


def draw_toy(ax, trainer, n=512, lim=3.0, title=None, colorbar=False):
    """WGAN-GP paper, Figure 1 style: critic contour, real points (orange), generated (green);
    with ``colorbar`` a colour bar saying which value each contour line is (True: beside ax; an
    Axes: drawn into it, as a movie's frames do). The view is [-lim, lim]^2, widened to hold
    every mode of a larger mixture (the grid).

    Returns (real, fake): the n points of each drawn, host arrays (n, 2)."""
    if trainer.cfg.dataset in data.MIXTURES:
        lim = max(lim, 1.3 * float(abs(data.centres(trainer.cfg.dataset)).max()))
    xs, f = critic_grid(trainer.D, lim)
    cs = ax.contour(xs, xs, f, levels=20, cmap="viridis", linewidths=0.8)
    if colorbar is True:
        ax.figure.colorbar(cs, ax=ax, shrink=0.8, label="critic value f(x)")
    elif colorbar:
        ax.figure.colorbar(cs, cax=colorbar, label="critic value f(x)")
    real = backend.to_numpy(data.sample(trainer.cfg.dataset, n, backend.rng(np, 0, "plot")))
    fake = backend.to_numpy(trainer.sample(n, ("plot",)))
    ax.scatter(real[:, 0], real[:, 1], marker="+", s=12, c="tab:orange", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], marker="+", s=12, c="tab:green", label="generated")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title or "%s on %s, iteration %d" % (trainer.cfg.method, trainer.cfg.dataset,
                                                     trainer.t))
    ax.legend(loc="upper right", fontsize=8)
    return real, fake


def draw_digits(ax, images, cols=10, title=None):
    """A grid of 8x8 digits: images (n, 64) in [-1, 1] (host or device; values outside are
    clipped), drawn row by row, ``cols`` per row, white on black."""
    x = np.clip(backend.to_numpy(images).astype(np.float64), -1, 1).reshape(-1, 8, 8)
    rows = -(-len(x) // cols)                                     # ceil(n / cols)
    sheet = np.full((rows * 9 + 1, cols * 9 + 1), -1.0)          # a 1-pixel gap between digits
    for i, img in enumerate(x):
        r, c = divmod(i, cols)
        sheet[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = img
    ax.imshow(sheet, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def draw_curves(ax, history):
    """The critic's W estimate over training, and the exact W1 where it was evaluated."""
    it = [r["iter"] for r in history]
    ax.plot(it, [r["w_estimate"] for r in history], label="critic's W estimate")
    ev = [r for r in history if "w1" in r]
    if ev:
        ax.plot([r["iter"] for r in ev], [r["w1"] for r in ev], "o-",
                label="exact W1 (n=%d)" % ev[-1]["eval_n"])
        ax.plot([r["iter"] for r in ev], [r["w1_floor"] for r in ev], "--", c="gray",
                label="W1 floor (one pair of real sets: as noisy)")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("W (the critic's estimate; exact W1)")
    ax.set_title("training curves")
    ax.legend(fontsize=8)


def run_figure(trainer, path):
    """The main job's figure: contour and points (the digits: generated and real digits)
    beside the training curves, as a PNG to ``path`` (a file name or an open binary file)."""
    plt = pyplot()
    if trainer.cfg.dataset == "digits":
        fig, (a, r, b) = plt.subplots(1, 3, figsize=(15, 5))
        draw_digits(a, trainer.sample(100, ("plot",)), title="generated, iteration %d"
                    % trainer.t)
        draw_digits(r, data.digits()[:100], title="real")
    else:
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 5))
        draw_toy(a, trainer, colorbar=True)
        a.set(xlabel="x_1", ylabel="x_2")
    draw_curves(b, trainer.history)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
