r"""Workbook 1's exercises: the linear layer's backward, s' and s'' of the smooth activations, an
activation layer's backward; their cases and their differences (their known mistakes are the
catalogue's, ``tinywgan.bugzoo.broken``).

Cases are float64 and drawn from the exercise's seeded generator (``spec.Exercise.rng``).
The activations are graded twice: for |a| <= 4 against differences of the library's s (or s')
and tinywgan's answer, and in the tails, 5 <= |a| <= 50, against tinywgan's answer alone (exact
to a few ulps: ``tests/core/test_activations.py``) with no floor on the relative error, where the
textbook forms round to 0.
"""
from functools import partial

import numpy as np

from ..bugzoo import broken
from ..core import mlp
from ..measure.finitediff import numerical_gradient
from .spec import Case, Exercise, constant, unpack

# ---- 1.1 linear_backward -----------------------------------------------------------------------


def _linear_inputs(N, D, M, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M), \
        rng.normal(size=(N, M))


def _linear_cases(rng):
    cases = []
    for _ in range(4):
        N, D, M = (int(v) for v in rng.integers(1, 7, size=3))
        cases.append(Case("the linear layer", "N %d, D %d, M %d" % (N, D, M),
                          partial(_linear_inputs, N, D, M, int(rng.integers(2 ** 31)))))
    return cases


def _linear_run(fn, args):
    x, W, b, da = args
    return unpack(fn(da, (x, W)), ("dx", "dW", "db"))


def _linear_differences(args):
    """Differences of L = sum(da * (x W + b)), whose gradient is the backward's."""
    x, W, b, da = args

    def loss():
        return (mlp.linear_forward(x, W, b)[0] * da).sum()
    return {name: numerical_gradient(loss, v, return_noise=True)
            for name, v in (("dx", x), ("dW", W), ("db", b))}


LINEAR = Exercise(
    "linear_backward", "01_layers.py", "tinywgan.core.mlp:linear_backward",
    "the linear layer's backward: dx, dW, db", _linear_cases, _linear_run, _linear_differences,
    broken.LINEAR_BACKWARD)


# ---- 1.2 s' and s'' of the smooth activations --------------------------------------------------

def _tails(rng):
    """5 <= |a| <= 50: fixed points, then random ones."""
    fixed = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    return np.concatenate([fixed, -fixed, rng.uniform(5, 50, size=10) * rng.choice([-1, 1], 10)])


def _activation_cases(rng):
    cases = []
    for _ in range(3):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=rng.integers(1, 3)))
        a = rng.uniform(-4, 4, size=shape)
        cases.append(Case("|a| <= 4", "a of shape %s in [-4, 4]" % (shape,), constant(a)))
    a = _tails(rng)
    cases.append(Case("the tails, 5 <= |a| <= 50", "a = +-10, 20, 30, 40, 50 and 10 more",
                      constant(a), floor=1e-300, differences=False))
    return cases


def _activation_exercise(cls, which, mistakes):
    """The exercise ``cls.which`` (which: 'df' or 'd2f'), graded against differences of
    ``cls.f`` (for df) or ``cls.df`` (for d2f) of the library's class; ``mistakes``: its known
    mistakes, from the catalogue."""
    below = "f" if which == "df" else "df"
    output = "s'(a)" if which == "df" else "s''(a)"

    def run(solution_cls, args):
        (a,) = args
        return {output: getattr(solution_cls(), which)(a)}

    def differences(args):
        (a,) = args
        lower = getattr(cls(), below)                    # elementwise: d/da_i sum g(a) = g'(a_i)
        return {output: numerical_gradient(lambda: lower(a).sum(), a, return_noise=True)}

    return Exercise("%s.%s" % (cls.__name__, which), "01_layers.py",
                    "tinywgan.core.mlp:%s.%s" % (cls.__name__, which),
                    "%s of %s" % (output, cls.name), _activation_cases, run, differences,
                    mistakes)


ACTIVATIONS = [
    _activation_exercise(mlp.Tanh, "df", broken.TANH_DF),
    _activation_exercise(mlp.Tanh, "d2f", broken.TANH_D2F),
    _activation_exercise(mlp.Sigmoid, "df", broken.SIGMOID_DF),
    _activation_exercise(mlp.Sigmoid, "d2f", broken.SIGMOID_D2F),
    _activation_exercise(mlp.Softplus, "df", broken.SOFTPLUS_DF),
    _activation_exercise(mlp.Softplus, "d2f", broken.SOFTPLUS_D2F),
    _activation_exercise(mlp.SiLU, "df", broken.SILU_DF),
    _activation_exercise(mlp.SiLU, "d2f", broken.SILU_D2F),
]


# ---- 1.3 activation_backward -------------------------------------------------------------------

def _act_layer_inputs(act, N, M, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 2.0, size=(N, M)) * rng.choice([-1, 1], size=(N, M))  # off the kinks
    return a, mlp.get_activation(act), rng.normal(size=(N, M))


def _act_layer_cases(rng):
    cases = []
    for act in rng.choice(sorted(mlp.ACTIVATIONS), size=4, replace=False):
        N, M = (int(v) for v in rng.integers(1, 6, size=2))
        cases.append(Case("activation layers", "%s, N %d, M %d" % (act, N, M),
                          partial(_act_layer_inputs, str(act), N, M, int(rng.integers(2 ** 31)))))
    return cases


def _act_layer_run(fn, args):
    a, act, dh = args
    return {"da": fn(dh, (a, act))}


def _act_layer_differences(args):
    a, act, dh = args
    return {"da": numerical_gradient(lambda: (act.f(a) * dh).sum(), a, return_noise=True)}


ACTIVATION_BACKWARD = Exercise(
    "activation_backward", "01_layers.py", "tinywgan.core.mlp:activation_backward",
    "an activation layer's backward: da = dh * s'(a)", _act_layer_cases, _act_layer_run,
    _act_layer_differences, broken.ACTIVATION_BACKWARD)

EXERCISES = [LINEAR] + ACTIVATIONS + [ACTIVATION_BACKWARD]
