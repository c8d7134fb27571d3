# %% [markdown]
# # 14. A gradient-check tour
#
# A tour of the answer key: every hand-derived gradient in tinywgan against finite differences.
#
# The exercise walk-through (CS231n style): each piece is checked alone, then in networks, with
# ``tinywgan.measure.gradcheck`` (float64, centred differences, CS231n's relative error
# max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)). What to expect:
#
# - a correct backward, smooth activation: the fourth-order stencil at h = 1e-3 has truncation
#   error ~h^4 |f^(5)| ~ 1e-12 and round-off ~eps |f| / h ~ 1e-13, so errors of 1e-13..1e-9;
# - pieces that are linear in what is perturbed (a linear layer's dW, db): the difference is exact
#   up to round-off (1e-14..1e-11); an elementwise derivative that is identically 0 (ReLU's s''):
#   exactly 0;
# - the ReLU family: piecewise linear, so the two-point difference at h = 1e-6 is exact *between*
#   kinks and only round-off remains, eps |f| / h ~ 1e-10 relative (1e-10..1e-8 seen). A
#   difference that straddles a kink (|a| < h) measures the average slope of the two sides, not
#   s'(a): nonsense at any h. The checks keep every pre-activation further than h from 0 and
#   report that margin (``kink_margin``);
# - a wrong backward: 1e-3..1, far above the tolerance 1e-6.
#
# Last, ONE deliberately broken backward (``tinywgan.bugzoo``): tanh whose penalty double
# backward drops the s'' path (A_bar = gA_bar * gH * s''(a); ``tinywgan/core/mlp.py``,
# step 4), a classic bug of a from-scratch double backward. Its first-order checks still pass;
# only the second-order checks catch it. (numpy-ml's ``FullyConnected._bwd2``, for one, computes
# the s'' term but adds it to each layer's own bias gradient only, not to its weights or the
# layers below: wrong for a smooth activation, the grader's known mistake "s'' into its own bias
# only"; its WGAN_GP model's critic is ReLU, where s'' = 0 and the term vanishes, so that model
# loses nothing by it.)
#
#     python demos/14_gradcheck_tour.py                  # a few seconds
#     python demos/14_gradcheck_tour.py --activations tanh relu   # two of them
#
# Writes figures/gradcheck_tour.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass, field
from typing import List

from tinywgan import lesson


@dataclass
class Config:
    activations: List[str] = field(default_factory=list)   # those checked (none given: all)
    seed: int = 0                 # of the random inputs and weights
    kink_a: float = 2e-4          # the kink demonstration: ReLU at a, differences with step h
    kink_h: float = 1e-3          # (see kink_a)


cfg = lesson.setup(Config, smoke={}, signed=("kink_a",))   # the smoke run is the run (seconds)

# %%
import numpy as np

from tinywgan import bugzoo
from tinywgan.measure import finitediff, gradcheck
from tinywgan.core.mlp import ACTIVATIONS, get_activation
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend
activations = cfg.activations or sorted(ACTIVATIONS)

TOL = finitediff.TOL                       # 1e-6: float64, away from kinks


sections = []     # (title, what to expect, rows); a row: {"what", "error", "tol", "ok", ...}


def section(title, expect, rows):
    sections.append((title, expect, rows))
    print("\n%s\n   expect: %s" % (title, expect))
    width = max(len(r["what"]) for r in rows)
    for r in rows:
        err = "%10.2e" % r["error"] if r["error"] > 0 else "%10s" % "0 (exact)"
        extra = "   kink margin %.2g" % r["kink_margin"] if "kink_margin" in r else ""
        print("   %-*s %s  %s%s" % (width, r["what"], err, "pass" if r["ok"] else "FAIL", extra))


# %% [markdown]
# ## 1. Layers: the linear map and its double-backward piece

# %%
section("1. linear layer a = x W + b, and the reverse of gH = gA W^T",
        "f is linear in each of x, W, b (and G, W): differences exact up to round-off, "
        "1e-14..1e-10",
        gradcheck.check_linear(cfg.seed) + gradcheck.check_linear_double_backward(cfg.seed))


# %% [markdown]
# ## 2. Each activation: s' against differences of s, s'' against differences of s'

# %%
rows = []
for act in activations:
    rows += gradcheck.check_activation(act, cfg.seed)
section("2. activations: s' vs differences of s, s'' vs differences of s'",
        "smooth: 1e-12..1e-10 (h^4 truncation, round-off); ReLU family: s'' = 0 exactly, and the "
        "points are drawn with |a| > 0.1, away from the kink",
        rows)


# %% [markdown]
# ## 3. Each activation layer: da, and both double-backward pieces of gA = gH * s'(a)

# %%
rows = []
for act in activations:
    rows += gradcheck.check_activation_layer(act, cfg.seed)
section("3. activation layers: da = dh * s'(a); gH_bar = gA_bar * s'(a); "
        "A_bar = gA_bar * gH * s''(a)",
        "1e-13..1e-9; A_bar is exactly 0 for the ReLU family (s'' = 0)", rows)


# %% [markdown]
# ## 4. Whole networks: MLP backward (params and dx) and the input gradient

# %%
rows = []
for act in activations:
    rows += gradcheck.check_mlp_backward(act, seed=cfg.seed)
    rows.append(gradcheck.check_input_gradient(act, seed=cfg.seed))
