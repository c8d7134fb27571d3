r"""Workbook 1's exercises: the linear layer's backward, s' and s'' of the smooth activations, an
activation layer's backward; their cases, their differences and their known mistakes.

Cases are float64 and drawn from the exercise's seeded generator (``spec.Exercise.rng``).
The activations are graded twice: for |a| <= 4 against differences of the library's s (or s')
and tinywgan's answer, and in the tails, 5 <= |a| <= 50, against tinywgan's answer alone (exact
to a few ulps: ``tests/test_activations.py``) with no floor on the relative error, where the
textbook forms round to 0.
"""
from functools import partial

import numpy as np

from ..core import layers
from ..measure.finitediff import numerical_gradient
from .spec import Case, Exercise, Mistake, constant, unpack

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
        return (layers.linear_forward(x, W, b)[0] * da).sum()
    return {name: numerical_gradient(loss, v, return_noise=True)
            for name, v in (("dx", x), ("dW", W), ("db", b))}


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


LINEAR = Exercise(
    "linear_backward", "01_layers.py", "tinywgan.core.layers:linear_backward",
    "the linear layer's backward: dx, dW, db", _linear_cases, _linear_run, _linear_differences,
    [Mistake("dW transposed", "dW must have W's shape (D, M): dW = x^T da, not da^T x.",
             _dW_transposed),
     Mistake("db not summed over the rows", "b is added to every row of a, so dL/db collects "
             "every row's gradient: the sum of da over the rows, (M,), not da itself.",
             _db_not_summed),
     Mistake("db averaged over the rows", "every row's loss depends on b with weight 1: sum "
             "da over the rows, do not average it (any 1/N belongs to the loss, not here).",
             _db_averaged),
     Mistake("db summed over the wrong axis", "sum over the rows (axis 0), one entry per "
             "output unit: db has b's shape (M,).", _db_wrong_axis)])


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
    ``cls.f`` (for df) or ``cls.df`` (for d2f) of the library's class."""
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
                    "tinywgan.core.layers:%s.%s" % (cls.__name__, which),
                    "%s of %s" % (output, cls.name), _activation_cases, run, differences,
                    [Mistake(name, hint, type("Broken" + cls.__name__, (cls,), {which: fn}))
                     for name, hint, fn in mistakes])


_TAIL_HINT = ("rounds to 0 in the tails, where the true value is tiny but representable: "
              "write it with e = exp(-|a|) (workbook 1.2), with no 1 - (a number near 1)")


def _naive_sigmoid(a):
    return 1 / (1 + np.exp(-a))


ACTIVATIONS = [
    _activation_exercise(layers.Tanh, "df", [
        ("1 - tanh(a)^2", "1 - tanh^2 " + _TAIL_HINT, lambda self, a: 1 - np.tanh(a) ** 2)]),
    _activation_exercise(layers.Tanh, "d2f", [
        ("-2 tanh(a) (1 - tanh(a)^2)", "1 - tanh^2 " + _TAIL_HINT,
         lambda self, a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2)),
        ("sign of s'' flipped", "d/da sech^2 a = -2 tanh(a) sech^2(a): negative for a > 0.",
         lambda self, a: 2 * np.tanh(a) * layers.Tanh().df(a))]),
    _activation_exercise(layers.Sigmoid, "df", [
        ("sigma (1 - sigma)", "sigma(a) (1 - sigma(a)) " + _TAIL_HINT + "; sigma(a) sigma(-a) "
         "is the same number", lambda self, a: _naive_sigmoid(a) * (1 - _naive_sigmoid(a)))]),
    _activation_exercise(layers.Sigmoid, "d2f", [
        ("sigma (1 - sigma) (1 - 2 sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
         lambda self, a: (lambda s: s * (1 - s) * (1 - 2 * s))(_naive_sigmoid(a)))]),
    _activation_exercise(layers.Softplus, "df", [
        ("1 / (1 + e^a)", "d/da log(1 + e^a) = e^a / (1 + e^a) = sigma(a); 1 / (1 + e^a) is "
         "sigma(-a).", lambda self, a: layers.sigmoid(-a))]),
    _activation_exercise(layers.Softplus, "d2f", [
        ("sigma (1 - sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
         lambda self, a: _naive_sigmoid(a) * (1 - _naive_sigmoid(a)))]),
    _activation_exercise(layers.SiLU, "df", [
        ("product rule missed", "d/da (a sigma(a)) = sigma(a) + a sigma'(a): two terms.",
         lambda self, a: layers.sigmoid(a))]),
    _activation_exercise(layers.SiLU, "d2f", [
        ("2 s' + a s'' from sigma (1 - sigma)", "sigma (1 - sigma) " + _TAIL_HINT,
         lambda self, a: (lambda s: 2 * s * (1 - s) + a * s * (1 - s) * (1 - 2 * s))(
             _naive_sigmoid(a))),
        ("one sigma' term missed", "d/da (sigma + a sigma') = 2 sigma' + a sigma'': sigma' "
         "appears twice.", lambda self, a: layers.Sigmoid().df(a) + a * layers.Sigmoid().d2f(a))]),
]


# ---- 1.3 activation_backward -------------------------------------------------------------------

def _act_layer_inputs(act, N, M, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 2.0, size=(N, M)) * rng.choice([-1, 1], size=(N, M))  # off the kinks
    return a, layers.get_activation(act), rng.normal(size=(N, M))


def _act_layer_cases(rng):
    cases = []
    for act in rng.choice(sorted(layers.ACTIVATIONS), size=4, replace=False):
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
    "activation_backward", "01_layers.py", "tinywgan.core.layers:activation_backward",
    "an activation layer's backward: da = dh * s'(a)", _act_layer_cases, _act_layer_run,
    _act_layer_differences,
    [Mistake("s(a), not s'(a)", "the chain rule multiplies dh by the derivative s'(a) "
             "(act.df), not by s(a) itself.", lambda dh, cache: dh * cache[1].f(cache[0])),
     Mistake("dh left out", "da = dL/da = dL/dh * dh/da: multiply the upstream gradient dh by "
             "s'(a).", lambda dh, cache: cache[1].df(cache[0]))])

EXERCISES = [LINEAR] + ACTIVATIONS + [ACTIVATION_BACKWARD]
