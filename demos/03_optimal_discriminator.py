# %% [markdown]
# # 3. The optimal discriminator
#
# D*(x) = p_r(x) / (p_r(x) + p_g(x)), found by training.
#
# Fix the generator: p_g = N(mu_g, s_g^2), against the real data p_r = the library's 1-D mixture
# 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2) (``data.mixture_1d``). A discriminator D = sigmoid(logit)
# maximises V(D) = E_r log D(x) + E_g log(1 - D(x)); pointwise, p_r log D + p_g log(1 - D) is
# largest at D* = p_r / (p_r + p_g) (Goodfellow et al. 2014, Prop. 1; derived in Guerzhoy's WGAN
# lecture notes, 2022), and
#
#     V(D*) = 2 JSD(p_r, p_g) - 2 log 2.
#
# Sign convention: the library's ``steps.gan_discriminator_loss`` is the loss D *descends*,
#
#     L_disc = -E_r log D(x) - E_g log(1 - D(x)) = -V(D),
#
# so a converged discriminator's loss is L_disc(D*) = 2 log 2 - 2 JSD (>= 0; 2 log 2 = 1.386 when
# p_g = p_r, 0 when the supports are disjoint), and no D does better: L_disc(D) >= L_disc(D*).
#
# 1. train a small MLP (``tinywgan.MLP``, tanh) on fresh samples each step with that loss and
#    Adam (``tinywgan.core.optim``), the learning rate decayed linearly to 0;
# 2. compare D(x) with D*(x) on a grid: max |D - D*| over the bulk (where (p_r + p_g)/2 is at
#    least ``bulk`` of its peak; far out, both densities vanish and D is unconstrained);
# 3. compare the loss: JSD by ``metrics.js_divergence`` of the two densities on a fine grid
#    (the histogram of a density on a grid is a Riemann sum of its integral), L_disc(D*) by
#    quadrature, and L_disc of D and of D* on the same fresh samples (Monte Carlo).
#
#     python demos/03_optimal_discriminator.py                  # about 10 s on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/03_optimal_discriminator.py # seconds (not converged)
#
# Writes figures/optimal_discriminator.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass
from typing import Tuple

from tinywgan import lesson


@dataclass
class Config:
    mu_g: float = 0.0             # the fixed generator: N(mu_g, s_g^2)
    s_g: float = 1.5              # (see mu_g)
    widths: Tuple[int, ...] = (1, 64, 64, 1)    # the discriminator's layer widths
    activation: str = "tanh"      # the discriminator's activation
    steps: int = 8000             # discriminator steps
    batch: int = 512              # real and fake points per step
    lr: float = 3e-3              # Adam, decayed linearly to 0
    betas: Tuple[float, float] = (0.9, 0.999)   # Adam's betas
    log_every: int = 500          # rows of the printed loss table
    lim: float = 6.0              # plot / bulk grid [-lim, lim]
    bulk: float = 0.01            # bulk: (p_r + p_g)/2 >= bulk * its peak
    n_eval: int = 200_000         # fresh points per distribution for the Monte Carlo loss
    seed: int = 0                 # of the weights and every draw


cfg = lesson.setup(Config, smoke=dict(widths=(1, 16, 1), steps=60, batch=128, log_every=20,
                                      n_eval=5000))

# %%
import math

import numpy as np

from tinywgan import MLP, get_activation
from tinywgan.measure import metrics
from tinywgan.backend import rng
from tinywgan.measure.data import mixture_1d, mixture_1d_pdf
from tinywgan.core.steps import gan_discriminator_loss
from tinywgan.measure.critic import fit_critic
from tinywgan.core.optim import Adam
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend

sigmoid = get_activation("sigmoid").f    # D = sigmoid(logit), the library's s(a)
trapezoid = getattr(np, "trapezoid", None) or np.trapz      # NumPy 2 renamed trapz


def p_r(x):
    """Real density: the library's exact mixture density. x: any shape -> float64."""
    return mixture_1d_pdf(x)


