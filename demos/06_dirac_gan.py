# %% [markdown]
# # 6. Which regulariser converges: the Dirac-GAN
#
# After Mescheder, Geiger and Nowozin (2018, "Which Training Methods for GANs do actually
# Converge?").
#
# The smallest GAN there is, built from the library's own networks and step functions:
#
#     real data    a point mass at 0                          x_real = 0
#     generator    a point mass at theta: G(z) = z theta      MLP([1, 1], bias=False), z = 1
#     critic       f(x) = psi x                               MLP([1, 1], bias=False)
#
# Its only equilibrium is (theta, psi) = (0, 0): the generator on the data, the critic flat. Both
# players descend their own loss (``steps.critic_grads``, ``steps.generator_grads``, the functions
# the Trainer calls) with plain gradient descent, learning rate h (``optim.SGD``); at (0, 0) both
# gradients are 0. Will they get there?
#
# **The gradient field.** v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi), with the library's losses
# (f(0) = 0, f(theta) = psi theta; s the sigmoid):
#
#     GAN              L_D = log 2 + softplus(psi theta)      -dL_D/dpsi   = -theta s(psi theta)
#       minimax        L_G = -softplus(psi theta)             -dL_G/dtheta =  psi s(psi theta)
#       non-saturating L_G = softplus(-psi theta)             -dL_G/dtheta =  psi s(-psi theta)
#     RpGAN            L_D = softplus(f(x_fake) - f(x_real)) = softplus(psi theta)
#                      L_G = softplus(f(x_real) - f(x_fake)) = softplus(-psi theta)
#                      (Huang et al. 2024; one real row paired with one fake: the same field as
#                      the non-saturating GAN, whose L_D differs only by the constant log 2)
#     WGAN             L_D = psi theta,  L_G = -psi theta     v = (psi, -theta)
#     WGAN-GP          L_D = psi theta + lam (|psi| - 1)^2    -dL_D/dpsi   = -theta
#                                                                  - 2 lam (|psi| - 1) sign psi
#     + R1 (gamma)     L_D += (gamma/2) psi^2        (grad_x f = psi everywhere; R2 is the same here)
#     + R1 + R2        L_D += (gamma/2)(psi^2 + psi^2) = gamma psi^2   (RpGAN's R3GAN: r1 = r2)
#     instance noise   x_real = sigma e, x_fake = theta + sigma e', e, e' ~ N(0, 1)
#
# **Its Jacobian at (0, 0).** Near the equilibrium every method but WGAN-GP is
#
#     v ~ (a psi, -a theta - g psi),   J = [[0, a], [-a, -g]],   lambda = (-g +- sqrt(g^2 - 4 a^2))/2
#
# with a = s(0) = 1/2 for the GAN (either generator loss) and RpGAN, a = 1 for the WGAN, and g = 0
# for all three: lambda = +-i/2 and +-i, real part 0. R1 adds g = gamma: lambda = -gamma/2 +-
# sqrt(gamma^2/4 - 1/4); R1 + R2 at one gamma add g = 2 gamma (d(gamma psi^2)/dpsi = 2 gamma psi):
# lambda = -gamma +- sqrt(gamma^2 - 1/4), a double rate of decay, complex while gamma < 1/2.
# Instance noise, to first order in (theta, psi) (s(u) ~ 1/2 + u/4, E e = 0, E e^2 = 1):
# dL_D/dpsi ~ theta/2 + (sigma^2/2) psi, so g = sigma^2/2:
# lambda = -sigma^2/4 +- sqrt(sigma^4/16 - 1/4). (The paper's forms, with its f'(0) = 1/2 and
# f''(0) = -1/4: +-i f'(0); f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2);
# -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2).) The clipped WGAN's clip |psi| <= 1
# (exactly the 1-Lipschitz critics psi x) is inactive near (0, 0): its Jacobian is the WGAN's.
# WGAN-GP has none: its field jumps by 4 lam across psi = 0 (|psi| has no derivative there, and the
# penalty pushes |psi| towards 1, away from the equilibrium). Worse, every (theta, 0) with
# |theta| <= 2 lam is a rest point: there the critic's subgradient theta + 2 lam (|psi| - 1) sign psi
# contains 0 (sign 0 in [-1, 1]) and the generator, fed psi = 0, stops. From (1, 1) both WGAN-GP
# runs come to rest at (2 lam, 0): the critic flat, the generator 2 lam away from the data (the
# panels' grey bar is that set). A Jacobian at (0, 0) cannot show this; the runs do.
#
# **The update's Jacobian**, one iteration x -> F(x), in (theta, psi):
#
#     simultaneous (both gradients at x):          F' = I + h J,  mu = 1 + h lambda,
#                                                  |mu|^2 = 1 + 2 h Re(lambda) + h^2 |lambda|^2
#     alternating (critic step, then generator):   F' = [[1 - h^2 a^2, h a (1 - h g)],
#                                                        [-h a,        1 - h g     ]],
#                                                  det = 1 - h g, trace = 2 - h g - h^2 a^2
#
# With Re(lambda) = 0 (g = 0) simultaneous steps spiral OUT (|mu| = sqrt(1 + h^2 a^2) > 1) and
# alternating ones circle for ever (det = 1: |mu| = 1); with g > 0 both contract for small h. The
# spectral radius max |mu| is the rate: the distance to (0, 0) shrinks (or grows) by it per step,
# near (0, 0) only. Farther out the field is not linear (s(psi theta) saturates, the clip holds
# |psi| <= 1), and the runs from (1, 1) show what it does there: the verdicts of step 2 (the
# non-saturating GAN spirals in to a cycle, the clipped WGAN is held at distance 1 by its clip;
# only the minimax GAN moves away).
#
# The library computes both Jacobians from its hand-derived gradients (central differences of the
# gradient field and of the update map, ``delta``), checks the gradients against differences of
# the losses themselves, and prints them beside the closed forms above.
#
#     python demos/06_dirac_gan.py                   # about 10 s on a 2-core CPU
#     TINYWGAN_SMOKE=1 python demos/06_dirac_gan.py  # seconds
#
# Writes figures/dirac_gan.png under the working folder and prints the numbers it plots.

