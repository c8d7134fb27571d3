r"""The losses, one step of each network and the training loop, each defined once. A step is
the gradients the critic and the generator descend, as functions of every input they need:

    critic_grads(D, x_real, x_fake, eps, method, lam, r1, r2)   # fills D.grads; the numbers
    generator_grads(G, D, z, method, gan_loss, noise, x_real)  # fills G.grads, not D.grads
    generator_loss_at(D, x_fake, method, gan_loss, x_real)  # L_G, dL_G/dx_fake at given points
    update_critic(D, opt, method, clip)                 # the optimizer step (and the clipping)

The gradient functions draw nothing and step nothing (the caller draws x_real, z, x_fake = G(z)
and eps), so the very functions that train are the ones ``python -m tinywgan gradcheck`` checks
against finite differences. Each checks its arguments once, at its door; what it calls inside
(the MLP's ``backprop``, ``critic_loss``, the penalty) does not check again. Two other places
assemble a step, on purpose: ``tinywgan.fast.FusedSteps`` (the same signatures and numbers, to
1e-12 in float64, in fewer, larger products; a Trainer takes either as its ``step_fns``) and
the bug zoo's broken copies (these functions with one piece swapped).

The methods (Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN"; Gulrajani et al. 2017,
"Improved Training of Wasserstein GANs"; Petzka, Fischer and Lukovnikov 2018, "On the
Regularization of Wasserstein GANs"; Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks"; Goodfellow et al. 2014, "Generative Adversarial Nets"):

    wgan       L_D = mean f(x_fake) - mean f(x_real) (-L_D estimates W1); after the update
               every parameter is clipped into [-c, c]
    wgan-gp    L_D + lam/B sum_i (||grad_x f(x_hat_i)|| - 1)^2,
               x_hat = eps x_real + (1 - eps) x_fake, one eps ~ U[0, 1] per example
    wgan-lp    the same with the one-sided max(0, ||grad_x f(x_hat_i)|| - 1)^2
    wgan-sn    L_D with f computed from W / sigma(W) (spectral normalisation)
    wgan-gs    L_D for a GroupSort critic whose every W is orthonormalised (Bjorck) at the start
               and after each update (Anil, Lucas and Grosse 2019)
    gan        L_D = -mean log D(x_real) - mean log(1 - D(x_fake)), D = sigmoid(f)
    rpgan      L_D = mean_i softplus(f(x_fake_i) - f(x_real_i)), the relativistic pairing
               loss (Huang, Gokaslan, Kuleshov and Tompkin 2024, "The GAN is dead; long live the
               GAN! A Modern GAN Baseline"): row i of the real batch against row i of the fake one

and the generator descends L_G = -mean f(G(z)) (every WGAN), for the GAN the minimax
mean log(1 - D(G(z))) or the non-saturating -mean log D(G(z)) (``GAN_LOSSES``), for RpGAN
L_G = mean_i softplus(f(x_real_i) - f(G(z_i))) (it needs a real batch too: ``PAIRED``).

Any method's critic loss can also carry the zero-centred penalties of Mescheder, Geiger and
Nowozin 2018 ("Which Training Methods for GANs do actually Converge?"), on f itself (the GAN's
logit, not sigmoid(f)):

    R1 = (gamma_1/2) mean_i ||grad_x f(x_real_i)||^2       on the real points
    R2 = (gamma_2/2) mean_i ||grad_x f(x_fake_i)||^2       on the generated points

``r1 = gamma_1``, ``r2 = gamma_2`` (0: off). They are ``mlp.gradient_penalty`` with target 0
and weight lam = gamma/2, at the real or generated points themselves instead of interpolates:
the same exact double backward as WGAN-GP's penalty. They pull f flat where the data are, so
that at an equilibrium the critic stops pushing (the Dirac-GAN lab, ``demos/06_dirac_gan.py``,
shows what that does to convergence). The paper's RpGAN + R1 + R2 (R3GAN) writes
(gamma/2)(R1 + R2) with R = mean ||grad_x f||^2: that is ``r1 = r2 = gamma`` here.
"""
import math
import sys
import time

from .. import backend, validate
from .lipschitz import bjorck, clip_weights
from .mlp import gradient_penalty, sigmoid, softplus

