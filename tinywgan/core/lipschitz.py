r"""Keeping the critic Lipschitz, and checking that it is.

The Kantorovich-Rubinstein duality needs a 1-Lipschitz critic, |f(x1) - f(x2)| <= ||x1 - x2||.
For a differentiable f that holds iff ||grad_x f|| <= 1 everywhere. Three ways to get there:

- weight clipping (WGAN, Arjovsky et al. 2017): every parameter into [-c, c]
  (``clip_weights``); this bounds the Lipschitz constant (``measure.bounds.clipping_bound``)
  but not at 1;
- the gradient penalty (WGAN-GP): ``MLP.gradient_penalty``;
- spectral normalisation (Miyato et al. 2018): W_hat = W / sigma(W), so every layer has
  spectral norm 1 (``SpectralNorm``, used by ``MLP(spectral_norm=True)``);
- orthonormal weights with GroupSort activations (Anil, Lucas and Grosse 2019): every W
  orthonormalised by Bjorck's iteration (``bjorck``), a network 1-Lipschitz by construction
  that keeps the gradient's norm (method 'wgan-gs').

Checking that it is (the bounds and the measured slopes) is measurement:
``tinywgan.measure.bounds``.
"""
from ..backend import get_array_module
from ..validate import array, number


def clip_weights(params, c):
    """Clip every parameter into [-c, c], in place (as the WGAN reference clips all parameters,
    biases included). Inputs: params: (P,) a model's flat parameter buffer."""
    c = number("clip_weights: c", c, low=0, low_open=True)
    array("clip_weights: params", params, shape=(None,), written=True)
    get_array_module(params).clip(params, -c, c, out=params)


def power_iteration(W, u):
    r"""One power-iteration step for the largest singular value of W: (m, n).

        v = W^T u / ||W^T u||,   u = W v / ||W v||,   sigma = u^T W v

    Inputs: u: (m,) the persistent left vector. Returns (u: (m,), v: (n,), sigma: 0-d array).

    Where W^T u = 0 (W = 0, or u in W's left null space) there is no direction to follow:
    v = 0, u is kept as it was (a unit vector, so the iteration picks up again once W moves),
    and sigma = 0. No epsilon is added to the norms (an added 1e-12 leaves W = 0's u at 0 for
    good, and biases every other norm); a zero norm is divided by 1 instead, as ``n + (n == 0)``:
    arithmetic on the device, no sync to ask whether it is 0.
    """
    array("power_iteration: W", W, shape=(None, None))
    array("power_iteration: u", u, shape=(W.shape[0],), dtype=W.dtype, like=W)
    xp = get_array_module(W)
    v = W.T @ u
    n = xp.linalg.norm(v)
    v = v / (n + (n == 0))                          # v = 0 where W^T u = 0
    w = W @ v
    m = xp.linalg.norm(w)
    u = w / (m + (m == 0)) + (m == 0) * u           # the old u where W v = 0 (then v = 0)
    return u, v, u @ W @ v


def _divisor(sigma):
    """sigma, or 1 where sigma is 0 (see ``SpectralNorm``): W_hat = W / _divisor(sigma)."""
    return sigma + (sigma == 0)