section("4. MLP (2-6-5-1): backward (dparams, dx) and input gradient grad_x f",
        "smooth: 1e-12..1e-9; ReLU family (two-point, h = 1e-6, margin from the kinks > h): "
        "round-off eps |f| / h, 1e-10..1e-8", rows)


# %% [markdown]
# ## 5. The gradient penalty's double backward, and the generator through a critic

# %%
rows = [gradcheck.check_penalty(act, seed=cfg.seed) for act in activations]
rows.append(gradcheck.check_penalty("tanh", one_sided=True, seed=cfg.seed))
section("5. gradient penalty R = lam mean (||grad_x f|| - 1)^2: dR/dparams (double backward)",
        "smooth: 1e-11..1e-9 (a function of a gradient: one more derivative, a bit more "
        "round-off); ReLU family: 1e-10..1e-8", rows)
rows = [gradcheck.check_critic_step(method, "tanh", seed=cfg.seed)
        for method in ("wgan-gp", "wgan-sn", "gan")]
rows += [gradcheck.check_generator_step(loss, "tanh", seed=cfg.seed)
         for loss in ("wasserstein", "nonsaturating")]
section("6. the steps that train (tinywgan.core.steps): the critic's whole loss, and the generator "
        "through a fixed critic", "1e-11..1e-8", rows)


# %% [markdown]
# ## 7. Why ReLU checks stay away from kinks: a difference that straddles one

# %%
a = np.array([cfg.kink_a])                                         # (1,), |a| < h: straddled
relu = get_activation("relu")
num = finitediff.numerical_gradient(lambda: relu.f(a).sum(), a, h=cfg.kink_h)   # 4th-order stencil
kink = {"what": "relu s'(a) at a = %g, h = %g (straddles the kink)" % (cfg.kink_a, cfg.kink_h),
        "error": finitediff.rel_error(relu.df(a), num), "tol": TOL, "kink": True}
kink["ok"] = kink["error"] < TOL
section("7. a check that straddles a kink (the check is wrong, not the backward)",
        "s'(a) = %g, but the stencil averages slopes 0 and 1 across the kink: %.4f; this is why "
        "the network checks keep |pre-activation| > h" % (relu.df(a)[0], num[0]), [kink])


# %% [markdown]
# ## 8. ONE deliberately broken backward: tanh's penalty without the s'' path (tinywgan.bugzoo)

# %%
broken = bugzoo.dropped_second_order("tanh")
rows = gradcheck.check_mlp_backward(broken, seed=cfg.seed)[:1] + \
    gradcheck.check_activation_layer(broken, cfg.seed)[2:] + \
    [gradcheck.check_penalty(broken, seed=cfg.seed)]
for r in rows:
    r["broken"] = True
    r.pop("kink_margin", None)      # reported because it claims second_order = False; no kinks
section("8. BROKEN: tanh with the penalty's s'' path dropped",
        "first-order backward still right (passes); the second-order pieces are wrong, far "
        "above %g: 1.0 means some coordinate's true gradient comes only through s'' and the "
        "backward returns 0 for it (the hidden biases: they reach grad_x f only through "
        "s'(a))" % TOL, rows)


# %% [markdown]
# ## 9. Summary and figure: every error on a log scale, the tolerance line, the broken ones in red

# %%
all_rows = [r for _, _, rows in sections for r in rows]
good = [r for r in all_rows if not r.get("broken") and not r.get("kink")]
print("\n%d of %d checks of correct backwards pass (largest error %.2e, tolerance %g); "
      "broken backward: %d of %d checks fail; the straddled kink: error %.3f"
      % (sum(r["ok"] for r in good), len(good), max(r["error"] for r in good), TOL,
         sum(not r["ok"] for r in all_rows if r.get("broken")),
         sum(1 for r in all_rows if r.get("broken")), kink["error"]))

floor = 1e-17                                  # where an exact 0 is drawn on the log axis
errs = np.array([max(r["error"], floor) for r in all_rows])
colors = ["tab:red" if r.get("broken") else "tab:orange" if r.get("kink") else
          "tab:blue" if r["ok"] else "black" for r in all_rows]
y = np.arange(len(all_rows))[::-1]
fig, ax = plt.subplots(figsize=(11, 0.17 * len(all_rows) + 1.6))
ax.barh(y, errs, left=floor, color=colors, height=0.7)         # bars start at the floor
for yi, r in zip(y, all_rows):
    if r["error"] == 0:
        ax.text(floor * 3, yi, "0 (exact)", fontsize=6, va="center")
ax.axvline(TOL, c="k", ls="--", lw=1)
ax.text(TOL * 1.5, y.max() + 0.2, "tolerance %g" % TOL, fontsize=8, va="bottom")
ax.set_xscale("log")
ax.set_xlim(floor, 10)
ax.set_yticks(y)
ax.set_yticklabels([r["what"] for r in all_rows], fontsize=7)
ax.set_ylim(-1, len(all_rows) + 0.5)
ax.set_xlabel("relative error, max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)  (exact 0 drawn at "
              "%g)" % floor)
ax.set_title("gradient checks, float64: correct backwards (blue), the broken one (red), "
             "a check across a kink (orange)", fontsize=10)
fig.tight_layout()
lesson.save(fig, "gradcheck_tour")