# %%
from dataclasses import dataclass

from tinywgan import lesson


@dataclass
class Config:
    h: float = 0.1             # both players' learning rate (plain gradient descent)
    theta0: float = 1.0        # the start (theta, psi) = (theta0, psi0)
    psi0: float = 1.0          # (see theta0)
    iters: int = 3000          # training iterations per run
    lam: float = 1.0           # WGAN-GP: lam (|psi| - 1)^2
    clip: float = 1.0          # clipped WGAN: |psi| <= 1, the 1-Lipschitz critics psi x
    gamma: float = 0.3         # R1: (gamma/2) psi^2
    sigma: float = 1.0         # instance noise's std
    noise_points: int = 64     # the noise's expectation, over this many quantiles of N(0, 1)
    delta: float = 1e-4        # the Jacobians' difference step
    tol: float = 1e-2          # converged: within this distance of (0, 0) to the end
    grid: int = 15             # arrows per axis of the vector field
    lim: float = 2.5           # the panels show [-lim, lim]^2


cfg = lesson.setup(Config, smoke=dict(iters=80, grid=7),    # 1x1 matrices: one BLAS thread
                    signed=("theta0", "psi0"))

# %%
import statistics

import numpy as np

from tinywgan import MLP
from tinywgan.core import steps
from tinywgan.core.optim import SGD
from tinywgan.measure.plot import pyplot

plt = pyplot()                   # matplotlib, file-only backend


