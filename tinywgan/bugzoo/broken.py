r"""The broken copies: each classic WGAN and WGAN-GP mistake made on a copy of the library's
piece, with that piece's own signature, so that a check runs on it exactly as on the original.
``tinywgan.bugzoo.zoo`` runs the checks that catch them; ``tinywgan.exercises`` compares a
learner's answer with them to name a mistake. Nothing here is a flag inside the library.

``copy_with(func, name=replacement)`` makes most of them: the library's own function, with one
of the names it looks up swapped for a broken one, so the copy differs from the original in
exactly that piece and nowhere else.
"""
import copy
import math
import types

import numpy as np

from ..measure import data
from ..core import penalty, steps
from ..backend import get_array_module
from ..core.layers import get_activation
from ..core.lipschitz import clip_weights
from ..core.losses import (critic_loss, gan_generator_loss, wasserstein_critic_loss,
                           wasserstein_generator_loss)


def copy_with(func, **names):
    """A copy of the library function ``func`` in which each global name it looks up (say
    ``penalty_head``) is the replacement given: the library's code with one piece swapped."""
    unknown = sorted(set(names) - set(func.__code__.co_names))
    if unknown:
        raise ValueError("%s does not look up %s" % (func.__qualname__, unknown))
    broken = types.FunctionType(func.__code__, dict(func.__globals__, **names), func.__name__,
                                func.__defaults__, func.__closure__)
    broken.__kwdefaults__ = func.__kwdefaults__
    broken.__doc__ = "%s with %s swapped for a broken one" % (func.__qualname__,
                                                             ", ".join(sorted(names)))
    return broken


# ---- the penalty -------------------------------------------------------------------------------

def dropped_second_order(act):
    """A copy of the activation ``act`` (a name or an Activation) that pretends s'' = 0, so that
    ``tinywgan.core.penalty`` skips step (4), the s'' injections: every first-order check still
    passes and the penalty's weight gradient is wrong (the hidden biases get none at all)."""
    broken = copy.copy(get_activation(act))
    broken.second_order = False
    broken.name = "%s without s''" % broken.name
    return broken


def head_norm_over_batch(grad_x, lam, target=1.0, one_sided=False):
    r"""``penalty.penalty_head`` with the norm taken over the wrong axis: one norm per input
    coordinate, over the batch (``norm(g, axis=0)``), instead of one per example.

        n_j = sqrt(sum_i g_ij^2): (d,),   R = lam/d sum_j gap_j^2,
        dR/dg_ij = 2 lam/d gap_j g_ij / n_j
    """
    xp, d = get_array_module(grad_x), grad_x.shape[1]
    norms = xp.sqrt((grad_x * grad_x).sum(axis=0))                     # (d,), not (N,)
    gap = xp.maximum(norms - target, 0) if one_sided else norms - target
    unit = grad_x / xp.maximum(norms, xp.finfo(grad_x.dtype).tiny)[None, :]
    return lam / d * (gap * gap).sum(), norms, (2 * lam / d * gap)[None, :] * unit


def head_unguarded(grad_x, lam, target=1.0, one_sided=False):
    """``penalty.penalty_head`` with the direction g / ||g|| unguarded: 0/0 = NaN at g = 0."""
    xp, N = get_array_module(grad_x), grad_x.shape[0]
    norms = xp.sqrt((grad_x * grad_x).sum(axis=1))
    gap = xp.maximum(norms - target, 0) if one_sided else norms - target
    unit = grad_x / norms[:, None]                                         # 0/0 at g = 0
    return lam / N * (gap * gap).sum(), norms, (2 * lam / N * gap)[:, None] * unit


def penalty_value_only(net, x_hat, lam, target=1.0, one_sided=False):
    """``penalty.gradient_penalty`` that computes R (which the caller adds to the loss) and no
    gradient: the penalty in the loss but not in the weights' update."""
    R, norms, _ = penalty.penalty_head(net.input_gradient(x_hat), lam, target, one_sided)
    return R, norms


