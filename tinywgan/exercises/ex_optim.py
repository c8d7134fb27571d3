r"""Workbook 5's exercises: weight clipping, the RMSProp and Adam steps, spectral normalisation's
backward, GroupSort's backward and the backward of one Bjorck step; cases and differences (of
the last three: the others differentiate nothing). Their known mistakes are the catalogue's,
``tinywgan.bugzoo.broken``.

The optimizers are checked as steps: three steps from the same parameters and gradients as
tinywgan's, and each step's update itself (the parameters before minus after, which a
comparison of the parameters would drown) and the final state compared, relatively down to
1e-300. The gradients' scale runs from 1e-8 to 1e4 at the contract's eps (1e-8), and eps
takes other values (1e-5, 1e-3, 0.1) with gradients near it, where eps shapes the step: an eps
hard-coded, or one not rescaled in Adam's efficient form, fails there, and the cases' eps
separates the passing cases from the failing ones (``diagnose``).
"""
from functools import partial

import numpy as np

from .. import backend
from ..bugzoo import broken
from ..core import lipschitz, mlp
from ..measure.finitediff import numerical_gradient
from .spec import Case, Exercise, constant, distinct

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
    "weight clipping, in place", _clip_cases, _clip_run, None, broken.CLIP_WEIGHTS,
    inputs=("params",), writes=("params",))


# ---- 5.2, 5.3 RMSProp and Adam -----------------------------------------------------------------

def _optimizer_inputs(hyper, P, scale, seed):
    """hyper, params: (P,), three gradients: (P,) of the given scale (lognormal magnitudes)."""
    rng = np.random.default_rng(seed)
    return dict(hyper), rng.normal(size=P), [
        scale * rng.choice([-1, 1], size=P) * np.exp(rng.normal(scale=0.5, size=P))
        for _ in range(3)]


#: (eps, the gradients' scale): the contract's eps over the whole range, then other eps with
#: gradients near them.
_OPTIMIZER_PLAN = ((1e-8, 1e-8), (1e-8, 1e-4), (1e-8, 1.0), (1e-8, 1e4),
                   (1e-5, 1e-5), (1e-3, 3e-3), (0.1, 0.05))


def _optimizer_cases(rng, adam):
    cases = []
    for eps, scale in _OPTIMIZER_PLAN:
        hyper = dict(lr=float(rng.uniform(1e-3, 0.1)), eps=eps)
        if adam:
            hyper["betas"] = (float(rng.uniform(0, 0.9)), float(rng.uniform(0.9, 0.999)))
        else:
            hyper["alpha"] = float(rng.uniform(0.5, 0.99))
        P = int(rng.integers(3, 9))
        part = "eps 1e-08 (the contract's)" if eps == 1e-8 else "other eps, gradients near it"
        cases.append(Case(part, "P %d, gradients ~%.0e, %s" % (P, scale, ", ".join(
            "%s %s" % (k, "(%.3g, %.3g)" % v if isinstance(v, tuple) else "%.3g" % v)
            for k, v in hyper.items())), partial(_optimizer_inputs, hyper, P, scale,
                                                 int(rng.integers(2 ** 31))),
            floor=1e-300, sizes=dict(eps=eps)))
    return cases


def _optimizer_run(cls, args):
    """Each step's update, params before minus after, and the final state."""
    hyper, params, grads = args
    opt = cls(**hyper)
    out = {}
    for t, g in enumerate(grads, 1):
        before = params.copy()
        opt.step(params, g)
        out["update at step %d" % t] = before - params
    out.update({"state %s after step %d" % (k, len(grads)): v.copy()
                for k, v in opt._state.items()})
    return out


RMSPROP = Exercise(
    "RMSProp._update", "05_lipschitz_and_optim.py", "tinywgan.core.optim:RMSProp._update",
    "one RMSProp step, state kept between steps", partial(_optimizer_cases, adam=False),
    _optimizer_run, None, broken.RMSPROP_UPDATE, inputs=(None, "params", "grads"),
    writes=("params",))


ADAM = Exercise(
    "Adam._update", "05_lipschitz_and_optim.py", "tinywgan.core.optim:Adam._update",
    "one Adam step, bias-corrected, state kept between steps",
    partial(_optimizer_cases, adam=True), _optimizer_run, None, broken.ADAM_UPDATE,
    inputs=(None, "params", "grads"), writes=("params",))


# ---- 5.4 SpectralNorm.backward -----------------------------------------------------------------

def _sn_inputs(shapes, seed):
    """Ws, seed, dW_hats, dWs: tuples of arrays, as training passes them (an MLP's W, dW_used,
    dW)."""
    rng = np.random.default_rng(seed)
    Ws = tuple(rng.normal(size=s) for s in shapes)
    return Ws, seed, tuple(rng.normal(size=s) for s in shapes), \
        tuple(rng.normal(size=s) for s in shapes)


