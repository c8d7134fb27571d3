# %% [markdown]
# # 2. Why Wasserstein: two parallel lines
#
# Two parallel lines, P_0 = (0, Z) and P_theta = (theta, Z), Z ~ U[0, 1].
#
# Arjovsky, Chintala and Bottou's Example 1 ("Wasserstein GAN", 2017), as Weng's "From GAN to
# WGAN" (2017) and Guerzhoy's WGAN lecture notes (2022) teach it. For theta != 0 the supports are
# disjoint, so
#
#     KL(P_0 || P_theta) = +infinite,   JS(P_0, P_theta) = log 2,   W(P_0, P_theta) = |theta|
#
# and at theta = 0 all three are 0. KL is infinite at every theta != 0: no finite value, so no
# gradient at all. JS is flat in theta, so a generator descending on it gets a zero gradient; W
# shrinks with |theta| and its slope, sign(theta), points the generator home.
#
# 1. KL and JS of 2-D histograms of samples (``metrics.kl_divergence``/``js_divergence``) and the
#    exact W1 of the samples (``metrics.w1_exact``), on a fine theta grid, beside the closed forms.
# 2. A critic MLP trained at each theta of a coarse grid, with the gradient penalty (Adam) and with
#    weight clipping (RMSProp). Its estimate E f(P_0) - E f(P_theta) should be |theta| (GP) or
#    K |theta| (clipping: the critic is K-Lipschitz, K set by the clip value, not 1).
# 3. The gradient the generator (here: theta itself) would get from that critic,
#    d/dtheta [E f(P_0) - E f(P_theta)] = -E df/dx(theta, Z): sign(theta) for W, 0 for JS.
#
#     python demos/02_parallel_lines.py                   # about a minute on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/02_parallel_lines.py  # seconds
#
# Writes figures/parallel_lines.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass
from typing import Tuple

from tinywgan import lesson


@dataclass
class Config:
    # step 1: the divergence curves
    n_curve: int = 201            # thetas on [-1, 1] (step 0.01: every theta != 0 its own x bin)
    n_hist: int = 2000            # points per distribution for the histograms
    z_bins: int = 10              # histogram bins along Z (x bins: one per curve theta)
    n_w1: int = 400               # points per distribution for the exact W1 (cost O(n^3))
    # step 2: the trained critics
    n_thetas: int = 9             # critic thetas on [-1, 1], 0 included
    widths: Tuple[int, ...] = (2, 64, 64, 1)    # the critic's layer widths
    activation: str = "relu"      # the critic's activation
    steps: int = 600              # critic steps per theta; learning rates decay linearly to 0
    batch: int = 256              # points per distribution per step
    lam: float = 50.0             # penalty weight; penalised optimum |theta| + theta^2/(2 lam)
    lr_gp: float = 2e-3           # Adam, betas (0.5, 0.9) (WGAN-GP)
    lr_clip: float = 1e-3         # RMSProp (WGAN)
    clip: float = 0.01            # every critic parameter into [-clip, clip]
    n_eval: int = 4096            # fresh points per distribution to evaluate each critic
    seed: int = 0                 # of the critics' weights and every draw


cfg = lesson.setup(Config, smoke=dict(n_curve=21, n_hist=400, n_w1=64, n_thetas=3,
                                      widths=(2, 16, 1), steps=30, batch=64, n_eval=256))

# %%
import math

import numpy as np

from tinywgan import MLP
from tinywgan.measure import metrics
from tinywgan.backend import rng
from tinywgan.measure.data import parallel_lines
from tinywgan.core.lipschitz import clip_weights
from tinywgan.measure.bounds import clipping_bound, lipschitz_estimate
from tinywgan.core.optim import Adam, RMSProp
from tinywgan.measure.plot import pyplot
from tinywgan.measure.critic import fit_critic


