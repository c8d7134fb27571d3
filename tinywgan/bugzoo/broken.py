r"""The catalogue of known mistakes: every classic WGAN and WGAN-GP mistake of the bug zoo and
every known wrong answer to an exercise, each defined once, as a ``Mistake``: its name, its hint
(what went wrong and what to do instead) and the broken copy of the library's piece.

``tinywgan.bugzoo.zoo`` runs the check that catches each of its bugs once on the library's piece
and once on the catalogue's broken copy; the exercises' grader (``tinywgan.exercises``) prints
a mistake's hint when a learner's answer equals its broken copy where that differs from the
library's. Nothing here is a flag inside the library.

A broken copy of a function takes that function's arguments, in its order and with its
defaults (the copies of ``steps.critic_grads`` take r1 and r2, those of
``steps.generator_grads`` noise); one written out with switches (``_plain_backward``,
``_rms_step`` ...) takes them too, then its switches, each with a default. A broken class is a
subclass with one method broken, that method taking the original's arguments. So a check or the
grader calls a copy exactly as the original. (The MLP's, ``MLP_BACKWARD`` and
``INPUT_GRADIENT``, break the workbook's ``mlp_backward(net, dout, cache)`` and
``input_gradient(net, x)``: the MLP's methods as functions of the net, without
``MLP.backward``'s param_grads and dH.)

Two helpers make most of them, so that a copy differs from the original in exactly one piece:

- ``copy_with(func, name=replacement)``: the library's own function with one of the global names
  it looks up swapped (``copy_with(cls, method=replacement)``: the class with one method swapped);
- ``step_with(step, method=replacement)``: the library's step on a net with one of its methods
  swapped (``D.gradient_penalty``, ``G.zero_grad``).

The mistakes come in lists, one per piece (``LINEAR_BACKWARD``, ``GRADIENT_PENALTY``,
``CRITIC_GRADS`` ...), in the order the grader tries them; ``CATALOGUE`` is all of them, once.
"""
import copy
import math
import types
from dataclasses import dataclass
from functools import partial, partialmethod, wraps

import numpy as np

from ..backend import get_array_module
from ..core import lipschitz, mlp, optim, steps
from ..core.lipschitz import clip_weights
from ..core.steps import (critic_loss, gan_discriminator_loss, gan_generator_loss,
                           generator_loss, wasserstein_critic_loss)
from ..core.mlp import MLP
from ..measure import data


@dataclass
class Mistake:
    name: str                        # "dW transposed"
    hint: str                        # what went wrong and what to do instead
    obj: object                      # the broken copy: a function, a class (one method broken)
    #                                  or a number (the penalty weight)


_ENTERED = []


def _known(*mistakes):
    """The mistakes, each a ``Mistake`` or (name, hint, obj), entered into the catalogue: returns
    them as a list (a piece's known mistakes)."""
    entered = [m if isinstance(m, Mistake) else Mistake(*m) for m in mistakes]
    _ENTERED.extend(entered)
    return entered


def find(mistakes, name):
    """The mistake called ``name`` among ``mistakes`` (a piece's list), or a KeyError."""
    for m in mistakes:
        if m.name == name:
            return m
    raise KeyError("no known mistake called %r here; there are: %s"
                   % (name, "; ".join(m.name for m in mistakes)))


def copy_with(piece, **names):
    """A copy of the library's ``piece`` with one part swapped and nothing else. For a function:
    each global name it looks up (say ``penalty_head``) is the replacement given. For a class:
    a subclass whose methods named (say ``_update``) are the replacements given."""
    if isinstance(piece, type):
        unknown = sorted(n for n in names if not callable(getattr(piece, n, None)))
        if unknown:
            raise ValueError("%s has no method %s" % (piece.__qualname__, unknown))
        broken = type("Broken" + piece.__name__, (piece,), dict(names))
    else:
        unknown = sorted(set(names) - set(piece.__code__.co_names))
        if unknown:
            raise ValueError("%s does not look up %s" % (piece.__qualname__, unknown))
        broken = types.FunctionType(piece.__code__, dict(piece.__globals__, **names),
                                    piece.__name__, piece.__defaults__, piece.__closure__)
        broken.__kwdefaults__ = piece.__kwdefaults__
    broken.__doc__ = "%s with %s swapped for a broken one" % (piece.__qualname__,
                                                             ", ".join(sorted(names)))
    return broken


def step_with(step, **methods):
    """A copy of the library's ``step`` (``steps.critic_grads``, ``steps.generator_grads``) that
    first gives the net it updates, its first argument, the methods named (say
    ``gradient_penalty``): each a function of that net and the method's arguments, installed
    on that net alone. Takes the step's own arguments."""
    unknown = sorted(n for n in methods if not callable(getattr(MLP, n, None)))
    if unknown:
        raise ValueError("an MLP has no method %s" % unknown)

    @wraps(step)
    def broken(net, *args, **kwargs):
        for name, fn in methods.items():
            setattr(net, name, types.MethodType(fn, net))
        return step(net, *args, **kwargs)
    broken.__doc__ = "%s on a net whose %s is broken" % (step.__qualname__,
                                                        ", ".join(sorted(methods)))
    return broken


