# %% [markdown]
# # 1. The earth mover's distance, by hand
#
# Earth mover's distance by hand: four piles of dirt (the example of Weng's "From GAN to WGAN",
# 2017, and of Berkeley's EECS 182 WGAN homework, Fall 2022).
#
# P = (3, 2, 1, 4) and Q = (1, 2, 4, 3) on unit-spaced positions 0, 1, 2, 3. Walk left to right
# and carry the surplus: delta_i is what crosses the gap between pile i-1 and pile i,
#
#     delta_0 = 0,   delta_{i+1} = delta_i + P_i - Q_i,   W = sum_i |delta_i| = 2 + 2 + 1 + 0 = 5
#
# (delta > 0: carried right, delta < 0: carried left; every unit moves distance 1 per gap). delta
# is the difference of the two cumulative sums, so W is the area between the two CDFs: the 1-D
# Wasserstein-1 formula W1 = int |F_P - F_Q| dt, times the total mass (10 here).
#
# 1. the recursion, step by step;
# 2. the same W from ``metrics.emd_discrete`` and from ``metrics.w1_1d`` with the piles read as
#    samples (pile i of height P_i = P_i samples at position i): W = total mass * W1;
# 3. the same identity on random piles;
# 4. the figure: the piles and the moves (arrows with amounts), and the two CDFs with the area
#    between them.
#
#     python demos/01_emd_by_hand.py                  # a second
#     TINYWGAN_SMOKE=1 python demos/01_emd_by_hand.py # fewer random piles
#
# Writes figures/emd_by_hand.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass
from typing import Tuple

from tinywgan import lesson


@dataclass
class Config:
    P: Tuple[int, ...] = (3, 2, 1, 4)     # Weng's piles (where the dirt is)
    Q: Tuple[int, ...] = (1, 2, 4, 3)     # where it must go (the same total)
    n_random: int = 1000                  # step 3: random pile pairs checked
    max_piles: int = 12                   # ... with up to this many piles
    max_height: int = 9                   # ... each at most this high
    seed: int = 0                         # of the random piles


cfg = lesson.setup(Config, smoke=dict(n_random=20))

# %%
import numpy as np

from tinywgan.measure import metrics
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend

P, Q = np.array(cfg.P, dtype=float), np.array(cfg.Q, dtype=float)     # (n,) each
n, mass = P.size, P.sum()


# %% [markdown]
# ## 1. The recursion delta_{i+1} = delta_i + P_i - Q_i, by hand

# %%
print("1. the recursion (piles at positions 0..%d, total mass %g)" % (n - 1, mass))
print("   delta_0 = 0")
delta, deltas = 0.0, []
for i in range(n):
    new = delta + P[i] - Q[i]                         # surplus carried past pile i
    print("   delta_%d = delta_%d + P_%d - Q_%d = %g + %g - %g = %g"
          % (i + 1, i, i, i, delta, P[i], Q[i], new))
    delta = new
    deltas.append(delta)
W_hand = float(np.sum(np.abs(deltas)))                # W = sum |delta_i|
print("   W = sum |delta_i| = %s = %g" % (" + ".join("%g" % abs(d) for d in deltas), W_hand))


# %% [markdown]
# ## 2. The library's discrete EMD and its 1-D W1 of the piles read as samples

# %%
W_lib, deltas_lib = metrics.emd_discrete(P, Q)
pos = np.arange(n)
xs_P, xs_Q = np.repeat(pos, cfg.P), np.repeat(pos, cfg.Q)            # (10,) each: one per unit
W1 = metrics.w1_1d(xs_P, xs_Q)                        # mean gap of the sorted samples
print("2. metrics.emd_discrete: W = %g, deltas = %s" % (W_lib, deltas_lib))
print("   piles as samples: P -> %s, Q -> %s" % (xs_P.tolist(), xs_Q.tolist()))
print("   metrics.w1_1d = %g per unit of dirt; times the mass %g = %g"
      % (W1, mass, W1 * mass))
assert W_hand == W_lib and deltas == deltas_lib and abs(W1 * mass - W_lib) < 1e-12