def _sn_cases(rng):
    cases = []
    for _ in range(3):
        shapes = [tuple(distinct(rng, 2)) for _ in range(rng.integers(1, 4))]
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


SPECTRAL = Exercise(
    "SpectralNorm.backward", "05_lipschitz_and_optim.py",
    "tinywgan.core.lipschitz:SpectralNorm.backward",
    "spectral normalisation's backward: the term through sigma", _sn_cases, _sn_run,
    _sn_differences, broken.SPECTRAL_NORM_BACKWARD, inputs=("Ws", None, "dW_hats", "dWs"),
    writes=("dWs",))


# ---- 5.5 GroupSort.vjp -------------------------------------------------------------------------

def _groupsort_inputs(k, N, M, seed):
    """k, a: (N, M) in groups of k whose entries are 0.1 to 1 apart (no tie within the
    differences' reach) in a random order, dh: (N, M). The first group of the first row is
    ordered [largest, smallest] (k = 2) or [middle, largest, smallest] (k = 3: its sorting
    permutation is a 3-cycle, not its own inverse) and lies above the second group: every
    known mistake shows there."""
    rng = np.random.default_rng(seed)
    shape = (N, M // k, k)
    a = rng.uniform(0.1, 1, size=shape).cumsum(axis=-1) + rng.normal(size=shape[:2] + (1,))
    a = rng.permuted(a, axis=-1)
    first = np.sort(a[0, 0])[[1, 0] if k == 2 else [1, 2, 0]]
    a[0, 0] = first + a[0, 1].max() - first.min() + 0.5
    return k, a.reshape(N, M), rng.normal(size=(N, M))


def _groupsort_cases(rng):
    """Groups of 2 (MaxMin) and of 3, two cases each with N, the number of groups and M all
    different and above 1, then one at N = 1."""
    cases = []
    for k, N1 in ((2, False), (2, False), (3, False), (3, False), (3, True)):
        groups = int(rng.integers(2, 5))
        M = k * groups
        N = 1 if N1 else int(rng.choice([v for v in range(2, 8) if v not in (groups, M)]))
        cases.append(Case("groups of %d" % k, "k %d, N %d, M %d" % (k, N, M),
                          partial(_groupsort_inputs, k, N, M, int(rng.integers(2 ** 31))),
                          sizes=dict(k=k, N=N, M=M)))
    return cases


def _groupsort_run(cls, args):
    k, a, dh = args
    return {"da": cls(k).vjp(dh, a)}


def _groupsort_differences(args):
    """Differences of L = sum(dh * GroupSort(k).f(a)): exact, f is linear between ties."""
    k, a, dh = args
    return {"da": numerical_gradient(lambda: (mlp.GroupSort(k).f(a) * dh).sum(), a,
                                     return_noise=True)}


GROUPSORT = Exercise(
    "GroupSort.vjp", "05_lipschitz_and_optim.py", "tinywgan.core.mlp:GroupSort.vjp",
    "GroupSort's backward: the gradient sent back by the inverse permutation",
    _groupsort_cases, _groupsort_run, _groupsort_differences, broken.GROUPSORT_VJP,
    inputs=(None, "a", "dh"))


# ---- 5.6 bjorck_step_backward ------------------------------------------------------------------

def _bjorck_inputs(m, n, near, seed):
    """W: (m, n), N(0, 1/max(m, n)), or near orthonormal (``near``: 2 Bjorck steps from
    W / ||W||_F); dW_next: (m, n)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, n)) / np.sqrt(max(m, n))
    if near:
        lipschitz.bjorck(W, 2, rescale=True)
    return rng.normal(size=(m, n)), W


def _bjorck_cases(rng):
    cases = []
    for near in (False, False, True, True):
        m, n = distinct(rng, 2)
        part = "W near orthonormal" if near else "W random"
        cases.append(Case(part, "%s, %dx%d" % (part, m, n),
                          partial(_bjorck_inputs, m, n, near, int(rng.integers(2 ** 31))),
                          sizes=dict(m=m, n=n)))
    return cases


def _bjorck_run(fn, args):
    return {"dW": fn(*args)}


def _bjorck_differences(args):
    """Differences of L = sum(dW_next * bjorck_step(W))."""
    dW_next, W = args
    return {"dW": numerical_gradient(lambda: (dW_next * lipschitz.bjorck_step(W)).sum(), W,
                                     return_noise=True)}


BJORCK = Exercise(
    "bjorck_step_backward", "05_lipschitz_and_optim.py",
    "tinywgan.core.lipschitz:bjorck_step_backward",
    "one Bjorck step's backward: W enters as a factor and twice inside A", _bjorck_cases,
    _bjorck_run, _bjorck_differences, broken.BJORCK_STEP_BACKWARD, inputs=("dW_next", "W"))

EXERCISES = [CLIP, RMSPROP, ADAM, SPECTRAL, GROUPSORT, BJORCK]
