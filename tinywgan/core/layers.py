r"""Layers: a linear map and the activations, each with its backward and the pieces of the
double backward that the gradient penalty needs.

Contract (CS231n) for the layer functions: ``linear_forward(x, W, b) -> (out, cache)`` and
``linear_backward(dout, cache) -> grads``, ``activation_forward(a, act) -> (h, cache)`` and
``activation_backward(dh, cache)``, so that every piece can be checked against finite
differences alone with a one-line lambda (``tinywgan.measure.gradcheck``). The MLP
(``tinywgan.core.mlp``) calls them layer after layer and keeps what its backward needs in one
``Cache(H, A)`` rather than a list of the layers' caches.

Row-vector convention: a batch is ``x: (N, D)``, a layer is ``a = x W + b`` with
``W: (D, M)``, ``b: (M,)``.

The double-backward pieces (``linear_input_grad_backward``, ``activation_input_grad_backward``)
are the two lines of step (3) of the penalty's derivation, which ``tinywgan/core/penalty.py``
writes out; ``_bar`` means "the gradient of the penalty R with respect to that quantity".
``second_order = False`` marks the activations whose s'' is zero (ReLU, leaky ReLU), for which
the penalty skips step (4).

The smooth activations (tanh, sigmoid, softplus, SiLU) compute s, s' and s'' to a few ulps at
every a, tails included (``tests/core/test_activations.py`` measures them against mpmath over
[-700, 700]): each is built from e = e^{-|a|} in (0, 1], which never overflows, and from tanh and
logaddexp, with no difference of nearby numbers. The textbook forms round to 0 or cancel:

    sigma = (1 + tanh(a/2))/2    0 from a = -38 in float64 (sigma(-38) = 3.1e-17), 4 % off at
                                 a = -36; 0 from a = -20 in float32
    sigma' = s (1 - s)           1 - s = 0 once s rounds to 1: float32 sigma'(20) = 0, not 2.1e-9
    sigma'' = s' (1 - 2 s)       1 - 2 s cancels at a = 0: sigma''(1e-10) is 8e-8 off
    tanh' = 1 - tanh^2           0 from |a| = 19.1 in float64 (tanh'(20) = 1.7e-17); 96 % off at
                                 a = 9 in float32
    softplus = log(1 + e^a)      inf at a = 710; 0 at a = -40 (softplus(-40) = 4.2e-18)

The forms used instead: sigma(a) = 1/(1+e) for a >= 0 and e/(1+e) for a < 0;
sigma'(a) = sigma(a) sigma(-a) = e/(1+e)^2; 1 - 2 sigma(a) = -tanh(a/2); sech^2 a =
4 e^2/(1+e^2)^2; softplus(a) = logaddexp(0, a). Only SiLU's s' and s'' have roots away from 0
(s' at a = -1.2785, s'' at a = +-2.3994), where any formula subtracts terms of size ~0.2: near
them the error is a few ulps of the terms, not of the result.
"""
from ..backend import get_array_module
from ..validate import number


# ------------------------------------------------------------------------------------------------
# Linear
# ------------------------------------------------------------------------------------------------

def linear_forward(x, W, b):
    """a = x W + b.

    Inputs: x: (N, D), W: (D, M), b: (M,). Returns a: (N, M), cache = (x, W).
    """
    return x @ W + b, (x, W)


def linear_backward(da, cache):
    """Gradients of a = x W + b.

    Inputs: da: (N, M) upstream gradient, cache from ``linear_forward``.
    Returns dx = da W^T: (N, D), dW = x^T da: (D, M), db = sum_rows da: (M,).
    """
    x, W = cache
    return linear_input_grad(da, W), x.T @ da, da.sum(axis=0)


def linear_input_grad(gA, W):
    """The gradient w.r.t. a linear layer's input, gH = gA W^T (``linear_backward``'s dx, alone:
    the input-gradient pass needs no dW), as a function to differentiate again.

    Inputs: gA: (N, M) gradient w.r.t. this layer's output a, W: (D, M).
    Returns gH: (N, D) gradient w.r.t. this layer's input x.
    """
    return gA @ W.T


