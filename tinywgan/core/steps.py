r"""One step of each network, defined once: the gradients the critic and the generator descend,
as functions of every input they need.

    critic_grads(D, x_real, x_fake, eps, method, lam, r1, r2)   # fills D.grads; the numbers
    generator_grads(G, D, z, method, gan_loss, noise)   # fills G.grads; D.grads untouched
    generator_loss_at(D, x_fake, method, gan_loss)      # L_G and dL_G/dx_fake at given points
    update_critic(D, opt, method, clip)                 # the optimizer step (and the clipping)

There are no random draws and no optimizer steps inside the gradient functions: the caller draws
x_real, z (and x_fake = G(z)) and eps, so the very functions that train can be checked against
finite differences (``python -m tinywgan gradcheck`` does, for every method and GAN loss). The
training loop (``tinywgan.core.loop``: the Trainer and ``fit_critic``), the demos and the gradient
checks call these. Two other places assemble a step, each on purpose: the fused steps
(below) and the bug zoo's broken copies (``tinywgan.bugzoo``), which are these functions with
one piece swapped.

Each function checks its arguments once, at its door (``check_critic_args``); what it calls
inside (the MLP's ``backprop``, the losses' ``critic_loss``, the penalty) does not check again.

``tinywgan.fast.FusedSteps`` is a second implementation of ``generate``, ``critic_grads`` and
``generator_grads`` with the same signatures and the same numbers (tested to 1e-12 in float64)
in fewer, larger products, for ReLU-family networks; a Trainer takes either as its ``step_fns``
(the main job chooses in ``tinywgan.job.training.build_parts``).

The methods (Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN"; Gulrajani et al. 2017,
"Improved Training of Wasserstein GANs"; Petzka, Fischer and Lukovnikov 2018, "On the
Regularization of Wasserstein GANs"; Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks"; Goodfellow et al. 2014, "Generative Adversarial Nets"):

    wgan       L_D = mean f(x_fake) - mean f(x_real); after the update every parameter is
               clipped into [-c, c]
    wgan-gp    L_D + lam/B sum_i (||grad_x f(x_hat_i)|| - 1)^2,
               x_hat = eps x_real + (1 - eps) x_fake, one eps ~ U[0, 1] per example
    wgan-lp    the same with the one-sided max(0, ||grad_x f(x_hat_i)|| - 1)^2
    wgan-sn    L_D with f computed from W / sigma(W) (spectral normalisation)
    gan        L_D = -mean log D(x_real) - mean log(1 - D(x_fake)), D = sigmoid(f)

and the generator descends L_G = -mean f(G(z)) (every WGAN) or, for the GAN, the minimax
mean log(1 - D(G(z))) or the non-saturating -mean log D(G(z)) (``losses.GAN_LOSSES``).

Any method's critic loss can also carry the zero-centred penalties of Mescheder, Geiger and
Nowozin 2018 ("Which Training Methods for GANs do actually Converge?"), on f itself (the GAN's
logit, not sigmoid(f)):

    R1 = (gamma_1/2) mean_i ||grad_x f(x_real_i)||^2       on the real points
    R2 = (gamma_2/2) mean_i ||grad_x f(x_fake_i)||^2       on the generated points

``r1 = gamma_1``, ``r2 = gamma_2`` (0: off). They are ``penalty.gradient_penalty`` with target 0
and weight lam = gamma/2, at the real or generated points themselves instead of interpolates:
the same exact double backward as WGAN-GP's penalty. They pull f flat where the data are, so
that at an equilibrium the critic stops pushing (the Dirac-GAN lab, ``demos/06_dirac_gan.py``,
shows what that does to convergence).
"""
from ..validate import choice, critic, net_memory, number
from .lipschitz import clip_weights
from .losses import GAN_LOSSES, critic_loss, generator_loss
from .penalty import gradient_penalty