#: Every method a critic can be trained with (the choice list the CLI and the Config read).
METHODS = ("wgan-gp", "wgan-lp", "wgan", "wgan-sn", "gan", "wgan-gs", "rpgan")
#: The methods whose critic step penalises the gradient at interpolates (and so needs eps).
INTERPOLATING = ("wgan-gp", "wgan-lp")
#: The methods whose losses pair row i of x_real with row i of x_fake (and so need both, of one N).
PAIRED = ("rpgan",)
#: The GAN generator's two losses (Goodfellow et al. 2014): the default first.
GAN_LOSSES = ("nonsaturating", "minimax")


# ==============================================================================================
# The losses: each returns its value and its gradient w.r.t. the network outputs it was given
# ==============================================================================================
# The GAN's, from logits l with D = sigmoid(l), by log sigmoid(l) = -softplus(-l),
# log(1 - sigmoid(l)) = -softplus(l) and d softplus(l)/dl = sigmoid(l):
#
#     L_D = -mean log D(real) - mean log(1 - D(fake))
#         = mean softplus(-l_real) + mean softplus(l_fake)
#     minimax generator:         L = mean log(1 - D(G(z))) = -mean softplus(l_fake)
#     non-saturating generator:  L = -mean log D(G(z))     =  mean softplus(-l_fake)
#
# RpGAN's, on the paired gaps d_i = f(x_real_i) - f(x_fake_i), by the chain rule through d_i:
#
#     L_D = mean_i softplus(-d_i)    dL_D/df_real_i = -sigmoid(-d_i)/N = -dL_D/df_fake_i
#     L_G = mean_i softplus(d_i)     dL_G/df_fake_i = -sigmoid(d_i)/N  (f_real: constant for G)
#
# Row i of the real batch meets row i of the fake one and no other, so the two batches need the
# same N (``check_pairs``, at each step's door).
#
# ``softplus`` and ``sigmoid`` are the activations' own, exact to rounding at every l:
# softplus(l) = logaddexp(0, l) is finite at l = +-1000 where log(1 + e^l) is not, and float32
# sigmoid(-17) is 4.1e-8 where (1 + tanh(l/2))/2 gives 6e-8 (and 0 below -20: a saturated minimax
# gradient would read as exactly 0). sigmoid(l) - 1 is computed as -sigmoid(-l), never as a
# difference.
#
# Shapes: outputs f or logits are (N, 1); each gradient has the shape of what it is w.r.t.
# ``critic_loss`` and ``generator_loss`` hold the maths, and the choice of loss for a method, once,
# unchecked; each loss by name (``wasserstein_critic_loss`` ...) checks its arguments, then calls
# them.

def critic_loss(method, f_real, f_fake):
    """The critic's loss for ``method`` and its gradient on each set of rows:
    (L, dL/df_real: (N, 1), dL/df_fake: (M, 1)). For 'gan' f are the logits l, D = sigmoid(l).
    No checks: the step functions call it with the outputs their own forward made."""
    N, M = f_real.shape[0], f_fake.shape[0]
    if method == "rpgan":                   # L = mean softplus(-d), d = f_real - f_fake (N, 1)
        s = sigmoid(f_fake - f_real) / N                                # sigmoid(-d_i)/N
        return softplus(f_fake - f_real).mean(), -s, s
    if method == "gan":                     # L = mean softplus(-l_real) + mean softplus(l_fake)
        loss = softplus(-f_real).mean() + softplus(f_fake).mean()
        return loss, -sigmoid(-f_real) / N, sigmoid(f_fake) / M        # (sigmoid(l) - 1)/N
    xp = backend.get_array_module(f_real)           # L = mean f(fake) - mean f(real)
    return (f_fake.mean() - f_real.mean(), xp.full(f_real.shape, -1.0 / N, dtype=f_real.dtype),
            xp.full(f_fake.shape, 1.0 / M, dtype=f_fake.dtype))


