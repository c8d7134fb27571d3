r"""Workbook 3's exercises: the penalty's head, its weight gradient for ReLU nets (the first-order
path) and for every activation (the s'' injection); cases and differences (their known mistakes
are the catalogue's, ``tinywgan.bugzoo.broken``).

The penalty's cases come in parts, so that a failure names its term: ReLU-family nets (the
first-order path alone), smooth nets (plus the s'' injection), the one-sided penalty, and a
critic whose input gradient is 0 everywhere (its last layer zero), where R has no derivative
and the answer is tinywgan's choice of direction 0 (no NaN): graded against tinywgan alone.
For smooth nets the grader also isolates the s'' injection: the learner's answer minus the
answer without s'' (``broken.penalty_without_s2``), against tinywgan's the same way.
"""
import math
from functools import partial

import numpy as np

from ..bugzoo import broken
from ..core import mlp
from ..measure.finitediff import numerical_gradient
from .spec import (Case, Exercise, added, build_net, describe, differences, distinct,
                   draw_widths, kink_margin, parameter_views, prefill, split_target, unpack)

# ---- 3.1 penalty_head --------------------------------------------------------------------------


def _head_inputs(N, d, scale, lam, target, one_sided, zero_row, seed):
    grad_x = np.random.default_rng(seed).normal(scale=scale, size=(N, d))
    if zero_row:
        grad_x[0] = 0
    if one_sided:                  # norms 0.4, 0.8, 1.6 ...: rows on both sides of the target
        grad_x *= (0.4 * 2.0 ** np.arange(N) / np.sqrt((grad_x ** 2).sum(axis=1)))[:, None]
        target = split_target(np.sqrt((grad_x ** 2).sum(axis=1)))
    return grad_x, lam, target, one_sided


def _head_cases(rng):
    """N and d different and above 1; the sixth case at N = 1."""
    cases = []
    for part, target, one_sided, zero_row in (("two-sided, target 1", 1.0, False, False),
                                              ("two-sided, target 1", 1.0, False, False),
                                              ("target 0 (R1, R2)", 0.0, False, False),
                                              ("one-sided", 1.0, True, False),
                                              ("a row with g = 0", 1.0, False, True),
                                              ("two-sided, target 1", 1.0, False, False)):
        N, d = distinct(rng, 2)
        N = 1 if len(cases) == 5 else N
        scale, lam = float(rng.uniform(0.3, 2)), float(rng.uniform(0.5, 20))
        build = partial(_head_inputs, N, d, scale, lam, target, one_sided, zero_row,
                        int(rng.integers(2 ** 31)))
        cases.append(Case(part, "N %d, d %d, lam %.3g, target %.3g%s"
                          % (N, d, lam, build()[2], ", one-sided" if one_sided else ""), build,
                          sizes=dict(N=N, d=d)))
    return cases


def _head_run(fn, args):
    return unpack(fn(*args), ("R", "norms", "dR/dg"))


def _head_differences(args):
    grad_x = args[0]
    return {"dR/dg": numerical_gradient(lambda: mlp.penalty_head(*args)[0], grad_x,
                                        return_noise=True)}


PENALTY_HEAD = Exercise(
    "penalty_head", "03_penalty.py", "tinywgan.core.mlp:penalty_head",
    "the penalty's value and dR/dg, one norm per example, no NaN at g = 0",
    _head_cases, _head_run, _head_differences, broken.PENALTY_HEAD, inputs=("grad_x",))


# ---- 3.2 and 3.3 gradient_penalty ---------------------------------------------------------------

