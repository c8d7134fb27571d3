r"""The multilayer perceptron: forward, the one backward recurrence, and the input gradient that
the gradient penalty differentiates once more (``tinywgan.core.penalty``).

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
- the penalty's second-order path: step (4) of the derivation in ``tinywgan/core/penalty.py``,
  which seeds it and passes the injections.

Checks at the door: ``forward``, ``backward``, ``input_gradient`` and ``gradient_penalty`` check
their arguments (each names what was wrong); ``backprop`` and ``input_gradient_pass`` do not:
they are for the step functions and the penalty, which made their inputs themselves.

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
from .lipschitz import SpectralNorm
from .penalty import gradient_penalty
from .layers import (activation_backward, activation_forward, get_activation, linear_forward,
                     linear_input_grad)

#: What ``forward`` keeps for the backward passes: H[l]: (N, d_l) the input of layer l
#: (H[0] = x), A[l]: (N, d_{l+1}) its pre-activation (A[L-1] = f), l = 0..L-1.
Cache = namedtuple("Cache", "H A")


class MLP:
    """A fully connected network ``widths[0] -> ... -> widths[-1]`` with one activation between
    layers and none after the last.

    Args:
        widths: layer widths, e.g. ``[2, 512, 512, 512, 1]`` (at least input and output).
        activation: name or ``layers.Activation`` (``layers.ACTIVATIONS``: 'relu', 'leaky_relu',
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
        widths = validate.widths("widths", widths)
        for name, value in (("init", init), ("last_init", last_init)):
            validate.choice(name, value, ("he", "glorot"))
        spectral_norm = validate.flag("spectral_norm", spectral_norm)
        check_finite = validate.flag("check_finite", check_finite)
        bias = validate.flag("bias", bias)
        validate.count("seed", seed, low=0)
        self.widths = widths
        self.act = get_activation(activation)
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
            validate.memory("MLP", "widths %s (params and grads: 2 x %d numbers in %s%s)"
                            % (widths, self.n_params, self.dtype,
                               ", and W / sigma with its gradient" if spectral_norm else ""),
                            (2 * self.n_params + (2 * n_W if spectral_norm else 0)
                             + (0 if self.bias else 2 * n_b)) * self.dtype.itemsize,
                            "make the widths smaller")
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
        N = validate.net_cache("MLP.backward", self, cache)
        validate.array("MLP.backward: dout", dout, shape=(N, self.widths[-1]), dtype=self.dtype,
                       like=self.params)
        param_grads = validate.flag("MLP.backward: param_grads", param_grads)
        if param_grads:
            validate.writable("MLP.backward: the network's grads", self.grads)
        if dH is not None and not isinstance(dH, list):
            raise TypeError("MLP.backward: dH must be None or a list to fill, got %s"
                            % type(dH).__name__)
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
        norm) and ``db``: ``tinywgan.core.penalty``, where it is derived. This is its door,
        which checks the arguments.
        Inputs: x_hat: (N, d_0). Returns (R: 0-d array, norms: (N,))."""
        validate.critic("gradient penalty", self)
        validate.number("gradient penalty: lam", lam, low=0)
        validate.number("gradient penalty: target", target, low=0)
        validate.flag("gradient penalty: one_sided", one_sided)
        validate.net_input("gradient penalty", self, x_hat, "x_hat", work=16)
        validate.writable("gradient penalty: the network's grads", self.grads)
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
