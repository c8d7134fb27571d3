r"""Workbook 2's exercises: the MLP's backward and its input gradient; their cases (random widths
and activations, ReLU family included) and differences (their known mistakes are the
catalogue's, ``tinywgan.bugzoo.broken``).

Every case's N and widths are different and above 1 (the input gradient's critic has one
output), the last case's N is 1. The gradient buffers are filled with random numbers before a solution runs, and graded by what
it ADDED (the contract: gradients accumulate); the input gradient must leave them as they were.
"""
from functools import partial

import numpy as np

from ..bugzoo import broken
from ..core.mlp import ACTIVATIONS
from .spec import (Case, Exercise, added, build_net, describe, differences,
                   draw_widths, kink_margin, parameter_views, prefill)


def _net_inputs(act, widths, N, seed):
    """A net, x: (N, d_0), dout: (N, d_L), the prefilled buffers, and the forward's cache."""
    net = build_net(widths, act, seed)
    rng = np.random.default_rng(seed + 1)
    x, dout = rng.normal(size=(N, widths[0])), rng.normal(size=(N, widths[-1]))
    before = prefill(net, seed + 2)
    return net, x, dout, before, net.forward(x)[1]


def _net_cases(rng, d_out):
    """Five nets: five of the six activations drawn; N and every width different and above 1
    (but a critic's output, d_out = 1), the last case at N = 1."""
    cases = []
    for k, act in enumerate(rng.choice(sorted(ACTIVATIONS), size=5, replace=False)):
        N, seed = 1 if k == 4 else int(rng.integers(2, 8)), int(rng.integers(2 ** 30))
        widths = draw_widths(rng, N, d_out, widest=7)
        build = partial(_net_inputs, str(act), widths, N, seed)
        net, x = build()[:2]
        cases.append(Case("networks", describe(net, N), build, kink_margin=kink_margin(net, x),
                          sizes=dict(N=N)))
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


MLP_BACKWARD = Exercise(
    "mlp_backward", "02_mlp.py", "tinywgan.core.mlp:MLP.backward",
    "the MLP's backward: dW[l], db[l] added into the buffers, dx returned",
    partial(_net_cases, d_out=None), _backward_run, _backward_differences, broken.MLP_BACKWARD,
    inputs=("net", "x", "dout", None, "cache"), writes=("net.dW", "net.db"))


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


INPUT_GRADIENT = Exercise(
    "input_gradient", "02_mlp.py", "tinywgan.core.mlp:MLP.input_gradient",
    "grad_x f for every example: one backward seeded with 1",
    partial(_net_cases, d_out=1), _input_run, _input_differences, broken.INPUT_GRADIENT,
    inputs=("net", "x"))

EXERCISES = [MLP_BACKWARD, INPUT_GRADIENT]