def _penalty_inputs(act, widths, N, lam, one_sided, flat, seed):
    """net, x_hat: (N, d_0), lam, target, one_sided, the prefilled buffers. The one-sided
    target lies between the rows' norms (NaN when they leave no room: the case is redrawn)."""
    net = build_net(widths, act, seed)
    x_hat = np.random.default_rng(seed + 1).normal(size=(N, widths[0]))
    target = 1.0
    if flat:                                      # f constant: grad_x f = 0 at every row
        net.W[-1][...] = 0
    elif one_sided:
        g = net.input_gradient(x_hat)
        target = split_target(np.sqrt((g ** 2).sum(axis=1))) or math.nan
    return net, x_hat, lam, target, one_sided, prefill(net, seed + 2)


RELU_PART = "ReLU-family nets: the first-order path"
SMOOTH_PART = "smooth nets: the s'' injection"
FLAT_PART = "a %s critic with g = 0 everywhere (no derivative: tinywgan's answer)"


def _penalty_cases(rng, smooth):
    """Two ReLU-family nets (the second at N = 1), a one-sided case, a flat critic, and
    (``smooth``) the four smooth activations; N and the widths different and above 1."""
    act_1s, act_flat = ("tanh", "softplus") if smooth else ("relu", "relu")
    plan = [(RELU_PART, "relu", False, False), (RELU_PART, "leaky_relu", False, False),
            ("one-sided, a %s net" % act_1s, act_1s, True, False),
            (FLAT_PART % act_flat, act_flat, False, True)]
    if smooth:
        plan += [(SMOOTH_PART, act, False, False) for act in ("tanh", "sigmoid", "softplus",
                                                               "silu")]
    cases = []
    for k, (part, act, one_sided, flat) in enumerate(plan):
        target = math.nan
        while math.isnan(target):                 # one-sided: until the norms leave room
            N, lam = 1 if k == 1 else int(rng.integers(2, 8)), float(rng.uniform(0.5, 20))
            widths = draw_widths(rng, N, 1, max_hidden=2, widest=6)
            build = partial(_penalty_inputs, act, widths, N, lam, one_sided, flat,
                            int(rng.integers(2 ** 30)))
            net, x_hat, _, target = build()[:4]
        cases.append(Case(part, "%s, lam %.3g%s" % (describe(net, N), lam, ", target %.3g"
                                                    % target if one_sided else ""), build,
                          differences=not flat, kink_margin=kink_margin(net, x_hat),
                          sizes=dict(N=N)))
    return cases


def _penalty_run(fn, args):
    net, x_hat, lam, target, one_sided, before = args
    out = unpack(fn(net, x_hat, lam, target, one_sided), ("R", "norms"))
    out.update(added(net, before))
    return out


PENALTY_INPUTS, PENALTY_WRITES = ("net", "x_hat"), ("net.dW", "net.db")


def _penalty_differences(args):
    net, x_hat, lam, target, one_sided = args[:5]
    return differences(net, lambda: mlp.gradient_penalty(net, x_hat, lam, target,
                                                             one_sided)[0],
                       parameter_views(net))


PENALTY_RELU = Exercise(
    "gradient_penalty_relu", "03_penalty.py", "tinywgan.core.mlp:gradient_penalty",
    "the penalty's weight gradient for ReLU nets: the reverse of the input gradient",
    partial(_penalty_cases, smooth=False), _penalty_run, _penalty_differences,
    broken.GRADIENT_PENALTY_FIRST_ORDER, inputs=PENALTY_INPUTS, writes=PENALTY_WRITES)


PENALTY = Exercise(
    "gradient_penalty", "03_penalty.py", "tinywgan.core.mlp:gradient_penalty",
    "the penalty's exact weight gradient for every activation: the s'' injection",
    partial(_penalty_cases, smooth=True), _penalty_run, _penalty_differences,
    broken.GRADIENT_PENALTY, inputs=PENALTY_INPUTS, writes=PENALTY_WRITES,
    split=(SMOOTH_PART, "the s'' injection alone (yours minus the answer without s'', against "
           "tinywgan's the same way)", broken.penalty_without_s2))

EXERCISES = [PENALTY_HEAD, PENALTY_RELU, PENALTY]
