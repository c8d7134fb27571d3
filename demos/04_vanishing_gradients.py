# %% [markdown]
# # 4. Vanishing gradients
#
# Freeze the generator, train the discriminator, watch the generator's gradient: its size and
# its spread.
#
# Arjovsky & Bottou (2017, "Towards Principled Methods for Training Generative Adversarial
# Networks", Fig. 2) froze a DCGAN generator, trained a discriminator from scratch and saw the
# gradient of the minimax generator loss fall by up to five orders of magnitude: when the
# supports of P_r and P_g are disjoint a discriminator can become perfect, D(G(z)) -> 0, and
#
#     minimax:         L = mean log(1 - D(G(z))),  dL/dlogit = -sigmoid(l)/M   -> 0 as l -> -inf
#     non-saturating:  L = -mean log D(G(z)),      dL/dlogit = (sigmoid(l) - 1)/M  -> -1/M
#     Wasserstein:     L = -mean f(G(z)),          dL/df = -1/M, and ||grad_x f|| ~ 1 (GP critic)
#
# The non-saturating loss is no cure (their Sec. 2.2.2 and Fig. 3): its gradient is the
# discriminator's logit slope, dL/dx_i = -grad_x l(x_i)/M near a confident D, and that slope
# grows without bound as D grows confident, so the generator's gradient grows, and its variance
# with it: large, noisy updates, "known to lead to instability". The Wasserstein critic's slope is
# pulled towards 1 (the penalty, on the interpolates only: here it settles below 1, 0.72 at the
# end) or held to a fixed scale (clipping), so its gradient neither vanishes nor grows.
#
# Here P_r is 8gaussians and the frozen generator draws the same ring turned by ``angle`` degrees:
# close to the data (each mode ~0.55 from two real ones) but on a disjoint support. Three
# networks are trained from scratch against these fixed samples: a vanilla discriminator (Adam),
# a WGAN-GP critic (Adam) and a clipped WGAN critic (RMSProp). Every ``every`` iterations we
# take the gradient the generator would get at a fixed set of M = ``n_measure`` generated points,
# g_i = d loss_i / d x_i (the per-sample loss's gradient, = M dL/dx_i; through a generator network
# it is multiplied by dG/dtheta, the same for every loss), and measure
#
#     its size     RMS over the samples of ||g_i||
#     its spread   over the samples: the standard deviation of ||g_i||, and the 10 % to 90 % band
#
#     python demos/04_vanishing_gradients.py                   # about 30 s on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/04_vanishing_gradients.py  # seconds
#
# Writes figures/vanishing_gradients.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass

from tinywgan import lesson


@dataclass
class Config:
    angle: float = 22.5        # the frozen generator's ring, turned (degrees): between the modes
    iters: int = 2000          # discriminator / critic iterations (Arjovsky & Bottou: 4000)
    every: int = 20            # measure the generator's gradient every so many iterations
    batch: int = 256           # real and generated points per step
    n_measure: int = 4096      # fixed generated points the gradient is measured on
    width: int = 128           # 2 -> width x3 -> 1, ReLU
    lr_gan: float = 1e-3       # Adam, betas (0.5, 0.9), for the discriminator and the GP critic
    lam: float = 10.0          # WGAN-GP penalty weight (the paper's)
    lr_clip: float = 5e-4      # RMSProp for the clipped critic
    clip: float = 0.01         # the clipped critic's weights stay in [-clip, clip]
    dtype: str = "float64"     # the minimax gradient spans eight orders of magnitude
    seed: int = 0              # of the weights and every draw


cfg = lesson.setup(Config, smoke=dict(iters=20, every=5, batch=64, n_measure=512, width=16),
                    signed=("angle",))

# %%
import math

import numpy as np

from tinywgan import MLP
from tinywgan.measure import data
from tinywgan.core import steps
from tinywgan.backend import rng
from tinywgan.core.lipschitz import clip_weights
from tinywgan.core.optim import Adam, RMSProp
from tinywgan.measure.plot import critic_grid, pyplot
from tinywgan.measure.critic import fit_critic