class SpectralNorm:
    r"""Spectral normalisation of every weight matrix of an MLP, with persistent vectors.

    Forward: W_hat = W / sigma,  sigma = u^T W v  (u, v from the power iteration).
    Backward, holding u and v constant (d sigma / dW = u v^T):

        dW = (dW_hat - <dW_hat, W_hat> u v^T) / sigma

    sigma = 0: when the power iteration found no direction (W^T u = 0, e.g. an all-zero layer)
    v = 0, so sigma = u^T W v = 0 for every W near this one (u, v held). There is nothing to
    normalise and W / 0 would be NaN: the layer computes with W_hat = W (so an all-zero layer
    stays 0), a linear function of W whose backward dW = dW_hat is the formula above with sigma
    read as 1 (u v^T = 0). Both divide by ``_divisor(sigma)``; ``sigma[l]`` keeps the true 0.
    (sigma = 0 with v != 0, u, v from before W changed, is a point where W / sigma has no limit;
    the layer computes with W there too, finite, and the next power iteration moves on.)

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
        iteration first only if v was never computed, e.g. after u was loaded); W itself where
        sigma_l = 0 (the class docstring)."""
        for l, W in enumerate(Ws):
            if self.v[l] is None:
                self.u[l], self.v[l], _ = power_iteration(W, self.u[l])
            self.sigma[l] = self.u[l] @ W @ self.v[l]
            W_hats[l][...] = W / _divisor(self.sigma[l])
        self.W_hats = W_hats

    def backward(self, dW_hats, dWs):
        """dWs[l] += (dW_hat - <dW_hat, W_hat> u v^T) / sigma, for every layer (the W_hat of the
        last ``normalise``; sigma read as 1 where it is 0, as there)."""
        xp = get_array_module(dWs[0])
        for l, (dW_hat, dW) in enumerate(zip(dW_hats, dWs)):
            u, v, sigma = self.u[l], self.v[l], self.sigma[l]
            inner = (dW_hat * self.W_hats[l]).sum()                    # Frobenius <dW_hat, W_hat>
            dW += (dW_hat - inner * xp.outer(u, v)) / _divisor(sigma)


def bjorck(W, iters=3, rescale=False):
    r"""Bjorck orthonormalisation in place (Bjorck and Bowie 1971): ``iters`` steps
    (``bjorck_step``) of

        W <- W (3/2 I - 1/2 W^T W)          W: (m, n), W^T W: (n, n)

    Each step maps every singular value sigma -> sigma (3 - sigma^2) / 2, which converges to 1
    (quadratically near it) for 0 < sigma < sqrt(3), so W ends with orthonormal rows or columns
    (spectral norm 1), singular vectors unchanged. ``rescale``: first divide W by its Frobenius
    norm (every sigma <= 1), for a W not near orthonormal (at initialisation).

    Used as a projection after each optimizer step, not differentiated through: the weights
    stay near the orthonormal set from one step to the next, so 3 steps bring them back to float
    precision, and no backward through the iterations (``bjorck_step_backward``, an exercise
    of the workbook) is needed.
    """
    xp = get_array_module(W)
    if rescale:
        W /= xp.linalg.norm(W)
    for _ in range(iters):
        W[...] = bjorck_step(W)


def bjorck_step(W):
    """One Bjorck step: W' = W (3/2 I - 1/2 W^T W) = 3/2 W - 1/2 W (W^T W). Inputs: W: (m, n).
    Returns W': (m, n)."""
    return 1.5 * W - 0.5 * W @ (W.T @ W)


def bjorck_step_backward(dW_next, W):
    r"""The backward of one Bjorck step W' = W A, A = 3/2 I - 1/2 W^T W: (n, n), symmetric.

    W enters twice, as the left factor and inside A. With dA = -1/2 (dW^T W + W^T dW) and
    <X, Y Z> = <Y^T X, Z> = <X Z^T, Y>:
        dL = <dW', dW A> + <dW', W dA> = <dW' A, dW> - 1/2 <W^T dW', dW^T W + W^T dW>
           = <dW' A - 1/2 W (W^T dW' + dW'^T W), dW>,
    so  dL/dW = dW' A - 1/2 W (W^T dW' + dW'^T W)   (the second term: the two ways W enters A).

    Inputs: dW_next = dL/dW': (m, n); W: (m, n), the step's input. Returns dL/dW: (m, n).
    """
    G = W.T @ dW_next                                        # W^T dW': (n, n)
    return 1.5 * dW_next - 0.5 * dW_next @ (W.T @ W) - 0.5 * W @ (G + G.T)
