r"""The network and every derivative of it, in reading order: the linear map and the
activations (s, s', s'' exact in the tails); the MLP (forward, the one backward recurrence, the
input gradient); the gradient penalty and its exact weight gradient, the double backward
(``gradient_penalty``, whose docstring derives it step by step beside the lines that compute it).

The layer functions keep CS231n's contract, ``linear_forward(x, W, b) -> (out, cache)``,
``linear_backward(dout, cache) -> grads`` (and ``activation_forward``, ``activation_backward``),
so that each is checked against finite differences alone (``tinywgan.measure.gradcheck``); the
MLP keeps what its backward needs in one ``Cache(H, A)``, not a list of the layers' caches.
The double-backward pieces (``linear_input_grad_backward``, ``activation_input_grad_backward``)
are the two lines of step (3) of the penalty's derivation; ``_bar`` means "the gradient of the
penalty R with respect to that quantity". ``second_order = False`` marks the activations whose
s'' is zero (ReLU, leaky ReLU, GroupSort), for which the penalty skips step (4).

Notation (0-based layers l = 0..L-1, row-vector convention, a batch of N rows):

    H[0] = x                                   (N, d_0)
    A[l] = H[l] W[l] + b[l]                    (N, d_{l+1})      pre-activations
    H[l+1] = s(A[l])            for l < L-1                      activations
    f = A[L-1]                                 (N, d_L), the network's output

``forward`` returns f and a ``Cache(H, A)``: the lists above, by name (``cache.A[l]``).

**The backward recurrence** (``backprop``), written once. Given dA[top] = dLoss/dA[top]:

    dW[l] += H[l]^T dA[l],   db[l] += sum_rows dA[l]           (the parameter gradients)
    dH[l]  = dA[l] W[l]^T                                       (N, d_l)
    dA[l-1] = dH[l] * s'(A[l-1])   (+ inject[l-1], if given)    for l = top .. 0

Three passes are this one recurrence with a different seed:

- ``backward(dout, cache)``: top = L-1, dA[L-1] = dout = dLoss/df, parameter gradients on;
- ``input_gradient_pass(x)``: top = L-1, dA[L-1] = 1 (the seed df/df), parameter gradients
  off. Its dA[l] is gA[l] = df/dA[l] and its dH[l] is gH[l] = df/dH[l]; ``grad_x f = gH[0]``;
- the penalty's second-order path: step (4) of the derivation in ``gradient_penalty``'s docstring,
  which seeds it and passes the injections.

Parameters live in ONE flat array ``params`` (P,) and their gradients in ``grads`` (P,);
``W[l]: (d_l, d_{l+1})`` and ``b[l]: (d_{l+1},)`` are views into ``params``, ``dW[l]``, ``db[l]``
views into ``grads``. Read or set them in place (``mlp.W[0][...] = new``); an optimizer updates
``params`` and every view sees it. Gradients accumulate (``+=``): call ``zero_grad()`` once per
step, then add the loss's and the penalty's terms. With ``bias=False`` (f = x W, e.g. the
Dirac-GAN's critic psi x) the biases are constant zeros outside ``params``: P counts the weights
alone, and what the backward adds into ``db`` goes to a spare buffer that nothing steps.

Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
Networks"): with ``spectral_norm=True`` the network computes with ``W_used[l] = W[l] / sigma(W[l])``
(``spectral_normalise()``, from the persistent power-iteration vectors that ``power_iterate()``
advances by one step). Gradients are first taken w.r.t. the W_used that the forward used
(``dW_used``), then ``spectral_backward()`` maps them onto the raw W. Without it, W_used is W.
"""
import math
from collections import namedtuple

from .. import backend, validate
from ..backend import get_array_module
from .lipschitz import SpectralNorm


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

    def vjp(self, dh, a):
        """da = J^T dh, J = dh/da (diagonal here: dh * s'(a)). Inputs: dh, a: (N, M)."""
        return dh * self.df(a)

    def jvp(self, t, a):
        """J t, the tangent map (equal to ``vjp`` for an elementwise s). Inputs: t, a: (N, M)."""
        return t * self.df(a)

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
        self.slope = validate.number("leaky_relu slope", slope, low=0, high=1, high_open=True)
        self.lipschitz = 1.0
        self.name = "leaky_relu" if slope == 0.2 else "leaky_relu:%g" % slope

    def f(self, a):
        return get_array_module(a).where(a > 0, a, self.slope * a)

    def df(self, a):
        return get_array_module(a).where(a > 0, 1.0, self.slope).astype(a.dtype)

    def d2f(self, a):
        return get_array_module(a).zeros_like(a)


