r"""Finite differences and the relative error: the measuring tools of
``tinywgan.measure.gradcheck``.

Centred finite differences of a scalar function f of an array x, one coordinate at a time:

    df/dx_i ~ [8 (f(x + h e_i) - f(x - h e_i)) - (f(x + 2h e_i) - f(x - 2h e_i))] / (12 h)

the fourth-order centred stencil (error O(h^4), against O(h^2) for the two-point
(f(x+h) - f(x-h)) / 2h, which ``order=2`` gives); both are defined once, in ``_STENCILS``, and
``elementwise_derivative`` applies them to a whole array at once for an elementwise f (an
activation). The relative error is CS231n's:

    rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)

What to expect in float64: 1e-12..1e-8 for a correct backward; 1e-2..1 for a wrong one.
The difference quotient itself carries round-off, about eps |f| / h ~ 1e-13 |f| at h = 1e-3,
so a coordinate whose true gradient is that small (a bias that cancels out of the loss) cannot
be resolved at CS231n's floor of 1e-8: ``numerical_gradient(..., return_noise=True)`` measures
the differences' resolution and ``compare`` judges such coordinates at that resolution.
Float32 is too coarse for any of this: check in float64.
"""
import numpy as np

from .. import backend
from . import texttable

TOL = 1e-6          # float64, away from kinks
NOISE_MARGIN = 10   # how far the measured resolution of the differences is trusted


def rel_error(a, b, floor=1e-8):
    """CS231n's relative error: max_i |a_i - b_i| / max(floor, |a_i| + |b_i|), floor 1e-8
    (a host float). ``floor`` may be an array, one per coordinate."""
    a = backend.to_numpy(a).astype(np.float64)
    b = backend.to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError("rel_error: shapes differ, %s against %s" % (a.shape, b.shape))
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)), initial=0.0))


#: The centred stencils, defined once for numerical_gradient and elementwise_derivative:
#: order -> (denominator, ((k, c_k), ...)) for
#:
#:     f'(x) ~ sum_k c_k (f(x + k h) - f(x - k h)) / (denominator h)
#:
#: order 2: (f(x+h) - f(x-h)) / 2h;  order 4: [8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))] / 12h.
_STENCILS = {2: (2, ((1, 1),)),
             4: (12, ((1, 8), (2, -1)))}


def _taps(order):
    """The stencil of ``order`` as (offset/h, weight) pairs: +k, then -k, for each k."""
    denominator, pairs = _STENCILS[order]
    return tuple(tap for k, c in pairs for tap in ((k, c / denominator), (-k, -c / denominator)))


def elementwise_derivative(f, a, h=1e-4, order=4):
    """f'(a) at every point of the array ``a`` at once, by the centred stencil of ``order``, for
    an f that acts elementwise (then one shift of the whole array differences every coordinate
    independently): sum_k c_k (f(a + k h) - f(a - k h)) / (denominator h). Returns an array like
    ``a``."""
    if order not in _STENCILS:
        raise ValueError("order must be 2 or 4, got %r" % (order,))
    denominator, pairs = _STENCILS[order]
    total = None
    for k, c in pairs:
        term = c * (f(a + k * h) - f(a - k * h))
        total = term if total is None else total + term
    return total / (denominator * h)


def numerical_gradient(f, x, h=1e-3, order=4, return_noise=False):
    """Centred finite-difference gradient of a scalar function f() w.r.t. the array x.

    f takes no arguments and reads x (perturbed in place, then restored). x: any shape,
    contiguous (views of a model's parameter buffer are). Returns the gradient D(h), an array
    like x (host NumPy). With ``return_noise`` it also returns, per coordinate, an estimate of
    what the differences cannot resolve: max(|D(h) - D(h/2)|, |D(h) - D(2h)|) (truncation and
    round-off, measured on two independent pairs, since one pair's round-offs can agree by
    chance; this triples the cost) plus eps max|f| / h (one evaluation's round-off).
    """
    if order not in _STENCILS:
        raise ValueError("order must be 2 or 4, got %r" % (order,))
    flat = x.reshape(-1)
    grad, noise = np.zeros(flat.shape[0]), np.zeros(flat.shape[0])

    def difference(i, old, step):
        """(D(step), max_k |f(x + k step e_i)|)."""
        total, fmax = 0.0, 0.0
        for k, w in _taps(order):
            flat[i] = old + k * step
            fk = float(f())
            total += w * fk
            fmax = max(fmax, abs(fk))
        return total / step, fmax

    for i in range(flat.shape[0]):
        old = float(flat[i])
        grad[i], fmax = difference(i, old, h)
        if return_noise:
            # measured (h against h/2 and 2h) plus the round-off of one evaluation, eps |f| / h
            noise[i] = max(abs(grad[i] - difference(i, old, h / 2)[0]),
                           abs(grad[i] - difference(i, old, 2 * h)[0])) \
                + np.finfo(np.float64).eps * fmax / h
        flat[i] = old
    if return_noise:
        return grad.reshape(x.shape), noise.reshape(x.shape)
    return grad.reshape(x.shape)


def compare(what, analytic, numeric, tol=TOL):
    """A check's row {"what", "error", "tol", "ok"}. ``numeric`` is a gradient, or (gradient,
    resolution) from ``numerical_gradient(..., return_noise=True)``: then a coordinate whose
    true gradient is below the differences' resolution (|a_i| + |b_i| < 10 noise_i / tol, e.g. a
    bias that cancels out of the loss exactly) is compared at that resolution rather than at
    CS231n's 1e-8.
    The factor 10 is the safety margin on an estimate of the resolution, not on the gradient."""
    floor = 1e-8
    if isinstance(numeric, tuple):
        numeric, noise = numeric
        floor = np.maximum(floor, NOISE_MARGIN * noise / tol)
    err = rel_error(analytic, numeric, floor)
    return {"what": what, "error": err, "tol": tol, "ok": bool(err < tol)}


def format_table(rows):
    """The rows as a fixed-width table (``texttable``): what, max relative error, tolerance,
    pass/fail."""
    return texttable.format_table(
        ["what", "rel error", "tol", "result"],
        [[r["what"], "%.2e" % r["error"], "%.0e" % r["tol"], "pass" if r["ok"] else "FAIL"]
         for r in rows], right=(1, 2), min_widths=(0, 10, 8))
