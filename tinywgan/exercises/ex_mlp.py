r"""Workbook 2's exercises: the MLP's backward and its input gradient; their cases (random widths
and activations, ReLU family included), differences and known mistakes.

The gradient buffers are filled with random numbers before a solution runs, and graded by what
it ADDED (the contract: gradients accumulate); the input gradient must leave them as they were.
"""
from functools import partial

import numpy as np

from ..core.layers import ACTIVATIONS
from .spec import (Case, Exercise, Mistake, added, build_net, describe, differences,
                   draw_widths, kink_margin, parameter_views, prefill)


def _net_inputs(act, widths, N, seed):
    """A net, x: (N, d_0), dout: (N, d_L), the prefilled buffers, and the forward's cache."""
    net = build_net(widths, act, seed)
    rng = np.random.default_rng(seed + 1)
    x, dout = rng.normal(size=(N, widths[0])), rng.normal(size=(N, widths[-1]))
    before = prefill(net, seed + 2)
    return net, x, dout, before, net.forward(x)[1]


def _net_cases(rng, d_out):
    """Five nets: every activation drawn, widths and N at random."""
    cases = []
    for act in rng.choice(sorted(ACTIVATIONS), size=5, replace=False):
        widths = draw_widths(rng, d_out=int(rng.integers(1, 4)) if d_out is None else d_out)
        N, seed = int(rng.integers(2, 7)), int(rng.integers(2 ** 30))
        build = partial(_net_inputs, str(act), widths, N, seed)
        net, x = build()[:2]
        cases.append(Case("networks", describe(net, N), build, kink_margin=kink_margin(net, x)))
    return cases


# ---- 2.1 mlp_backward --------------------------------------------------------------------------

def _backward_run(fn, args):
    net, x, dout, before, cache = args
    dx = fn(net, dout, cache)
    out = added(net, before)
    out["dx"] = dx
    return out


def _backward_differences(args):
    """Differences of L = sum(dout * f(x)), whose gradient is the backward's."""
    net, x, dout = args[:3]
    return differences(net, lambda: (net(x) * dout).sum(), dict(parameter_views(net), dx=x))


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


MLP_BACKWARD = Exercise(
    "mlp_backward", "02_mlp.py", "tinywgan.core.mlp:MLP.backward",
    "the MLP's backward: dW[l], db[l] added into the buffers, dx returned",
    partial(_net_cases, d_out=None), _backward_run, _backward_differences,
    [Mistake("s' after the last layer", "the output f = A[L-1] has no activation: start from "
             "dA[L-1] = dout, and multiply by s'(A[l-1]) only between layers.",
             partial(_plain_backward, slope_at_output=True)),
     Mistake("s' at the activation, not the pre-activation", "h = s(a): dh/da = s'(a) at the "
             "pre-activation A[l-1], not s'(H[l]) = s'(s(A[l-1])).",
             partial(_plain_backward, slope_of_h=True)),
     Mistake("assigned instead of added", "the buffers already hold other terms (a critic step "
             "adds the loss's gradient, then the penalty's): add into them, "
             "net.dW[l][...] += ..., never overwrite.", partial(_plain_backward, assign=True))])


# ---- 2.2 input_gradient ------------------------------------------------------------------------

def _input_run(fn, args):
    net, x, dout, before = args[:4]
    grad_x = fn(net, x)
    touched = added(net, before)
    return {"grad_x": grad_x,
            "net.dW, net.db (must stay as they were)": np.concatenate(
                [v.ravel() for v in touched.values()])}


def _input_differences(args):
    net, x = args[:2]
    return differences(net, lambda: net(x).sum(), {"grad_x": x})


def _seeded_mean(net, x):
    return net.input_gradient(x) / x.shape[0]


def _summed(net, x):
    return net.input_gradient(x).sum(axis=0)


def _with_parameter_gradients(net, x):
    out, cache = net.forward(x)
    return net.backward(np.ones_like(out), cache)


INPUT_GRADIENT = Exercise(
    "input_gradient", "02_mlp.py", "tinywgan.core.mlp:MLP.input_gradient",
    "grad_x f for every example: one backward seeded with 1",
    partial(_net_cases, d_out=1), _input_run, _input_differences,
    [Mistake("seeded with 1/N", "row i of f depends on row i of x only, so grad_x f(x_i) is the "
             "gradient of f_i itself: seed dA[L-1] = 1 (the gradient of sum f), not 1/N (that "
             "of mean f).", _seeded_mean),
     Mistake("summed over the batch", "one gradient per example, (N, d_0): do not sum the "
             "rows.", _summed),
     Mistake("parameter gradients added", "the input gradient is a pass of its own: it must "
             "not add anything into net.dW or net.db (a critic step would count it as a loss "
             "term).", _with_parameter_gradients)])

EXERCISES = [MLP_BACKWARD, INPUT_GRADIENT]
