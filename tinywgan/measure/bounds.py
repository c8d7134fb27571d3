r"""The Lipschitz claims, checked: an upper bound from the weights and a lower bound measured
from the input gradients, for any tinywgan MLP (``tinywgan.core.lipschitz`` keeps the critic
Lipschitz; this module checks how far).

    clipping_bound(widths, c)   any MLP whose weights lie in [-c, c]
    lipschitz_bound(mlp)        prod_l ||W_l||_2 * K_act^(L-1), an upper bound
    lipschitz_estimate(mlp, x)  max_i ||grad_x f(x_i)||, a lower bound on the true constant
"""
import math

import numpy as np

from .. import validate
from ..backend import get_array_module, to_numpy
from ..validate import number


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


def _check_mlp(where, mlp):
    """An MLP (``tinywgan.core.mlp``, which imports this module: so it is known by what it has)."""
    if not all(hasattr(mlp, a) for a in ("W_used", "act", "widths", "input_gradient")):
        raise TypeError("%s: mlp must be a tinywgan MLP, got %s" % (where, type(mlp).__name__))