@dataclass
class Method:
    label: str
    method: str                # steps.METHODS
    gan_loss: str = "nonsaturating"
    n_critic: int = 1
    r1: float = 0.0            # R1's gamma
    r2: float = 0.0            # R2's gamma
    sigma: float = 0.0         # instance noise's std
    colour: str = "k"

    def closed_form(self):
        """(a, g) of J = [[0, a], [-a, -g]] at (0, 0) (module docstring); None for WGAN-GP."""
        if self.method == "wgan-gp":
            return None
        a = 1.0 if self.method == "wgan" else 0.5
        return a, self.r1 + self.r2 + self.sigma ** 2 / 2


LAB = [Method("GAN (minimax)", "gan", "minimax", colour="tab:red"),
       Method("GAN (non-saturating)", "gan", colour="tab:orange"),
       Method("WGAN, clipped |psi| <= %g" % cfg.clip, "wgan", colour="tab:purple"),
       Method("WGAN-GP, 1 critic step", "wgan-gp", colour="tab:brown"),
       Method("WGAN-GP, 5 critic steps", "wgan-gp", n_critic=5, colour="tab:pink"),
       Method("GAN + R1 (gamma %g)" % cfg.gamma, "gan", r1=cfg.gamma, colour="tab:green"),
       Method("GAN + instance noise (sigma %g)" % cfg.sigma, "gan", sigma=cfg.sigma,
              colour="tab:blue"),
       Method("RpGAN", "rpgan", colour="tab:gray"),
       Method("RpGAN + R1 + R2 (gamma %g)" % cfg.gamma, "rpgan", r1=cfg.gamma, r2=cfg.gamma,
              colour="tab:olive")]

# instance noise: fixed quantiles of N(0, 1), standardised to mean 0 and variance 1 exactly, so
# that every step sees the noise's expectation (the paper's field), not one random draw
_q = np.array([statistics.NormalDist().inv_cdf((k + 0.5) / cfg.noise_points)
               for k in range(cfg.noise_points)])
NOISE = ((_q - _q.mean()) / _q.std())[:, None]                           # (K, 1)


# %% [markdown]
# ## The game, on the library's networks and steps

# %%