# The smooth activations (tanh, sigmoid, softplus, SiLU) compute s, s' and s'' to a few ulps at
# every a, tails included (``tests/core/test_activations.py`` measures them against mpmath over
# [-700, 700]): each is built from e = e^{-|a|} in (0, 1], which never overflows, and from tanh and
# logaddexp, with no difference of nearby numbers. The textbook forms round to 0 or cancel:
#
#     sigma = (1 + tanh(a/2))/2    0 from a = -38 in float64 (sigma(-38) = 3.1e-17), 4 % off at
#                                  a = -36; 0 from a = -20 in float32
#     sigma' = s (1 - s)           1 - s = 0 once s rounds to 1: float32 sigma'(20) = 0, not 2.1e-9
#     sigma'' = s' (1 - 2 s)       1 - 2 s cancels at a = 0: sigma''(1e-10) is 8e-8 off
#     tanh' = 1 - tanh^2           0 from |a| = 19.1 in float64 (tanh'(20) = 1.7e-17); 96 % off at
#                                  a = 9 in float32
#     softplus = log(1 + e^a)      inf at a = 710; 0 at a = -40 (softplus(-40) = 4.2e-18)
#
# The forms used instead are in each function's docstring below. Only SiLU's s' and s'' have
# roots away from 0 (s' at a = -1.2785, s'' at a = +-2.3994), where any formula subtracts terms
# of size ~0.2: near them the error is a few ulps of the terms, not of the result.

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


class GroupSort(Activation):
    r"""Sort each group of k consecutive units (Anil, Lucas and Grosse 2019, "Sorting out
    Lipschitz function approximation"); k = 2 is MaxMin: (a1, a2) -> (min, max).

    Not elementwise: per group, h = P a with P the permutation that sorts a (fixed near any a
    without ties, so almost everywhere). J = P, hence
        backward  da = P^T dh   (each unit's gradient goes back to where the unit came from),
        tangent   J t = P t     (t sorted by a's order),
    and no second derivative (P is piecewise constant: s'' = 0 a.e., as for ReLU), so the
    penalty's double backward reverses gA = P^T gH by gH_bar = P gA_bar and injects nothing.
    A permutation keeps every norm: GroupSort is 1-Lipschitz and, unlike ReLU, keeps the
    gradient's norm through orthonormal layers. Inputs a: (N, M), M a multiple of k.
    """
    lipschitz = 1.0
    second_order = False

    def __init__(self, k=2):
        self.k = k
        self.name = "groupsort" if k == 2 else "groupsort:%d" % k

    def _order(self, a):
        """The sorting permutation per group: (N, M/k, k) indices into each group."""
        return get_array_module(a).argsort(a.reshape(a.shape[0], -1, self.k), axis=-1)

    def _swap(self, t, a):
        """k = 2: P t = P^T t, each pair of t swapped where a's pair is descending (a compare,
        not argsort and a gather: 5x faster at (256, 128), where argsort took half of a wgan-gs
        critic step). (N, M)."""
        pairs, tp = a.reshape(a.shape[0], -1, 2), t.reshape(t.shape[0], -1, 2)
        return get_array_module(a).where(pairs[..., :1] > pairs[..., 1:], tp[..., ::-1],
                                         tp).reshape(t.shape)

    def jvp(self, t, a):
        """P t: t's groups in a's sorted order. (N, M)."""
        if self.k == 2:
            return self._swap(t, a)
        g = t.reshape(t.shape[0], -1, self.k)
        return get_array_module(a).take_along_axis(g, self._order(a), axis=-1).reshape(t.shape)

    def f(self, a):
        return self.jvp(a, a)

    def vjp(self, dh, a):
        if self.k == 2:
            return self._swap(dh, a)
        xp = get_array_module(a)
        da = xp.empty_like(dh).reshape(dh.shape[0], -1, self.k)
        xp.put_along_axis(da, self._order(a), dh.reshape(da.shape), axis=-1)  # da[P] = dh
        return da.reshape(dh.shape)

    def df(self, a):
        raise TypeError("GroupSort is not elementwise: it has no s'(a); use vjp/jvp")


