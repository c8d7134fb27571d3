# %% [markdown]
# # Workbook 3: the gradient penalty and its double backward
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville, "Improved Training of
# Wasserstein GANs") keeps the critic f near 1-Lipschitz by penalising, at points x_hat between
# real and generated samples, how far the norm of its input gradient is from 1:
#
#     R = lam/N sum_i (||g_i|| - t)^2,      g_i = grad_x f(x_hat_i),  t = 1
#
# (one-sided, WGAN-LP: max(0, ||g_i|| - t)^2 instead). The critic's optimizer needs dR/dW and
# dR/db. R depends on the weights through g, and g is itself the output of a backward pass
# (exercise 2.2), so you differentiate that backward pass once more: "double backward".
#
# Notation as in workbook 2, plus the first backward's intermediates (exercise 2.2's pass):
#
#     gA[L-1] = 1 (N, 1);   gH[l] = gA[l] W[l]^T;   gA[l-1] = gH[l] * s'(A[l-1]);   g = gH[0]
#
# A bar means "the gradient of R with respect to": W_bar[l] = dR/dW[l], gH_bar[l] = dR/dgH[l].
# `net.input_gradient_pass(x_hat)` returns `(cache, gA, gH)`, the lists above, so you need not
# redo 2.2. Add the results into `net.dW[l]` and `net.db[l]` (they accumulate, as in
# workbook 2). The derivation in full is in `tinywgan/core/penalty.py`: read it after trying.

# %%
import numpy as np

from tinywgan import MLP

# %% [markdown]
# ## 3.1 The penalty's head: R, and the gradient that starts the reverse pass
#
#     norms_i = ||g_i||          (the norm of each ROW: one per example)
#     gap_i = norms_i - t        (one-sided: max(0, norms_i - t))
#     R = lam/N sum_i gap_i^2,    dR/dg_i = 2 lam/N gap_i g_i / ||g_i||
#
# At g_i = 0 the direction g_i / ||g_i|| is 0/0: take it as 0, so that no NaN reaches the
# weights (a critic whose gradient vanishes somewhere is common: a zero-initialised last
# layer, a dead ReLU unit).


# %%
def penalty_head(grad_x, lam, target=1.0, one_sided=False):
    """The penalty's value and its gradient with respect to the input gradients.

    Inputs: grad_x: (N, d) the g_i as rows; lam >= 0; target t >= 0; one_sided: bool.
    Returns (R: a scalar, norms: (N,) the ||g_i||, dR/dg: (N, d)).
    """
    raise NotImplementedError


# %% [markdown]
# ## 3.2 The penalty's weight gradient, ReLU networks: the first-order path
#
# Pass (1) ran from the output down, so its reverse runs from the input layer UP, starting
# from gH_bar[0] = dR/dg (3.1). Each line of (1) is a product of two things; the reverse of
# `gH[l] = gA[l] W[l]^T` gives two terms:
#
#     W_bar[l] += gH_bar[l]^T gA[l]          (d_l, d_{l+1})     W[l] appears in g directly
#     gA_bar[l] = gH_bar[l] W[l]             (N, d_{l+1})
#
# and the reverse of `gA[l] = gH[l+1] * s'(A[l])` passes it on to the next layer up:
#
#     gH_bar[l+1] = gA_bar[l] * s'(A[l])     (N, d_{l+1})       for l < L-1
#
# For ReLU and leaky ReLU that is all: s'(A[l]) depends on the weights only through which side
# of the kink A[l] is on, so its derivative (s'') is 0, and the biases get no gradient from R.
# This exercise is graded on ReLU and leaky-ReLU networks only.


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
# For tanh, sigmoid, softplus or SiLU, s'(A[l]) in `gA[l] = gH[l+1] * s'(A[l])` depends on the
# weights too: A[l] is an output of the FORWARD pass, so R depends on A[l] through s', with
#
#     A_bar[l] = gA_bar[l] * gH[l+1] * s''(A[l])       (N, d_{l+1}), l < L-1
#
# and A[l] depends on every weight and bias below it. This gradient flows back through the
# forward pass like an ordinary backward pass (workbook 2's recurrence), each layer's A_bar
# added where it enters, starting at the last hidden layer:
#
#     dA[L-2] = A_bar[L-2]
#     W_bar[l] += H[l]^T dA[l],   b_bar[l] += sum over rows of dA[l]
#     dA[l-1] = (dA[l] W[l]^T) * s'(A[l-1]) + A_bar[l-1]
#
# dR/dW[l] is the sum of 3.2's term and this one; dR/db[l] comes from this one alone. Drop it
# and every first-order check still passes while the weight gradient is wrong: the bug of
# from-scratch WGAN-GP implementations. This exercise is graded on every activation, ReLU
# (where this path is empty) included; start from your 3.2.


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