def _does_nothing(self, *args):
    return None


# ---- workbook 1: the layers --------------------------------------------------------------------

def _dW_transposed(da, cache):
    x, W = cache
    return da @ W.T, da.T @ x, da.sum(axis=0)


def _db_not_summed(da, cache):
    x, W = cache
    return da @ W.T, x.T @ da, da


def _db_averaged(da, cache):
    x, W = cache
    return da @ W.T, x.T @ da, da.mean(axis=0)


def _db_wrong_axis(da, cache):
    x, W = cache
    return da @ W.T, x.T @ da, da.sum(axis=1)


LINEAR_BACKWARD = _known(
    ("dW transposed", "dW must have W's shape (D, M): dW = x^T da, not da^T x.", _dW_transposed),
    ("db not summed over the rows", "b is added to every row of a, so dL/db collects every "
     "row's gradient: the sum of da over the rows, (M,), not da itself.", _db_not_summed),
    ("db averaged over the rows", "every row's loss depends on b with weight 1: sum da over "
     "the rows, do not average it (any 1/N belongs to the loss, not here).", _db_averaged),
    ("db summed over the wrong axis", "sum over the rows (axis 0), one entry per output unit: "
     "db has b's shape (M,).", _db_wrong_axis))

_TAIL_HINT = ("rounds to 0 in the tails, where the true value is tiny but representable: "
              "write it with e = exp(-|a|) (workbook 1.2), with no 1 - (a number near 1)")


def _naive_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _naive_sigmoid_slope(self, a):
    return _naive_sigmoid(a) * (1 - _naive_sigmoid(a))


TANH_DF = _known(
    ("1 - tanh(a)^2", "1 - tanh^2 " + _TAIL_HINT,
     copy_with(mlp.Tanh, df=lambda self, a: 1 - np.tanh(a) ** 2)))

TANH_D2F = _known(
    ("-2 tanh(a) (1 - tanh(a)^2)", "1 - tanh^2 " + _TAIL_HINT,
     copy_with(mlp.Tanh, d2f=lambda self, a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2))),
    ("sign of s'' flipped", "d/da sech^2 a = -2 tanh(a) sech^2(a): negative for a > 0.",
     copy_with(mlp.Tanh, d2f=lambda self, a: 2 * np.tanh(a) * mlp.Tanh().df(a))))

SIGMOID_DF = _known(
    ("sigma (1 - sigma)", "sigma(a) (1 - sigma(a)) " + _TAIL_HINT + "; sigma(a) sigma(-a) is "
     "the same number", copy_with(mlp.Sigmoid, df=_naive_sigmoid_slope)))

SIGMOID_D2F = _known(
    ("sigma (1 - sigma) (1 - 2 sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
     copy_with(mlp.Sigmoid, d2f=lambda self, a: (lambda s: s * (1 - s) * (1 - 2 * s))(
         _naive_sigmoid(a)))))

SOFTPLUS_DF = _known(
    ("1 / (1 + e^a)", "d/da log(1 + e^a) = e^a / (1 + e^a) = sigma(a); 1 / (1 + e^a) is "
     "sigma(-a).", copy_with(mlp.Softplus, df=lambda self, a: mlp.sigmoid(-a))))

SOFTPLUS_D2F = _known(
    ("sigma (1 - sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
     copy_with(mlp.Softplus, d2f=_naive_sigmoid_slope)))

SILU_DF = _known(
    ("product rule missed", "d/da (a sigma(a)) = sigma(a) + a sigma'(a): two terms.",
     copy_with(mlp.SiLU, df=lambda self, a: mlp.sigmoid(a))))

SILU_D2F = _known(
    ("2 s' + a s'' from sigma (1 - sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
     copy_with(mlp.SiLU, d2f=lambda self, a: (
         lambda s: 2 * s * (1 - s) + a * s * (1 - s) * (1 - 2 * s))(_naive_sigmoid(a)))),
    ("one sigma' term missed", "d/da (sigma + a sigma') = 2 sigma' + a sigma'': sigma' appears "
     "twice.", copy_with(mlp.SiLU, d2f=lambda self, a: mlp.Sigmoid().df(a)
                         + a * mlp.Sigmoid().d2f(a))))

ACTIVATION_BACKWARD = _known(
    ("s(a), not s'(a)", "the chain rule multiplies dh by the derivative s'(a) (act.df), not by "
     "s(a) itself.", lambda dh, cache: dh * cache[1].f(cache[0])),
    ("dh left out", "da = dL/da = dL/dh * dh/da: multiply the upstream gradient dh by s'(a).",
     lambda dh, cache: cache[1].df(cache[0])))


# ---- workbook 2: the MLP -----------------------------------------------------------------------