def get_activation(act):
    """An Activation from a name ('relu', 'leaky_relu', 'leaky_relu:0.1', 'tanh', 'sigmoid',
    'softplus', 'silu') or an Activation instance (returned as is)."""
    if isinstance(act, Activation):
        return act
    name, _, arg = str(act).partition(":")
    if name == "groupsort":
        if arg and not (arg.isdigit() and int(arg) >= 2):
            raise ValueError("activation %r: the group size after ':' must be an integer >= 2"
                             % (act,))
        return GroupSort(int(arg) if arg else 2)
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
    """da = dh * s'(a) (J^T dh: ``act.vjp``). Inputs: dh: (N, M). Returns da: (N, M)."""
    a, act = cache
    return act.vjp(dh, a)


def activation_input_grad_backward(gA_bar, gH, a, act):
    """Reverse of ``activation_backward`` (in the first backward: ``gA = gH * s'(a)``), in gH
    and in a.

    Inputs: gA_bar: (N, M) gradient of R w.r.t. gA; gH, a: (N, M).
    Returns gH_bar = gA_bar * s'(a): (N, M) and A_bar = gA_bar * gH * s''(a): (N, M), the s''
    injection (None when s'' = 0, i.e. ``act.second_order`` is False).
    """
    gH_bar = act.jvp(gA_bar, a)                                     # gA_bar * s'(a)
    A_bar = gA_bar * gH * act.d2f(a) if act.second_order else None
    return gH_bar, A_bar

# ==============================================================================================
# The MLP
# ==============================================================================================

#: What ``forward`` keeps for the backward passes: H[l]: (N, d_l) the input of layer l
#: (H[0] = x), A[l]: (N, d_{l+1}) its pre-activation (A[L-1] = f), l = 0..L-1.
Cache = namedtuple("Cache", "H A")


