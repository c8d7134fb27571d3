r"""First-order update rules: SGD (with momentum), RMSProp, Adam.

One interface for every rule (as in CS231n's ``optim.py``)::

    opt = Adam(lr=1e-4, betas=(0.5, 0.9), eps=1e-8)   # hyperparameters, checked here
    opt.step(params, grads)        # params (P,) -= update(grads (P,)), IN PLACE
    d = opt.state_dict()           # {"t": int, name: array (P,) ...}, copies, on the device
    opt.load_state_dict(d)         # restore exactly: the next step is bit-identical

- ``params``, ``grads``: a model's flat 1-D buffers, same shape and dtype (float32 for training).
  The layer views ``W[l]``, ``b[l]`` alias ``params``, so ``step`` writes into it, never rebinds.
- ``step`` is gradient *descent*: to maximise (the critic's E f(real) - E f(fake)), pass the
  gradient of the negative.
- State (moment buffers, step counter ``t``) is made on the first ``step``, on the params'
  device and dtype. One optimizer per parameter vector (generator and critic get one each).
- Speed: a step is a handful of in-place vector operations (``out=``) into preallocated buffers;
  scalars (bias corrections, ``1 - beta``) are Python floats computed once per step.
- ``state_dict`` arrays stay on the device (``checkpoint.save`` copies them to the host);
  ``load_state_dict`` takes host or device arrays and moves them on the next ``step``.

References: Tieleman & Hinton 2012, Lecture 6.5 (RMSProp); Kingma & Ba 2015, "Adam"
(Algorithm 1 and the efficient form just before Section 2.1).
"""
import math

from .. import backend, validate


