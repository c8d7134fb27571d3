# %% [markdown]
# # Workbook 3: the gradient penalty and its double backward
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# The penalty, its head and its exact weight gradient are derived step by step, once, in the
# docstring of `tinywgan/core/mlp.py` (`python -m pydoc tinywgan.core.mlp` shows it
# without the code), in workbook 2's notation: 3.1 is its step (2), 3.2 its step (3), 3.3 its
# step (4). Derive them yourself first, or follow it.
#
# `net.input_gradient_pass(x_hat)` returns `(cache, gA, gH)`, the first backward's lists (its
# step (1), exercise 2.2; g = gH[0]), so you need not redo 2.2. The weight gradients are ADDED
# into the buffers in place, `net.dW[l][...] += ...` and `net.db[l][...] += ...`, as in
# workbook 2.

# %%
import numpy as np

from tinywgan import MLP

# %% [markdown]
# ## 3.1 The penalty's head: R, and the gradient dR/dg that starts the reverse pass
#
# One norm per example (per ROW of g). Where g_i = 0 the direction g_i / ||g_i|| is 0/0: take it
# as 0, so that no NaN reaches the weights (g_i = 0 is common: a zero-initialised last layer, a
# dead ReLU unit).


# %%
def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    """The penalty's value and its gradient with respect to the input gradients:
    R = lam/N sum_i gap_i^2, gap_i = ||g_i|| - t (one-sided: max(0, ||g_i|| - t)).

    Inputs: grad_x: (N, d) the g_i as rows; lam >= 0; target t >= 0; one_sided: bool.
    Returns (R: a scalar, norms: (N,) the ||g_i||, dR/dg: (N, d)).
    """
    raise NotImplementedError


# %% [markdown]
# ## 3.2 The penalty's weight gradient, ReLU networks: the first-order path
#
# The reverse of the first backward, from the input layer up, starting from dR/dg (3.1). For
# ReLU and leaky ReLU s'' = 0, so that is all, and the biases get no gradient from R. This
# exercise is graded on ReLU and leaky-ReLU networks only.


# %%
def gradient_penalty_relu(net, x_hat, lam, target=1.0, one_sided=False):
    """The gradient penalty of a ReLU-family critic at x_hat, its weight gradient ADDED to
    net.dW[l] (and nothing to net.db: for these networks it is 0).

    Inputs: net: an MLP with d_L = 1 and a piecewise-linear activation; x_hat: (N, d_0);
    lam, target, one_sided as in penalty_head.
    Returns (R: a scalar, norms: (N,) the ||grad_x f(x_hat_i)||).
    """
    raise NotImplementedError


# %% [markdown]
# ## 3.3 The same for smooth activations: the s'' injection
#
# For tanh, sigmoid, softplus or SiLU, R depends on the pre-activations A[l] through s'(A[l]) too,
# and A[l] on every weight and bias below it: add that path to 3.2's. This exercise is graded on
# every activation, ReLU (where the path is empty) included; start from your 3.2.


# %%
def gradient_penalty(net, x_hat, lam, target=1.0, one_sided=False):
    """The gradient penalty at x_hat and its exact gradient, ADDED to net.dW[l] and net.db[l].

    Inputs: net: an MLP with d_L = 1 (any activation); x_hat: (N, d_0); lam, target,
    one_sided as in penalty_head.
    Returns (R: a scalar, norms: (N,) the ||grad_x f(x_hat_i)||).
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it, then check it

# %%
net = MLP([2, 6, 5, 1], activation="tanh", dtype="float64", seed=0)
x_hat = np.random.default_rng(0).normal(size=(5, 2))            # (N, d_0)
cache, gA, gH = net.input_gradient_pass(x_hat)                  # g = gH[0]: (N, d_0)

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 03_penalty.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