class MLP:
    """A fully connected network ``widths[0] -> ... -> widths[-1]`` with one activation between
    layers and none after the last.

    Args:
        widths: layer widths, e.g. ``[2, 512, 512, 512, 1]`` (at least input and output).
        activation: name or ``Activation`` (``ACTIVATIONS``: 'relu', 'leaky_relu',
            'tanh', 'sigmoid', 'softplus', 'silu'; 'leaky_relu:SLOPE').
        init: 'he' (He-uniform, U(+-sqrt(3) sqrt(2/fan_in)), as the WGAN-GP toy code for ReLU
            layers) or 'glorot' (U(+-sqrt(6/(fan_in+fan_out)))) for the hidden layers;
        last_init: the same choice for the last layer (the toy code uses Glorot there).
        spectral_norm: compute with W / sigma(W) (see the module docstring).
        bias: learn a bias per layer; False: every b[l] is a constant 0 outside ``params``.
        dtype: 'float32' (training) or 'float64' (gradient checks).
        device: 'cpu', 'gpu' or 'strict' (``tinywgan.backend``).
        seed: seed of the initial weights.
        check_finite: refuse non-finite inputs (a device sync on a GPU; training loops turn it off
            and check their losses instead).
    """

    def __init__(self, widths, activation="relu", init="he", last_init="glorot",
                 spectral_norm=False, dtype="float32", device="cpu", seed=0, check_finite=True,
                 bias=True):
        self.act = get_activation(activation)
        widths, spectral_norm, check_finite, bias = validate.mlp_args(
            widths, self.act, init, last_init, spectral_norm, check_finite, bias, seed)
        self.widths = widths
        self.dtype = backend.check_dtype(dtype)
        self.xp = xp = backend.array_module(device)
        self.device = device
        self.check_finite = check_finite
        self.L = L = len(widths) - 1
        shapes = [((widths[l], widths[l + 1]), (widths[l + 1],)) for l in range(L)]
        self.bias = bias
        n_b = sum(widths[1:])                                   # every layer's bias entries
        n_W = sum(a * b for (a, b), _ in shapes)
        self.n_params = n_W + (n_b if self.bias else 0)
        if device != "gpu":                     # (a GPU's memory: CuPy refuses itself)
            validate.params_memory(widths, self.n_params, n_W, n_b, self.dtype, spectral_norm,
                                   bias)
        self.params = xp.zeros(self.n_params, dtype=self.dtype)                    # (P,)
        self.grads = xp.zeros(self.n_params, dtype=self.dtype)                     # (P,)
        # without biases: b[l] views of constant zeros, db[l] of a spare (n_b,) buffer
        self._spare_db = None if self.bias else xp.zeros(n_b, dtype=self.dtype)
        self.W, self.b = self._views(self.params, shapes,
                                     None if self.bias else xp.zeros(n_b, dtype=self.dtype))
        self.dW, self.db = self._views(self.grads, shapes, self._spare_db)

        rng = backend.rng(xp, seed, "init")
        for l, ((fan_in, fan_out), _) in enumerate(shapes):
            kind = last_init if l == L - 1 else init
            # He-uniform: Var = 2/fan_in; Glorot-uniform: Var = 2/(fan_in+fan_out); U(+-r) has
            # variance r^2/3, so r = sqrt(3 Var).
            var = 2.0 / fan_in if kind == "he" else 2.0 / (fan_in + fan_out)
            r = math.sqrt(3.0 * var)
            self.W[l][...] = (2 * rng.random((fan_in, fan_out), dtype=self.dtype) - 1) * r

        self.spectral_norm = spectral_norm
        if self.spectral_norm:
            self.sn = SpectralNorm(self.W, rng)
            # the weights the forward computes with, and the gradients w.r.t. them
            self.W_used = tuple(xp.empty_like(W) for W in self.W)
            self.dW_used = tuple(xp.zeros_like(W) for W in self.W)
            self.power_iterate()
            self.spectral_normalise()
        else:
            self.sn = None
            self.W_used, self.dW_used = self.W, self.dW

    def _views(self, flat, shapes, spare=None):
        """W[l] and b[l] as views of ``flat``, layer after layer; b[l] of ``spare`` if given."""
        Ws, bs, i, j = [], [], 0, 0
        for (fi, fo), _ in shapes:
            Ws.append(flat[i:i + fi * fo].reshape(fi, fo))
            i += fi * fo
            if spare is None:
                bs.append(flat[i:i + fo])
                i += fo
            else:
                bs.append(spare[j:j + fo])
                j += fo
        return tuple(Ws), tuple(bs)

    def __repr__(self):
        return "MLP(%s, %s%s%s, %s, %s)" % ("-".join(map(str, self.widths)), self.act,
                                           ", spectral_norm" if self.spectral_norm else "",
                                           "" if self.bias else ", no bias", self.dtype,
                                           self.device)

    # --------------------------------------------------------------------------------------------
    def zero_grad(self):
        """Set every gradient (dW, db, and spectral norm's dW_used) to zero."""
        validate.writable("MLP.zero_grad: the network's grads", self.grads)
        self.grads.fill(0)
        if self._spare_db is not None:
            self._spare_db.fill(0)
        if self.sn is not None:
            for dW in self.dW_used:
                dW.fill(0)

    # --------------------------------------------------------------------------------------------
    def forward(self, x):
        """Inputs: x: (N, d_0). Returns f: (N, d_L) and the ``Cache(H, A)`` the backward needs."""
        validate.net_input("MLP.forward", self, x)
        return self._forward(x)

    def _forward(self, x):
        """``forward`` without the check, for callers that checked x at their own door."""
        H, A = [x], []
        for l in range(self.L):
            A.append(linear_forward(H[l], self.W_used[l], self.b[l])[0])   # A[l] = H[l] W[l] + b[l]
            if l < self.L - 1:
                H.append(activation_forward(A[l], self.act)[0])             # H[l+1] = s(A[l])
        return A[-1], Cache(H, A)

    def __call__(self, x):
        return self.forward(x)[0]

    def backprop(self, dA_top, cache, top=None, param_grads=True, inject=None, to_input=True):
        """The backward recurrence (module docstring), from layer ``top`` (default: the last)
        down to layer 0. No checks: ``backward`` is the door that checks; the step functions
        and the penalty call this with what their own forward made.

        Inputs: dA_top: (N, d_{top+1}) dLoss/dA[top]; cache from ``forward``; param_grads: add
        dW[l], db[l]; inject: None or a list whose inject[l]: (N, d_{l+1}) is added to dA[l]
        (l < top); to_input: also form dH[0] (skip it when nobody needs dx).
        Returns the lists dA[l]: (N, d_{l+1}) and dH[l]: (N, d_l) (None where not formed).
        """
        H, A = cache
        top = self.L - 1 if top is None else top
        dA, dH = [None] * self.L, [None] * self.L
        dA[top] = dA_top
        for l in range(top, -1, -1):
            if param_grads:
                self.dW_used[l][...] += H[l].T @ dA[l]                # dW[l] += H[l]^T dA[l]
                self.db[l][...] += dA[l].sum(axis=0)                  # db[l] += sum_rows dA[l]
            if l == 0 and not to_input:
                break
            dH[l] = linear_input_grad(dA[l], self.W_used[l])          # dH[l] = dA[l] W[l]^T
            if l > 0:
                dA[l - 1] = activation_backward(dH[l], (A[l - 1], self.act))  # dH[l] s'(A[l-1])
                if inject is not None:
                    dA[l - 1] += inject[l - 1]
        return dA, dH

    def backward(self, dout, cache, param_grads=True, dH=None):
        """Backpropagate ``dout = dLoss/df: (N, d_L)`` through the cached forward.

        Adds dLoss/dW and dLoss/db into ``dW``/``db`` (unless ``param_grads`` is False, as when
        only dx is wanted, e.g. the critic during a generator step).
        ``dH``: None, or a list that receives dLoss/dH[l]: (N, d_l) for l = 0..L-1, the gradient
        w.r.t. each layer's input activations (dH[0] = dx), e.g. to watch it explode or vanish
        with depth (Gulrajani et al. 2017, Fig. 1b).
        Returns dx = dLoss/dx: (N, d_0).
        """
        param_grads = validate.backward_args("MLP.backward", self, dout, cache, param_grads, dH)
        _, dH_all = self.backprop(dout, cache, param_grads=param_grads)
        if dH is not None:
            dH[:] = dH_all
        return dH_all[0]

    # --------------------------------------------------------------------------------------------
    def input_gradient_pass(self, x):
        """The first backward of the gradient penalty: the backward recurrence seeded with
        dA[L-1] = df/df = 1, no parameter gradients.

        Inputs: x: (N, d_0), for a network with scalar output (d_L = 1).
        Returns (cache, gA, gH): gA[l] = df/dA[l]: (N, d_{l+1}), gH[l] = df/dH[l]: (N, d_l);
        grad_x f = gH[0], one row per example. No checks: ``input_gradient`` and
        ``gradient_penalty`` are its doors.
        """
        _, cache = self._forward(x)
        ones = self.xp.ones((x.shape[0], 1), dtype=self.dtype)             # (N, 1) the seed
        gA, gH = self.backprop(ones, cache, param_grads=False)
        return cache, gA, gH

    def input_gradient(self, x):
        """grad_x f(x) for each example. Inputs: x: (N, d_0). Returns grad_x: (N, d_0)."""
        validate.critic("MLP.input_gradient", self)
        validate.net_input("MLP.input_gradient", self, x, work=4)
        return self.input_gradient_pass(x)[2][0]

    def gradient_penalty(self, x_hat, lam, target=1.0, one_sided=False):
        """The gradient penalty R = lam/N sum_i (||grad_x f(x_hat_i)|| - target)^2 (one-sided:
        max(0, .)^2), its exact gradient added to ``dW_used`` (``dW`` itself without spectral
        norm) and ``db``: ``gradient_penalty`` below, where it is derived. This is its door,
        which checks the arguments.
        Inputs: x_hat: (N, d_0). Returns (R: 0-d array, norms: (N,))."""
        validate.penalty_args("gradient penalty", self, x_hat, lam, target, one_sided)
        return gradient_penalty(self, x_hat, lam, target, one_sided)

    # --------------------------------------------------------------------------------------------
    def power_iterate(self):
        """Spectral norm: one power-iteration step for every layer's vectors u, v (the SN-GAN
        update, once per training step). A no-op without spectral_norm."""
        if self.sn is not None:
            self.sn.power_iterate(self.W)

    def spectral_normalise(self):
        """Spectral norm: W_used[l] <- W[l] / sigma(W[l]), sigma = u^T W v with the current u, v
        (held fixed, so this is a function of W alone: what a gradient check needs). A no-op
        without spectral_norm."""
        if self.sn is not None:
            self.sn.normalise(self.W, self.W_used)

    def spectral_backward(self):
        """Spectral norm: map the gradients w.r.t. W_used onto the raw weights,
        dW[l] += J^T dW_used[l]. A no-op without spectral_norm."""
        if self.sn is not None:
            self.sn.backward(self.dW_used, self.dW)