def generator_loss(method, f_fake, gan_loss="nonsaturating", f_real=None):
    """The generator's loss for ``method`` on the critic's outputs for G(z) (and, for rpgan,
    for the paired real rows f_real: (M, 1)), and dL/df_fake: (M, 1). No checks (as
    ``critic_loss``)."""
    M = f_fake.shape[0]
    if method == "rpgan":                   # L = mean softplus(d), d = f_real - f_fake
        return softplus(f_real - f_fake).mean(), -sigmoid(f_real - f_fake) / M
    if method != "gan":                                                # L = -mean f(G(z))
        xp = backend.get_array_module(f_fake)
        return -f_fake.mean(), xp.full(f_fake.shape, -1.0 / M, dtype=f_fake.dtype)
    if gan_loss == "minimax":                                          # L = -mean softplus(l)
        return -softplus(f_fake).mean(), -sigmoid(f_fake) / M
    return softplus(-f_fake).mean(), -sigmoid(-f_fake) / M              # (sigmoid - 1)/M


# ---- each loss by name: its arguments checked, then the maths above -----------------------------

def wasserstein_critic_loss(f_real, f_fake):
    """L = mean f(fake) - mean f(real).

    Inputs: f_real: (N, 1), f_fake: (M, 1). Returns (L: 0-d, dL/df_real = -1/N: (N, 1),
    dL/df_fake = +1/M: (M, 1)).
    """
    _check(f_real, "f_real")
    _check(f_fake, "f_fake", like=f_real)
    return critic_loss("wgan", f_real, f_fake)


def wasserstein_generator_loss(f_fake):
    """L = -mean f(G(z)). Inputs: f_fake: (M, 1). Returns (L, dL/df_fake = -1/M: (M, 1))."""
    _check(f_fake, "f_fake")
    return generator_loss("wgan", f_fake)


def gan_discriminator_loss(logit_real, logit_fake):
    """L = mean softplus(-l_real) + mean softplus(l_fake).

    Inputs: logit_real: (N, 1), logit_fake: (M, 1).
    Returns (L, dL/dl_real = (sigmoid(l_real) - 1)/N, dL/dl_fake = sigmoid(l_fake)/M).
    """
    _check(logit_real, "logit_real")
    _check(logit_fake, "logit_fake", like=logit_real)
    return critic_loss("gan", logit_real, logit_fake)


def gan_generator_loss(logit_fake, kind="nonsaturating"):
    """The generator's loss on D's logits for G(z): (M, 1).

    kind 'minimax':        L = -mean softplus(l),  dL/dl = -sigmoid(l)/M
         (saturates: the gradient vanishes when D confidently rejects fakes, l << 0);
    kind 'nonsaturating':  L = mean softplus(-l),  dL/dl = (sigmoid(l) - 1)/M.
    Returns (L, dL/dl: (M, 1)).
    """
    _check(logit_fake, "logit_fake")
    validate.choice("gan_generator_loss: kind", kind, GAN_LOSSES)
    return generator_loss("gan", logit_fake, kind)


def _check(out, name, like=None):
    """A critic's outputs: a float array (N, 1), N >= 1, of ``like``'s device and dtype. (Integer
    outputs are refused: the gradients below would round to 0.)"""
    validate.array(name + " (the critic's outputs)", out, shape=(None, 1), like=like,
          dtype=None if like is None else like.dtype)


# ==============================================================================================
# One step of each network
# ==============================================================================================

def generate(G, z):
    """x_fake = G(z). Inputs: z: (B, latent). Returns x_fake: (B, d)."""
    return G(z)


def check_critic_args(where, D, method, lam, r1, r2):
    """The critic step's door (``critic_grads`` here and in ``tinywgan.fast``): D a critic, a
    known method, lam, r1, r2 numbers >= 0. Returns (r1, r2) as floats."""
    validate.critic(where, D)
    validate.choice(where + ": method", method, METHODS)
    validate.number(where + ": lam", lam, low=0)
    return validate.number(where + ": r1", r1, low=0), validate.number(where + ": r2", r2, low=0)


def check_pairs(where, method, x_real, x_fake):
    """The door of a PAIRED method's step: its loss pairs row i of x_real with row i of x_fake,
    so both must be given, with the same number of rows N."""
    shapes = [None if x is None else tuple(getattr(x, "shape", ())) for x in (x_real, x_fake)]
    if method in PAIRED and (shapes[0] is None or shapes[0][:1] != shapes[1][:1]):
        raise ValueError("%s: method %r pairs row i of x_real with row i of x_fake, so it needs "
                         "both with the same number of rows N; got x_real %s and x_fake %s: "
                         "draw as many real rows as generated ones" % (where, method, *shapes))