def linear_input_grad_backward(gH_bar, gA, W):
    """Reverse of ``gH = gA W^T``.

    Inputs: gH_bar: (N, D) gradient of R w.r.t. gH, gA: (N, M), W: (D, M).
    Returns gA_bar = gH_bar W: (N, M) and W_bar = gH_bar^T gA: (D, M).
    """
    return gH_bar @ W, gH_bar.T @ gA


# ------------------------------------------------------------------------------------------------
# Activations: s, s', s'' side by side
# ------------------------------------------------------------------------------------------------

class Activation:
    """An elementwise nonlinearity h = s(a) with its first and second derivatives.

    Attributes:
        name: the name ``get_activation`` knows it by.
        lipschitz: sup |s'|, the Lipschitz constant used in the network bound.
        second_order: False when s'' = 0 almost everywhere (the penalty's second-order path is
            then empty and skipped).
    """
    name = "?"
    lipschitz = 1.0
    second_order = True

    def f(self, a):
        raise NotImplementedError

    def df(self, a):
        raise NotImplementedError

    def d2f(self, a):
        raise NotImplementedError

    def __repr__(self):
        return self.name


class ReLU(Activation):
    r"""s(a) = max(0, a);  s'(a) = 1[a > 0];  s''(a) = 0 (a != 0)."""
    name, lipschitz, second_order = "relu", 1.0, False

    def f(self, a):
        return get_array_module(a).maximum(a, 0)

    def df(self, a):
        return (a > 0).astype(a.dtype)

    def d2f(self, a):
        return get_array_module(a).zeros_like(a)


class LeakyReLU(Activation):
    r"""s(a) = a if a > 0 else k a;  s'(a) = 1 if a > 0 else k;  s''(a) = 0 (a != 0)."""
    second_order = False

    def __init__(self, slope=0.2):
        self.slope = number("leaky_relu slope", slope, low=0, high=1, high_open=True)
        self.lipschitz = 1.0
        self.name = "leaky_relu" if slope == 0.2 else "leaky_relu:%g" % slope

    def f(self, a):
        return get_array_module(a).where(a > 0, a, self.slope * a)

    def df(self, a):
        return get_array_module(a).where(a > 0, 1.0, self.slope).astype(a.dtype)

    def d2f(self, a):
        return get_array_module(a).zeros_like(a)


def sigmoid(a):
    r"""sigma(a) = 1/(1 + e^{-a}), to a few ulps at every a (the one sigmoid of tinywgan).

    With e = e^{-|a|} in (0, 1] (never overflows): sigma(a) = 1/(1+e) for a >= 0 and
    e/(1+e) for a < 0, so the small tail is e itself, never 1 minus something.
    """
    xp = get_array_module(a)
    e = xp.exp(-xp.abs(a))                                  # e^{-|a|}
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


def softplus(a):
    r"""log(1 + e^a) = logaddexp(0, a) = max(a, 0) + log1p(e^{-|a|}): exact to rounding at
    every a, finite at a = +-1000 where log(1 + exp(a)) overflows or rounds to 0."""
    return get_array_module(a).logaddexp(0, a)


def _dsigmoid(a):
    r"""sigma'(a) = sigma(a) sigma(-a) = e/(1+e)^2 with e = e^{-|a|}: even in a, no 1 - sigma."""
    xp = get_array_module(a)
    e = xp.exp(-xp.abs(a))                                  # e^{-|a|}
    return e / ((1 + e) * (1 + e))


def _sech2(a):
    r"""tanh'(a) = sech^2 a = 4 e^2/(1 + e^2)^2 with e = e^{-|a|}: no 1 - tanh^2, and no 2a either
    (it overflows at |a| > 9e307)."""
    xp = get_array_module(a)
    e2 = xp.exp(-xp.abs(a)) ** 2                            # e^{-2|a|}
    return 4 * e2 / ((1 + e2) * (1 + e2))


class Tanh(Activation):
    r"""s = tanh a;  s' = sech^2 a;  s'' = -2 tanh(a) sech^2(a)."""
    name = "tanh"

    def f(self, a):
        return get_array_module(a).tanh(a)                  # s = tanh a

    def df(self, a):
        return _sech2(a)                                    # s' = sech^2 a

    def d2f(self, a):
        return -2 * get_array_module(a).tanh(a) * _sech2(a)            # s'' = -2 tanh(a) s'