rad = math.radians(cfg.angle)
ROT = np.array([[math.cos(rad), math.sin(rad)],                              # x @ ROT turns x
                [-math.sin(rad), math.cos(rad)]])                            # by +angle


def real(n, rng):
    return data.eight_gaussians(n, rng, cfg.dtype)                           # (n, 2)


def fake(n, rng):
    """The frozen generator: the 8gaussians ring turned by ``angle``. (n, 2)"""
    return real(n, rng) @ ROT.astype(cfg.dtype)


def generator_grad(D, x, kind):
    """||g_i|| for each of the points x: (M, 2), g_i = d loss_i/d x_i under the generator loss
    ``kind`` (``steps.generator_loss_at``: the gradient a generator would backpropagate): (M,);
    also the mean of D's output there (a logit for the discriminator)."""
    method = "wgan-gp" if kind == "wasserstein" else "gan"
    gan_loss = kind if kind != "wasserstein" else "nonsaturating"
    _, dx = steps.generator_loss_at(D, x, method, gan_loss)                  # (M, 2) dL/dx_i
    g = dx * x.shape[0]                                                      # g_i = d loss_i/dx_i
    return np.sqrt((g * g).sum(axis=1)), float(D(x).mean())


def summary(norms):
    """size (RMS), spread (standard deviation), 10 % and 90 % points of ||g_i||: (M,)."""
    return dict(size=float(np.sqrt((norms * norms).mean())), spread=float(norms.std()),
                p10=float(np.percentile(norms, 10)), p90=float(np.percentile(norms, 90)))


def train(method):
    """Train a discriminator ('gan') or critic ('wgan-gp', 'wgan') from scratch against the
    frozen generator, with the library's critic step; every ``every`` steps measure the
    generator's gradient(s). Returns (D, its: list, {loss kind: {statistic: list}}, mean output
    on the generated points: list)."""
    D = MLP([2] + [cfg.width] * 3 + [1], "relu", dtype=cfg.dtype, seed=cfg.seed)
    opt = RMSProp(cfg.lr_clip) if method == "wgan" else Adam(cfg.lr_gan, betas=(0.5, 0.9))
    if method == "wgan":
        clip_weights(D.params, cfg.clip)                 # start inside the box, as training stays
    kinds = ["minimax", "nonsaturating"] if method == "gan" else ["wasserstein"]
    x_m = fake(cfg.n_measure, rng(np, cfg.seed, "measure"))                  # (M, 2) fixed
    its, stats, outs = [], {k: {} for k in kinds}, []

    def measure(t, out=None):
        """What the generator would get from the discriminator after t updates."""
        if t % cfg.every == 0 or t == cfg.iters:
            its.append(t)
            for k in kinds:
                norms, o = generator_grad(D, x_m, k)
                for name, value in summary(norms).items():
                    stats[k].setdefault(name, []).append(value)
            outs.append(o)
    measure(0)
    fit_critic(D, opt, lambda r: (real(cfg.batch, r), fake(cfg.batch, r)), cfg.iters,
               method=method, lam=cfg.lam, clip=cfg.clip, seed=cfg.seed, on_step=measure)
    return D, its, stats, outs


# %% [markdown]
# ## 1. The three networks, each from scratch against the same frozen generator

# %%
runs = {m: train(m) for m in ("gan", "wgan-gp", "wgan")}
curves = [("minimax log(1 - D)", runs["gan"], "minimax"),
          ("non-saturating -log D", runs["gan"], "nonsaturating"),
          ("WGAN-GP critic -f", runs["wgan-gp"], "wasserstein"),
          ("clipped WGAN critic -f", runs["wgan"], "wasserstein")]


# %% [markdown]
# ## 2. The numbers: each loss's gradient, its size and its spread, at the start and the end

# %%
print("generator frozen: 8gaussians turned by %g degrees; %d iterations; over %d fixed generated "
      "samples, g_i = d loss_i/d x_i: size = RMS of ||g_i||, spread = their standard deviation "
      "(%s)" % (cfg.angle, cfg.iters, cfg.n_measure, cfg.dtype))