class Optimizer:
    """The shared machinery: checks, lazy state, state_dict. Subclasses define ``_names`` (the
    state arrays) and ``_update(p, g, t)``, the rule itself, with ``t`` the 1-based step."""

    _names = ()
    _squares = ()           # the state arrays that are averages of squares, >= 0 (loaded: checked)

    def __init__(self, lr):
        self.lr = validate.positive("lr", lr)
        self.t = 0                  # steps taken
        self._state = {}            # name -> array (P,): loaded, or zeros made on the first step
        self._scratch = None        # (P,) work buffer, not state
        self._seen = None           # the (params, grads) buffers the state was checked against

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``.

        Inputs:
        - params: (P,) float array, updated in place.
        - grads: (P,) gradient of the loss being *minimised*, same shape, dtype and device.
        Checked at the door: the first time these two buffers are seen (a model's flat
        buffers are the same arrays at every step), not again at every step; only whether
        params is still writable (a flag) is read at every step.
        """
        if self._scratch is None or params is not self._seen[0] or grads is not self._seen[1]:
            self._adopt(params, grads)
        validate.writable("params (the model's flat buffer)", params)     # a flag: cheap
        self.t += 1
        self._update(params, grads, self.t)

    def _adopt(self, params, grads):
        """Check a new pair of buffers; make the state for them (zeros), or check the state
        they inherit (loaded, or made for other buffers) and move it to their device."""
        validate.param_buffers(params, grads)
        xp = backend.get_array_module(params)
        for k in self._names:
            a = self._state.get(k)
            if a is None:
                a = xp.zeros_like(params)
            else:
                validate.state_like(type(self).__name__, k, a, params)
                if backend.get_array_module(a) is not xp:
                    a = xp.asarray(backend.to_numpy(a))         # explicit move between devices
            self._state[k] = a
        self._scratch, self._seen = xp.empty_like(params), (params, grads)

    def state_dict(self):
        """Copies of the state: ``{"t": int, name: array (P,) for each state array}``.

        Before the first step there are no arrays, only ``{"t": 0}``.
        """
        return {"t": self.t, **{k: v.copy() for k, v in self._state.items()}}

    def load_state_dict(self, d, params=None):
        """Restore a ``state_dict`` (host or device arrays; ``t`` an int or a 0-d int array).

        Names are checked now; shapes and dtypes against ``params`` (the (P,) vector this state
        will step) now if it is given, else on the next ``step``, which also moves the arrays to
        the params' device.
        """
        t, expected = validate.optimizer_state(type(self).__name__, d, self._names,
                                               self._squares, params)
        self.t, self._scratch = t, None
        self._state = {k: d[k].copy() for k in expected}


class SGD(Optimizer):
    r"""Stochastic gradient descent with (heavy-ball) momentum.

        v <- momentum * v - lr * g
        p <- p + v

    With ``momentum = 0`` there is no state: ``p <- p - lr * g``.
    """

    def __init__(self, lr, momentum=0.0):
        super().__init__(lr)
        self.momentum = validate.fraction("momentum", momentum)
        self._names = ("v",) if self.momentum > 0 else ()

    def _update(self, p, g, t):
        xp, s = backend.get_array_module(p), self._scratch
        xp.multiply(g, self.lr, out=s)          # s = lr * g
        if not self._names:
            p -= s                              # p <- p - lr * g
            return
        v = self._state["v"]
        v *= self.momentum
        v -= s                                  # v <- momentum * v - lr * g
        p += v                                  # p <- p + v


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012), as in the WGAN paper and Guerzhoy's WGAN lecture notes
    (ECE324, University of Toronto, 2022).

        ms <- alpha * ms + (1 - alpha) * g^2        (ms starts at 0)
        p  <- p - lr * g / (sqrt(ms) + eps)

    Defaults are the WGAN paper's (lr 5e-5) with alpha 0.9. Other libraries differ: PyTorch's
    ``RMSprop`` defaults to alpha 0.99 (the official WGAN code used it); the WGAN-GP toy code's
    clipping baseline used TensorFlow 1's ``RMSPropOptimizer``, decay 0.9, which also starts
    ``ms`` at 1 (not 0) and puts eps inside the root, ``sqrt(ms + eps)`` with eps 1e-10. With
    ``ms`` from 0 the first step is ``lr * g / (sqrt(1 - alpha) |g|)``, about 3.2 lr per element.
    """

    _names = ("ms",)
    _squares = ("ms",)

    def __init__(self, lr=5e-5, alpha=0.9, eps=1e-8):
        super().__init__(lr)
        self.alpha = validate.fraction("alpha", alpha)
        self.eps = validate.positive("eps", eps)

    def _update(self, p, g, t):
        xp, s, ms = backend.get_array_module(p), self._scratch, self._state["ms"]
        ms *= self.alpha
        xp.multiply(g, g, out=s)
        s *= 1.0 - self.alpha
        ms += s                                 # ms <- alpha ms + (1 - alpha) g^2
        xp.sqrt(ms, out=s)
        s += self.eps                           # s = sqrt(ms) + eps
        xp.divide(g, s, out=s)
        s *= self.lr
        p -= s                                  # p <- p - lr g / (sqrt(ms) + eps)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), bias-corrected. Defaults are WGAN-GP's: lr 1e-4, betas (0.5, 0.9).

        m <- beta1 m + (1 - beta1) g                  (m, v start at 0; t = 1, 2, ...)
        v <- beta2 v + (1 - beta2) g^2
        p <- p - lr * m_hat / (sqrt(v_hat) + eps),    m_hat = m / (1 - beta1^t),
                                                      v_hat = v / (1 - beta2^t)

    Computed in the equivalent form with the corrections folded into two scalars (so the
    per-element work is one root, one divide and a few multiply-adds):

        step  = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        eps_t = eps * sqrt(1 - beta2^t)
        p <- p - step * m / (sqrt(v) + eps_t)

    (Multiply the last fraction's top and bottom by sqrt(1 - beta2^t) to get back the first.)
    Momentum-based rules like this one were reported to destabilise *clipped* WGAN; WGAN-GP
    uses Adam.
    """

    _names = ("m", "v")
    _squares = ("v",)

    def __init__(self, lr=1e-4, betas=(0.5, 0.9), eps=1e-8):
        super().__init__(lr)
        self.betas = validate.betas(betas)
        self.eps = validate.positive("eps", eps)

    def _update(self, p, g, t):
        xp, s = backend.get_array_module(p), self._scratch
        m, v = self._state["m"], self._state["v"]
        b1, b2 = self.betas
        root = math.sqrt(1.0 - b2 ** t)
        step = self.lr * root / (1.0 - b1 ** t)
        m *= b1
        xp.multiply(g, 1.0 - b1, out=s)
        m += s                                  # m <- beta1 m + (1 - beta1) g
        v *= b2
        xp.multiply(g, g, out=s)
        s *= 1.0 - b2
        v += s                                  # v <- beta2 v + (1 - beta2) g^2
        xp.sqrt(v, out=s)
        s += self.eps * root                    # s = sqrt(v) + eps_t
        xp.divide(m, s, out=s)
        s *= step
        p -= s                                  # p <- p - step m / (sqrt(v) + eps_t)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name, **hyper):
    """``make_optimizer("adam", lr=1e-4, betas=(0.5, 0.9))``: an optimizer by name.

    Names: 'sgd', 'rmsprop', 'adam' (any case). ``hyper`` goes to the constructor.
    """
    cls = OPTIMIZERS[validate.name_in("make_optimizer: name", name, OPTIMIZERS)]
    validate.keywords(cls, hyper)
    return cls(**hyper)