def _plain_backward(net, dout, cache, slope_at_output=False, slope_of_h=False, assign=False):
    """The backward recurrence written out, with one of three known mistakes switched on: s'
    applied after the last layer, s' taken at the activation H instead of the pre-activation A,
    or the gradients assigned into the buffers instead of added."""
    H, A = cache
    act = net.act
    dA = dout * act.df(A[-1]) if slope_at_output else dout
    for l in range(net.L - 1, -1, -1):
        if assign:
            net.dW[l][...], net.db[l][...] = H[l].T @ dA, dA.sum(axis=0)
        else:
            net.dW[l][...] += H[l].T @ dA
            net.db[l][...] += dA.sum(axis=0)
        dH = dA @ net.W[l].T
        if l > 0:
            dA = dH * act.df(H[l] if slope_of_h else A[l - 1])
    return dH


MLP_BACKWARD = _known(
    ("s' after the last layer", "the output f = A[L-1] has no activation: start from "
     "dA[L-1] = dout, and multiply by s'(A[l-1]) only between layers.",
     partial(_plain_backward, slope_at_output=True)),
    ("s' at the activation, not the pre-activation", "h = s(a): dh/da = s'(a) at the "
     "pre-activation A[l-1], not s'(H[l]) = s'(s(A[l-1])).",
     partial(_plain_backward, slope_of_h=True)),
    ("assigned instead of added", "the buffers already hold other terms (a critic step adds "
     "the loss's gradient, then the penalty's): add into them, net.dW[l][...] += ..., never "
     "overwrite.", partial(_plain_backward, assign=True)))


def _seeded_mean(net, x):
    return net.input_gradient(x) / x.shape[0]


def _summed(net, x):
    return net.input_gradient(x).sum(axis=0)


def _with_parameter_gradients(net, x):
    out, cache = net.forward(x)
    return net.backward(np.ones_like(out), cache)


INPUT_GRADIENT = _known(
    ("seeded with 1/N", "row i of f depends on row i of x only, so grad_x f(x_i) is the "
     "gradient of f_i itself: seed dA[L-1] = 1 (the gradient of sum f), not 1/N (that of "
     "mean f).", _seeded_mean),
    ("summed over the batch", "one gradient per example, (N, d_0): do not sum the rows.",
     _summed),
    ("parameter gradients added", "the input gradient is a pass of its own: it must not add "
     "anything into net.dW or net.db (a critic step would count it as a loss term).",
     _with_parameter_gradients))


# ---- workbook 3: the penalty -------------------------------------------------------------------

def dropped_second_order(act):
    """A copy of the activation ``act`` (a name or an Activation) that pretends s'' = 0, so that
    ``tinywgan.core.mlp`` skips step (4), the s'' injections: every first-order check still
    passes and the penalty's weight gradient is wrong (the hidden biases get none at all)."""
    broken = copy.copy(mlp.get_activation(act))
    broken.second_order = False
    broken.name = "%s without s''" % broken.name
    return broken


def head_norm_over_batch(grad_x, lam, target=1.0, one_sided=False):
    r"""``mlp.penalty_head`` with the norm taken over the wrong axis: one norm per input
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
    """``mlp.penalty_head`` with the direction g / ||g|| unguarded: 0/0 = NaN at g = 0."""
    xp, N = get_array_module(grad_x), grad_x.shape[0]
    norms = xp.sqrt((grad_x * grad_x).sum(axis=1))
    gap = xp.maximum(norms - target, 0) if one_sided else norms - target
    unit = grad_x / norms[:, None]                                         # 0/0 at g = 0
    return lam / N * (gap * gap).sum(), norms, (2 * lam / N * gap)[:, None] * unit


def head_norm_per_coordinate(grad_x, lam, target=1.0, one_sided=False):
    r"""``mlp.penalty_head`` with a norm over one axis of a gradient that had more: each
    example's gradient not flattened first, so ``norm(g, axis=1)`` of an image gradient
    (B, C, H, W) is one norm per pixel. Here, (N, d) with one channel: one "norm" per
    coordinate, |g_ij|, each held at the target.

        gap_ij = |g_ij| - target: (N, d),   R = lam/(N d) sum_ij gap_ij^2,
        dR/dg_ij = 2 lam/(N d) gap_ij sign(g_ij)
    """
    xp = get_array_module(grad_x)
    norms = xp.abs(grad_x)                                               # (N, d), not (N,)
    gap = xp.maximum(norms - target, 0) if one_sided else norms - target
    return (lam / grad_x.size * (gap * gap).sum(), norms,
            2 * lam / grad_x.size * gap * xp.sign(grad_x))


def _head_summed(grad_x, lam, target=1.0, one_sided=False):
    R, norms, dg = mlp.penalty_head(grad_x, lam, target, one_sided)
    return R * grad_x.shape[0], norms, dg * grad_x.shape[0]


def _head_squared(grad_x, lam, target=1.0, one_sided=False):
    sq = (grad_x ** 2).sum(axis=1)                                       # ||g||^2, not ||g||
    gap = np.maximum(sq - target, 0) if one_sided else sq - target
    N = grad_x.shape[0]
    return lam / N * (gap ** 2).sum(), np.sqrt(sq), (4 * lam / N * gap)[:, None] * grad_x


def _head_two_sided(grad_x, lam, target=1.0, one_sided=False):
    return mlp.penalty_head(grad_x, lam, target, False)


PENALTY_HEAD = _known(
    ("norm over the wrong axis", "one norm per EXAMPLE: the norm of each row, sum over axis 1, "
     "giving (N,); over axis 0 it is one norm per input coordinate, taken over the batch.",
     head_norm_over_batch),
    ("norm per coordinate", "one norm per EXAMPLE, over all its coordinates: flatten each "
     "example's gradient to a row first (an image's (C, H, W) to C H W entries); a norm over "
     "one axis of (B, C, H, W) is one per pixel, and |g_ij| alone one per coordinate.",
     head_norm_per_coordinate),
    ("1/N missing", "R is the MEAN over the N examples: lam/N sum_i gap_i^2, and so dR/dg_i "
     "carries 2 lam/N.", _head_summed),
    ("NaN at g = 0", "at g_i = 0 the direction g_i / ||g_i|| is 0/0: take it as 0, e.g. "
     "g / max(||g||, tiny), so a flat critic does not turn every gradient into NaN.",
     head_unguarded),
    ("the squared norm penalised", "the penalty is on the norm ||g_i|| = sqrt(sum_j g_ij^2), "
     "not on ||g_i||^2.", _head_squared),
    ("one_sided ignored", "one-sided: gap_i = max(0, ||g_i|| - t), so rows with ||g_i|| < t "
     "add nothing to R and get no gradient.", _head_two_sided))


def penalty_value_only(net, x_hat, lam, target=1.0, one_sided=False):
    """``mlp.gradient_penalty`` that computes R (which the caller adds to the loss) and no
    gradient: the penalty in the loss but not in the weights' update."""
    R, norms, _ = mlp.penalty_head(net.input_gradient(x_hat), lam, target, one_sided)
    return R, norms