def line(n, theta, *stream):
    """n points of P_theta, (n, 2) float32, from their own random stream."""
    return parallel_lines(n, float(theta), rng(np, cfg.seed, *stream))


def train_critic(theta, method):
    """A critic trained from scratch to separate P_0 (real) from P_theta (fake), with the
    library's critic step (``fit_critic``), learning rate decayed linearly to 0.
    method 'wgan-gp': L = mean f(fake) - mean f(real) + lam mean (||grad f(x_hat)|| - 1)^2, Adam;
    method 'wgan': L = mean f(fake) - mean f(real), RMSProp, then every weight into [-c, c]."""
    D = MLP(cfg.widths, cfg.activation, seed=cfg.seed)
    if method == "wgan-gp":
        opt = Adam(cfg.lr_gp, betas=(0.5, 0.9))
    else:
        opt = RMSProp(cfg.lr_clip)
        clip_weights(D.params, cfg.clip)                              # start inside [-c, c]

    def draw(rng):                            # P_0 and P_theta, each with its own Z: (B, 2)
        return parallel_lines(cfg.batch, 0.0, rng), parallel_lines(cfg.batch, float(theta), rng)
    fit_critic(D, opt, draw, cfg.steps, method=method, lam=cfg.lam, clip=cfg.clip,
               seed=cfg.seed, lr_decay=True)
    return D


def evaluate(D, theta, i):
    """On fresh points: the estimate E f(P_0) - E f(P_theta), its standard error, the
    generator's gradient d(estimate)/dtheta = -E df/dx(theta, Z), and K = the largest
    ||grad_x f|| seen on the two lines and between them (the critic's Lipschitz constant there)."""
    n = cfg.n_eval
    x0, xt = line(n, 0.0, "eval-0", i), line(n, theta, "eval-theta", i)     # (n, 2) each
    f0, ft = D(x0)[:, 0].astype(np.float64), D(xt)[:, 0].astype(np.float64)  # (n,)
    estimate = f0.mean() - ft.mean()
    se = math.sqrt(f0.var() / n + ft.var() / n)                 # sd of a difference of two means
    grad = -float(D.input_gradient(xt)[:, 0].mean())            # d/dtheta: x moves, Z does not
    eps = rng(np, cfg.seed, "eval-eps", i).random((n, 1), dtype=D.dtype)
    K = lipschitz_estimate(D, np.concatenate([x0, xt, eps * x0 + (1 - eps) * xt]))
    return estimate, se, grad, K


def fmt(v, spec="%8.4f"):
    """A number, or the word 'infinite' (the printed numbers stay finite)."""
    return spec % v if math.isfinite(v) else "%8s" % "infinite"


# %% [markdown]
# ## 1. Divergences of samples on a fine theta grid, beside the closed forms

# %%
thetas = np.linspace(-1, 1, cfg.n_curve)                                  # (T,)
h = thetas[1] - thetas[0]                                                 # x bin width
x_edges = np.linspace(-1 - h / 2, 1 + h / 2, cfg.n_curve + 1)             # one bin per theta
z_edges = np.linspace(0, 1, cfg.z_bins + 1)
x0_hist = line(cfg.n_hist, 0.0, "hist-0")
p0 = np.histogram2d(x0_hist[:, 0], x0_hist[:, 1], [x_edges, z_edges])[0]  # (T, z_bins) counts
x0_w1 = line(cfg.n_w1, 0.0, "w1-0")
KL, JS, W1 = [], [], []
for i, theta in enumerate(thetas):
    xt = line(cfg.n_hist, theta, "hist-theta", i)                         # independent Z
    pt = np.histogram2d(xt[:, 0], xt[:, 1], [x_edges, z_edges])[0]
    KL.append(metrics.kl_divergence(p0, pt))       # sum p0 log(p0/pt): infinite if supports differ
    JS.append(metrics.js_divergence(p0, pt))       # log 2 for disjoint supports
    W1.append(metrics.w1_exact(x0_w1, line(cfg.n_w1, theta, "w1-theta", i)))