class Sigmoid(Activation):
    r"""s = sigma(a);  s' = sigma(a) sigma(-a);  s'' = -sigma'(a) tanh(a/2).  sup |s'| = 1/4.

    1 - 2 sigma(a) = -tanh(a/2), so s'' = s'(1 - 2s) needs no difference of nearby numbers.
    """
    name, lipschitz = "sigmoid", 0.25

    def f(self, a):
        return sigmoid(a)                                   # s = 1/(1 + e^{-a})

    def df(self, a):
        return _dsigmoid(a)                                 # s' = sigma(a) sigma(-a)

    def d2f(self, a):
        return -_dsigmoid(a) * get_array_module(a).tanh(a / 2)       # s' (1 - 2 s)


class Softplus(Activation):
    r"""s = log(1 + e^a);  s' = sigma(a);  s'' = sigma'(a) = sigma(a) sigma(-a)."""
    name = "softplus"

    def f(self, a):
        return softplus(a)                                  # s = logaddexp(0, a)

    def df(self, a):
        return sigmoid(a)                                   # s' = sigma(a)

    def d2f(self, a):
        return _dsigmoid(a)                                 # s'' = sigma'(a)


class SiLU(Activation):
    r"""SiLU / swish, a smooth ReLU: s = a sigma(a);
    s' = sigma + a sigma' = sigma(a) (1 + a sigma(-a));
    s'' = 2 sigma' + a sigma'' = sigma'(a) (2 - a tanh(a/2)).
    sup |s'| = 1.0998393 (at a = 2.39936), the Lipschitz constant (rounded up: a bound must not
    be rounded down).
    """
    name, lipschitz = "silu", 1.09984

    def f(self, a):
        return a * sigmoid(a)                               # s = a sigma(a)

    def df(self, a):
        return sigmoid(a) * (1 + a * sigmoid(-a))           # s' = sigma(a)(1 + a sigma(-a))

    def d2f(self, a):
        return _dsigmoid(a) * (2 - a * get_array_module(a).tanh(a / 2))   # sigma'(2 - a tanh(a/2))


ACTIVATIONS = {cls.name: cls for cls in (ReLU, Tanh, Sigmoid, Softplus, SiLU)}
ACTIVATIONS["leaky_relu"] = LeakyReLU


def get_activation(act):
    """An Activation from a name ('relu', 'leaky_relu', 'leaky_relu:0.1', 'tanh', 'sigmoid',
    'softplus', 'silu') or an Activation instance (returned as is)."""
    if isinstance(act, Activation):
        return act
    name, _, arg = str(act).partition(":")
    if name not in ACTIVATIONS or (arg and name != "leaky_relu"):
        raise ValueError("unknown activation %r; expected one of %s (or 'leaky_relu:SLOPE')"
                         % (act, sorted(ACTIVATIONS)))
    if arg:
        try:
            return LeakyReLU(float(arg))
        except ValueError:
            raise ValueError("activation %r: the slope after ':' must be a number in [0, 1)"
                             % (act,)) from None
    return ACTIVATIONS[name]()


def activation_forward(a, act):
    """h = s(a). Inputs: a: (N, M). Returns h: (N, M), cache = (a, act)."""
    return act.f(a), (a, act)


def activation_backward(dh, cache):
    """da = dh * s'(a). Inputs: dh: (N, M). Returns da: (N, M)."""
    a, act = cache
    return dh * act.df(a)


def activation_input_grad_backward(gA_bar, gH, a, act):
    """Reverse of ``activation_backward`` (in the first backward: ``gA = gH * s'(a)``), in gH
    and in a.

    Inputs: gA_bar: (N, M) gradient of R w.r.t. gA; gH, a: (N, M).
    Returns gH_bar = gA_bar * s'(a): (N, M) and A_bar = gA_bar * gH * s''(a): (N, M), the s''
    injection (None when s'' = 0, i.e. ``act.second_order`` is False).
    """
    gH_bar = gA_bar * act.df(a)
    A_bar = gA_bar * gH * act.d2f(a) if act.second_order else None
    return gH_bar, A_bar
