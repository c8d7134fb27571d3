# %% [markdown]
# # 5. The Nash oscillation
#
# Why GAN training oscillates: two players, min_x xy and min_y -xy, by gradient descent.
#
# The example of Weng's "From GAN to WGAN" (2017, Fig. 3; after Salimans et al. 2016, "Improved
# Techniques for Training GANs"). Player 1 moves x to
# minimise f_1 = xy (gradient y), player 2 moves y to minimise f_2 = -xy (gradient -x). The only
# Nash equilibrium is (0, 0). With learning rate eta:
#
#     simultaneous:  x' = x - eta y,  y' = y + eta x
#                    [x'; y'] = [[1, -eta], [eta, 1]] [x; y], a rotation times sqrt(1 + eta^2):
#                    the radius grows by exactly sqrt(1 + eta^2) per step (1.00499 at eta = 0.1),
#                    so the iterates spiral OUTWARD and never converge.
#     alternating:   x' = x - eta y,  y' = y + eta x'   (y sees the new x)
#                    [[1, -eta], [eta, 1 - eta^2]] has determinant 1 and trace 2 - eta^2 < 2:
#                    it keeps x^2 - eta x y + y^2 fixed, so the iterates circle for ever on that
#                    ellipse: bounded, but no convergence either.
#
# Both players step with the library's plain SGD (``tinywgan.core.optim.SGD``,
# p <- p - lr g), the rule the trainers use, on one-element parameter vectors.
#
#     python demos/05_nash_oscillation.py                  # a second
#     TINYWGAN_SMOKE=1 python demos/05_nash_oscillation.py # fewer steps
#
# Writes figures/nash_oscillation.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass

from tinywgan import lesson


@dataclass
class Config:
    eta: float = 0.1          # both players' learning rate (Weng's value)
    x0: float = 1.0           # start (x, y) = (x0, y0)
    y0: float = 1.0           # (see x0)
    steps: int = 300          # about 5 turns: each step turns by atan(eta) = 0.0997 rad
    print_every: int = 20     # rows of the printed table


cfg = lesson.setup(Config, smoke=dict(steps=40, print_every=10), signed=("x0", "y0"))

# %%
import math

import numpy as np
from matplotlib.ticker import ScalarFormatter

from tinywgan.core.optim import SGD
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend


def play(alternating):
    """The two players' trajectory, (steps + 1, 2) float64, from (x0, y0)."""
    x, y = np.array([cfg.x0]), np.array([cfg.y0])          # (1,) parameter vectors
    opt_x, opt_y = SGD(cfg.eta), SGD(cfg.eta)              # one optimizer per player
    path = [(cfg.x0, cfg.y0)]
    for _ in range(cfg.steps):
        # 1. both gradients at the current point: d(xy)/dx = y, d(-xy)/dy = -x
        gx, gy = y.copy(), -x.copy()
        # 2. player 1 steps: x <- x - eta y
        opt_x.step(x, gx)
        # 3. player 2 steps: y <- y + eta x, with the old x (simultaneous) or the new x
        if alternating:
            gy = -x.copy()
        opt_y.step(y, gy)
        path.append((float(x[0]), float(y[0])))
    return np.array(path)


# %% [markdown]
# ## 1. The two games

# %%
sim, alt = play(False), play(True)                          # (T + 1, 2) each
r_sim = np.hypot(sim[:, 0], sim[:, 1])                      # (T + 1,) distance from (0, 0)
r_alt = np.hypot(alt[:, 0], alt[:, 1])
growth = r_sim[1:] / r_sim[:-1]                             # (T,) per-step radius ratio
invariant = alt[:, 0] ** 2 - cfg.eta * alt[:, 0] * alt[:, 1] + alt[:, 1] ** 2   # x^2 - eta xy + y^2
steps = np.arange(cfg.steps + 1)
r_theory = r_sim[0] * (1 + cfg.eta ** 2) ** (steps / 2)     # r_t = r_0 (1 + eta^2)^(t/2)
C = invariant[0]
r_lo, r_hi = math.sqrt(C / (1 + cfg.eta / 2)), math.sqrt(C / (1 - cfg.eta / 2))  # the ellipse's
#                                                 semi-axes: eigenvalues 1 +- eta/2 of its matrix


# %% [markdown]
# ## 2. The table