def penalty_without_s2(net, x_hat, lam, target=1.0, one_sided=False):
    """``mlp.gradient_penalty`` on a net whose activation claims s'' = 0
    (``dropped_second_order``): steps (1)-(3) only."""
    net.act = dropped_second_order(net.act)
    return mlp.gradient_penalty(net, x_hat, lam, target, one_sided)


def _s2_into_own_bias(net, x_hat, lam, target=1.0, one_sided=False):
    """numpy-ml's double backward: each layer's s'' term A_bar[l] added to that layer's own bias
    gradient, and propagated nowhere else (not to W, not to the layers below)."""
    act = mlp.get_activation(net.act)
    R, norms = penalty_without_s2(net, x_hat, lam, target, one_sided)
    cache, gA, gH = net.input_gradient_pass(x_hat)
    gH_bar = mlp.penalty_head(gH[0], lam, target, one_sided)[2]
    for l in range(net.L - 1):
        gA_bar = gH_bar @ net.W[l]
        net.db[l][...] += (gA_bar * gH[l + 1] * act.d2f(cache.A[l])).sum(axis=0)   # A_bar[l]
        gH_bar = gA_bar * act.df(cache.A[l])
    return R, norms


#: The penalty's mistakes that ReLU-family nets show: its gradient missing, or the head's
#: mistakes made inside the library's penalty (their names and hints).
GRADIENT_PENALTY_FIRST_ORDER = _known(
    ("penalty not backpropagated", "R is returned but nothing is added into net.dW: the "
     "optimizer never sees the penalty. Run the reverse pass from dR/dg (penalty_head) up "
     "through the layers.", penalty_value_only),
    *[(m.name, m.hint, copy_with(mlp.gradient_penalty, penalty_head=m.obj))
      for m in PENALTY_HEAD])

GRADIENT_PENALTY = _known(
    ("s'' path dropped", "for a smooth activation s'(A[l]) depends on the weights below layer "
     "l: add A_bar[l] = gA_bar[l] * gH[l+1] * s''(A[l]) and backpropagate it through the "
     "forward pass (3.3); the hidden biases get their gradient only that way.",
     penalty_without_s2),
    ("s'' into its own bias only (numpy-ml's)", "A_bar[l] is dR/dA[l], and A[l] depends on "
     "W[l] and on every layer below: it must flow back through the forward pass "
     "(dW[l] += H[l]^T dA[l], then down), not stop at b[l].", _s2_into_own_bias)
) + GRADIENT_PENALTY_FIRST_ORDER


# ---- workbook 4: the losses and the steps ------------------------------------------------------

def flipped_critic_loss(f_real, f_fake):
    """``steps.wasserstein_critic_loss`` with its sign flipped: mean f(real) - mean f(fake)."""
    loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    return -loss, -d_real, -d_fake


def flipped_critic_choice(method, f_real, f_fake):
    """``steps.critic_loss`` with the Wasserstein critic's loss flipped (the GAN's as it is)."""
    if method == "gan":
        return critic_loss(method, f_real, f_fake)
    return flipped_critic_loss(f_real, f_fake)


WASSERSTEIN_CRITIC_LOSS = _known(
    ("critic's sign flipped", "the critic MAXIMISES mean f(real) - mean f(fake), so it "
     "descends on L = mean f(fake) - mean f(real).", flipped_critic_loss),
    ("1/N missing", "L is a mean: each f_real_i carries -1/N and each f_fake_j +1/M.",
     lambda f_real, f_fake: (f_fake.mean() - f_real.mean(), -np.ones_like(f_real),
                             np.ones_like(f_fake))),
    ("N and M swapped", "f_real has N rows and f_fake M: dL/df_real = -1/N, dL/df_fake = 1/M.",
     lambda f_real, f_fake: (f_fake.mean() - f_real.mean(),
                             np.full_like(f_real, -1 / f_fake.shape[0]),
                             np.full_like(f_fake, 1 / f_real.shape[0]))))