def critic_grads(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0, r1=0.0, r2=0.0):
    r"""The critic's loss on one batch (the module docstring's L_D for ``method``, plus R1 and
    R2 where their gamma is not 0), with its gradient left in ``D.grads`` (zeroed first).

    Inputs: D: the critic MLP (d -> 1); x_real: (B, d), x_fake: (B, d) on D's device (rpgan:
    row i of one paired with row i of the other, so the same B);
    eps: (B, 1) in [0, 1], one per example (wgan-gp and wgan-lp; ignored otherwise);
    method: one of METHODS; lam: the penalty weight (wgan-gp, wgan-lp); r1, r2: gamma >= 0 of
    the zero-centred penalties on x_real and on x_fake (0: off).
    Under spectral norm, f uses W / sigma with D's current power-iteration vectors (the trainer
    advances them with ``D.power_iterate()`` before each step; here they are held fixed).
    Returns a dict of 0-d device arrays: critic_loss (the whole loss, penalties included, whose
    gradient D.grads now holds), w_estimate = mean f(x_real) - mean f(x_fake), for wgan-gp
    and wgan-lp penalty and grad_norm (the mean ||grad_x f(x_hat)||), and r1, r2 (the penalties'
    values) where they are on.
    """
    r1, r2 = check_critic_args("critic_grads", D, method, lam, r1, r2)
    check_pairs("critic_grads", method, x_real, x_fake)
    validate.net_memory("critic_grads", D, x_real, "x_real", work=48)   # as train estimates a step
    D.spectral_normalise()                        # W_used = W / sigma(W); a no-op without SN
    D.zero_grad()
    f_real, cache_real = D.forward(x_real)                                      # (B, 1)
    f_fake, cache_fake = D.forward(x_fake)                                      # (B, 1)
    loss, d_real, d_fake = critic_loss(method, f_real, f_fake)  # dL/df on each set of rows
    D.backprop(d_real, cache_real)                                              # dW += dL/dW
    D.backprop(d_fake, cache_fake)
    out = {"w_estimate": f_real.mean() - f_fake.mean()}
    if method in INTERPOLATING:
        x_hat = interpolates(x_real, x_fake, eps)                               # (B, d)
        R, norms = gradient_penalty(D, x_hat, lam, one_sided=(method == "wgan-lp"))  # dW += dR/dW
        loss = loss + R
        out.update(penalty=R, grad_norm=norms.mean())
    for name, gamma, x in (("r1", r1, x_real), ("r2", r2, x_fake)):
        if gamma:                                  # (gamma/2) mean ||grad_x f(x_i)||^2
            R, _ = gradient_penalty(D, x, gamma / 2, target=0.0)                # dW += dR/dW
            loss = loss + R
            out[name] = R
    D.spectral_backward()                          # dL/dW_used -> dL/dW; a no-op without SN
    out["critic_loss"] = loss
    return out


def interpolates(x_real, x_fake, eps):
    """x_hat = eps x_real + (1 - eps) x_fake, one eps per example (a row of eps: (B, 1))."""
    if eps is None or eps.shape != (x_real.shape[0], 1) or x_fake.shape != x_real.shape:
        raise ValueError("the penalty's interpolates need x_real and x_fake of one shape (B, d) "
                         "and eps of shape (B, 1), one per example; got x_real %s, x_fake %s, "
                         "eps %s" % (tuple(x_real.shape), tuple(x_fake.shape),
                                     None if eps is None else tuple(eps.shape)))
    return eps * x_real + (1 - eps) * x_fake


def generator_loss_at(D, x_fake, method="wgan-gp", gan_loss="nonsaturating", x_real=None):
    r"""The generator's loss at the generated points x_fake, and its gradient w.r.t. them,
    through the critic (the critic's backward to its input; no parameter gradients):

        every WGAN:  L_G = -mean f(x_fake)
        gan:         minimax L_G = mean log(1 - D(x_fake)), non-saturating -mean log D(x_fake)
        rpgan:       L_G = mean_i softplus(f(x_real_i) - f(x_fake_i))

    Inputs: D: d -> 1; x_fake: (B, d); method: one of METHODS; gan_loss: one of
    GAN_LOSSES (gan only); x_real: (B, d), the real rows paired with x_fake's (rpgan only;
    they do not depend on the generator: no gradient flows to them).
    Returns (L_G: 0-d array, dL_G/dx_fake: (B, d)).
    """
    validate.critic("generator loss", D)
    validate.choice("generator loss: method", method, METHODS)
    validate.choice("generator loss: gan_loss", gan_loss, GAN_LOSSES)
    check_pairs("generator loss", method, x_real, x_fake)
    D.spectral_normalise()                        # W_used = W / sigma(W); a no-op without SN
    f_fake, cache = D.forward(x_fake)                                           # (B, 1)
    f_real = D(x_real) if method in PAIRED else None                            # (B, 1)
    loss, d_fake = generator_loss(method, f_fake, gan_loss, f_real)
    _, dH = D.backprop(d_fake, cache, param_grads=False)
    return loss, dH[0]                                                          # (B, d)


