r"""Workbook 4's exercises: the Wasserstein and GAN losses, the generator's step through the critic,
the critic's step for every method; cases and differences (their known mistakes are the
catalogue's, ``tinywgan.bugzoo.broken``).

The GAN losses are also graded at logits of +-50 and +-1000 (against tinywgan's answer, exact
there), where a textbook log(sigmoid) is infinite. The steps' gradient buffers are filled with
random numbers first: their contract zeroes them (G's, D's), or leaves them alone (the
critic's, during the generator's step).
"""
import math
from functools import partial

import numpy as np

from ..bugzoo import broken
from ..core import steps
from ..measure.finitediff import numerical_gradient
from .spec import (Case, Exercise, build_net, constant, describe, differences, distinct,
                   draw_widths, entries, gradient_views, kink_margin, parameter_views, prefill,
                   split_target, unpack)

# ---- the losses --------------------------------------------------------------------------------


def _columns(rng, sizes, scale=1.0):
    return [rng.normal(scale=scale, size=(int(n), 1)) for n in sizes]


def _loss_cases(rng, n_inputs, saturate=False, kinds=(None,)):
    """Per kind (GAN generator losses) three cases of random outputs, batches of sizes N (and M)
    different and above 1, the third at N = 1, and, with ``saturate``, one at logits of +-50 and
    +-1000."""
    cases = []
    for kind in kinds:
        extra = () if kind is None else (kind,)
        for k in range(3):
            sizes = distinct(rng, n_inputs)
            sizes[0] = 1 if k == 2 else sizes[0]
            arrays = _columns(rng, sizes, scale=3.0 if saturate else 1.0)
            cases.append(Case("values of order 1" if kind is None else kind,
                              "batches of %s" % " and ".join(str(a.shape[0]) for a in arrays)
                              + ("" if kind is None else ", " + kind),
                              partial(_with, constant(*arrays), extra),
                              sizes=dict(zip(("N", "M"), sizes))))
        if saturate:
            big = np.array([[-1000.0], [-50.0], [0.5], [50.0], [1000.0]])
            cases.append(Case("saturated logits, +-50 and +-1000" + ("" if kind is None
                                                                      else ", " + kind),
                              "logits -1000, -50, 0.5, 50, 1000",
                              partial(_with, constant(*[big] * n_inputs), extra),
                              differences=False))
    return cases


def _with(build, extra):
    return build() + extra


def _loss_exercise(name, reference, teaches, outputs, mistakes, saturate=False, kinds=(None,)):
    n_inputs = len(outputs) - 1
    ref = getattr(steps, reference)

    def run(fn, args):
        return unpack(fn(*args), outputs)

    def diffs(args):
        arrays = args[:n_inputs]
        return {out: numerical_gradient(lambda: ref(*args)[0], a, return_noise=True)
                for out, a in zip(outputs[1:], arrays)}

    return Exercise(name, "04_losses_and_steps.py", "tinywgan.core.steps:" + reference, teaches,
                    partial(_loss_cases, n_inputs=n_inputs, saturate=saturate, kinds=kinds),
                    run, diffs, mistakes,
                    inputs=tuple(out.partition("/d")[2] for out in outputs[1:]))


WASSERSTEIN_CRITIC = _loss_exercise(
    "wasserstein_critic_loss", "wasserstein_critic_loss",
    "the critic's loss mean f(fake) - mean f(real) and its gradients",
    ("L", "dL/df_real", "dL/df_fake"), broken.WASSERSTEIN_CRITIC_LOSS)

WASSERSTEIN_GENERATOR = _loss_exercise(
    "wasserstein_generator_loss", "wasserstein_generator_loss",
    "the generator's loss -mean f(G(z)) and its gradient", ("L", "dL/df_fake"),
    broken.WASSERSTEIN_GENERATOR_LOSS)

GAN_DISCRIMINATOR = _loss_exercise(
    "gan_discriminator_loss", "gan_discriminator_loss",
    "the discriminator's loss from logits, exact at +-1000", ("L", "dL/dlogit_real",
                                                             "dL/dlogit_fake"),
    broken.GAN_DISCRIMINATOR_LOSS, saturate=True)

GAN_GENERATOR = _loss_exercise(
    "gan_generator_loss", "gan_generator_loss",
    "the minimax and non-saturating generator losses from logits", ("L", "dL/dlogit_fake"),
    broken.GAN_GENERATOR_LOSS, saturate=True, kinds=steps.GAN_LOSSES)


# ---- 4.3 generator_grads -----------------------------------------------------------------------

def _generator_inputs(act, g_widths, d_hidden, B, method, gan_loss, seed):
    G = build_net(g_widths, act, seed)
    D = build_net((g_widths[-1], *d_hidden, 1), act, seed + 1)
    z = np.random.default_rng(seed + 2).normal(size=(B, g_widths[0]))
    prefill(G, seed + 3)
    D_before = prefill(D, seed + 4)
    return G, D, z, method, gan_loss, D_before