WASSERSTEIN_GENERATOR_LOSS = _known(
    ("generator's sign flipped", "the generator climbs the critic: it descends on "
     "L = -mean f(G(z)).", lambda f_fake: (f_fake.mean(), np.full_like(f_fake,
                                                                       1 / f_fake.shape[0]))),
    ("1/M missing", "L is a mean: each f_j carries -1/M.",
     lambda f_fake: (-f_fake.mean(), -np.ones_like(f_fake))))


def _naive_log_sigmoid(logit):
    return np.log(1 / (1 + np.exp(-logit)))


_NAIVE = ("log sigma(l) is -inf once sigma(l) rounds to 0, and log(1 - sigma(l)) once it "
          "rounds to 1 (l > 37): use log sigma(l) = -softplus(-l) and log(1 - sigma(l)) = "
          "-softplus(l), with mlp.softplus.")

GAN_DISCRIMINATOR_LOSS = _known(
    ("log(sigmoid) overflows", _NAIVE,
     lambda logit_real, logit_fake: (
         -_naive_log_sigmoid(logit_real).mean()
         - np.log(1 - 1 / (1 + np.exp(-logit_fake))).mean(),
         -mlp.sigmoid(-logit_real) / logit_real.shape[0],
         mlp.sigmoid(logit_fake) / logit_fake.shape[0])),
    ("sign of the real logits' gradient", "d/dl softplus(-l) = -sigma(-l) = sigma(l) - 1: "
     "negative, raising D(real) lowers the loss.",
     lambda logit_real, logit_fake: (gan_discriminator_loss(logit_real, logit_fake)[0],
                                     mlp.sigmoid(-logit_real) / logit_real.shape[0],
                                     mlp.sigmoid(logit_fake) / logit_fake.shape[0])),
    ("1/N missing", "L is a sum of two means: divide each row's gradient by its batch's size.",
     lambda logit_real, logit_fake: (gan_discriminator_loss(logit_real, logit_fake)[0],
                                     -mlp.sigmoid(-logit_real), mlp.sigmoid(logit_fake))))


def _swapped_kind(logit_fake, kind="nonsaturating"):
    return gan_generator_loss(logit_fake,
                              "minimax" if kind == "nonsaturating" else "nonsaturating")


def _naive_generator(logit_fake, kind="nonsaturating"):
    if kind == "minimax":
        return np.log(1 - 1 / (1 + np.exp(-logit_fake))).mean(), \
            -mlp.sigmoid(logit_fake) / logit_fake.shape[0]
    return -_naive_log_sigmoid(logit_fake).mean(), \
        -mlp.sigmoid(-logit_fake) / logit_fake.shape[0]


def _generator_loss_summed(logit_fake, kind="nonsaturating"):
    loss, d_logit = gan_generator_loss(logit_fake, kind)
    return loss, d_logit * logit_fake.shape[0]


GAN_GENERATOR_LOSS = _known(
    ("minimax and non-saturating swapped", "minimax: L = mean log(1 - D) = -mean softplus(l); "
     "non-saturating: L = -mean log D = mean softplus(-l).", _swapped_kind),
    ("log(sigmoid) overflows", _NAIVE, _naive_generator),
    ("1/M missing", "L is a mean over the M logits: dL/dl_j carries 1/M.",
     _generator_loss_summed))


def _ascending_loss_at(D, x_fake, method="wgan-gp", gan_loss="nonsaturating", x_real=None):
    loss, dx_fake = steps.generator_loss_at(D, x_fake, method, gan_loss, x_real)
    return -loss, -dx_fake


def generator_fed_output_gradient(G, D, z, method="wgan-gp", gan_loss="nonsaturating",
                                  noise=None, x_real=None):
    """``steps.generator_grads`` that hands the generator the loss's gradient with respect to
    the critic's OUTPUT, dL/df: (B, 1), copied onto every coordinate of x_fake, instead of
    dL/dx_fake, the gradient backpropagated through the critic."""
    G.zero_grad()
    x_fake, cache = G.forward(z)                                                # (B, d)
    if noise is not None:
        x_fake = x_fake + noise
    f_fake = D(x_fake)                                                          # (B, 1)
    loss, d_f = generator_loss(method, f_fake, gan_loss, None if x_real is None else D(x_real))
    G.backward(d_f * get_array_module(z).ones_like(x_fake), cache)             # not D's backward
    return {"gen_loss": loss}


def _critic_gradients_added(G, D, z, method="wgan-gp", gan_loss="nonsaturating", noise=None,
                            x_real=None):
    """``steps.generator_grads`` whose backward through the critic adds D's parameter
    gradients too."""
    G.zero_grad()
    x_fake, cache = G.forward(z)
    if noise is not None:
        x_fake = x_fake + noise
    f_fake, d_cache = D.forward(x_fake)
    loss, d_f = generator_loss(method, f_fake, gan_loss, None if x_real is None else D(x_real))
    G.backward(D.backward(d_f, d_cache), cache)                   # D's parameter gradients too
    return {"gen_loss": loss}


