r"""Workbook 5's exercises: weight clipping, the RMSProp and Adam steps, spectral normalisation's
backward; cases, differences (spectral norm's only: the others differentiate nothing) and
known mistakes.

The optimizers run four steps from the same parameters and gradients as tinywgan's, and every
step's parameters and the final state are compared. One part uses gradients of 1e-4, where
the placement of eps (outside the root or inside it) changes the step.
"""
from functools import partial, partialmethod

import numpy as np

from .. import backend
from ..core import lipschitz, optim
from ..measure.finitediff import numerical_gradient
from .spec import Case, Exercise, Mistake, constant

# ---- 5.1 clip_weights --------------------------------------------------------------------------


def _clip_cases(rng):
    cases = []
    for _ in range(3):
        P, c = int(rng.integers(5, 31)), float(rng.uniform(0.005, 0.05))
        params = rng.normal(scale=0.05, size=P)
        params[:2] = 3 * c, -3 * c                       # always some above c and below -c
        cases.append(Case("clipping", "P %d, c %.3g" % (P, c), partial(_with_c, constant(params),
                                                                        c)))
    return cases


def _with_c(build, c):
    return build() + (c,)


def _clip_run(fn, args):
    params, c = args
    fn(params, c)
    return {"params (in place)": params}


CLIP = Exercise(
    "clip_weights", "05_lipschitz_and_optim.py", "tinywgan.core.lipschitz:clip_weights",
    "weight clipping, in place", _clip_cases, _clip_run, None,
    [Mistake("not in place", "np.clip(params, -c, c) returns a new array and leaves params as "
             "it was: write into the buffer, np.clip(params, -c, c, out=params).",
             lambda params, c: np.clip(params, -c, c)),
     Mistake("clipped from above only", "into [-c, c]: large negative weights are clipped to -c "
             "too.", lambda params, c: np.minimum(params, c, out=params))])


# ---- 5.2, 5.3 RMSProp and Adam -----------------------------------------------------------------

def _optimizer_inputs(hyper, P, scale, seed):
    rng = np.random.default_rng(seed)
    return dict(hyper), rng.normal(size=P), [scale * rng.normal(size=P) for _ in range(4)]


def _optimizer_cases(rng, adam):
    cases = []
    for part, scale in (("gradients of order 1", 1.0), ("gradients of order 1", 1.0),
                        ("gradients of 1e-4, where eps matters", 1e-4)):
        hyper = dict(lr=float(rng.uniform(1e-3, 0.1)), eps=float(rng.choice([1e-8, 1e-6])))
        if adam:
            hyper["betas"] = (float(rng.uniform(0, 0.9)), float(rng.uniform(0.9, 0.999)))
        else:
            hyper["alpha"] = float(rng.uniform(0.5, 0.99))
        P = int(rng.integers(3, 9))
        cases.append(Case(part, "P %d, %s" % (P, ", ".join(
            "%s %s" % (k, "(%.3g, %.3g)" % v if isinstance(v, tuple) else "%.3g" % v)
            for k, v in hyper.items())), partial(_optimizer_inputs, hyper, P, scale,
                                                 int(rng.integers(2 ** 31)))))
    return cases


def _optimizer_run(cls, args):
    hyper, params, grads = args
    opt = cls(**hyper)
    out = {}
    for t, g in enumerate(grads, 1):
        opt.step(params, g)
        out["params after step %d" % t] = params.copy()
    out.update({"state %s after step %d" % (k, len(grads)): v.copy()
                for k, v in opt._state.items()})
    return out


def _rmsprop(body):
    return type("BrokenRMSProp", (optim.RMSProp,), {"_update": body})


def _adam(body):
    return type("BrokenAdam", (optim.Adam,), {"_update": body})


def _rms_step(self, p, g, t, eps_inside=False, swapped=False, keep=True, in_place=True):
    """RMSProp written out, with one known mistake switched on."""
    ms, a = self._state["ms"], self.alpha
    ms_new = (1 - a) * ms + a * g * g if swapped else a * ms + (1 - a) * g * g
    if keep:
        ms[...] = ms_new
    step = self.lr * g / (np.sqrt(ms_new + self.eps) if eps_inside else np.sqrt(ms_new) + self.eps)
    if in_place:
        p -= step


_NOT_IN_PLACE = ("p = p - ... makes a new array and the model's buffer never changes: update "
                 "it in place, p -= ...")
_STATE_LOST = ("the state must be updated in place (ms[...] = ..., ms *= ...): a name bound "
               "to a new array is lost after the step, and the running mean restarts from 0.")

RMSPROP = Exercise(
    "RMSProp._update", "05_lipschitz_and_optim.py", "tinywgan.core.optim:RMSProp._update",
    "one RMSProp step, state kept between steps", partial(_optimizer_cases, adam=False),
    _optimizer_run, None,
    [Mistake("eps inside the root", "p -= lr g / (sqrt(ms) + eps): eps outside the root "
             "(TensorFlow 1 put it inside, sqrt(ms + eps), which matters for small gradients).",
             _rmsprop(partialmethod(_rms_step, eps_inside=True))),
     Mistake("alpha and 1 - alpha swapped", "ms <- alpha ms + (1 - alpha) g^2: alpha (0.9) keeps "
             "the old mean.", _rmsprop(partialmethod(_rms_step, swapped=True))),
     Mistake("state not kept", _STATE_LOST, _rmsprop(partialmethod(_rms_step, keep=False))),
     Mistake("params not updated in place", _NOT_IN_PLACE,
             _rmsprop(partialmethod(_rms_step, in_place=False)))])


