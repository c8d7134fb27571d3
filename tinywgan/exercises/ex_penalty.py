r"""Workbook 3's exercises: the penalty's head, its weight gradient for ReLU nets (the first-order
path) and for every activation (the s'' injection); cases, differences, known mistakes.

The penalty's cases come in parts, so that a failure names its term: ReLU-family nets (the
first-order path alone), smooth nets (plus the s'' injection), the one-sided penalty, and a
critic whose input gradient is 0 everywhere (its last layer zero), where R has no derivative
and the answer is tinywgan's choice of direction 0 (no NaN): graded against tinywgan alone.
For smooth nets the grader also isolates the s'' injection: the learner's answer minus the
answer without s'' (``bugzoo.dropped_second_order``), against tinywgan's the same way.
"""
import math
from functools import partial

import numpy as np

from ..core import penalty
from ..bugzoo import broken
from ..core.layers import get_activation
from ..measure.finitediff import numerical_gradient
from .spec import (Case, Exercise, Mistake, added, build_net, describe, differences,
                   kink_margin, parameter_views, prefill, split_target, unpack)

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
    cases = []
    for part, target, one_sided, zero_row in (("two-sided, target 1", 1.0, False, False),
                                              ("two-sided, target 1", 1.0, False, False),
                                              ("target 0 (R1, R2)", 0.0, False, False),
                                              ("one-sided", 1.0, True, False),
                                              ("a row with g = 0", 1.0, False, True)):
        N, d = int(rng.integers(2, 7)), int(rng.integers(1, 5))
        scale, lam = float(rng.uniform(0.3, 2)), float(rng.uniform(0.5, 20))
        build = partial(_head_inputs, N, d, scale, lam, target, one_sided, zero_row,
                        int(rng.integers(2 ** 31)))
        cases.append(Case(part, "N %d, d %d, lam %.3g, target %.3g%s"
                          % (N, d, lam, build()[2], ", one-sided" if one_sided else ""), build))
    return cases


def _head_run(fn, args):
    return unpack(fn(*args), ("R", "norms", "dR/dg"))


def _head_differences(args):
    grad_x = args[0]
    return {"dR/dg": numerical_gradient(lambda: penalty.penalty_head(*args)[0], grad_x,
                                        return_noise=True)}


def _head_summed(grad_x, lam, target=1.0, one_sided=False):
    R, norms, dg = penalty.penalty_head(grad_x, lam, target, one_sided)
    return R * grad_x.shape[0], norms, dg * grad_x.shape[0]


def _head_squared(grad_x, lam, target=1.0, one_sided=False):
    sq = (grad_x ** 2).sum(axis=1)                                       # ||g||^2, not ||g||
    gap = np.maximum(sq - target, 0) if one_sided else sq - target
    N = grad_x.shape[0]
    return lam / N * (gap ** 2).sum(), np.sqrt(sq), (4 * lam / N * gap)[:, None] * grad_x


def _head_two_sided(grad_x, lam, target=1.0, one_sided=False):
    return penalty.penalty_head(grad_x, lam, target, False)


HEAD_MISTAKES = [
    Mistake("norm over the wrong axis", "one norm per EXAMPLE: the norm of each row, "
            "sum over axis 1, giving (N,); over axis 0 it is one norm per input coordinate, "
            "taken over the batch.", broken.head_norm_over_batch),
    Mistake("1/N missing", "R is the MEAN over the N examples: lam/N sum_i gap_i^2, and so "
            "dR/dg_i carries 2 lam/N.", _head_summed),
    Mistake("NaN at g = 0", "at g_i = 0 the direction g_i / ||g_i|| is 0/0: take it as 0, e.g. "
            "g / max(||g||, tiny), so a flat critic does not turn every gradient into NaN.",
            broken.head_unguarded),
    Mistake("the squared norm penalised", "the penalty is on the norm ||g_i|| = "
            "sqrt(sum_j g_ij^2), not on ||g_i||^2.", _head_squared),
    Mistake("one_sided ignored", "one-sided: gap_i = max(0, ||g_i|| - t), so rows with "
            "||g_i|| < t add nothing to R and get no gradient.", _head_two_sided),
]

