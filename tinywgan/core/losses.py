r"""Losses, each returning its value and its gradient w.r.t. the network outputs it was given.

Wasserstein (Arjovsky et al. 2017). The critic maximises E f(real) - E f(fake), i.e. descends on

    L_critic = mean f(fake) - mean f(real)          (its negative estimates W(P_r, P_g))
    L_gen    = -mean f(G(z))

Vanilla GAN (Goodfellow et al. 2014), from logits l with D = sigmoid(l):

    L_disc = -mean log D(real) - mean log(1 - D(fake))
           = mean softplus(-l_real) + mean softplus(l_fake)
    minimax generator:         L = mean log(1 - D(G(z))) = -mean softplus(l_fake)
    non-saturating generator:  L = -mean log D(G(z))     =  mean softplus(-l_fake)

using log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l), and
d softplus(l)/dl = sigmoid(l). ``softplus`` and ``sigmoid`` are the activations' own
(``tinywgan.core.layers``), exact to rounding at every l: softplus(l) = logaddexp(0, l) is finite at
l = +-1000 where log(1 + e^l) is not, and sigmoid(-17) in float32 is 4.1e-8, where
(1 + tanh(l/2))/2 gives 6e-8 and 0 below -20, so a saturated minimax gradient would read as
exactly 0. Likewise sigmoid(l) - 1 is computed as -sigmoid(-l), never as a difference.

Shapes: outputs f or logits are (N, 1); each gradient has the shape of what it is w.r.t.

``critic_loss`` and ``generator_loss`` hold the maths, and the choice of loss for a method,
once; the step functions (plain and fused), which made the outputs with their own forward, call
them without checks. Each loss by name (``wasserstein_critic_loss`` ...) checks its arguments
first, then calls them.
"""
from ..backend import get_array_module
from ..validate import array, choice
from .layers import sigmoid, softplus

#: The GAN generator's two losses (Goodfellow et al. 2014): the default first.
GAN_LOSSES = ("nonsaturating", "minimax")


# ---- the loss choice, once: the step functions (plain and fused) call these ---------------------

def critic_loss(method, f_real, f_fake):
    """The critic's loss for ``method`` and its gradient on each set of rows:
    (L, dL/df_real: (N, 1), dL/df_fake: (M, 1)). For 'gan' f are the logits l, D = sigmoid(l).
    No checks: the step functions call it with the outputs their own forward made."""
    N, M = f_real.shape[0], f_fake.shape[0]
    if method == "gan":                     # L = mean softplus(-l_real) + mean softplus(l_fake)
        loss = softplus(-f_real).mean() + softplus(f_fake).mean()
        return loss, -sigmoid(-f_real) / N, sigmoid(f_fake) / M        # (sigmoid(l) - 1)/N
    xp = get_array_module(f_real)           # L = mean f(fake) - mean f(real)
    return (f_fake.mean() - f_real.mean(), xp.full(f_real.shape, -1.0 / N, dtype=f_real.dtype),
            xp.full(f_fake.shape, 1.0 / M, dtype=f_fake.dtype))


def generator_loss(method, f_fake, gan_loss="nonsaturating"):
    """The generator's loss for ``method`` on the critic's outputs for G(z), and dL/df_fake:
    (M, 1). No checks (as ``critic_loss``)."""
    M = f_fake.shape[0]
    if method != "gan":                                                # L = -mean f(G(z))
        xp = get_array_module(f_fake)
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
    choice("gan_generator_loss: kind", kind, GAN_LOSSES)
    return generator_loss("gan", logit_fake, kind)


def _check(out, name, like=None):
    """A critic's outputs: a float array (N, 1), N >= 1, of ``like``'s device and dtype. (Integer
    outputs are refused: the gradients below would round to 0.)"""
    array(name + " (the critic's outputs)", out, shape=(None, 1), like=like,
          dtype=None if like is None else like.dtype)