GENERATOR_GRADS = _known(
    ("generator fed dL/df", "G needs dL/dx_fake, (B, d): the loss's gradient backpropagated "
     "through the critic to its input (D.backward(d_f, cache, param_grads=False)), not dL/df, "
     "the gradient at the critic's output.", generator_fed_output_gradient),
    ("generator's sign flipped", "the generator descends on the loss as given (4.1, 4.2): "
     "backpropagate dL/dx_fake itself, not its negative.",
     copy_with(steps.generator_grads, generator_loss_at=_ascending_loss_at)),
    ("the critic's gradients changed", "backpropagate through the critic with "
     "param_grads=False: the critic's buffers belong to its own step.", _critic_gradients_added),
    ("G.grads not zeroed first", "G.backward ADDS into G's buffers: call G.zero_grad() first, "
     "or the last step's gradient is counted again.",
     step_with(steps.generator_grads, zero_grad=_does_nothing)))

CRITIC_GRADS = _known(
    ("critic's sign flipped", "the critic descends on mean f(fake) - mean f(real) (4.1).",
     copy_with(steps.critic_grads, critic_loss=flipped_critic_choice)),
    ("penalty not backpropagated", "the penalty's gradient must be in D's buffers at the end "
     "(D.gradient_penalty adds it), not only its value in the loss; and nothing may zero the "
     "buffers after it.",
     copy_with(steps.critic_grads, gradient_penalty=penalty_value_only)),
    ("s'' path dropped", "the penalty of a smooth critic needs its s'' injection (3.3).",
     copy_with(steps.critic_grads, gradient_penalty=penalty_without_s2)),
    ("spectral_backward not called", "with spectral normalisation the backward passes give the "
     "gradient with respect to W / sigma: call D.spectral_backward() once, after the last of "
     "them.", step_with(steps.critic_grads, spectral_backward=_does_nothing)),
    ("D.grads not zeroed first", "the backward passes ADD into D's buffers: D.zero_grad() "
     "first.", step_with(steps.critic_grads, zero_grad=_does_nothing)),
    ("eps applied to the fake point", "x_hat = eps x_real + (1 - eps) x_fake: the given eps "
     "weighs the REAL example.",
     copy_with(steps.critic_grads, interpolates=lambda x_real, x_fake, eps:
               eps * x_fake + (1 - eps) * x_real)),
    ("penalty at the real points", "penalise at x_hat = eps x_real + (1 - eps) x_fake, eps "
     "uniform per example, between the real and the generated points: at x_real alone "
     "(eps = 1) the critic is free to be steep everywhere the generator's samples are.",
     copy_with(steps.critic_grads, interpolates=lambda x_real, x_fake, eps: x_real)))

#: The zoo's alone: the exercise's contract asks for the penalty's value, so a learner's step
#: that never calls the penalty gets that contract's error, not a hint.
PENALTY_NEVER_CALLED = _known(
    ("penalty never called", "WGAN-GP's critic loss is the Wasserstein term PLUS the penalty: "
     "compute it at the interpolates and add its value to the loss and its gradient to the "
     "critic's, every critic step.", copy_with(steps.critic_grads, INTERPOLATING=())))


def interpolates_unchecked(x_real, x_fake, eps):
    """``steps.interpolates`` without its check that eps has one entry per example."""
    return eps * x_real + (1 - eps) * x_fake


def eps_per_coordinate(rng, B, d):
    """eps: (B, d), one per coordinate, instead of one per example, (B, 1)."""
    return rng.random((B, d))


def eps_normal(rng, B, d):
    """eps ~ N(0, 1) instead of U[0, 1]: most x_hat off the segment between the pair."""
    return rng.standard_normal((B, 1))


#: The penalty's draw of eps (the bug zoo's; ``checks.library_eps`` is the library's).
EPS_DRAW = _known(
    ("eps per coordinate", "draw one eps per example, eps: (B, 1), so that each x_hat lies on "
     "the segment between its pair.", eps_per_coordinate),
    ("eps from N(0, 1)", "draw eps uniform on [0, 1], so that each x_hat lies between its "
     "pair.", eps_normal))


def update_critic_clip_first(D, opt, method, clip):
    """``steps.update_critic`` that clips before the optimizer step instead of after it: the
    weights the critic computes with are no longer in [-c, c]."""
    if method == "wgan":
        clip_weights(D.params, clip)
    opt.step(D.params, D.grads)


UPDATE_CRITIC = _known(
    ("clipped before the step", "clip the weights into [-c, c] after the optimizer step, so "
     "that the critic computes with clipped weights.", update_critic_clip_first))

#: The penalty's weight lam: the broken copy is the number itself.
PENALTY_WEIGHT = _known(
    ("lambda 0.1, not 10", "the WGAN-GP paper's lambda is 10; at 0.1 the penalty is too weak "
     "to hold the critic near 1-Lipschitz.", 0.1))