def _generator_cases(rng):
    cases = []
    for part, act, method, gan_loss in (("the Wasserstein loss", "tanh", "wgan-gp", None),
                                        ("the Wasserstein loss", "relu", "wgan", None),
                                        ("the GAN losses", "silu", "gan", "nonsaturating"),
                                        ("the GAN losses", "softplus", "gan", "minimax")):
        B = int(rng.integers(2, 8))
        g_widths = draw_widths(rng, B, max_hidden=1, widest=6)      # z dim, hidden, d
        d_hidden = draw_widths(rng, B, g_widths[-1], max_hidden=1, widest=6)[1:-1]
        build = partial(_generator_inputs, act, g_widths, d_hidden, B, method,
                        gan_loss or "nonsaturating", int(rng.integers(2 ** 30)))
        G, D, z = build()[:3]
        cases.append(Case(part, "%s; D %s, %s" % (describe(G, B), "-".join(
            map(str, D.widths)), method + (" " + gan_loss if gan_loss else "")), build,
            kink_margin=min(kink_margin(G, z), kink_margin(D, G(z))), sizes=dict(N=B)))
    return cases


def _generator_run(fn, args):
    G, D, z, method, gan_loss, D_before = args
    out = entries(fn(G, D, z, method, gan_loss), ("gen_loss",))
    out.update({"G." + k: v.copy() for k, v in gradient_views(G).items()})
    out["D's gradients (must stay as they were)"] = np.concatenate(
        [(v - D_before[k]).ravel() for k, v in gradient_views(D).items()])
    return out


def _generator_differences(args):
    G, D, z, method, gan_loss = args[:5]
    grads = differences(G, lambda: float(steps.generator_grads(G, D, z, method,
                                                               gan_loss)["gen_loss"]),
                        parameter_views(G))
    return {"G." + k: v for k, v in grads.items()}


GENERATOR_GRADS = Exercise(
    "generator_grads", "04_losses_and_steps.py", "tinywgan.core.steps:generator_grads",
    "the generator's gradient through the critic", _generator_cases, _generator_run,
    _generator_differences, broken.GENERATOR_GRADS, inputs=("G", "D", "z"),
    writes=("G.dW", "G.db"))


# ---- 4.4 critic_grads --------------------------------------------------------------------------

def _critic_inputs(act, widths, B, method, seed):
    D = build_net(widths, act, seed, spectral_norm=(method == "wgan-sn"))
    rng = np.random.default_rng(seed + 1)
    x_real, x_fake = rng.normal(size=(B, widths[0])), rng.normal(size=(B, widths[0])) + 1
    eps = rng.random((B, 1)) if method in steps.INTERPOLATING else None
    if method == "wgan-lp":       # rows' norms on both sides of 1, none near it (NaN: redraw)
        g = D.input_gradient(steps.interpolates(x_real, x_fake, eps))
        D.W[-1][...] /= split_target(np.sqrt((g ** 2).sum(axis=1))) or math.nan
    D.power_iterate()                                         # spectral norm: u, v, then held
    prefill(D, seed + 2)
    return D, x_real, x_fake, eps, method, 10.0


#: Every method's critic; the spectral-norm critics' first layer of rank >= 2 (d, hidden > 1),
#: so that one power iteration is not exact and a step that never normalises is seen.
CRITIC_PLAN = (("wgan: the Wasserstein term", "softplus", "wgan"),
               ("wgan: the Wasserstein term", "relu", "wgan"),
               ("wgan-gp, ReLU: + the penalty's first-order path", "relu", "wgan-gp"),
               ("wgan-gp, smooth: + the s'' injection", "tanh", "wgan-gp"),
               ("wgan-lp: the one-sided penalty", "silu", "wgan-lp"),
               ("wgan-sn: spectral normalisation", "tanh", "wgan-sn"),
               ("wgan-sn: spectral normalisation", "relu", "wgan-sn"),
               ("gan: the discriminator's loss", "relu", "gan"))


def _critic_cases(rng):
    cases = []
    for part, act, method in CRITIC_PLAN:
        D = None
        while D is None or not np.isfinite(D.params).all():    # wgan-lp: until there is room
            B = int(rng.integers(2, 8))
            widths = draw_widths(rng, B, 1, max_hidden=2, widest=6)
            build = partial(_critic_inputs, act, widths, B, method, int(rng.integers(2 ** 30)))
            D, x_real, x_fake, eps = build()[:4]
        xs = [x_real, x_fake] + ([steps.interpolates(x_real, x_fake, eps)] if eps is not None
                                 else [])
        cases.append(Case(part, "%s, %s" % (describe(D, B), method), build,
                          kink_margin=kink_margin(D, *xs), sizes=dict(N=B)))
    return cases


def _critic_run(fn, args):
    D, x_real, x_fake, eps, method, lam = args
    names = ("critic_loss", "w_estimate") + (("penalty", "grad_norm")
                                             if method in steps.INTERPOLATING else ())
    out = entries(fn(D, x_real, x_fake, eps, method, lam), names)
    out.update({k: v.copy() for k, v in gradient_views(D).items()})
    return out


def _critic_differences(args):
    D, x_real, x_fake, eps, method, lam = args
    return differences(D, lambda: float(steps.critic_grads(D, x_real, x_fake, eps, method,
                                                           lam)["critic_loss"]),
                       parameter_views(D))


CRITIC_GRADS = Exercise(
    "critic_grads", "04_losses_and_steps.py", "tinywgan.core.steps:critic_grads",
    "the critic's whole step, every method", _critic_cases, _critic_run, _critic_differences,
    broken.CRITIC_GRADS, inputs=("D", "x_real", "x_fake", "eps"), writes=("D.dW", "D.db"))

EXERCISES = [WASSERSTEIN_CRITIC, WASSERSTEIN_GENERATOR, GAN_DISCRIMINATOR, GAN_GENERATOR,
             GENERATOR_GRADS, CRITIC_GRADS]