class Dirac:
    """G(z) = z theta and f(x) = psi x as the library's MLPs; the two players' gradients from
    the library's step functions."""

    def __init__(self, m):
        self.m = m
        self.G = MLP([1, 1], bias=False, dtype="float64")            # theta = G.W[0][0, 0]
        self.D = MLP([1, 1], bias=False, dtype="float64")            # psi = D.W[0][0, 0]
        self.noise = m.sigma * NOISE if m.sigma else None             # (K, 1) or None
        n = 1 if self.noise is None else len(NOISE)
        self.z = np.ones((n, 1))                                   # the latent: a point mass at 1
        self.x_real = np.zeros((n, 1)) if self.noise is None else self.noise   # 0 (+ noise)
        self.eps = np.full((n, 1), 0.5)       # WGAN-GP's interpolates (f is linear: any eps)

    def put(self, theta, psi):
        self.G.W[0][0, 0], self.D.W[0][0, 0] = theta, psi

    def point(self):
        return np.array([self.G.params[0], self.D.params[0]])

    def critic(self):
        """steps.critic_grads at the current point: (L_D, dL_D/dpsi)."""
        x_fake = steps.generate(self.G, self.z)                                   # (n, 1)
        if self.noise is not None:
            x_fake = x_fake + self.noise
        out = steps.critic_grads(self.D, self.x_real, x_fake, self.eps, self.m.method, cfg.lam,
                                 self.m.r1, self.m.r2)
        return float(out["critic_loss"]), float(self.D.grads[0])

    def generator(self):
        """steps.generator_grads at the current point: (L_G, dL_G/dtheta)."""
        out = steps.generator_grads(self.G, self.D, self.z, self.m.method, self.m.gan_loss,
                                    self.noise, self.x_real)       # x_real: RpGAN's pairs
        return float(out["gen_loss"]), float(self.G.grads[0])

    def field(self, theta, psi):
        """v = (-dL_G/dtheta, -dL_D/dpsi) at (theta, psi), from the hand-derived gradients."""
        self.put(theta, psi)
        return np.array([-self.generator()[1], -self.critic()[1]])

    def losses(self, theta, psi):
        """(L_G, L_D) at (theta, psi)."""
        self.put(theta, psi)
        return self.generator()[0], self.critic()[0]

    def loss_gradients(self, theta, psi, d=1e-5):
        """(dL_G/dtheta, dL_D/dpsi) by central differences of the losses alone."""
        return np.array([self.losses(theta + d, psi)[0] - self.losses(theta - d, psi)[0],
                         self.losses(theta, psi + d)[1] - self.losses(theta, psi - d)[1]]) / (2 * d)

    def iteration(self, opt_g, opt_d, simultaneous):
        """One training iteration: n_critic critic steps (steps.update_critic: SGD, and the clip
        for 'wgan'), then the generator's, whose gradient is taken before the critic moves
        (simultaneous) or after (alternating)."""
        if simultaneous:
            self.generator()                                     # G.grads at the start point
        for _ in range(self.m.n_critic):
            self.critic()
            steps.update_critic(self.D, opt_d, self.m.method, cfg.clip)
        if not simultaneous:
            self.generator()                                     # G.grads after the critic
        opt_g.step(self.G.params, self.G.grads)

    def update_map(self, x, simultaneous):
        """F(x): one iteration from x = (theta, psi)."""
        self.put(*x)
        self.iteration(SGD(cfg.h), SGD(cfg.h), simultaneous)
        return self.point()

    def run(self, simultaneous):
        """The trajectory from (theta0, psi0): (iters + 1, 2)."""
        self.put(cfg.theta0, cfg.psi0)
        opt_g, opt_d = SGD(cfg.h), SGD(cfg.h)
        path = [self.point()]
        for _ in range(cfg.iters):
            self.iteration(opt_g, opt_d, simultaneous)
            path.append(self.point())
        return np.array(path)


def jacobian(F, x, d=cfg.delta):
    """Central differences of a map F: R^2 -> R^2 at x: (2, 2), column j = dF/dx_j."""
    cols = []
    for j in range(2):
        e = np.zeros(2)
        e[j] = d
        cols.append((np.asarray(F(x + e)) - np.asarray(F(x - e))) / (2 * d))
    return np.stack(cols, axis=1)


def closed_forms(a, g, h):
    """lambda of J = [[0, a], [-a, -g]], and mu of the simultaneous and alternating updates."""
    lam = np.roots([1, g, a * a])                                       # l^2 + g l + a^2 = 0
    alt = np.array([[1 - h * h * a * a, h * a * (1 - h * g)], [-h * a, 1 - h * g]])
    return lam, 1 + h * lam, np.linalg.eigvals(alt)


def fmt(z):
    """Complex eigenvalues as 'a+bi, a-bi' (sorted by imaginary part, 4 decimals)."""
    z = sorted(np.atleast_1d(z), key=lambda c: (-c.imag, c.real))
    return ", ".join("%+.4f%+.4fi" % (round(c.real, 4) + 0.0, round(c.imag, 4) + 0.0)
                     for c in z)                                   # (+ 0.0: no '-0.0000')


def settle_step(r):
    """The first iteration from which the distance stays below tol, or None."""
    above = np.nonzero(r >= cfg.tol)[0]
    if len(above) == 0:
        return 0
    return None if above[-1] == len(r) - 1 else int(above[-1] + 1)


