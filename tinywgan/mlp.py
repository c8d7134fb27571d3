r"""The multilayer perceptron: forward, backward, input gradient, and the gradient penalty with
its exact weight gradient (the double backward), for any twice-differentiable activation.

Notation (0-based layers l = 0..L-1; ``../DESIGN`` numbers them 1..L):

    H[0] = x                                   (N, d_0)
    A[l] = H[l] W[l] + b[l]                    (N, d_{l+1})
    H[l+1] = s(A[l])            for l < L-1
    f = A[L-1]                                 (N, d_L), the network's output

Parameters live in ONE flat array ``params`` (P,) and their gradients in ``grads`` (P,);
``W[l]: (d_l, d_{l+1})`` and ``b[l]: (d_{l+1},)`` are views into ``params``, ``dW[l]``, ``db[l]``
views into ``grads``. Read or set them in place (``mlp.W[0][...] = new``); an optimiser updates
``params`` and every view sees it. Gradients accumulate (``+=``): call ``zero_grad()`` once per
step, then add the Wasserstein term and the penalty.

Spectral normalisation (Miyato et al. 2018): with ``spectral_norm=True`` the network computes
with ``W_hat[l] = W[l] / sigma(W[l])``. Gradients are first taken w.r.t. the W_hat that the
forward used, then ``spectral_backward()`` maps them onto the raw W (``tinywgan.lipschitz``).

References: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (the penalty);
``DESIGN.md`` of this project (its derivation, reverse over reverse).
"""
import math

import numpy as np

from . import backend
from .layers import (activation_backward, activation_forward, activation_input_grad,
                     activation_input_grad_backward, get_activation, linear_backward,
                     linear_forward, linear_input_grad, linear_input_grad_backward)