def p_g(x):
    """Generator density N(mu_g, s_g^2)."""
    return np.exp(-0.5 * ((x - cfg.mu_g) / cfg.s_g) ** 2) / (cfg.s_g * math.sqrt(2 * math.pi))


def logit_star(x):
    """The optimal logit, log p_r - log p_g (D* = sigmoid of it). x: (n, 1) -> (n, 1) float64."""
    x = x.astype(np.float64)
    return np.log(p_r(x)) - np.log(p_g(x))


def sample_g(n, rng):
    """n points of p_g: (n, 1) float32."""
    return (cfg.mu_g + cfg.s_g * rng.standard_normal((n, 1), dtype=np.float32)).astype(np.float32)


# %% [markdown]
# ## 1. Train D to separate p_r (label 1) from p_g (label 0), with the library's critic step

# %%
D = MLP(cfg.widths, cfg.activation, init="glorot", seed=cfg.seed)
losses = []
print("1. training D (%s, %s) for %d steps, batch %d + %d, Adam lr %g -> 0"
      % ("-".join(map(str, cfg.widths)), cfg.activation, cfg.steps, cfg.batch, cfg.batch, cfg.lr))
fit_critic(D, Adam(cfg.lr, betas=cfg.betas),
           lambda rng: (mixture_1d(cfg.batch, rng), sample_g(cfg.batch, rng)),   # (B, 1) each
           cfg.steps, method="gan", seed=cfg.seed, lr_decay=True,     # -E log D(r) - E log(1-D(g))
           on_step=lambda t, out: losses.append(float(out["critic_loss"])))
losses = np.array(losses)


# %% [markdown]
# ## 2. D against D* on a grid

# %%
x = np.linspace(-cfg.lim, cfg.lim, 1201)                            # (G,)
pr, pg = p_r(x), p_g(x)                                             # (G,) float64
D_star = pr / (pr + pg)                                             # the optimum, pointwise
D_x = sigmoid(D(x[:, None].astype(np.float32))[:, 0].astype(np.float64))   # (G,)
m = (pr + pg) / 2
bulk = m >= cfg.bulk * m.max()
gap = np.abs(D_x - D_star)
print("2. D(x) against D*(x) = p_r / (p_r + p_g) on %d grid points in [%g, %g]"
      % (x.size, -cfg.lim, cfg.lim))
print("%8s %10s %10s %10s %10s %8s" % ("x", "p_r", "p_g", "D*", "D", "|D-D*|"))
for i in range(0, x.size, 100):                                    # every 1.0 in x
    print("%8.2f %10.5f %10.5f %10.5f %10.5f %8.5f" % (x[i], pr[i], pg[i], D_star[i], D_x[i],
                                                      gap[i]))
print("   bulk = [%.2f, %.2f] ((p_r + p_g)/2 >= %g of its peak): max |D - D*| = %.4f at x = %.2f;"
      " mean over (p_r + p_g)/2 = %.4f" % (x[bulk].min(), x[bulk].max(), cfg.bulk,
                                            gap[bulk].max(), x[bulk][gap[bulk].argmax()],
                                            trapezoid(gap * m, x)))


# %% [markdown]
# ## 3. The loss: JSD from the library's histogram JS, L_disc(D*) by quadrature and by Monte Carlo

# %%
xq = np.linspace(-12, 12, 48001)                                    # fine grid, both tails
hr, hg = p_r(xq), p_g(xq)                                           # densities ~ histograms
JSD = metrics.js_divergence(hr, hg)                                 # normalised inside
Ds = hr / (hr + hg)
L_star_quad = -trapezoid(hr * np.log(np.maximum(Ds, 1e-300))    # -int p_r log D*
                            + hg * np.log(np.maximum(1 - Ds, 1e-300)), xq)   # -int p_g log(1-D*)