def verdict(path, r):
    """What the run did: converges (settles below tol), comes to rest elsewhere (the last step
    moved < 1e-9), moves away (ends farther than it started), creeps in (the second half shrank
    the distance by more than 10 %, too slowly to settle: no linear rate), or circles."""
    if settle_step(r) is not None:
        return "converges"
    if np.hypot(*(path[-1] - path[-2])) < 1e-9:
        return "stops at (%.3f, %.3f)" % tuple(path[-1])
    if r[-1] > r[0]:
        return "moves away"
    return "creeps in (no linear rate)" if r[-1] < 0.9 * r[len(r) // 2] else "circles"


# %% [markdown]
# ## 1. The Jacobians at the equilibrium, three ways, beside the closed forms

# %%
zero = np.zeros(2)
print("Dirac-GAN: real data at 0, G(z) = theta, f(x) = psi x; equilibrium (0, 0); h = %g"
      % cfg.h)
print("\n1. Eigenvalues lambda of the gradient field's Jacobian J at (0, 0): from the library's "
      "hand-derived gradients\n   (differences of v), from second differences of its losses "
      "alone, and in closed form")
eig = {}
for m in LAB:
    game = Dirac(m)
    if m.closed_form() is None:
        jump = game.field(0.0, 1e-9)[1] - game.field(0.0, -1e-9)[1]
        print("%-32s none: v_psi jumps by %.4f across psi = 0 (4 lam = %g); no Jacobian"
              % (m.label, jump, 4 * cfg.lam))
        continue
    J = jacobian(lambda x: game.field(*x), zero)
    J_fd = jacobian(lambda x: -game.loss_gradients(*x, d=1e-4), zero, d=1e-3)
    lam_lib, lam_fd = np.linalg.eigvals(J), np.linalg.eigvals(J_fd)
    lam_cf = closed_forms(*m.closed_form(), cfg.h)[0]
    eig[m.label] = lam_lib, lam_cf
    print("%-32s library %s | differences %s | closed form %s   Re(lambda) = %.4f"
          % (m.label, fmt(lam_lib), fmt(lam_fd), fmt(lam_cf), max(lam_lib.real)))

# the gradients behind J, against differences of the losses at points off the equilibrium
worst = 0.0
for m in LAB:
    game = Dirac(m)
    for theta, psi in ((0.7, -0.4), (-0.3, 0.9), (1.2, 0.5)):
        v, num = game.field(theta, psi), -game.loss_gradients(theta, psi)
        worst = max(worst, float(np.max(np.abs(v - num) / (np.abs(v) + np.abs(num) + 1e-8))))
print("   the hand-derived gradients against differences of the losses at 3 points per method: "
      "largest relative error %.1e" % worst)

# %% [markdown]
# ## 2. The update's Jacobian, and the runs: which converge, and how fast

# %%
print("\n2. %d iterations from (%g, %g): the update's spectral radius max|mu| (library | closed "
      "form), the distance to (0, 0) at the end, and the iteration from which it stays below %g"
      % (cfg.iters, cfg.theta0, cfg.psi0, cfg.tol))
print("%-32s %-12s %19s %11s %11s %11s  %s" % ("method", "updates", "max|mu| lib | form",
                                                "dist T/2", "dist T", "settles at", "verdict"))
runs = {}
for m in LAB:
    game = Dirac(m)
    for simultaneous in (True, False):
        kind = "simultaneous" if simultaneous else "alternating"
        path = game.run(simultaneous)                                         # (T + 1, 2)
        r = np.hypot(path[:, 0], path[:, 1])
        runs[m.label, kind] = path, r
        if m.closed_form() is None:
            rho, rho_cf = "-", "-"
        else:
            mu = np.linalg.eigvals(jacobian(lambda x: game.update_map(x, simultaneous), zero))
            _, mu_sim, mu_alt = closed_forms(*m.closed_form(), cfg.h)
            rho = "%.5f" % max(abs(mu))
            rho_cf = "%.5f" % max(abs(mu_sim if simultaneous else mu_alt))
        at = settle_step(r)
        print("%-32s %-12s %9s | %7s %11.2e %11.2e %11s  %s"
              % (m.label, kind, rho, rho_cf, r[len(r) // 2], r[-1], "never" if at is None else at,
                 verdict(path, r)))

# %% [markdown]
# ## 3. The figure: fields and trajectories; distance over time; the eigenvalues

# %%
n = len(LAB)
fig = plt.figure(figsize=(3.2 * n, 10.5))
gs = fig.add_gridspec(3, n, height_ratios=[1, 1, 1.1])
ts = np.linspace(-cfg.lim, cfg.lim, cfg.grid)
for j, m in enumerate(LAB):
    game = Dirac(m)
    V = np.array([[game.field(t, p) for t in ts] for p in ts])                # (psi, theta, 2)
    speed = np.maximum(np.hypot(V[..., 0], V[..., 1]), 1e-12)
    for i, kind in enumerate(("simultaneous", "alternating")):
        ax = fig.add_subplot(gs[i, j])
        ax.quiver(ts, ts, V[..., 0] / speed, V[..., 1] / speed, color="0.7", width=0.004,
                  scale=cfg.grid * 1.3)
        path, _ = runs[m.label, kind]
        ax.plot(path[:, 0], path[:, 1], "-", c=m.colour, lw=1)
        ax.plot(path[0, 0], path[0, 1], "ko", ms=4)
        ax.plot([0], [0], "k+", ms=12, mew=2)
        if m.method == "wgan":
            for s in (-1, 1):
                ax.axhline(s * cfg.clip, c="tab:purple", ls=":", lw=1)
        if m.method == "wgan-gp":                  # the rest points (theta, 0), |theta| <= 2 lam
            ax.plot([-2 * cfg.lam, 2 * cfg.lam], [0, 0], c="0.3", lw=4, alpha=0.3)
        ax.set_xlim(-cfg.lim, cfg.lim)
        ax.set_ylim(-cfg.lim, cfg.lim)
        ax.set_aspect("equal")
        ax.set_title("%s\n%s" % (m.label, kind), fontsize=9)
        ax.set_xlabel("theta (generator)", fontsize=8)
        if j == 0:
            ax.set_ylabel("psi (critic)", fontsize=8)

ax = fig.add_subplot(gs[2, :n - 3])
for m in LAB:
    for kind, ls in (("simultaneous", "--"), ("alternating", "-")):
        ax.semilogy(runs[m.label, kind][1], ls, c=m.colour, lw=1.2,
                    label="%s, %s" % (m.label, kind[:3]) if kind == "alternating" else None)
ax.axhline(cfg.tol, c="k", lw=0.8, ls=":")
ax.set_ylim(1e-8, 30)
ax.set_xlabel("iteration")
ax.set_ylabel("distance to the equilibrium (0, 0)")
ax.set_title("who converges: solid alternating, dashed simultaneous (dotted: tol %g)" % cfg.tol)
ax.legend(fontsize=7, ncol=2)

bx = fig.add_subplot(gs[2, n - 3:])
for m in LAB:
    if m.label in eig:
        lam_lib, lam_cf = eig[m.label]
        bx.plot(lam_lib.real, lam_lib.imag, "o", c=m.colour, ms=8, mfc="none", label=m.label)
        bx.plot(lam_cf.real, lam_cf.imag, "x", c=m.colour, ms=6)
bx.axvline(0, c="k", lw=0.8)
bx.set_xlabel("Re(lambda)   (< 0: locally convergent for small h)")
bx.set_ylabel("Im(lambda)")
bx.set_title("eigenvalues of J at (0, 0): o library, x closed form")
bx.legend(fontsize=7, loc="center")
fig.suptitle("The Dirac-GAN (Mescheder et al. 2018) on tinywgan's networks and steps: grey arrows "
             "the direction of the gradient field v, lines %d iterations from (%g, %g), h = %g"
             % (cfg.iters, cfg.theta0, cfg.psi0, cfg.h))
fig.tight_layout()
lesson.save(fig, "dirac_gan")