class MLP:
    """A fully connected network ``widths[0] -> ... -> widths[-1]`` with one activation between
    layers and none after the last.

    Args:
        widths: layer widths, e.g. ``[2, 512, 512, 512, 1]`` (at least input and output).
        activation: name or ``layers.Activation`` ('relu', 'leaky_relu', 'tanh', 'sigmoid',
            'softplus', 'silu').
        init: 'he' (He-uniform, U(+-sqrt(3) sqrt(2/fan_in)), as the reference toy code for ReLU
            layers) or 'glorot' (U(+-sqrt(6/(fan_in+fan_out)))) for the hidden layers;
        last_init: the same choice for the last layer (the reference uses Glorot there).
        spectral_norm: compute with W / sigma(W) (one power-iteration step per
            ``spectral_normalise()`` call, persistent vectors u).
        dtype: 'float32' (training) or 'float64' (gradient checks).
        device: 'cpu', 'gpu' or 'strict' (``tinywgan.backend``).
        seed: seed of the initial weights.
        check_finite: refuse non-finite inputs (a device sync on a GPU; training loops turn it off
            and check their losses instead).
    """

    def __init__(self, widths, activation="relu", init="he", last_init="glorot",
                 spectral_norm=False, dtype="float32", device="cpu", seed=0, check_finite=True):
        widths = list(widths)
        if len(widths) < 2 or not all(isinstance(w, (int, np.integer)) and w > 0 for w in widths):
            raise ValueError("widths must list at least two positive ints (input and output "
                             "width), got %r" % (widths,))
        for name, value in (("init", init), ("last_init", last_init)):
            if value not in ("he", "glorot"):
                raise ValueError("%s must be 'he' or 'glorot', got %r" % (name, value))
        self.widths = [int(w) for w in widths]
        self.act = get_activation(activation)
        self.dtype = backend.check_dtype(dtype)
        self.xp = xp = backend.array_module(device)
        self.device = device
        self.check_finite = check_finite
        self.L = L = len(widths) - 1
        shapes = [((widths[l], widths[l + 1]), (widths[l + 1],)) for l in range(L)]
        self.n_params = sum(a * b + b for (a, b), _ in shapes)
        self.params = xp.zeros(self.n_params, dtype=self.dtype)                    # (P,)
        self.grads = xp.zeros(self.n_params, dtype=self.dtype)                     # (P,)
        self.W, self.b = self._views(self.params, shapes)
        self.dW, self.db = self._views(self.grads, shapes)

        gen = backend.rng(xp, seed, "init")
        for l, ((fan_in, fan_out), _) in enumerate(shapes):
            kind = last_init if l == L - 1 else init
            # He-uniform: Var = 2/fan_in; Glorot-uniform: Var = 2/(fan_in+fan_out); U(+-r) has
            # variance r^2/3, so r = sqrt(3 Var).
            var = 2.0 / fan_in if kind == "he" else 2.0 / (fan_in + fan_out)
            r = math.sqrt(3.0 * var)
            self.W[l][...] = (2 * gen.random((fan_in, fan_out), dtype=self.dtype) - 1) * r

        self.spectral_norm = bool(spectral_norm)
        if self.spectral_norm:
            from .lipschitz import SpectralNorm
            self.sn = SpectralNorm(self.W, gen)
            # the weights the forward computes with, and the gradients w.r.t. them
            self.W_used = tuple(xp.empty_like(W) for W in self.W)
            self.dW_used = tuple(xp.zeros_like(W) for W in self.W)
            self.spectral_normalise()
        else:
            self.sn = None
            self.W_used, self.dW_used = self.W, self.dW

    def _views(self, flat, shapes):
        Ws, bs, i = [], [], 0
        for (fi, fo), _ in shapes:
            Ws.append(flat[i:i + fi * fo].reshape(fi, fo))
            i += fi * fo
            bs.append(flat[i:i + fo])
            i += fo
        return tuple(Ws), tuple(bs)

    def __repr__(self):
        return "MLP(%s, %s%s, %s, %s)" % ("-".join(map(str, self.widths)), self.act,
                                         ", spectral_norm" if self.spectral_norm else "",
                                         self.dtype, self.device)

    # --------------------------------------------------------------------------------------------
    def _check_input(self, x, where, name="x"):
        if not isinstance(x, self.xp.ndarray):
            raise TypeError("%s: %s must be an array of device %r (%s), got %s; move it with "
                            "xp.asarray(x)" % (where, name, self.device, self.xp.__name__,
                                               type(x).__name__))
        if x.ndim != 2 or x.shape[1] != self.widths[0]:
            raise ValueError("%s: %s must have shape (N, %d), got %s"
                             % (where, name, self.widths[0], tuple(x.shape)))
        if x.shape[0] == 0:
            raise ValueError("%s: %s must hold at least one row, got shape %s"
                             % (where, name, tuple(x.shape)))
        if x.dtype != self.dtype:
            raise ValueError("%s: %s has dtype %s but the network is %s; convert with "
                             "x.astype(...)" % (where, name, x.dtype, self.dtype))
        if self.check_finite and not bool(self.xp.isfinite(x).all()):
            raise ValueError("%s: %s holds NaN or inf" % (where, name))

    def zero_grad(self):
        """Set every gradient (dW, db, and spectral norm's dW_used) to zero."""
        self.grads.fill(0)
        if self.sn is not None:
            for dW in self.dW_used:
                dW.fill(0)

    # --------------------------------------------------------------------------------------------
    def forward(self, x):
        """Inputs: x: (N, d_0). Returns out: (N, d_L) and the cache ``backward`` needs."""
        self._check_input(x, "MLP.forward")
        caches, h = [], x
        for l in range(self.L):
            a, lin_cache = linear_forward(h, self.W_used[l], self.b[l])   # (N, d_{l+1})
            act_cache = None
            if l < self.L - 1:
                h, act_cache = activation_forward(a, self.act)
            caches.append((lin_cache, act_cache))
        return a, caches

    def __call__(self, x):
        return self.forward(x)[0]

    def backward(self, dout, cache, param_grads=True, dH=None):
        """Backpropagate ``dout = dLoss/dout: (N, d_L)``.

        Adds dLoss/dW and dLoss/db into ``dW``/``db`` (unless ``param_grads`` is False, as when
        only the input gradient is wanted, e.g. the critic during a generator step).
        ``dH``: None, or a list that receives dLoss/dH[l]: (N, d_l) for l = 0..L-1, the gradient
        w.r.t. each layer's input activations (dH[0] = dx), e.g. to watch it explode or vanish
        with depth (Gulrajani et al. 2017, Fig. 1b).
        Returns dx: (N, d_0).
        """
        dW = self.dW_used
        da = dout
        if dH is not None:
            dH[:] = [None] * self.L
        for l in reversed(range(self.L)):
            lin_cache, act_cache = cache[l]
            if act_cache is not None:
                da = activation_backward(da, act_cache)             # (N, d_{l+1})
            dx, dWl, dbl = linear_backward(da, lin_cache)
            if param_grads:
                dW[l][...] += dWl
                self.db[l][...] += dbl
            if dH is not None:
                dH[l] = dx                                          # dLoss/dH[l]: (N, d_l)
            da = dx
        return dx

    # --------------------------------------------------------------------------------------------
    def _input_gradient(self, x):
        """The first backward: seed G[L-1] = 1 and pass the gradient down to the input.

        Returns (grad_x: (N, d_0), forward caches, G, P) with G[l] = df/dA[l]: (N, d_{l+1}) and
        P[l] = df/dH[l]: (N, d_l); grad_x = P[0].
        """
        if self.widths[-1] != 1:
            raise ValueError("the input gradient needs a scalar output; this network's last "
                             "width is %d" % self.widths[-1])
        _, caches = self.forward(x)
        L, xp = self.L, self.xp
        G, P = [None] * L, [None] * L
        G[L - 1] = xp.ones((x.shape[0], 1), dtype=self.dtype)                  # (N, 1)
        for l in reversed(range(L)):
            P[l] = linear_input_grad(G[l], self.W_used[l])                    # (N, d_l)
            if l > 0:
                a_prev = caches[l - 1][1][0]                                  # A[l-1]
                G[l - 1] = activation_input_grad(P[l], a_prev, self.act)      # (N, d_l)
        return P[0], caches, G, P

    def input_gradient(self, x):
        """grad_x f(x) for each example. Inputs: x: (N, d_0). Returns grad_x: (N, d_0)."""
        return self._input_gradient(x)[0]

    def gradient_penalty(self, x_hat, lam, target=1.0, one_sided=False):
        r"""The WGAN-GP penalty, its value and its exact gradient w.r.t. every weight and bias.

            R = lam/N * sum_i (||g_i|| - target)^2,        g_i = grad_x f(x_hat_i)
            R = lam/N * sum_i max(0, ||g_i|| - target)^2   (one_sided, WGAN-LP)

        dR/dW and dR/db are ADDED to ``dW``/``db``. Inputs: x_hat: (N, d_0).
        Returns (R: 0-d array, grad_norms: (N,) the ||g_i||).
        """
        if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam >= 0):
            raise ValueError("gradient_penalty: lam must be a finite number >= 0, got %r" % (lam,))
        if not (isinstance(target, (int, float)) and math.isfinite(target) and target >= 0):
            raise ValueError("gradient_penalty: target must be a finite number >= 0, got %r"
                             % (target,))
        xp, L, N, act = self.xp, self.L, x_hat.shape[0], self.act
        grad_x, caches, G, P = self._input_gradient(x_hat)

        # R and its gradient w.r.t. grad_x (the cotangent that starts the reverse pass):
        #   dR/dg_i = 2 lam/N (||g_i|| - target) g_i / ||g_i||, direction 0 where g_i = 0.
        norms = xp.sqrt((grad_x * grad_x).sum(axis=1))                        # (N,)
        gap = norms - target
        if one_sided:
            gap = xp.maximum(gap, 0)
        R = lam / N * (gap * gap).sum()
        unit = grad_x / xp.maximum(norms, xp.finfo(self.dtype).tiny)[:, None]  # g/||g||, 0 at g=0
        Pbar = (2 * lam / N * gap)[:, None] * unit                             # dR/dP[0]: (N, d_0)

        # Reverse of the first backward, from the input layer up.
        Abar = [None] * L
        for l in range(L):
            Gbar, Wbar = linear_input_grad_backward(Pbar, G[l], self.W_used[l])
            self.dW_used[l][...] += Wbar                                      # dR/dW[l], direct
            if l < L - 1:
                a = caches[l][1][0]                                           # A[l]
                Pbar, Abar[l] = activation_input_grad_backward(Gbar, P[l + 1], a, act)

        # Second-order path: the injections Abar flow back through the forward pass.
        if act.second_order and L > 1:
            dA = Abar[L - 2]
            for l in reversed(range(L - 1)):
                dH, dWl, dbl = linear_backward(dA, caches[l][0])
                self.dW_used[l][...] += dWl
                self.db[l][...] += dbl
                if l > 0:
                    dA = activation_backward(dH, caches[l - 1][1]) + Abar[l - 1]
        return R, norms

    # --------------------------------------------------------------------------------------------
    def spectral_normalise(self, power_iteration=True):
        """W_used[l] <- W[l] / sigma(W[l]) (one power-iteration step first, unless told not to:
        a gradient check holds u, v fixed). A no-op without spectral_norm."""
        if self.sn is not None:
            self.sn.normalise(self.W, self.W_used, power_iteration)

    def spectral_backward(self):
        """Map the gradients w.r.t. W_used onto the raw weights: dW[l] += J^T dW_used[l].
        A no-op without spectral_norm."""
        if self.sn is not None:
            self.sn.backward(self.dW_used, self.dW)
