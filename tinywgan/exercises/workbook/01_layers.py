# %% [markdown]
# # Workbook 1: a layer's backward, and the derivatives of the activations
#
# Each exercise is a function (or a method) with tinywgan's own signature and contract: replace
# its `raise NotImplementedError` with your code, then grade it, from a terminal in this folder:
#
#     python -m tinywgan exercises check . linear_backward     # one exercise
#     python -m tinywgan exercises check .                     # every exercise in the folder
#
# or run the last cell. The grader runs your code in float64 on several random cases (the same
# ones every run; `--seed` draws others), compares it with centred finite differences and with
# tinywgan's own answer, and says where it differs: which output, which case, which term, and
# what the mistake looks like when it is a known one. `python -m tinywgan exercises show NAME`
# says where tinywgan's answer lives; read it after you have tried.
#
# Conventions (tinywgan's, CS231n's): a batch is rows, `x: (N, D)`; a linear layer is
# `a = x W + b` with `W: (D, M)`, `b: (M,)`; `dX` is the gradient of the loss with respect to X
# and has X's shape. Use NumPy; do not import the answers from tinywgan.

# %%
import numpy as np

from tinywgan.core import mlp

# %% [markdown]
# ## 1.1 The linear layer's backward
#
# The forward `a = x W + b` is `mlp.linear_forward(x, W, b)`, which returns `a` and the
# cache `(x, W)`. Given the upstream gradient `da = dL/da` of some scalar loss L, return the
# gradients with respect to the layer's three inputs. Each is one product or one sum; write
# `a_nm = sum_d x_nd W_dm + b_m` and differentiate one entry at a time if in doubt.


# %%
def linear_backward(da, cache):
    """Gradients of a = x W + b.

    Inputs: da: (N, M) = dL/da; cache = (x, W) with x: (N, D), W: (D, M).
    Returns (dx, dW, db): dx = dL/dx: (N, D), dW = dL/dW: (D, M), db = dL/db: (M,).
    """
    raise NotImplementedError


# %% [markdown]
# ## 1.2 The derivatives of the smooth activations
#
# The gradient penalty needs s' (in the input gradient) *and* s'' (in its derivative), so each
# activation carries both. Write `df(a)` = s'(a) and `d2f(a)` = s''(a) for the four below,
# elementwise on an array `a` of any shape. s itself is the library's (`self.f(a)`); the
# sigmoid is `mlp.sigmoid(a)`, exact at every a.
#
#     tanh:      s = tanh a
#     sigmoid:   s = sigma(a) = 1 / (1 + e^{-a})
#     softplus:  s = log(1 + e^a)
#     SiLU:      s = a sigma(a)
#
# **The tails count.** The grader checks |a| <= 4 against finite differences and |a| up to 50
# against tinywgan's answer to a relative 1e-6 (no floor: 1e-20 must be 1e-20, not 0).
# The textbook forms fail there: `1 - tanh(a)**2` is exactly 0 once tanh(a) rounds to 1
# (|a| > 19.1), and `s * (1 - s)` once sigma(a) does (a > 37), while the true values are about
# 4 e^{-2|a|} and e^{-|a|}. Write them with `e = np.exp(-np.abs(a))`, which never overflows,
# and avoid differences of nearby numbers: sigma(a) sigma(-a) = e / (1 + e)^2,
# sech^2 a = 4 e^2 / (1 + e^2)^2, and 1 - 2 sigma(a) = -tanh(a / 2).


# %%
class Tanh(mlp.Tanh):
    def df(self, a):
        """s'(a) for s = tanh a. Inputs: a: any shape. Returns s'(a): a's shape."""
        raise NotImplementedError

    def d2f(self, a):
        """s''(a) for s = tanh a. Inputs: a: any shape. Returns s''(a): a's shape."""
        raise NotImplementedError


class Sigmoid(mlp.Sigmoid):
    def df(self, a):
        """s'(a) for s = sigma(a). Inputs: a: any shape. Returns s'(a): a's shape."""
        raise NotImplementedError

    def d2f(self, a):
        """s''(a) for s = sigma(a). Inputs: a: any shape. Returns s''(a): a's shape."""
        raise NotImplementedError


class Softplus(mlp.Softplus):
    def df(self, a):
        """s'(a) for s = log(1 + e^a). Inputs: a: any shape. Returns s'(a): a's shape."""
        raise NotImplementedError

    def d2f(self, a):
        """s''(a) for s = log(1 + e^a). Inputs: a: any shape. Returns s''(a): a's shape."""
        raise NotImplementedError


class SiLU(mlp.SiLU):
    def df(self, a):
        """s'(a) for s = a sigma(a). Inputs: a: any shape. Returns s'(a): a's shape."""
        raise NotImplementedError

    def d2f(self, a):
        """s''(a) for s = a sigma(a). Inputs: a: any shape. Returns s''(a): a's shape."""
        raise NotImplementedError


# %% [markdown]
# ## 1.3 An activation layer's backward
#
# An activation layer computes `h = s(a)` elementwise; `mlp.activation_forward(a, act)`
# returns `h` and the cache `(a, act)`, where `act` is an Activation with `act.f(a)`,
# `act.df(a)` and `act.d2f(a)` (any of `mlp.ACTIVATIONS`, ReLU included).


# %%
def activation_backward(dh, cache):
    """The gradient of h = s(a) with respect to a.

    Inputs: dh: (N, M) = dL/dh; cache = (a, act) with a: (N, M), act an Activation.
    Returns da = dL/da: (N, M).
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it, then check it
#
# A small example to poke at, and the grader for this workbook's exercises (the same as
# `python -m tinywgan exercises check .` from a terminal in this folder, for this file's exercises).

# %%
x = np.random.default_rng(0).normal(size=(4, 3))               # (N, D)
W = np.random.default_rng(1).normal(size=(3, 2))                # (D, M)
a, cache = mlp.linear_forward(x, W, np.zeros(2))             # (N, M)

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 01_layers.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