KL, JS, W1 = np.array(KL), np.array(JS), np.array(W1)
mid = cfg.n_curve // 2                                                    # theta = 0
print("1. divergences of samples on %d thetas in [-1, 1] (histograms: %d points, %d x %d bins; "
      "exact W1: %d points)" % (cfg.n_curve, cfg.n_hist, cfg.n_curve, cfg.z_bins, cfg.n_w1))
print("   theta != 0: KL infinite at %d of %d thetas; JS in [%.4f, %.4f] (log 2 = %.4f); "
      "max |W1 - |theta|| = %.4f" % (np.isinf(np.delete(KL, mid)).sum(), cfg.n_curve - 1,
                                     np.delete(JS, mid).min(), np.delete(JS, mid).max(),
                                     math.log(2), np.abs(W1 - np.abs(thetas)).max()))
print("   theta  = 0: KL = %.4f, JS = %.4f, W1 = %.4f (nonzero only by sampling: two samples of "
      "one distribution)" % (KL[mid], JS[mid], W1[mid]))


# %% [markdown]
# ## 2. Trained critics on a coarse grid: their estimate of W and the generator's gradient

# %%
grid = np.linspace(-1, 1, cfg.n_thetas)
rows = []
for i, theta in enumerate(grid):
    gp = evaluate(train_critic(theta, "wgan-gp"), theta, i)
    cl = evaluate(train_critic(theta, "wgan"), theta, i)
    j = int(np.argmin(np.abs(thetas - theta)))                            # same theta on curves
    rows.append((theta, KL[j], JS[j], W1[j]) + gp + cl)
    print(".", end="", flush=True)
print()
R = np.array(rows)        # columns: theta KL JS W1 | W_gp se_gp grad_gp K_gp | W_cl se grad K_cl
th, W_gp, se_gp, g_gp = R[:, 0], R[:, 4], R[:, 5], R[:, 6]
W_cl, g_cl, K_cl = R[:, 8], R[:, 10], np.maximum(R[:, 11], 1e-12)
W_pen = np.abs(th) + th ** 2 / (2 * cfg.lam)     # optimum of the penalised objective (see below)


# %% [markdown]
# ## 3. The table

# %%
print("2. critics trained %d steps at each theta (GP: lam %g, Adam; clip: c %g, RMSProp); "
      "estimates on %d fresh points" % (cfg.steps, cfg.lam, cfg.clip, cfg.n_eval))
head = "%6s %8s %8s %8s | %8s %8s %8s %8s | %9s %8s %8s %8s %8s" % (
    "theta", "KL", "JS", "W1 samp", "W_gp", "+-se", "W_pen", "grad_gp", "W_clip", "K_clip",
    "W_clip/K", "grad_cl", "grad/K")
print(head)
print("-" * len(head))
for r, wp in zip(rows, W_pen):
    theta, kl, js, w1, wg, se, gg, _, wc, _, gc, kc = r
    print("%6.2f %s %8.4f %8.4f | %8.4f %8.4f %8.4f %8.4f | %9.6f %8.5f %8.4f %8.5f %8.4f" % (
        theta, fmt(kl), js, w1, wg, se, wp, gg, wc, kc, wc / max(kc, 1e-12), gc,
        gc / max(kc, 1e-12)))
print("   KL: infinite at every theta != 0, so no gradient at all; JS: the generator's gradient "
      "d JS/d theta = 0 at every theta != 0 (JS is flat)")
err = np.abs(W_gp - np.abs(th))
bias = th ** 2 / (2 * cfg.lam)     # penalised optimum: slope a = 1 + |theta|/(2 lam) beats slope 1
print("max |W_gp - |theta|| = %.4f (at theta = %.2f); expected at most the penalty's bias "
      "max theta^2/(2 lam) = %.4f plus sampling, 2 standard errors <= %.4f: total %.4f"
      % (err.max(), th[err.argmax()], bias.max(), 2 * se_gp.max(), bias.max() + 2 * se_gp.max()))