# ==============================================================================================
# The gradient penalty: the double backward
# ==============================================================================================

def gradient_penalty(net, x_hat, lam, target=1.0, one_sided=False):
    r"""The penalty R at x_hat and its exact gradient, added to ``net.dW_used`` (the weights the
    forward computed with: W itself without spectral norm) and ``net.db``: steps (1)-(4) below.

    Inputs: net: an MLP with scalar output; x_hat: (N, d_0); lam >= 0; target >= 0 (1 for
    WGAN-GP, 0 for R1/R2); one_sided: penalise only norms above the target. Checked at the
    callers' doors (``MLP.gradient_penalty``, ``steps.critic_grads``), not here.
    Returns (R: 0-d array, norms: (N,) the ||grad_x f(x_hat_i)||).

    The derivation, each step beside the lines below that compute it: reverse-mode
    differentiation of a reverse-mode pass ("reverse over reverse").

    WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville 2017, "Improved Training of
    Wasserstein GANs") keeps the critic f close to 1-Lipschitz by penalising, at points x_hat
    between real and generated samples, how far the norm of its input gradient is from 1:

        R = lam/N sum_i (||g_i|| - t)^2,     g_i = grad_x f(x_hat_i),  t = 1       (two-sided)
        R = lam/N sum_i max(0, ||g_i|| - t)^2                                   (one-sided)

    (one-sided: WGAN-LP, Petzka, Fischer and Lukovnikov 2018, "On the Regularization of
    Wasserstein GANs").

    With t = 0 the same code gives the zero-centred penalties R1 and R2 of Mescheder, Geiger and
    Nowozin 2018 ("Which Training Methods for GANs do actually Converge?"):
    (gamma/2) E ||grad_x f||^2 is ``lam = gamma/2, target = 0``.

    The critic's optimizer needs dR/dW and dR/db. R depends on the weights through g, and g is
    itself the output of a backward pass, so we differentiate that backward pass once more.

    Notation (the module docstring's): H[0] = x, A[l] = H[l] W[l] + b[l], H[l+1] = s(A[l]),
    f = A[L-1], l = 0..L-1, N rows. A bar is "the gradient of R with respect to":
    W_bar[l] = dR/dW[l].

    **(1) The first backward: the input gradient.** The rows of f depend only on their own rows of
    x, so one backward pass of sum_i f_i gives every g_i. Seed gA[L-1] = df/dA[L-1] = 1, then

        gH[l]   = gA[l] W[l]^T            (N, d_l)        gH[l] = df/dH[l]
        gA[l-1] = gH[l] * s'(A[l-1])      (N, d_l)        gA[l] = df/dA[l]

    and g = gH[0]. This is ``MLP.input_gradient_pass``: the MLP's one backward recurrence with the
    seed 1 and no parameter gradients.

    **(2) The head: R and the gradient that starts the reverse pass** (``penalty_head``). With
    gap_i = ||g_i|| - t (one-sided: max(0, ||g_i|| - t)),

        R = lam/N sum_i gap_i^2,          gH_bar[0]_i = dR/dg_i = 2 lam/N gap_i g_i / ||g_i||.

    At g_i = 0 the direction g_i/||g_i|| is undefined; it is taken as 0 (no NaN). For t > 0 that is
    a subgradient of a cone; for t = 0 (R1, R2) R = lam/N ||g||^2 is smooth and 0 is exact.

    **(3) The reverse of (1), from the input layer up.** Pass (1) ran from the output down, so its
    reverse runs from the input up. Each line of (1) is a product of two things that depend on the
    weights, and each gives two terms:

        gH[l] = gA[l] W[l]^T    ->   gA_bar[l]  = gH_bar[l] W[l]                   (N, d_{l+1})
                                     W_bar[l]  += gH_bar[l]^T gA[l]                (d_l, d_{l+1})
        gA[l] = gH[l+1] s'(A[l]) ->  gH_bar[l+1] = gA_bar[l] * s'(A[l])            (N, d_{l+1})
                                     A_bar[l]    = gA_bar[l] * gH[l+1] * s''(A[l]) (N, d_{l+1})

    The W_bar term is the direct path: W[l] appears in the input gradient itself. The A_bar term is
    the **s'' injection**: the pre-activation A[l] enters the input gradient through s'(A[l]), so R
    depends on A[l], and A[l] depends on every weight below it. At the top, gA[L-1] = 1 is a
    constant: the reverse pass ends there.

    **(4) The second-order path.** A[l] is an output of the *forward* pass, so dR/dA[l] = A_bar[l]
    flows back through the forward pass as an ordinary backward pass, with each layer's injection
    added where it enters (the MLP's backward recurrence again, seeded at the last hidden layer):

        dA[L-2] = A_bar[L-2]
        W_bar[l] += H[l]^T dA[l],    b_bar[l] += sum_rows dA[l]
        dA[l-1]  = (dA[l] W[l]^T) * s'(A[l-1]) + A_bar[l-1]

    dR/dW[l] is the sum of (3)'s direct term and (4)'s term; dR/db[l] comes from (4) alone (the
    biases reach g only through A).

    **Why ReLU needs none of (4).** For ReLU and leaky ReLU s'' = 0 wherever it exists (everywhere
    but the kink, a set of measure zero): every A_bar is 0, path (4) is empty, the biases get no
    gradient from the penalty, and dR/dW is (3)'s direct term alone. For tanh, sigmoid, softplus or
    SiLU, dropping (4) leaves the weight gradient wrong (relative error of order 1) while every
    first-order check still passes: the classic bug of a from-scratch double backward. (numpy-ml's
    ``FullyConnected._bwd2`` adds (4)'s A_bar[l] to its own bias gradient only, never to W[l] or
    the layers below; its WGAN_GP critic is ReLU, where A_bar is 0, so that model loses nothing.)
    ``python -m tinywgan gradcheck`` checks every term above against finite differences.
    GroupSort, not elementwise, reads "* s'(A[l])" as its permutation P (``vjp`` in (1), P^T;
    ``jvp`` in (3), P): P is constant between ties, so it too injects nothing into (4).

    **Cost.** (1) and (3) are three products per layer, (4) two more (none for ReLU): the penalty
    costs about as much as two more backward passes.

    Under spectral normalisation every W above is the W_used = W / sigma the forward computed with,
    and the caller maps dW_used onto the raw W (``MLP.spectral_backward``).
    """
    L, act, W = net.L, net.act, net.W_used
    cache, gA, gH = net.input_gradient_pass(x_hat)                     # (1) g = gH[0]
    R, norms, gH_bar = penalty_head(gH[0], lam, target, one_sided)     # (2) gH_bar[0]

    A_bar = [None] * L                                                 # (3) input layer up
    for l in range(L):
        gA_bar, W_bar = linear_input_grad_backward(gH_bar, gA[l], W[l])   # gH_bar[l] W[l],
        net.dW_used[l][...] += W_bar                                      # gH_bar[l]^T gA[l]
        if l < L - 1:                                  # gH_bar[l+1] = gA_bar s'(A[l]); A_bar[l]
            gH_bar, A_bar[l] = activation_input_grad_backward(gA_bar, gH[l + 1], cache.A[l], act)

    if act.second_order and L > 1:                                     # (4) s'' injections
        net.backprop(A_bar[L - 2], cache, top=L - 2, inject=A_bar, to_input=False)
    return R, norms


def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    r"""Step (2): the penalty's value and the gradient that starts the reverse pass.

        R = lam/N sum_i gap_i^2,  gap_i = ||g_i|| - target  (one-sided: max(0, ||g_i|| - target))
        dR/dg_i = 2 lam/N gap_i g_i / ||g_i||   (direction 0 where g_i = 0)

    Shared by ``gradient_penalty`` and the fused steps (``tinywgan.fast``), which checked lam,
    target and one_sided at their doors.
    Inputs: grad_x: (N, d) the input gradients g_i; lam >= 0; target >= 0.
    Returns (R: 0-d array, norms: (N,) the ||g_i||, gH_bar0 = dR/dg: (N, d)).
    """
    xp, N = get_array_module(grad_x), grad_x.shape[0]
    norms = xp.sqrt((grad_x * grad_x).sum(axis=1))                         # (N,) ||g_i||
    gap = norms - target
    if one_sided:
        gap = xp.maximum(gap, 0)
    R = lam / N * (gap * gap).sum()
    unit = grad_x / xp.maximum(norms, xp.finfo(grad_x.dtype).tiny)[:, None]   # g/||g||, 0 at 0
    return R, norms, (2 * lam / N * gap)[:, None] * unit                   # (N, d)