# ---- workbook 5: Lipschitz constraints and the optimizers --------------------------------------

CLIP_WEIGHTS = _known(
    ("not in place", "np.clip(params, -c, c) returns a new array and leaves params as it was: "
     "write into the buffer, np.clip(params, -c, c, out=params).",
     lambda params, c: np.clip(params, -c, c)),
    ("clipped from above only", "into [-c, c]: large negative weights are clipped to -c too.",
     lambda params, c: np.minimum(params, c, out=params)))


def _rms_step(self, p, g, t, eps_inside=False, swapped=False, keep=True, in_place=True,
              eps=None):
    """RMSProp written out, with one known mistake switched on (``eps``: a number written in
    place of self.eps)."""
    ms, a = self._state["ms"], self.alpha
    eps = self.eps if eps is None else eps
    ms_new = (1 - a) * ms + a * g * g if swapped else a * ms + (1 - a) * g * g
    if keep:
        ms[...] = ms_new
    step = self.lr * g / (np.sqrt(ms_new + eps) if eps_inside else np.sqrt(ms_new) + eps)
    if in_place:
        p -= step


def _rmsprop(**mistake):
    return copy_with(optim.RMSProp, _update=partialmethod(_rms_step, **mistake))


_NOT_IN_PLACE = ("p = p - ... makes a new array and the model's buffer never changes: update "
                 "it in place, p -= ...")
_EPS_FIXED = ("eps is a hyperparameter: use self.eps, not the number 1e-8 (it is only the "
              "default); where the gradients are near eps, eps shapes the step.")
_STATE_LOST = ("the state must be updated in place (ms[...] = ..., ms *= ...): a name bound "
               "to a new array is lost after the step, and the running mean restarts from 0.")

RMSPROP_UPDATE = _known(
    ("eps inside the root", "p -= lr g / (sqrt(ms) + eps): eps outside the root (TensorFlow 1 "
     "put it inside, sqrt(ms + eps), which matters for small gradients).",
     _rmsprop(eps_inside=True)),
    ("alpha and 1 - alpha swapped", "ms <- alpha ms + (1 - alpha) g^2: alpha (0.9) keeps the "
     "old mean.", _rmsprop(swapped=True)),
    ("state not kept", _STATE_LOST, _rmsprop(keep=False)),
    ("params not updated in place", _NOT_IN_PLACE, _rmsprop(in_place=False)),
    ("eps hard-coded", _EPS_FIXED, _rmsprop(eps=1e-8)))


def _adam_step(self, p, g, t, corrected=True, eps_inside=False, t0=1, keep=True, in_place=True,
               eps=None, efficient=False):
    """Adam written out, with one known mistake switched on (``eps``: a number written in place
    of self.eps; ``efficient``: the efficient form, lr sqrt(1 - beta2^t) / (1 - beta1^t) times
    m / (sqrt(v) + eps), with eps not rescaled by sqrt(1 - beta2^t))."""
    (b1, b2), m, v = self.betas, self._state["m"], self._state["v"]
    eps = self.eps if eps is None else eps
    m_new, v_new = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    if keep:
        m[...], v[...] = m_new, v_new
    k = t - 1 + t0                                       # the exponent of the corrections
    m_hat = m_new / (1 - b1 ** k) if corrected else m_new
    v_hat = v_new / (1 - b2 ** k) if corrected else v_new
    root = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    step = self.lr * m_hat / root
    if efficient:
        step = self.lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m_new / (np.sqrt(v_new) + eps)
    if in_place:
        p -= step


def _adam(**mistake):
    return copy_with(optim.Adam, _update=partialmethod(_adam_step, **mistake))


ADAM_UPDATE = _known(
    ("no bias correction", "m and v start at 0, so early on they underestimate the moments: "
     "divide by 1 - beta1^t and 1 - beta2^t.", _adam(corrected=False)),
    ("bias correction from t = 0", "t counts the steps from 1: at the first step the "
     "corrections are 1 - beta^1, not 1 - beta^0 = 0.", _adam(t0=0)),
    ("eps inside the root", "p -= lr m_hat / (sqrt(v_hat) + eps): eps outside the root.",
     _adam(eps_inside=True)),
    ("state not kept", _STATE_LOST, _adam(keep=False)),
    ("params not updated in place", _NOT_IN_PLACE, _adam(in_place=False)),
    ("eps hard-coded", _EPS_FIXED, _adam(eps=1e-8)),
    ("eps not rescaled in the efficient form", "the efficient form lr sqrt(1 - beta2^t) / "
     "(1 - beta1^t) m / (sqrt(v) + eps_t) is the same step only with eps_t = eps sqrt(1 - "
     "beta2^t) (Kingma & Ba 2015, just before Section 2.1): rescale eps too.",
     _adam(efficient=True)))


def _sn_backward(self, dW_hats, dWs, projection=1, divide=True, assign=False):
    """Spectral norm's backward written out, with one known mistake switched on."""
    for l, (dW_hat, dW) in enumerate(zip(dW_hats, dWs)):
        inner = (dW_hat * self.W_hats[l]).sum()
        grad = dW_hat - projection * inner * np.outer(self.u[l], self.v[l])
        grad = grad / self.sigma[l] if divide else grad
        if assign:
            dW[...] = grad
        else:
            dW += grad