its = runs["gan"][1]
shown = range(0, len(its), max(1, len(its) // 8))
print("%-32s" % "iteration" + "".join("%10d" % its[i] for i in shown))
for name, run, kind in curves:
    for what in ("size", "spread"):
        print("%-32s" % ("%s, %s" % (name, what)) +
              "".join("%10.2e" % run[2][kind][what][i] for i in shown))
print("%-32s" % "D's mean logit on fakes" + "".join("%10.2f" % runs["gan"][3][i] for i in shown))
print()
print("%-24s %10s %10s %10s %8s %10s %10s %10s %15s %20s" % (
    "loss", "size", "", "", "orders", "spread", "", "", "spread / size", "10 % to 90 %"))
print("%-24s %10s %10s %10s %8s %10s %10s %10s %15s %20s" % (
    "", "start", "end", "end/start", "of 10", "start", "end", "end/start", "start -> end",
    "of ||g_i||, end"))
for name, run, kind in curves:
    st = run[2][kind]
    size, spread = st["size"], st["spread"]
    ratio = size[-1] / size[0]
    print("%-24s %10.2e %10.2e %10.2e %8s %10.2e %10.2e %10.2e %15s %20s" % (
        name, size[0], size[-1], ratio, "%+.1f" % math.log10(ratio) if ratio > 0 else
        "below float", spread[0], spread[-1], spread[-1] / spread[0],
        "%.2f -> %.2f" % (spread[0] / size[0], spread[-1] / size[-1]),
        "%.3g to %.3g" % (st["p10"][-1], st["p90"][-1])))
print("(the clipped critic's scale is its Lipschitz constant, set by c = %g, not 1: what matters "
      "is that it does not decay)" % cfg.clip)


# %% [markdown]
# ## 3. The figure: the gradient's size, its spread, and the discriminator that made them

# %%
plt = pyplot()
fig, (ax, nx, bx) = plt.subplots(1, 3, figsize=(18, 5), gridspec_kw={"width_ratios": [1, 1, 0.9]})
for (name, run, kind), c in zip(curves, ["tab:red", "black", "tab:blue", "tab:purple"]):
    it, st = np.array(run[1]), run[2][kind]
    y = np.array(st["size"])
    ax.semilogy(it[y > 0], y[y > 0], c=c, label=name)              # a log axis has no 0
    if run is runs["wgan"] or kind == "minimax":
        continue                                  # vanishing, or at c's scale: flat at 0 here
    nx.plot(it, st["size"], c=c, label=name + ", RMS")
    nx.fill_between(it, st["p10"], st["p90"], color=c, alpha=0.25, lw=0,
                    label=name + ", 10 % to 90 % of the samples")
for axis in (ax, nx):
    axis.set_xlabel("discriminator / critic iterations (generator frozen)")
    axis.grid(True, which="major", alpha=0.3)
ax.set_ylabel("size: RMS over samples of ||d loss_i / d x_i||")
ax.set_title("the generator's gradient as the discriminator learns")
ax.legend(fontsize=9, loc="lower right", bbox_to_anchor=(1, 0.15))   # clear of the curves
nx.set_ylabel("||d loss_i / d x_i|| (linear scale)")
nx.set_title("the two that do not vanish, and their spread over the samples")
nx.legend(fontsize=9, loc="lower right", bbox_to_anchor=(1, 0.06))  # under the band

D = runs["gan"][0]
xs, logit = critic_grid(D, lim=2.0, n=128)                                   # (n,), (n, n)
cs = bx.contourf(xs, xs, np.clip(logit, -40, 40), levels=20, cmap="RdBu_r")
fig.colorbar(cs, ax=bx, label="discriminator logit (clipped to +-40)")
pts = rng(np, cfg.seed, "plot")
xr, xf = real(256, pts), fake(256, pts)
bx.scatter(xr[:, 0], xr[:, 1], marker="+", s=20, c="tab:orange", label="real")
bx.scatter(xf[:, 0], xf[:, 1], marker="+", s=20, c="tab:green", label="frozen generator")
bx.set_aspect("equal")
bx.set(xlabel="x_1", ylabel="x_2")
bx.set_title("the discriminator after %d iterations" % cfg.iters)
bx.legend(fontsize=8, loc="upper right")
fig.tight_layout()
lesson.save(fig, "vanishing_gradients")
