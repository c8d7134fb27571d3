# %% [markdown]
# # Workbook 2: the network's backward, and its input gradient
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# The network is tinywgan's `MLP` (`tinywgan/core/mlp.py`), L layers, l = 0..L-1, a batch of N rows:
#
#     H[0] = x                                  (N, d_0)
#     A[l] = H[l] W[l] + b[l]                   (N, d_{l+1})     the pre-activations
#     H[l+1] = s(A[l])          for l < L-1                      the activations
#     f = A[L-1]                                (N, d_L)         no activation after the last
#
# What you may use: `net.L`, `net.W[l]: (d_l, d_{l+1})`, `net.b[l]: (d_{l+1},)`, `net.act`
# (the Activation: `act.f`, `act.df`, `act.d2f`), `net.forward(x)`, which returns f and the
# cache `Cache(H, A)` of the lists above (`cache.H[l]`, `cache.A[l]`), and the gradient
# buffers `net.dW[l]`, `net.db[l]`, shaped like W[l] and b[l].
#
# **Gradients accumulate.** A critic step adds the loss's gradient and then the penalty's into
# the same buffers, so every backward *adds* into them, in place: `net.dW[l][...] += ...`,
# `net.db[l][...] += ...`; the caller zeroes them once per step. `net.dW` is a tuple of arrays,
# so `net.dW[l] = ...` and `net.dW[l] += ...` both store into the tuple, a TypeError (the
# second after it has added), and `net.dW[l][...] = ...` would lose what is there.

# %%
import numpy as np

from tinywgan import MLP

# %% [markdown]
# ## 2.1 The MLP's backward
#
# Given `dout = dL/df` for some scalar loss L, add dL/dW[l] and dL/db[l] into the buffers
# and return dL/dx. One recurrence, from the top layer down (exercise 1.1 for the linear part,
# 1.3 for the activation):
#
#     dA[L-1] = dout
#     dW[l] += H[l]^T dA[l],   db[l] += sum over rows of dA[l]
#     dH[l] = dA[l] W[l]^T,    dA[l-1] = dH[l] * s'(A[l-1])          l = L-1 .. 0
#
# and dx = dH[0]. Mind where s' is taken: at the pre-activation A, and only between layers.


# %%
def mlp_backward(net, dout, cache):
    """Backpropagate dout = dL/df through the cached forward of ``net``.

    Inputs: net: an MLP; dout: (N, d_L); cache: the Cache(H, A) of ``net.forward(x)``.
    Adds dL/dW[l]: (d_l, d_{l+1}) into net.dW[l] and dL/db[l]: (d_{l+1},) into net.db[l].
    Returns dx = dL/dx: (N, d_0).
    """
    raise NotImplementedError


# %% [markdown]
# ## 2.2 The input gradient
#
# The gradient penalty needs g_i = grad_x f(x_i) for every row of a critic with one output
# (d_L = 1). Row i of f depends only on row i of x, so ONE backward pass of sum_i f_i gives
# every g_i at once: the recurrence of 2.1 with the seed dA[L-1] = 1 (a column of ones, not
# 1/N) and no parameter gradients. Do not touch net.dW or net.db.


# %%
def input_gradient(net, x):
    """grad_x f(x) for each example, for a network with one output.

    Inputs: net: an MLP with d_L = 1; x: (N, d_0).
    Returns grad_x: (N, d_0), row i = the gradient of f(x_i) with respect to x_i.
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it, then check it

# %%
net = MLP([3, 5, 4, 1], activation="tanh", dtype="float64", seed=0)
x = np.random.default_rng(0).normal(size=(6, 3))                # (N, d_0)
f, cache = net.forward(x)                                       # f: (N, 1)

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 02_mlp.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