def _adam_step(self, p, g, t, corrected=True, eps_inside=False, t0=1, keep=True, in_place=True):
    """Adam written out, with one known mistake switched on."""
    (b1, b2), m, v = self.betas, self._state["m"], self._state["v"]
    m_new, v_new = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    if keep:
        m[...], v[...] = m_new, v_new
    k = t - 1 + t0                                       # the exponent of the corrections
    m_hat = m_new / (1 - b1 ** k) if corrected else m_new
    v_hat = v_new / (1 - b2 ** k) if corrected else v_new
    root = np.sqrt(v_hat + self.eps) if eps_inside else np.sqrt(v_hat) + self.eps
    step = self.lr * m_hat / root
    if in_place:
        p -= step


ADAM = Exercise(
    "Adam._update", "05_lipschitz_and_optim.py", "tinywgan.core.optim:Adam._update",
    "one Adam step, bias-corrected, state kept between steps",
    partial(_optimizer_cases, adam=True), _optimizer_run, None,
    [Mistake("no bias correction", "m and v start at 0, so early on they underestimate the "
             "moments: divide by 1 - beta1^t and 1 - beta2^t.",
             _adam(partialmethod(_adam_step, corrected=False))),
     Mistake("bias correction from t = 0", "t counts the steps from 1: at the first step the "
             "corrections are 1 - beta^1, not 1 - beta^0 = 0.",
             _adam(partialmethod(_adam_step, t0=0))),
     Mistake("eps inside the root", "p -= lr m_hat / (sqrt(v_hat) + eps): eps outside the root.",
             _adam(partialmethod(_adam_step, eps_inside=True))),
     Mistake("state not kept", _STATE_LOST, _adam(partialmethod(_adam_step, keep=False))),
     Mistake("params not updated in place", _NOT_IN_PLACE,
             _adam(partialmethod(_adam_step, in_place=False)))])


# ---- 5.4 SpectralNorm.backward -----------------------------------------------------------------

def _sn_inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=s) for s in shapes]
    return Ws, seed, [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]


def _sn_cases(rng):
    cases = []
    for _ in range(3):
        shapes = [tuple(int(v) for v in rng.integers(2, 7, size=2))
                  for _ in range(rng.integers(1, 4))]
        cases.append(Case("spectral norm", "W shapes %s" % ", ".join("%dx%d" % s for s in shapes),
                          partial(_sn_inputs, shapes, int(rng.integers(2 ** 31)))))
    return cases


def _normalised(cls, Ws, seed):
    """A SpectralNorm of class ``cls`` after one power iteration and one normalisation."""
    sn = cls(Ws, backend.rng(np, seed, "spectral norm"))
    sn.power_iterate(Ws)
    sn.normalise(Ws, [np.empty_like(W) for W in Ws])
    return sn


def _sn_run(cls, args):
    Ws, seed, dW_hats, dWs = args
    before = [d.copy() for d in dWs]
    _normalised(cls, Ws, seed).backward(dW_hats, dWs)
    return {"dW[%d]" % l: d - b for l, (d, b) in enumerate(zip(dWs, before))}


def _sn_differences(args):
    """Differences of L = sum_l <dW_hat[l], W[l] / sigma_l(W[l])>, sigma = u^T W v with u, v
    held."""
    Ws, seed, dW_hats = args[:3]
    sn = _normalised(lipschitz.SpectralNorm, Ws, seed)
    out = {}
    for l, (W, dW_hat, u, v) in enumerate(zip(Ws, dW_hats, sn.u, sn.v)):
        out["dW[%d]" % l] = numerical_gradient(lambda: (dW_hat * W / (u @ W @ v)).sum(), W,
                                               return_noise=True)
    return out


def _sn_backward(self, dW_hats, dWs, projection=1, divide=True, assign=False):
    """Spectral norm's backward written out, with one known mistake switched on."""
    for l, (dW_hat, dW) in enumerate(zip(dW_hats, dWs)):
        inner = (dW_hat * self.W_hats[l]).sum()
        grad = dW_hat - projection * inner * np.outer(self.u[l], self.v[l])
        grad = grad / self.sigma[l] if divide else grad
        if assign:
            dW[...] = grad
        else:
            dW += grad


def _sn(**mistake):
    return type("BrokenSpectralNorm", (lipschitz.SpectralNorm,),
                {"backward": partialmethod(_sn_backward, **mistake)})


SPECTRAL = Exercise(
    "SpectralNorm.backward", "05_lipschitz_and_optim.py",
    "tinywgan.core.lipschitz:SpectralNorm.backward",
    "spectral normalisation's backward: the term through sigma", _sn_cases, _sn_run,
    _sn_differences,
    [Mistake("the term through sigma missing", "sigma depends on W too (d sigma/dW = u v^T): "
             "dW = (dW_hat - <dW_hat, W_hat> u v^T) / sigma.", _sn(projection=0)),
     Mistake("that term's sign flipped", "d(W/sigma) = dW/sigma - W dsigma/sigma^2: the term "
             "through sigma is subtracted.", _sn(projection=-1)),
     Mistake("not divided by sigma", "W_hat = W / sigma: both terms carry 1/sigma.",
             _sn(divide=False)),
     Mistake("assigned instead of added", "add into dWs[l] (dW += ...): it may hold other "
             "terms.", _sn(assign=True))])

EXERCISES = [CLIP, RMSPROP, ADAM, SPECTRAL]