def with_penalty(penalty_fn):
    """``steps.critic_grads`` whose penalty is ``penalty_fn`` (a function with
    ``penalty.gradient_penalty``'s signature)."""
    return copy_with(steps.critic_grads, gradient_penalty=penalty_fn)


def critic_grads_without_s2(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0):
    """``steps.critic_grads`` with the penalty's s'' path dropped (``dropped_second_order``)."""
    D.act = dropped_second_order(D.act)
    return steps.critic_grads(D, x_real, x_fake, eps, method, lam)


def interpolates_unchecked(x_real, x_fake, eps):
    """``steps.interpolates`` without its check that eps has one entry per example."""
    return eps * x_real + (1 - eps) * x_fake


# ---- the losses and the steps ------------------------------------------------------------------

def flipped_critic_loss(f_real, f_fake):
    """``losses.wasserstein_critic_loss`` with its sign flipped: mean f(real) - mean f(fake)."""
    loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    return -loss, -d_real, -d_fake


def flipped_critic_choice(method, f_real, f_fake):
    """``losses.critic_loss`` with the Wasserstein critic's loss flipped (the GAN's as it is)."""
    if method == "gan":
        return critic_loss(method, f_real, f_fake)
    return flipped_critic_loss(f_real, f_fake)


#: ``steps.critic_grads`` descending on mean f(real) - mean f(fake): the critic's sign flipped.
critic_loss_flipped = copy_with(steps.critic_grads, critic_loss=flipped_critic_choice)


def _ascending_loss_at(D, x_fake, method="wgan-gp", gan_loss="nonsaturating"):
    loss, dx_fake = steps.generator_loss_at(D, x_fake, method, gan_loss)
    return -loss, -dx_fake


#: ``steps.generator_grads`` descending on +mean f(G(z)): the generator's sign flipped.
generator_sign_flipped = copy_with(steps.generator_grads, generator_loss_at=_ascending_loss_at)


def generator_fed_output_gradient(G, D, z, method="wgan-gp", gan_loss="nonsaturating"):
    """``steps.generator_grads`` that hands the generator the loss's gradient with respect to
    the critic's OUTPUT, dL/df: (B, 1), copied onto every coordinate of x_fake, instead of
    dL/dx_fake, the gradient backpropagated through the critic."""
    G.zero_grad()
    x_fake, cache = G.forward(z)                                                # (B, d)
    f_fake = D(x_fake)                                                          # (B, 1)
    loss, d_f = gan_generator_loss(f_fake, gan_loss) if method == "gan" \
        else wasserstein_generator_loss(f_fake)
    G.backward(d_f * get_array_module(z).ones_like(x_fake), cache)             # not D's backward
    return {"gen_loss": loss}


def update_critic_clip_first(D, opt, method, clip):
    """``steps.update_critic`` that clips before the optimizer step instead of after it: the
    weights the critic computes with are no longer in [-c, c]."""
    if method == "wgan":
        clip_weights(D.params, clip)
    opt.step(D.params, D.grads)


# ---- the draws and the data --------------------------------------------------------------------

def eps_per_coordinate(rng, B, d):
    """eps: (B, d), one per coordinate, instead of one per example, (B, 1)."""
    return rng.random((B, d))


def eps_normal(rng, B, d):
    """eps ~ N(0, 1) instead of U[0, 1]: most x_hat off the segment between the pair."""
    return rng.standard_normal((B, 1))


def ring_centres_linspace():
    """The ring's centres from angles linspace(0, 2 pi, 8), which includes both 0 and 2 pi:
    seven distinct centres, the first twice. Scaled as 8gaussians' (radius 2 / 1.414)."""
    t = np.linspace(0, 2 * math.pi, 8)
    radius = float(np.linalg.norm(data.centres("8gaussians")[0]))
    return radius * np.stack([np.cos(t), np.sin(t)], axis=1)                     # (8, 2)