def generator_grads(G, D, z, method="wgan-gp", gan_loss="nonsaturating", noise=None,
                    x_real=None):
    r"""The generator's loss through the critic (``generator_loss_at``), with its gradient left
    in ``G.grads`` (zeroed first); the critic's gradients are untouched:

        dL_G/dtheta = (dG/dtheta)^T dL_G/dx_fake,   x_fake = G(z) (+ noise)

    the critic's backward to its input seeding the generator's backward.
    Inputs: G: latent -> d; D: d -> 1; z: (B, latent); method, gan_loss as for
    ``generator_loss_at``; noise: None, or (B, d) added to G(z) before the critic sees it
    (instance noise: the caller adds the same kind of noise to the critic's x_real and x_fake;
    d(x + noise)/dx = 1, so the gradient flows through unchanged); x_real: (B, d), the real
    rows paired with G(z)'s (rpgan only).
    Returns {'gen_loss': 0-d device array}.
    """
    G.zero_grad()
    x_fake, cache = G.forward(z)                                                # (B, d)
    if noise is not None:
        x_fake = x_fake + noise
    loss, dx_fake = generator_loss_at(D, x_fake, method, gan_loss, x_real)      # (B, d)
    G.backprop(dx_fake, cache)                                                  # dW += dL_G/dW
    return {"gen_loss": loss}


def update_critic(D, opt, method, clip):
    """With D.grads filled: one optimizer step, then (wgan) every parameter clipped into
    [-clip, clip], after the step as in Arjovsky et al.'s Algorithm 1."""
    opt.step(D.params, D.grads)
    if method == "wgan":
        clip_weights(D.params, clip)                                   # w <- clip(w, -c, c)
    elif method == "wgan-gs":
        orthonormalise(D)


def orthonormalise(D, start=False):
    """Every W of D orthonormal (``bjorck``): 3 steps after an update, 60 from a Frobenius
    rescaling at the ``start`` (a small singular value only grows x1.5 a step: 60 steps bring
    any W whose sigma_min / ||W||_F is above 1e-9 to 1; idempotent on orthonormal ones)."""
    for W in D.W:
        bjorck(W, 60 if start else 3, rescale=start)


# ==============================================================================================
# The training loop
# ==============================================================================================
# One generator iteration t (Arjovsky et al. 2017, Algorithm 1; Gulrajani et al. 2017, Alg. 1):
#
#     repeat n_critic times (k = 0..n_critic-1):                          # Trainer.critic_step
#         x_real ~ P_r,  z ~ N(0, I),  x_fake = G(z),  eps ~ U[0, 1] per example   (B rows each)
#         D.grads <- grad_w L_D(x_real, x_fake, eps)     critic_grads (+ R1, R2 where r1, r2 > 0)
#         w <- optimizer step (wgan: then clip into [-c, c])  update_critic
#     z ~ N(0, I)  (rpgan: then x_real ~ P_r, B rows)                    # Trainer.generator_step
#     G.grads <- grad_theta L_G(z)                            generator_grads
#     theta <- optimizer step
#
# Randomness is counter-based: critic step (t, k) draws from ``backend.rng(xp, seed, "critic",
# t, k)`` (x_real, then z, then eps), the generator step from ``(seed, "gen", t)``, so a resumed
# run needs no random-generator state: restarted at iteration t, it draws what the uninterrupted
# run drew. The Trainer takes its parts from its caller (as GAN_stability's ``Trainer(generator,
# discriminator, g_optimizer, d_optimizer, ...)``): ``tinywgan.job.training`` builds them from a
# Config for the main job; a lesson builds its own (``tinywgan.measure.critic.fit_critic`` trains
# a critic alone).

