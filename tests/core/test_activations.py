r"""The smooth activations' s, s', s'' against mpmath in both tails, and the gradients of networks
whose units saturate.

The oracle: mpmath evaluates the textbook formulas (sigma' = sigma (1 - sigma), tanh' =
1 - tanh^2, ...) at the exact float input with 700 significant digits, more than their worst
cancellation needs (1 - tanh^2(700) = 4 e^-1400 ~ 1e-608), so it shares no formula with core/mlp.py.

The judge: |computed - ref| <= TOL * max(|ref|, FLOOR), relative, and absolute below FLOOR:

- float64: TOL = 1e-12 (4500 ulps; the worst measured is 7e-16), FLOOR = 1e-300;
- float32: TOL = 1e-5, FLOOR = its smallest normal number, 1.2e-38. 1e-5 is 84 ulps of 1.0
  (float32's eps is 1.19e-7): normal results err by under 6e-7 (5 ulps), and the bound is set
  by SiLU's subnormal results, e^{-|a|} rounded to the subnormal spacing 1.4e-45 and multiplied by
  |a| <= 104, which err by up to 7.3e-44 = 6.2e-6 FLOOR. Any formula that forms sigma first
  shares that.
"""
import functools
import math

import mpmath
import numpy as np
import pytest

from tinywgan import backend
from tinywgan.core import mlp, steps
from tinywgan.measure.finitediff import compare, numerical_gradient
from tinywgan.core.mlp import MLP, get_activation

SMOOTH = ["tanh", "sigmoid", "softplus", "silu"]
TOL = {np.float64: 1e-12, np.float32: 1e-5}
FLOOR = {np.float64: 1e-300, np.float32: float(np.finfo(np.float32).tiny)}

with mpmath.workdps(30):
    #: SiLU's s' = sigma(a)(1 + a sigma(-a)) and s'' = sigma'(a)(2 - a tanh(a/2)) vanish here.
    SILU_ROOTS = {1: [float(mpmath.findroot(lambda a: 1 + a / (1 + mpmath.exp(a)), -1.28))],
                  2: [s * float(mpmath.findroot(lambda a: 2 - a * mpmath.tanh(a / 2), 2.4))
                      for s in (-1, 1)]}


@functools.lru_cache(maxsize=None)
def reference(a):
    """{name: (s, s', s'')} at the float a: the textbook formulas, with 700 digits."""
    with mpmath.workdps(700):
        a = mpmath.mpf(a)
        t, s = mpmath.tanh(a), 1 / (1 + mpmath.exp(-a))
        ds = s * (1 - s)
        return {"tanh": (t, 1 - t * t, -2 * t * (1 - t * t)),
                "sigmoid": (s, ds, ds * (1 - 2 * s)),
                "softplus": (mpmath.log(1 + mpmath.exp(a)), s, ds),
                "silu": (a * s, s + a * ds, ds * (2 + a * (1 - 2 * s)))}


def silu_terms(k, a):
    """The size of the terms SiLU's s^(k) adds (k = 1, 2), its scale of rounding near a root:
    sigma + |a sigma'| for s' = sigma + a sigma', and sigma' (2 + |a tanh(a/2)|) for s''."""
    with mpmath.workdps(30):
        a = mpmath.mpf(a)
        s, ds = 1 / (1 + mpmath.exp(-a)), 1 / (2 + 2 * mpmath.cosh(a))
        return s + abs(a) * ds if k == 1 else ds * (2 + abs(a * mpmath.tanh(a / 2)))


def grid(dtype):
    """Both tails and the middle: |a| log-spaced from 1e-300 (float32: its smallest normal) to
    700 with both signs, 321 points evenly in [-40, 40], 0, and points beside SiLU's roots."""
    m = np.geomspace(max(FLOOR[dtype], 1e-300), 700, 300)
    near = [r + d for roots in SILU_ROOTS.values() for r in roots
            for d in (-1e-2, -1e-6, 0, 1e-6, 1e-2)]
    return np.unique(np.concatenate([m, -m, np.linspace(-40, 40, 321), [0.0], near])
                     .astype(dtype))