print("   (the largest standard error is at theta = 0, where the penalty still pushes the slope "
      "to 1 and the critic tilts along Z; elsewhere <= %.4f)"
      % (se_gp[th != 0].max() if (th != 0).any() else 0.0))
print("max |W_gp - (|theta| + theta^2/(2 lam))| = %.4f (the rest: training and sampling error)"
      % np.abs(W_gp - W_pen).max())
print("GP gradient vs sign(theta), theta != 0: max error %.4f (at theta = 0, W has no derivative)"
      % (np.abs(g_gp - np.sign(th))[th != 0].max() if (th != 0).any() else 0.0))
print("clipped critic: W_clip = K |theta| with K = %.5f..%.5f (measured max ||grad f||; the "
      "clipping bound allows %.4f); max |W_clip/K - |theta|| = %.4f"
      % (K_cl[th != 0].min(), K_cl[th != 0].max(), clipping_bound(cfg.widths, cfg.clip),
         np.abs(W_cl / K_cl - np.abs(th)).max()))


# %% [markdown]
# ## 4. The figure

# %%
plt = pyplot()
fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.8))
a.plot(thetas, np.where(thetas == 0, 0, math.log(2)), "k:", lw=1, label="JS closed form")
a.plot(thetas, JS, "-", c="tab:blue", label="JS of histograms")
a.plot(thetas, np.abs(thetas), "k--", lw=1, label="W = |theta|")
a.plot(thetas, W1, "-", c="tab:green", label="W1 of samples (exact)")
a.plot([0], [KL[mid]], "o", c="tab:red", label="KL at theta = 0 (finite)")
top = 1.15
a.plot(thetas[::10][thetas[::10] != 0], np.full((thetas[::10] != 0).sum(), top), "^",
       c="tab:red", label="KL infinite (theta != 0)")
a.set_ylim(-0.05, top + 0.1)
a.set_xlabel("theta")
a.set_ylabel("divergence / distance (nats for KL, JS)")
a.set_title("1. divergences between P_0 and P_theta")
a.legend(fontsize=8, loc="lower left")

b.plot(thetas, np.abs(thetas), "k--", lw=1, label="W = |theta|")
b.plot(thetas, np.abs(thetas) + thetas ** 2 / (2 * cfg.lam), ":", c="tab:orange", lw=1,
       label="penalised optimum |theta| + theta^2/(2 lam)")
b.errorbar(th, W_gp, yerr=se_gp, fmt="o", c="tab:orange", label="GP critic (lam %g)" % cfg.lam)
b.plot(th, W_cl / K_cl, "s", mfc="none", c="tab:purple",
       label="clipped critic / K (K ~ %.4f)" % np.median(K_cl[th != 0] if (th != 0).any()
                                                           else K_cl))
b.set_xlabel("theta")
b.set_ylabel("estimate of W(P_0, P_theta)")
b.set_title("2. trained critics: E f(P_0) - E f(P_theta)")
b.legend(fontsize=8, loc="upper center")

c.plot(thetas, np.sign(thetas), "k--", lw=1, label="dW/dtheta = sign(theta)")
c.plot(thetas, np.zeros_like(thetas), ":", c="tab:blue", label="dJS/dtheta = 0")
c.plot(th, g_gp, "o", c="tab:orange", label="GP critic: -E df/dx(theta, Z)")
c.plot(th, g_cl / K_cl, "s", mfc="none", c="tab:purple", label="clipped critic, / K")
c.set_xlabel("theta")
c.set_ylabel("d(estimate) / d theta")
c.set_title("3. the gradient the generator gets")
c.legend(fontsize=8, loc="upper left")
fig.tight_layout()
lesson.save(fig, "parallel_lines")
