r"""Keeping the critic Lipschitz, and checking that it is.

The Kantorovich-Rubinstein duality needs a 1-Lipschitz critic, |f(x1) - f(x2)| <= ||x1 - x2||.
For a differentiable f that holds iff ||grad_x f|| <= 1 everywhere. Three ways to get there:

- weight clipping (WGAN, Arjovsky et al. 2017): every parameter into [-c, c]
  (``clip_weights``); this bounds the Lipschitz constant by ``clipping_bound`` but not at 1;
- the gradient penalty (WGAN-GP): ``MLP.gradient_penalty``;
- spectral normalisation (Miyato et al. 2018): W_hat = W / sigma(W), so every layer has
  spectral norm 1 (``SpectralNorm``, used by ``MLP(spectral_norm=True)``).

For checking: ``lipschitz_bound`` (product of the layers' spectral norms times the activations'
Lipschitz constants, an upper bound) and ``lipschitz_estimate`` (the largest input-gradient norm
over given points, a lower bound on the true constant).
"""
import math

import numpy as np

from ..backend import get_array_module, to_numpy
from .. import validate
from ..validate import array, number


def clip_weights(params, c):
    """Clip every parameter into [-c, c], in place (as the WGAN reference clips all parameters,
    biases included). Inputs: params: (P,) a model's flat parameter buffer."""
    c = number("clip_weights: c", c, low=0, low_open=True)
    array("clip_weights: params", params, shape=(None,))
    get_array_module(params).clip(params, -c, c, out=params)


def clipping_bound(widths, c, act_lipschitz=1.0):
    r"""Lipschitz bound of any MLP whose weights lie in [-c, c].

    A (m x n) matrix with entries in [-c, c] has spectral norm <= ||W||_F <= c sqrt(m n), so
    Lip(f) <= prod_l c sqrt(d_l d_{l+1}) * K_act^(L-1).
    """
    widths = validate.widths("clipping_bound: widths", widths)
    c = number("clipping_bound: c", c, low=0, low_open=True)
    act_lipschitz = number("clipping_bound: act_lipschitz", act_lipschitz, low=0)
    L = len(widths) - 1
    return math.prod(c * math.sqrt(widths[l] * widths[l + 1]) for l in range(L)) \
        * act_lipschitz ** (L - 1)


def lipschitz_bound(mlp):
    r"""Upper bound Lip(f) <= prod_l ||W_l||_2 * K_act^(L-1), from the weights the network
    computes with (W / sigma under spectral normalisation). Host-side: a diagnostic."""
    _check_mlp("lipschitz_bound", mlp)
    norms = [np.linalg.norm(to_numpy(W).astype(np.float64), 2) for W in mlp.W_used]
    return float(math.prod(norms) * mlp.act.lipschitz ** (mlp.L - 1))


def lipschitz_estimate(mlp, x):
    """Empirical Lipschitz constant: max_i ||grad_x f(x_i)|| over the rows of x: (N, d_0).
    A lower bound on the true constant; never above ``lipschitz_bound``."""
    _check_mlp("lipschitz_estimate", mlp)
    if mlp.widths[-1] != 1:
        raise ValueError("lipschitz_estimate: mlp must be a critic (scalar output); its last "
                         "width is %d" % mlp.widths[-1])
    g = mlp.input_gradient(x)                                                  # (N, d_0)
    return float(get_array_module(g).sqrt((g * g).sum(axis=1)).max())


def power_iteration(W, u):
    r"""One power-iteration step for the largest singular value of W: (m, n).

        v = W^T u / ||W^T u||,   u = W v / ||W v||,   sigma = u^T W v

    Inputs: u: (m,) the persistent left vector. Returns (u: (m,), v: (n,), sigma: 0-d array).
    """
    array("power_iteration: W", W, shape=(None, None))
    array("power_iteration: u", u, shape=(W.shape[0],), dtype=W.dtype, like=W)
    xp = get_array_module(W)
    v = W.T @ u
    v /= xp.linalg.norm(v) + 1e-12
    u = W @ v
    u /= xp.linalg.norm(u) + 1e-12
    return u, v, u @ W @ v


def _check_mlp(where, mlp):
    """An MLP (``tinywgan.core.mlp``, which imports this module: so it is known by what it has)."""
    if not all(hasattr(mlp, a) for a in ("W_used", "act", "widths", "input_gradient")):
        raise TypeError("%s: mlp must be a tinywgan MLP, got %s" % (where, type(mlp).__name__))


class SpectralNorm:
    r"""Spectral normalisation of every weight matrix of an MLP, with persistent vectors.

    Forward: W_hat = W / sigma,  sigma = u^T W v  (u, v from the power iteration).
    Backward, holding u and v constant (d sigma / dW = u v^T):

        dW = (dW_hat - <dW_hat, W_hat> u v^T) / sigma

    Attributes: u[l]: (d_l,), v[l]: (d_{l+1},), sigma[l]: 0-d, all on the model's device.
    """

    def __init__(self, Ws, rng):
        xp = get_array_module(Ws[0])
        self.u = []
        for W in Ws:
            u = rng.standard_normal((W.shape[0],), dtype=W.dtype)
            self.u.append(u / xp.linalg.norm(u))
        self.v = [None] * len(Ws)
        self.sigma = [None] * len(Ws)
        self.W_hats = None

    def power_iterate(self, Ws):
        """One power-iteration step for every layer: u, v <- ``power_iteration(W, u)``."""
        for l, W in enumerate(Ws):
            self.u[l], self.v[l], _ = power_iteration(W, self.u[l])

    def normalise(self, Ws, W_hats):
        """W_hats[l][...] = Ws[l] / sigma_l, sigma_l = u^T W v with u, v as they are (a power
        iteration first only if v was never computed, e.g. after u was loaded)."""
        for l, W in enumerate(Ws):
            if self.v[l] is None:
                self.u[l], self.v[l], _ = power_iteration(W, self.u[l])
            self.sigma[l] = self.u[l] @ W @ self.v[l]
            W_hats[l][...] = W / self.sigma[l]
        self.W_hats = W_hats

    def backward(self, dW_hats, dWs):
        """dWs[l] += (dW_hat - <dW_hat, W_hat> u v^T) / sigma, for every layer (the W_hat of the
        last ``normalise``)."""
        xp = get_array_module(dWs[0])
        for l, (dW_hat, dW) in enumerate(zip(dW_hats, dWs)):
            u, v, sigma = self.u[l], self.v[l], self.sigma[l]
            inner = (dW_hat * self.W_hats[l]).sum()                    # Frobenius <dW_hat, W_hat>
            dW += (dW_hat - inner * xp.outer(u, v)) / sigma