# %%
print("eta = %g, start (%g, %g), %d steps; sqrt(1 + eta^2) = %.6f"
      % (cfg.eta, cfg.x0, cfg.y0, cfg.steps, math.sqrt(1 + cfg.eta ** 2)))
head = "%5s | %9s %9s %9s %9s | %9s %9s %9s %12s" % (
    "step", "x sim", "y sim", "r sim", "r_t/r_t-1", "x alt", "y alt", "r alt", "x2-eta.xy+y2")
print(head)
print("-" * len(head))
for t in range(0, cfg.steps + 1, cfg.print_every):
    ratio = "%9.6f" % growth[t - 1] if t else "%9s" % "-"      # r_t / r_{t-1}
    print("%5d | %9.4f %9.4f %9.4f %s | %9.4f %9.4f %9.4f %12.9f" % (
        t, sim[t, 0], sim[t, 1], r_sim[t], ratio, alt[t, 0], alt[t, 1], r_alt[t], invariant[t]))
print("simultaneous: radius ratio per step in [%.9f, %.9f] (sqrt(1 + eta^2) = %.9f); "
      "r grew %.3f-fold in %d steps ((1 + eta^2)^(T/2) = %.3f)"
      % (growth.min(), growth.max(), math.sqrt(1 + cfg.eta ** 2), r_sim[-1] / r_sim[0],
         cfg.steps, (1 + cfg.eta ** 2) ** (cfg.steps / 2)))
print("alternating: radius stays in [%.4f, %.4f], the ellipse's semi-axes [%.4f, %.4f]; "
      "x^2 - eta xy + y^2 = %.6f, drift %.2g" % (r_alt.min(), r_alt.max(), r_lo, r_hi, C,
                                                  np.abs(invariant - C).max()))


# %% [markdown]
# ## 3. The figure: trajectories, radius vs step, x and y vs step

# %%
fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.8))
a.plot(sim[:, 0], sim[:, 1], "-", c="tab:red", lw=1, label="simultaneous")
a.plot(alt[:, 0], alt[:, 1], "-", c="tab:blue", lw=1.5, label="alternating (x first)")
a.plot([cfg.x0], [cfg.y0], "ko", label="start (%g, %g)" % (cfg.x0, cfg.y0))
a.plot([0], [0], "k+", ms=12, label="Nash equilibrium (0, 0)")
a.set_aspect("equal")
span = np.ptp(sim, axis=0)                                  # room above the spiral: the legend
a.set_xlim(sim[:, 0].min() - 0.05 * span[0], sim[:, 0].max() + 0.05 * span[0])
a.set_ylim(sim[:, 1].min() - 0.05 * span[1], sim[:, 1].max() + 0.45 * span[1])
a.set_xlabel("x  (player 1: min xy)")
a.set_ylabel("y  (player 2: min -xy)")
a.set_title("trajectories, eta = %g" % cfg.eta)
a.legend(fontsize=8, loc="upper left")

b.plot(steps, r_sim, c="tab:red", label="simultaneous")
b.plot(steps, r_theory, "k--", lw=1, label="r_0 (1 + eta^2)^(t/2)")
b.plot(steps, r_alt, c="tab:blue", label="alternating")
b.axhline(r_lo, c="tab:blue", ls=":", lw=1, label="ellipse semi-axes")
b.axhline(r_hi, c="tab:blue", ls=":", lw=1)
b.set_yscale("log")                                         # exponential growth: a line
b.yaxis.set_major_formatter(ScalarFormatter())
b.yaxis.set_minor_formatter(ScalarFormatter())
b.set_xlabel("step")
b.set_ylabel("radius sqrt(x^2 + y^2)")
b.set_title("radius: x %.5f per step vs bounded" % math.sqrt(1 + cfg.eta ** 2))
b.legend(fontsize=8)

c.plot(steps, sim[:, 0], c="tab:red", label="x, simultaneous")
c.plot(steps, sim[:, 1], c="tab:orange", label="y, simultaneous")
c.plot(steps, alt[:, 0], c="tab:blue", label="x, alternating")
c.plot(steps, alt[:, 1], c="tab:cyan", label="y, alternating")
c.set_xlabel("step")
c.set_ylabel("x, y")
c.set_title("the oscillation grows (Weng's Fig. 3)")
c.legend(fontsize=8, loc="lower left")
fig.tight_layout()
lesson.save(fig, "nash_oscillation")