ev = rng(np, cfg.seed, "eval")
xr, xf = mixture_1d(cfg.n_eval, ev), sample_g(cfg.n_eval, ev)       # (n, 1) fresh points
L_D = float(gan_discriminator_loss(D(xr).astype(np.float64), D(xf).astype(np.float64))[0])
L_Dstar_mc = float(gan_discriminator_loss(logit_star(xr), logit_star(xf))[0])  # D* = sigmoid(.)
# standard error of the Monte Carlo L_disc(D*): per-point terms softplus(-l) (real), softplus(l)
se = math.sqrt(np.logaddexp(0, -logit_star(xr)).var() / cfg.n_eval
               + np.logaddexp(0, logit_star(xf)).var() / cfg.n_eval)
print("3. the loss (L_disc = -E_r log D - E_g log(1 - D), the library's; V = -L_disc)")
print("   JSD(p_r, p_g) = %.5f (metrics.js_divergence on %d grid points)" % (JSD, xq.size))
print("   2 log 2 - 2 JSD                        = %.5f   (= L_disc(D*); V(D*) = 2 JSD - 2 log 2 "
      "= %.5f)" % (2 * math.log(2) - 2 * JSD, 2 * JSD - 2 * math.log(2)))
print("   L_disc(D*) by quadrature               = %.5f" % L_star_quad)
print("   L_disc(D*) on %d fresh points each = %.5f +- %.5f (standard error; the sampling "
      "noise is shared by the next line)" % (cfg.n_eval, L_Dstar_mc, se))
print("   L_disc(D)  on the same points          = %.5f   (excess over D*: %.5f, >= 0 expected)"
      % (L_D, L_D - L_Dstar_mc))
print("   training loss, mean of the last %d steps = %.5f"
      % (min(200, cfg.steps), losses[-200:].mean()))

# the printed training curve (the figure's right panel)
print("   %6s %12s" % ("step", "batch loss"))
for k in range(0, cfg.steps, cfg.log_every):
    print("   %6d %12.5f" % (k, losses[k]))


# %% [markdown]
# ## 4. The figure

# %%
fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.8))
a.fill_between(x, 0, pr / pr.max(), color="tab:orange", alpha=0.15, label="p_r (scaled)")
a.fill_between(x, 0, pg / pr.max(), color="tab:green", alpha=0.15, label="p_g (same scale)")
a.plot(x, D_star, "k--", lw=2, label="D* = p_r / (p_r + p_g)")
a.plot(x, D_x, c="tab:blue", lw=1.5, label="trained D = sigmoid(logit)")
a.axvspan(-cfg.lim, x[bulk].min(), color="gray", alpha=0.1)
a.axvspan(x[bulk].max(), cfg.lim, color="gray", alpha=0.1, label="outside the bulk")
a.set_xlim(-cfg.lim, cfg.lim)
a.set_ylim(-0.05, 1.4)
a.set_xlabel("x")
a.set_ylabel("D(x); densities scaled to p_r's peak")
a.set_title("max |D - D*| over the bulk = %.3f" % gap[bulk].max())
a.legend(fontsize=8, loc="upper center", ncol=2)

w = max(1, cfg.steps // 60)                                          # running mean window
smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
b.plot(np.arange(cfg.steps), losses, c="tab:blue", alpha=0.3, lw=0.8, label="batch loss")
b.plot(np.arange(w - 1, cfg.steps), smooth, c="tab:blue", label="running mean (%d)" % w)
b.axhline(2 * math.log(2) - 2 * JSD, c="k", ls="--",
          label="2 log 2 - 2 JSD = %.4f (loss of D*)" % (2 * math.log(2) - 2 * JSD))
b.axhline(2 * math.log(2), c="gray", ls=":", label="2 log 2 (D = 1/2 everywhere)")
b.set_xlabel("step")
b.set_ylabel("L_disc = -E log D(r) - E log(1 - D(g))")
b.set_title("discriminator loss -> 2 log 2 - 2 JSD")
b.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.88))  # under the 2 log 2 line
fig.tight_layout()
lesson.save(fig, "optimal_discriminator")