def worst_error(a, computed, refs, dtype, roots=(), terms=None, flush=False):
    """(max over points of |computed - ref| / (TOL * scale), the a where), scale = max(|ref|,
    FLOOR), or ``terms(a)`` within 1/4 of one of ``roots``. <= 1 passes. ``flush``: a device
    that flushes subnormal results to zero (a GPU in float32): a 0 where |ref| is below the
    smallest normal number is the device's rounding, not the formula's."""
    ratios = []
    for x, v, ref in zip(a.tolist(), backend.to_numpy(computed).tolist(), refs):
        scale = max(abs(ref), FLOOR[dtype])
        if any(abs(x - r) < 0.25 for r in roots):
            scale = max(scale, terms(x))
        if flush and v == 0 and abs(ref) < FLOOR[dtype]:
            ref = 0
        ratios.append(float(abs(mpmath.mpf(v) - ref) / (TOL[dtype] * scale)))
    i = int(np.argmax(ratios))
    return ratios[i], a[i]


def flushes(xp, dtype):
    """Whether ``xp``'s device flushes float32 subnormals to zero: CuPy's kernels do (measured
    on an H200: sigmoid''(-7.7e-38) and 0.1 x (-1e-38) came back 0)."""
    return backend.device_name(xp) == "gpu" and dtype == np.float32


def activation_errors(act, dtype, xp=np):
    """worst_error of s, s', s'' of ``act`` on the grid, computed on ``xp``'s device."""
    a = grid(dtype)
    rows = []
    for k, fn in enumerate((act.f, act.df, act.d2f)):
        out = fn(xp.asarray(a))
        assert isinstance(out, xp.ndarray) and out.dtype == dtype, \
            "%s s%s: %s of dtype %s from %s input" % (act, "'" * k, type(out), out.dtype, dtype)
        roots = SILU_ROOTS.get(k, ()) if act.name == "silu" else ()
        rows.append(worst_error(a, out, [reference(x)[act.name][k] for x in a.tolist()], dtype,
                                roots, functools.partial(silu_terms, k), flushes(xp, dtype)))
    return rows


# ---- every smooth activation, exact in both tails ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", SMOOTH)
def test_smooth_activations_are_exact_in_both_tails(device, name, dtype):
    """s, s', s'' within TOL of mpmath from |a| = 1e-300 to 700, on every device, dtype kept.

    Within 1/4 of an interior root of SiLU's s' (a = -1.2785) or s'' (a = +-2.3994) the result
    is a difference of terms at least 7 times larger, and any floating-point formula errs by
    ulps of those terms: there the error is judged against their size (``silu_terms``), the
    condition-number scale, instead of |ref|. Everywhere else, and for every other function,
    against |ref|.
    """
    xp = backend.array_module(device)
    for k, (ratio, at) in enumerate(activation_errors(get_activation(name), dtype, xp)):
        assert ratio <= 1, "%s s%s in %s: %.3g times the tolerance %g at a = %r" \
            % (name, "'" * k, dtype.__name__, ratio, TOL[dtype], at)


# What layers.py had: the textbook forms, kept to show that the check above can fail.

def _old_sigmoid(a):
    return (1 + np.tanh(a / 2)) / 2


class OldTanh(mlp.Tanh):
    def df(self, a):
        return 1 - np.tanh(a) ** 2

    def d2f(self, a):
        return -2 * np.tanh(a) * (1 - np.tanh(a) ** 2)


class OldSigmoid(mlp.Sigmoid):
    def f(self, a):
        return _old_sigmoid(a)

    def df(self, a):
        return _old_sigmoid(a) * (1 - _old_sigmoid(a))

    def d2f(self, a):
        return self.df(a) * (1 - 2 * _old_sigmoid(a))


class OldSoftplus(mlp.Softplus):
    def df(self, a):
        return _old_sigmoid(a)

    def d2f(self, a):
        return _old_sigmoid(a) * (1 - _old_sigmoid(a))


class OldSiLU(mlp.SiLU):
    def f(self, a):
        return a * _old_sigmoid(a)

    def df(self, a):
        s = _old_sigmoid(a)
        return s + a * s * (1 - s)

    def d2f(self, a):
        s = _old_sigmoid(a)
        return s * (1 - s) * (2 + a * (1 - 2 * s))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("old", [OldTanh, OldSigmoid, OldSoftplus, OldSiLU])
def test_the_textbook_formulas_fail_the_same_check(old, dtype):
    """(1 + tanh(a/2))/2, s (1 - s), 1 - tanh^2 miss s' by 50 % or more somewhere: the test
    above can fail."""
    ratio, at = activation_errors(old(), dtype)[1]
    assert ratio * TOL[dtype] > 0.5, "old %s s' in %s: relative error only %.2g at a = %r" \
        % (old.name, dtype.__name__, ratio * TOL[dtype], at)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ["relu", "leaky_relu", "leaky_relu:0.1"])