# %% [markdown]
# ## 3. The same identity, W = mass * W1, on random piles of equal mass

# %%
g = np.random.default_rng(cfg.seed)
worst = 0.0
for _ in range(cfg.n_random):
    k = int(g.integers(1, cfg.max_piles + 1))
    p = g.integers(0, cfg.max_height + 1, size=k)
    p[0] += p.sum() == 0                              # at least one unit of dirt
    q = g.multinomial(p.sum(), np.ones(k) / k)        # same mass, spread at random
    W, _ = metrics.emd_discrete(p, q)
    worst = max(worst, abs(W - p.sum() * metrics.w1_1d(np.repeat(np.arange(k), p),
                                                       np.repeat(np.arange(k), q))))
print("3. %d random pile pairs (up to %d piles): max |emd_discrete - mass * w1_1d| = %.3g"
      % (cfg.n_random, cfg.max_piles, worst))


# %% [markdown]
# ## 4. The figure: piles and moves; CDFs and the area between them

# %%
moves = [(i, d) for i, d in enumerate(deltas[:-1]) if d != 0]         # gap i -> i+1 carries d
print("4. moves: " + "; ".join("%g unit%s from pile %d to pile %d" % (
    abs(d), "" if abs(d) == 1 else "s", i if d > 0 else i + 1, i + 1 if d > 0 else i)
    for i, d in moves) + "; cost = sum of amounts x distance 1 = %g" % W_hand)
fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
w = 0.38
a.bar(pos - w / 2, P, w, color="tab:blue", label="P (from)")
a.bar(pos + w / 2, Q, w, color="tab:orange", label="Q (to)")
for i, h in enumerate(P):
    a.text(i - w / 2, h + 0.08, "%g" % h, ha="center", fontsize=9)
for i, h in enumerate(Q):
    a.text(i + w / 2, h + 0.08, "%g" % h, ha="center", fontsize=9)
top = max(P.max(), Q.max()) + 1.2
for i, d in moves:                                    # an arrow across gap i -> i+1
    src, dst = (i, i + 1) if d > 0 else (i + 1, i)
    a.annotate("", xy=(dst, top), xytext=(src, top),
               arrowprops=dict(arrowstyle="->", lw=1.5 + abs(d), color="tab:red"))
    a.text(i + 0.5, top + 0.2, "%g" % abs(d), ha="center", color="tab:red", fontsize=12)
a.set_ylim(0, top + 1.6)
a.set_xticks(pos)
a.set_xlabel("position")
a.set_ylabel("dirt")
a.set_title("moves (red): W = %s = %g" % (" + ".join("%g" % abs(d) for _, d in moves), W_hand))
a.legend(loc="upper center", ncol=2, fontsize=9)

t = np.arange(-1, n + 1)                              # F(t) on [t_k, t_k+1): cumsum to k
F_P = np.concatenate([[0], np.cumsum(P), [mass]])     # (n + 2,)
F_Q = np.concatenate([[0], np.cumsum(Q), [mass]])     # F_P - F_Q = delta_{i+1} on [i, i + 1)
b.step(t, F_P, where="post", color="tab:blue", label="cumsum P")
b.step(t, F_Q, where="post", color="tab:orange", label="cumsum Q")
b.fill_between(t, F_P, F_Q, step="post", color="tab:red", alpha=0.25,
               label="area between = sum |delta| = %g" % W_hand)
for i, d in enumerate(deltas):
    b.text(i + 0.5, max(F_P[i + 1], F_Q[i + 1]) + 0.3, "delta_%d = %g" % (i + 1, d),
           ha="center", fontsize=8)
b.set_xticks(pos)
b.set_xlim(-0.6, n)
b.set_ylim(-0.5, mass + 1)
b.set_xlabel("position")
b.set_ylabel("cumulative dirt")
b.set_title("W = int |F_P - F_Q| = mass x W1 = %g x %g" % (mass, W1))
b.legend(loc="upper left", fontsize=9)
fig.tight_layout()
lesson.save(fig, "emd_by_hand")