#: Every method a critic can be trained with (the choice list the CLI and the Config read).
METHODS = ("wgan-gp", "wgan-lp", "wgan", "wgan-sn", "gan")
#: The methods whose critic step penalises the gradient at interpolates (and so needs eps).
INTERPOLATING = ("wgan-gp", "wgan-lp")


def generate(G, z):
    """x_fake = G(z). Inputs: z: (B, latent). Returns x_fake: (B, d)."""
    return G(z)


def check_critic_args(where, D, method, lam, r1, r2):
    """The critic step's door (``critic_grads`` here and in ``tinywgan.fast``): D a critic, a
    known method, lam, r1, r2 numbers >= 0. Returns (r1, r2) as floats."""
    critic(where, D)
    choice(where + ": method", method, METHODS)
    number(where + ": lam", lam, low=0)
    return number(where + ": r1", r1, low=0), number(where + ": r2", r2, low=0)


def critic_grads(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0, r1=0.0, r2=0.0):
    r"""The critic's loss on one batch (the module docstring's L_D for ``method``, plus R1 and
    R2 where their gamma is not 0), with its gradient left in ``D.grads`` (zeroed first).

    Inputs: D: the critic MLP (d -> 1); x_real: (B, d), x_fake: (B, d) on D's device;
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
    net_memory("critic_grads", D, x_real, "x_real", work=48)     # a step's estimate, as train's
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


def generator_loss_at(D, x_fake, method="wgan-gp", gan_loss="nonsaturating"):
    r"""The generator's loss at the generated points x_fake, and its gradient w.r.t. them,
    through the critic (the critic's backward to its input; no parameter gradients):

        every WGAN:  L_G = -mean f(x_fake)
        gan:         minimax L_G = mean log(1 - D(x_fake)), non-saturating -mean log D(x_fake)

    Inputs: D: d -> 1; x_fake: (B, d); method: one of METHODS; gan_loss: one of
    losses.GAN_LOSSES (gan only). Returns (L_G: 0-d array, dL_G/dx_fake: (B, d)).
    """
    critic("generator loss", D)
    choice("generator loss: method", method, METHODS)
    choice("generator loss: gan_loss", gan_loss, GAN_LOSSES)
    D.spectral_normalise()                        # W_used = W / sigma(W); a no-op without SN
    f_fake, cache = D.forward(x_fake)                                           # (B, 1)
    loss, d_fake = generator_loss(method, f_fake, gan_loss)
    _, dH = D.backprop(d_fake, cache, param_grads=False)
    return loss, dH[0]                                                          # (B, d)


def generator_grads(G, D, z, method="wgan-gp", gan_loss="nonsaturating", noise=None):
    r"""The generator's loss through the critic (``generator_loss_at``), with its gradient left
    in ``G.grads`` (zeroed first); the critic's gradients are untouched:

        dL_G/dtheta = (dG/dtheta)^T dL_G/dx_fake,   x_fake = G(z) (+ noise)

    the critic's backward to its input seeding the generator's backward.
    Inputs: G: latent -> d; D: d -> 1; z: (B, latent); method, gan_loss as for
    ``generator_loss_at``; noise: None, or (B, d) added to G(z) before the critic sees it
    (instance noise: the caller adds the same kind of noise to the critic's x_real and x_fake;
    d(x + noise)/dx = 1, so the gradient flows through unchanged).
    Returns {'gen_loss': 0-d device array}.
    """
    G.zero_grad()
    x_fake, cache = G.forward(z)                                                # (B, d)
    if noise is not None:
        x_fake = x_fake + noise
    loss, dx_fake = generator_loss_at(D, x_fake, method, gan_loss)              # (B, d)
    G.backprop(dx_fake, cache)                                                  # dW += dL_G/dW
    return {"gen_loss": loss}


def update_critic(D, opt, method, clip):
    """With D.grads filled: one optimizer step, then (wgan) every parameter clipped into
    [-clip, clip], after the step as in Arjovsky et al.'s Algorithm 1."""
    opt.step(D.params, D.grads)
    if method == "wgan":
        clip_weights(D.params, clip)                                   # w <- clip(w, -c, c)