PENALTY_HEAD = Exercise(
    "penalty_head", "03_penalty.py", "tinywgan.core.penalty:penalty_head",
    "the penalty's value and dR/dg, one norm per example, no NaN at g = 0",
    _head_cases, _head_run, _head_differences, HEAD_MISTAKES)


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
    """Two ReLU-family nets, a one-sided case, a flat critic, and (``smooth``) the four smooth
    activations."""
    act_1s, act_flat = ("tanh", "softplus") if smooth else ("relu", "relu")
    plan = [(RELU_PART, "relu", False, False), (RELU_PART, "leaky_relu", False, False),
            ("one-sided, a %s net" % act_1s, act_1s, True, False),
            (FLAT_PART % act_flat, act_flat, False, True)]
    if smooth:
        plan += [(SMOOTH_PART, act, False, False) for act in ("tanh", "sigmoid", "softplus",
                                                               "silu")]
    cases = []
    for part, act, one_sided, flat in plan:
        target = math.nan
        while math.isnan(target):                 # one-sided: until the norms leave room
            widths = (int(rng.integers(1, 5)),
                      *map(int, rng.integers(1, 6, size=rng.integers(1, 4))), 1)
            N, lam = int(rng.integers(2, 7)), float(rng.uniform(0.5, 20))
            build = partial(_penalty_inputs, act, widths, N, lam, one_sided, flat,
                            int(rng.integers(2 ** 30)))
            net, x_hat, _, target = build()[:4]
        cases.append(Case(part, "%s, lam %.3g%s" % (describe(net, N), lam, ", target %.3g"
                                                    % target if one_sided else ""), build,
                          differences=not flat, kink_margin=kink_margin(net, x_hat)))
    return cases


def _penalty_run(fn, args):
    net, x_hat, lam, target, one_sided, before = args
    out = unpack(fn(net, x_hat, lam, target, one_sided), ("R", "norms"))
    out.update(added(net, before))
    return out


def _penalty_differences(args):
    net, x_hat, lam, target, one_sided = args[:5]
    return differences(net, lambda: penalty.gradient_penalty(net, x_hat, lam, target,
                                                             one_sided)[0],
                       parameter_views(net))


def _without_s2(net, x_hat, lam, target=1.0, one_sided=False):
    """The library's penalty on a net whose activation claims s'' = 0: steps (1)-(3) only."""
    net.act = broken.dropped_second_order(net.act)
    return penalty.gradient_penalty(net, x_hat, lam, target, one_sided)


def _s2_into_own_bias(net, x_hat, lam, target=1.0, one_sided=False):
    """numpy-ml's double backward: each layer's s'' term A_bar[l] added to that layer's own bias
    gradient, and propagated nowhere else (not to W, not to the layers below)."""
    act = get_activation(net.act)
    R, norms = _without_s2(net, x_hat, lam, target, one_sided)
    cache, gA, gH = net.input_gradient_pass(x_hat)
    gH_bar = penalty.penalty_head(gH[0], lam, target, one_sided)[2]
    for l in range(net.L - 1):
        gA_bar = gH_bar @ net.W[l]
        net.db[l][...] += (gA_bar * gH[l + 1] * act.d2f(cache.A[l])).sum(axis=0)   # A_bar[l]
        gH_bar = gA_bar * act.df(cache.A[l])
    return R, norms


SHARED_MISTAKES = [
    Mistake("penalty not backpropagated", "R is returned but nothing is added into net.dW: "
            "the optimizer never sees the penalty. Run the reverse pass from dR/dg "
            "(penalty_head) up through the layers.", broken.penalty_value_only),
] + [Mistake(m.name, m.hint, broken.copy_with(penalty.gradient_penalty, penalty_head=m.obj))
     for m in HEAD_MISTAKES]

PENALTY_RELU = Exercise(
    "gradient_penalty_relu", "03_penalty.py", "tinywgan.core.penalty:gradient_penalty",
    "the penalty's weight gradient for ReLU nets: the reverse of the input gradient",
    partial(_penalty_cases, smooth=False), _penalty_run, _penalty_differences, SHARED_MISTAKES)

PENALTY = Exercise(
    "gradient_penalty", "03_penalty.py", "tinywgan.core.penalty:gradient_penalty",
    "the penalty's exact weight gradient for every activation: the s'' injection",
    partial(_penalty_cases, smooth=True), _penalty_run, _penalty_differences,
    [Mistake("s'' path dropped", "for a smooth activation s'(A[l]) depends on the weights "
             "below layer l: add A_bar[l] = gA_bar[l] * gH[l+1] * s''(A[l]) and backpropagate "
             "it through the forward pass (3.3); the hidden biases get their gradient only "
             "that way.", _without_s2),
     Mistake("s'' into its own bias only (numpy-ml's)", "A_bar[l] is dR/dA[l], and A[l] "
             "depends on W[l] and on every layer below: it must flow back through the forward "
             "pass (dW[l] += H[l]^T dA[l], then down), not stop at b[l].", _s2_into_own_bias)]
    + SHARED_MISTAKES,
    split=(SMOOTH_PART, "the s'' injection alone (yours minus the answer without s'', against "
           "tinywgan's the same way)", _without_s2))

EXERCISES = [PENALTY_HEAD, PENALTY_RELU, PENALTY]