def test_relu_family_is_exact(device, act, dtype):
    """ReLU and leaky ReLU: s, s', s'' exactly max(a, ka), 1 or k, 0, in the input's dtype."""
    act, xp = get_activation(act), backend.array_module(device)
    a = grid(dtype)
    k = dtype(getattr(act, "slope", 0.0))
    for what, fn, exact in (("s", act.f, np.where(a > 0, a, k * a)),
                            ("s'", act.df, np.where(a > 0, 1, k).astype(dtype)),
                            ("s''", act.d2f, np.zeros_like(a))):
        out = fn(xp.asarray(a))
        assert out.dtype == dtype, "%s %s: dtype %s from %s" % (act, what, out.dtype, dtype)
        if flushes(xp, dtype):                     # subnormal results are 0 on such a device
            exact = np.where(np.abs(exact) < FLOOR[dtype], 0, exact).astype(dtype)
        np.testing.assert_array_equal(backend.to_numpy(out), exact, err_msg="%s %s" % (act, what))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_overflow_at_any_finite_input(dtype):
    """No exp of a large positive number: finite, warning-free s, s', s'' up to |a| = max float."""
    big = np.finfo(dtype).max
    a = np.array([-big, -1e30, -710, -89, 0, 89, 710, 1e30, big], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in SMOOTH:
            act = get_activation(name)
            for what, fn in (("s", act.f), ("s'", act.df), ("s''", act.d2f)):
                assert np.all(np.isfinite(fn(a))), "%s %s: %s" % (name, what, fn(a))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gan_loss_gradients_are_the_exact_sigmoid_in_both_tails(dtype):
    """dL/dlogit of the GAN losses is +-sigmoid(+-l)/M to TOL of mpmath from |l| = 1e-300 to 700."""
    l = grid(dtype)[:, None]                                              # (M, 1)
    M = l.shape[0]
    _, d_real, d_fake = steps.gan_discriminator_loss(l, l)
    _, d_minimax = steps.gan_generator_loss(l, "minimax")
    _, d_nonsat = steps.gan_generator_loss(l, "nonsaturating")
    for what, d, sign in (("dL_disc/dl_fake", d_fake, 1), ("-dL_minimax/dl", -d_minimax, 1),
                          ("-dL_disc/dl_real", -d_real, -1), ("-dL_nonsat/dl", -d_nonsat, -1)):
        refs = [reference(sign * x)["sigmoid"][0] for x in l[:, 0].tolist()]    # sigma(+-l)
        ratio, at = worst_error(l[:, 0], d[:, 0] * M, refs, dtype)
        assert ratio <= 1, "%s in %s: %.3g times the tolerance at l = %r" \
            % (what, dtype.__name__, ratio, at)


# ---- networks whose units saturate ------------------------------------------------------------
# Finite differences resolve a gradient only relative to the function's own size. A loss of
# size 1 hides a saturated unit's e^-30 contribution, so each network below is built so that the
# saturated units carry the whole function (its value is then of their size and keeps float64's
# full relative precision), and the function is divided by a constant of that size before
# differencing, so that the usual check (relative error, floor 1e-8) applies. Only saturated
# values s(a) that are small can carry a loss: softplus, SiLU and sigmoid below 0 (tanh's are
# +-1 exactly), so the generator checks use those; the penalty, built from s', takes all four at
# both ends.

def saturate_first_layer(net, level, both_signs):
    """Every first-layer unit at |a| within 0.5 of level: W[0] shrunk 20-fold, b[0] = -level (or
    alternately +-level: tanh and sigmoid saturate at both ends, softplus and SiLU only below)."""
    net.W[0][...] *= 0.05
    signs = np.resize([-1.0, 1.0] if both_signs else [-1.0], net.b[0].shape)
    net.b[0][...] = signs * level


def exact_input_gradient(net, x):
    """grad_x f of a net with two hidden layers, by the chain rule with s' from mpmath (neither
    the library's s'). x: (N, d_0). Returns (N, d_0)."""
    def ds(a):                                                         # s'(a), elementwise
        return np.vectorize(lambda v: float(reference(v)[net.act.name][1]))(a)
    a0 = x @ net.W[0] + net.b[0]                                       # (N, d_1)
    a1 = net.act.f(a0) @ net.W[1] + net.b[1]                           # (N, d_2)
    return (ds(a1) * net.W[2].T) @ net.W[1].T * ds(a0) @ net.W[0].T     # (N, d_0)


@pytest.mark.parametrize("level", [20, 30, 40])
@pytest.mark.parametrize("name", SMOOTH)
def test_penalty_gradient_with_a_saturated_layer(name, level):
    """With the first layer at |a| ~ level, R and its weight gradient are right to rounding.

    The zero-centred penalty (target 0) is R = lam/N sum ||g_i||^2, of the size of s'(a)^2
    (e^-160 for tanh at 40), where the usual target 1 would bury it under lam. R is checked
    against the chain rule with exact s' (this pins s'), and dR/dparams against differences of
    R / R_exact (this pins s'' and the double backward).
    """
    net = MLP((2, 6, 5, 1), name, dtype="float64", seed=0)
    saturate_first_layer(net, level, both_signs=name in ("tanh", "sigmoid"))
    x, lam = np.random.default_rng(1).normal(size=(5, 2)), 10.0
    g = exact_input_gradient(net, x)
    R_exact = lam / len(x) * (g * g).sum()
    net.zero_grad()
    R = float(net.gradient_penalty(x, lam, target=0.0)[0])
    assert abs(R - R_exact) <= 1e-12 * R_exact, \
        "%s at |a| ~ %d: penalty %.17g, exact %.17g" % (name, level, R, R_exact)
    check_close("penalty %s at |a| ~ %d: dparams / R" % (name, level), net.grads / R_exact,
                numerical_gradient(lambda: net.gradient_penalty(x, lam, target=0.0)[0] / R_exact,
                                   net.params, return_noise=True))


def check_close(what, analytic, numeric):
    """gradcheck's row for the pair, asserted, with its label and error in the message."""
    row = compare(what, analytic, numeric)
    assert row["ok"], "%s: relative error %.3g > %.0e" % (what, row["error"], row["tol"])


def generator_gradient(G, D, z):
    """dL/dparams of the generator for L = -mean f(G(z)): the training step's own function."""
    steps.generator_grads(G, D, z, "wgan-gp")
    return G.grads.copy()


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu"])
def test_generator_gradient_through_a_saturated_critic(name):
    """Critic units at a ~ -30: the generator's gradient matches differences of e^30 L.

    With f's last bias 0, f = sum_j W[1]_j s(a_j) is of the size of s(-30) ~ e^-30, and so is L.
    """
    G = MLP((2, 6, 2), "tanh", dtype="float64", seed=0)
    D = MLP((2, 6, 1), name, dtype="float64", seed=1)
    saturate_first_layer(D, 30, both_signs=False)
    D.b[1][...] = 0
    z = np.random.default_rng(2).normal(size=(5, 2))
    scale = math.exp(30)
    check_close("generator through a %s critic at a ~ -30: dparams e^30" % name,
                generator_gradient(G, D, z) * scale,
                numerical_gradient(lambda: -scale * D(G(z)).mean(), G.params,
                                   return_noise=True))


def test_a_saturated_softplus_generator_passes_back_its_1e_25():
    """Generator units at a ~ -57 pass back sigma(-57) ~ 1e-25 (0 before), as differences say.

    The critic's biases are 0, so f(0) = 0 and L = -mean f(G(z)) is of the size of G(z),
    softplus(-57) ~ e^-57: differences of e^57 L resolve every entry.
    """
    G = MLP((2, 4, 2), "softplus", dtype="float64", seed=0)
    D = MLP((2, 8, 1), "silu", dtype="float64", seed=1)
    saturate_first_layer(G, 57, both_signs=False)
    G.b[1][...] = 0
    for b in D.b:
        b[...] = 0
    z = np.random.default_rng(2).normal(size=(5, 2))
    grads = generator_gradient(G, D, z)
    dW0 = np.abs(G.dW[0])
    assert 1e-27 < dW0.min() and dW0.max() < 1e-23, "generator dW[0] should be ~1e-25: %s" % dW0
    scale = math.exp(57)
    check_close("saturated softplus generator: dparams e^57", grads * scale,
                numerical_gradient(lambda: -scale * D(G(z)).mean(), G.params,
                                   return_noise=True))