def _sn(**mistake):
    return copy_with(lipschitz.SpectralNorm, backward=partialmethod(_sn_backward, **mistake))


SPECTRAL_NORM_BACKWARD = _known(
    ("the term through sigma missing", "sigma depends on W too (d sigma/dW = u v^T): "
     "dW = (dW_hat - <dW_hat, W_hat> u v^T) / sigma.", _sn(projection=0)),
    ("that term's sign flipped", "d(W/sigma) = dW/sigma - W dsigma/sigma^2: the term through "
     "sigma is subtracted.", _sn(projection=-1)),
    ("not divided by sigma", "W_hat = W / sigma: both terms carry 1/sigma.", _sn(divide=False)),
    ("assigned instead of added", "add into dWs[l] (dW += ...): it may hold other terms.",
     _sn(assign=True)))


# ---- the critic's network ----------------------------------------------------------------------

def batch_normalised(a, act):
    """``mlp.activation_forward`` after batch normalisation (its scale and shift left at 1 and 0,
    PyTorch's 1e-5 under the root): each unit's pre-activation standardised over the batch,
    a: (N, m) -> (a - mean_n a) / sqrt(var_n a + 1e-5), so that every row's output depends on
    every row."""
    return mlp.activation_forward((a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + 1e-5), act)


CRITIC_NET = _known(
    ("batch-normalised critic", "no batch normalisation in a WGAN-GP critic (the paper's "
     "advice; layer normalisation, or none, instead): the penalty holds each example's "
     "gradient grad_x f(x_i), which exists only if f(x_i) depends on x_i alone.",
     copy_with(MLP, _forward=copy_with(MLP._forward, activation_forward=batch_normalised))))


def _groupsort_gathered(self, dh, a):
    """da = P dh, the forward's gather (np.take_along_axis), for P^T dh."""
    return self.jvp(dh, a)


GROUPSORT_VJP = _known(
    ("routed by the input order", "h = P a puts the input order[j] at the sorted place j, so "
     "the gradient at the sorted place j goes back to the input order[j]: da = P^T dh, a "
     "scatter (np.put_along_axis(da, order, dh, axis=-1)), not the forward's gather P dh. A "
     "swap is its own inverse, so groups of 2 hide this; groups of 3 show it.",
     copy_with(mlp.GroupSort, vjp=_groupsort_gathered)),
    ("gradient not permuted", "GroupSort moves the units: each unit's gradient goes back to "
     "the input it came from (da = P^T dh), not to the same place (da = dh).",
     copy_with(mlp.GroupSort, vjp=lambda self, dh, a: dh.copy())),
    ("sorted over the whole row", "GroupSort sorts within each group of k consecutive units "
     "(a.reshape(N, -1, k)), not across the row.",
     copy_with(mlp.GroupSort, vjp=lambda self, dh, a: mlp.GroupSort(a.shape[1]).vjp(dh, a))))


def _bjorck_backward(dW_next, W, through_A=True, transpose_term=True, half=0.5):
    """The Bjorck step's backward written out, with one known mistake switched on."""
    G = W.T @ dW_next
    dW = 1.5 * dW_next - 0.5 * dW_next @ (W.T @ W)
    return dW - half * W @ (G + G.T if transpose_term else G) if through_A else dW


BJORCK_STEP_BACKWARD = _known(
    ("W inside A held constant", "W' = W A, and A = 3/2 I - 1/2 W^T W depends on W too: add "
     "the term through A, -1/2 W (W^T dW' + dW'^T W).",
     partial(_bjorck_backward, through_A=False)),
    ("the transpose term dropped", "W enters A twice (W^T W): dA = -1/2 (dW^T W + W^T dW), "
     "so the term through A has W^T dW' and its transpose: -1/2 W (W^T dW' + dW'^T W).",
     partial(_bjorck_backward, transpose_term=False)),
    ("factor 1/2 lost", "A = 3/2 I - 1/2 W^T W: the term through A keeps the 1/2, "
     "-1/2 W (W^T dW' + dW'^T W).", partial(_bjorck_backward, half=1.0)))


# ---- the data ----------------------------------------------------------------------------------

def ring_centres_linspace():
    """The ring's centres from angles linspace(0, 2 pi, 8), which includes both 0 and 2 pi:
    seven distinct centres, the first twice. Scaled as 8gaussians' (radius 2 / 1.414)."""
    t = np.linspace(0, 2 * math.pi, 8)
    radius = float(np.linalg.norm(data.centres("8gaussians")[0]))
    return radius * np.stack([np.cos(t), np.sin(t)], axis=1)                     # (8, 2)


RING_CENTRES = _known(
    ("ring from linspace", "take the angles 2 pi k / 8, k = 0..7 (linspace(0, 2 pi, 8, "
     "endpoint=False)): eight distinct centres.", ring_centres_linspace))


#: Every known mistake, each once, in the order above.
CATALOGUE = tuple(_ENTERED)