class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or inf: ``iteration`` (generator iterations done),
    ``quantities`` (the names of the numbers that did) and ``value`` (the first one's) say
    where."""

    def __init__(self, iteration, quantities, value):
        self.iteration, self.quantities, self.value = iteration, quantities, value
        super().__init__("training diverged at generator iteration %d: %s became %s. Try a "
                         "smaller learning rate (lr_d, lr_g), a larger lam, or dtype float64."
                         % (iteration, " and ".join(quantities), value))


def check_method(where, D, method):
    """The door's check that a critic fits its method (spectral norm iff wgan-sn)."""
    validate.choice(where + ": method", method, METHODS)
    if (method == "wgan-sn") != (D.sn is not None):
        raise ValueError("%s: method %r needs a critic %s spectral normalisation: build it with "
                         "MLP(..., spectral_norm=%s)" % (where, method, "with" if method ==
                                                         "wgan-sn" else "without",
                                                         method == "wgan-sn"))


class Trainer:
    """The two networks, their optimizers and the iteration count; runs the loop.

    Args:
        G: the generator MLP (latent -> d); D: the critic MLP (d -> 1), with spectral norm iff
            method is 'wgan-sn'.
        opt_g, opt_d: their optimizers (``tinywgan.core.optim``); their ``lr`` at construction
            is the learning rate the schedule starts from.
        real: ``real(n, rng) -> (n, d)`` real points on D's device and dtype, drawn from
            ``rng`` (``backend.rng``), e.g. ``lambda n, rng: data.sample("ring", n, rng, dt)``.
        step_fns: where the gradients are computed: None for this module's own functions (the
            derivation) or ``tinywgan.fast.FusedSteps()`` (the same functions, fused), anything
            with ``generate``, ``critic_grads`` and ``generator_grads`` of those signatures.
        method, lam, r1, r2, clip, gan_loss: the critic's loss (``critic_grads``).
        batch, n_critic: rows per draw; critic steps per generator step.
        seed: the seed of every draw (the comment above). warmup: 100 critic steps for t < 25
            and every 500th t (the WGAN paper's schedule). lr_decay_iters: the learning rates
            fall linearly to 0 at this iteration (0: constant).

    Attributes: the arguments, ``xp`` (D's array module), ``t`` (generator iterations done),
    ``seconds`` (time spent in ``train``, over every session of a resumed run), ``history``
    (one dict per logged iteration).
    """

    def __init__(self, G, D, opt_g, opt_d, real, step_fns=None, method="wgan-gp", lam=1.0,
                 r1=0.0, r2=0.0, clip=0.01, gan_loss="nonsaturating", batch=256, n_critic=1,
                 seed=0, warmup=False, lr_decay_iters=0):
        check_method("Trainer", D, method)
        if G.widths[-1] != D.widths[0] or D.widths[-1] != 1 or G.xp is not D.xp \
                or G.dtype != D.dtype:
            raise ValueError("Trainer: G must map to D's input and D to one number, on one "
                             "device and dtype; got G %s and D %s" % (G, D))
        self.G, self.D, self.opt_g, self.opt_d, self.real = G, D, opt_g, opt_d, real
        self.step_fns = sys.modules[__name__] if step_fns is None else step_fns
        self.method, self.gan_loss = method, gan_loss
        self.lam, self.r1, self.r2, self.clip = lam, r1, r2, clip
        self.batch = validate.count("Trainer: batch", batch)
        self.n_critic = validate.count("Trainer: n_critic", n_critic)
        self.seed = validate.count("Trainer: seed", seed, low=0)
        self.warmup = validate.flag("Trainer: warmup", warmup)
        self.lr_decay_iters = validate.count("Trainer: lr_decay_iters", lr_decay_iters, low=0)
        self.lr_g, self.lr_d = opt_g.lr, opt_d.lr
        self.xp, self.latent = D.xp, G.widths[0]
        self.t, self.seconds, self.history = 0, 0.0, []
        if method == "wgan-gs":
            orthonormalise(D, start=True)

    # ---- one step each ---------------------------------------------------------------------
    def critic_step(self, t, k):
        """One critic update: draw, gradients, optimizer step. Returns a dict of 0-d device
        arrays (critic_loss, w_estimate, ..., critic_grad_sq)."""
        G, D, B = self.G, self.D, self.batch
        rng = backend.rng(self.xp, self.seed, "critic", t, k)
        x_real = self.real(B, rng)                                              # (B, d)
        z = rng.standard_normal((B, self.latent), dtype=G.dtype)                # (B, latent)
        eps = rng.random((B, 1), dtype=D.dtype) if self.method in INTERPOLATING else None
        D.power_iterate()                                       # SN: u, v one step; else no-op
        x_fake = self.step_fns.generate(G, z)                                   # (B, d)
        out = self.step_fns.critic_grads(D, x_real, x_fake, eps, self.method, self.lam,
                                         self.r1, self.r2)
        out["critic_grad_sq"] = D.grads @ D.grads
        update_critic(D, self.opt_d, self.method, self.clip)
        return out

    def generator_step(self, t):
        """One generator update through the critic. Returns {'gen_loss', 'gen_grad_sq'}."""
        G, D = self.G, self.D
        rng = backend.rng(self.xp, self.seed, "gen", t)
        z = rng.standard_normal((self.batch, self.latent), dtype=G.dtype)       # (B, latent)
        x_real = self.real(self.batch, rng) if self.method in PAIRED else None  # (B, d)
        D.power_iterate()
        out = self.step_fns.generator_grads(G, D, z, self.method, self.gan_loss,
                                            x_real=x_real)
        out["gen_grad_sq"] = G.grads @ G.grads
        self.opt_g.step(G.params, G.grads)
        return out

    def critic_steps_at(self, t):
        """n_critic, or 100 during the WGAN reference warm-up (t < 25 and every 500th t)."""
        if self.warmup and (t < 25 or t % 500 == 0):
            return 100
        return self.n_critic

    def set_learning_rates(self, t):
        """Linear decay to 0 at ``lr_decay_iters`` (if not 0)."""
        frac = 1.0 - t / self.lr_decay_iters if self.lr_decay_iters else 1.0
        self.opt_d.lr = self.lr_d * frac
        self.opt_g.lr = self.lr_g * frac

    def step(self):
        """One generator iteration (critic steps, then the generator step). Returns the
        last critic step's and the generator step's numbers, as 0-d device arrays."""
        t = self.t
        self.set_learning_rates(t)
        for k in range(self.critic_steps_at(t)):
            out = self.critic_step(t, k)
        out.update(self.generator_step(t))
        self.t = t + 1
        return out

    # ---- the loop ----------------------------------------------------------------------------
    def train(self, iters, log_every=100, on_log=None, stop=None):
        """Run until ``iters`` generator iterations are done in total, or until ``stop()``
        (checked after every whole iteration) returns True.

        Every ``log_every`` iterations (and at the end) the numbers are brought to the host,
        checked (NaN/inf raises TrainingDiverged naming the iteration and the quantity), and
        appended to ``history`` as a dict, which ``on_log(trainer, row)`` then receives (and may
        add to). On the CPU the check runs every iteration (it costs nothing there); on a device
        only at the log steps, so the host and the device sync only then.
        A row's ``seconds`` is ``self.seconds``, the training time of every session so far.
        """
        iters = validate.count("Trainer.train: iters", iters, low=0)
        log_every = validate.count("Trainer.train: log_every", log_every)
        start, before, t0 = self.t, self.seconds, time.perf_counter()
        check_every = 1 if backend.device_name(self.xp) == "cpu" else log_every
        try:
            while self.t < iters:
                out = self.step()
                self.seconds = before + time.perf_counter() - t0
                logging = self.t % log_every == 0 or self.t == iters
                if logging or self.t % check_every == 0:
                    row = {k: float(v) for k, v in out.items()}
                    bad = [k for k, v in row.items() if not math.isfinite(v)]
                    if bad:
                        raise TrainingDiverged(self.t, bad, row[bad[0]])
                if logging:
                    row.update(iter=self.t, seconds=self.seconds, it_per_s=(self.t - start)
                               / max(self.seconds - before, 1e-9))
                    self.history.append(row)
                    if on_log is not None:
                        on_log(self, row)
                if stop is not None and stop():
                    break
        finally:
            if self.t > start:              # (a finished run resumed as it is: no time)
                self.seconds = before + time.perf_counter() - t0
        return self.history
