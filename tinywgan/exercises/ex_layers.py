r"""Workbook 1's exercises: the linear layer's backward, s' and s'' of the smooth activations, an
activation layer's backward; their cases and their differences (their known mistakes are the
catalogue's, ``tinywgan.bugzoo.broken``).

Cases are drawn from the exercise's seeded generator (``spec.Exercise.rng``), with N, D and M
different and above 1, and one case at N = 1. The activations are graded in both dtypes the
library computes in, over the range it promises (``tests/core/test_activations.py``: exact to a
few ulps over [-700, 700], finite up to the dtype's largest number):

- float64, |a| <= 4: against differences of the library's s (or s') and tinywgan's answer;
- float64 and float32, the tails: |a| from 5 to 700, then past exp's overflow (710 in float64,
  89 in float32) up to the dtype's largest number, against tinywgan's answer in the same dtype
  (the dtype kept), where the textbook forms round to 0 or give NaN: relatively down to 1e-300
  in float64 and to float32's smallest normal number (test_activations.py's floors), float32
  to ``spec.FLOAT32_TOL``; and float32 in [-4, 4].

A failure there names the first a (the smallest |a|) where the answer breaks, and the dtype.
"""
from functools import partial

import numpy as np

from ..bugzoo import broken
from ..core import mlp
from ..measure.finitediff import TOL, numerical_gradient
from .spec import FLOAT32_TOL, Case, Exercise, constant, distinct, unpack

# ---- 1.1 linear_backward -----------------------------------------------------------------------


def _linear_inputs(N, D, M, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M), \
        rng.normal(size=(N, M))


def _linear_cases(rng):
    """Three cases with N, D and M different and above 1, then one at N = 1."""
    sizes = [distinct(rng, 3) for _ in range(3)] + [[1] + distinct(rng, 2)]
    return [Case("the linear layer", "N %d, D %d, M %d" % (N, D, M),
                 partial(_linear_inputs, N, D, M, int(rng.integers(2 ** 31))),
                 sizes=dict(N=N, D=D, M=M)) for N, D, M in sizes]


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
    broken.LINEAR_BACKWARD, inputs=("x", "W", None, "da"))


# ---- 1.2 s' and s'' of the smooth activations --------------------------------------------------

FLOAT32_TINY = float(np.finfo(np.float32).tiny)

#: SiLU's s' vanishes at a = -1.2785 and s'' at +-2.3994, where any formula is a difference of
#: terms ~7 times larger than the result: the random points keep 0.05 away.
_SILU_ROOTS = (-1.2785, -2.3994, 2.3994)


def _body(rng, shape):
    """Points in [-4, 4], 0.05 away from SiLU's roots."""
    a = rng.uniform(-4, 4, size=shape)
    for r in _SILU_ROOTS:
        a = np.where(np.abs(a - r) < 0.05, a + 0.1, a)
    return a


def _tails(rng, dtype):
    """5 <= |a| <= 700 (log-spaced, and 10 random), then past exp's overflow (710 in float64, 89
    and 100 in float32) and 1e4, 1e30, the dtype's largest number: both signs, sorted by |a|."""
    info = np.finfo(dtype)
    far = (710.0, 1e4, 1e30) if dtype == np.float64 else (89.0, 100.0, 1e4, 1e30)
    m = np.concatenate([np.geomspace(5, 700, 24), rng.uniform(5, 700, size=10), far,
                        [float(info.max)]])
    m = np.sort(m)
    return np.stack([m, -m], axis=1).ravel().astype(dtype)


def _activation_cases(rng):
    """Float64: three cases in [-4, 4], of shapes (N, M) different and above 1, then (1, M);
    the tails in float64 and in float32, and the body in float32."""
    cases = [Case("|a| <= 4, float64", "a of shape %s in [-4, 4]" % (shape,),
                  constant(_body(rng, shape)), sizes=dict(N=shape[0], M=shape[1]))
             for shape in [tuple(distinct(rng, 2)) for _ in range(3)] + [(1, distinct(rng, 1)[0])]]
    for dtype, tol, floor in ((np.float64, TOL, 1e-300), (np.float32, FLOAT32_TOL, FLOAT32_TINY)):
        name = np.dtype(dtype).name
        a = _tails(rng, dtype)
        cases.append(Case("the tails, %s" % name, "%d points, 5 <= |a| <= %s's largest, %s"
                          % (a.size, name, name), constant(a), floor=floor, differences=False,
                          tol=tol, points=("a", a)))
    a = _body(rng, 24).astype(np.float32)
    cases.append(Case("|a| <= 4, float32", "24 points in [-4, 4], float32", constant(a),
                      floor=FLOAT32_TINY, differences=False, tol=FLOAT32_TOL, points=("a", a)))
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
                    mistakes, inputs=("a",))


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
    """Four activations, N and M different and above 1 (the last at N = 1)."""
    cases = []
    for k, act in enumerate(rng.choice(sorted(mlp.ACTIVATIONS), size=4, replace=False)):
        N, M = distinct(rng, 2)
        N = 1 if k == 3 else N
        cases.append(Case("activation layers", "%s, N %d, M %d" % (act, N, M),
                          partial(_act_layer_inputs, str(act), N, M, int(rng.integers(2 ** 31))),
                          sizes=dict(N=N, M=M)))
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
    _act_layer_differences, broken.ACTIVATION_BACKWARD, inputs=("a", None, "dh"))

EXERCISES = [LINEAR] + ACTIVATIONS + [ACTIVATION_BACKWARD]
