# %% [markdown]
# # Workbook 5: keeping the critic Lipschitz, and the optimizers
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# The Kantorovich-Rubinstein duality behind the WGAN needs a 1-Lipschitz critic. Besides the
# penalty (workbook 3) there are weight clipping (Arjovsky, Chintala and Bottou, "Wasserstein
# GAN") and spectral normalisation (Miyato, Kataoka, Koyama and Yoshida, "Spectral
# Normalization for Generative Adversarial Networks"), and GroupSort activations with
# orthonormal weights (Anil, Lucas and Grosse, "Sorting out Lipschitz function approximation").
# The optimizers then step the weights: RMSProp for the clipped WGAN, Adam for the others.
#
# A model's parameters live in ONE flat buffer `params: (P,)` (the layers' W[l] and b[l] are
# views into it), and its gradients in `grads: (P,)`: update them IN PLACE
# (`p -= ...`, `p[...] = ...`, `np.clip(..., out=p)`), never by rebinding a name.

# %%
import numpy as np

from tinywgan.core import lipschitz, mlp, optim

# %% [markdown]
# ## 5.1 Weight clipping
#
# WGAN clips every parameter (biases included) into [-c, c] after each critic step.


# %%
def clip_weights(params, c):
    """Clip every entry of params into [-c, c], in place. Inputs: params: (P,); c > 0.
    Returns None."""
    raise NotImplementedError


# %% [markdown]
# ## 5.2 RMSProp (Tieleman and Hinton, Lecture 6.5)
#
#     ms <- alpha ms + (1 - alpha) g^2             (ms starts at 0)
#     p  <- p - lr g / (sqrt(ms) + eps)
#
# As a method of tinywgan's optimizer: `self.lr`, `self.alpha`, `self.eps` are the
# hyperparameters; `self._state["ms"]: (P,)` is the running mean of g^2, made (zeros) before
# the first step and kept between steps, so update it in place too; t is the step number
# (1, 2, ...). `opt.step(params, grads)` calls your `_update(params, grads, t)`.


# %%
class RMSProp(optim.RMSProp):
    def _update(self, p, g, t):
        """One RMSProp step. Inputs: p: (P,) parameters, updated in place; g: (P,) gradient;
        t: the step number (1, 2, ...). Returns None."""
        raise NotImplementedError


# %% [markdown]
# ## 5.3 Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization")
#
#     m <- beta1 m + (1 - beta1) g                    (m, v start at 0; t = 1, 2, ...)
#     v <- beta2 v + (1 - beta2) g^2
#     p <- p - lr m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - beta1^t),
#                                                v_hat = v / (1 - beta2^t)
#
# `self.lr`, `self.betas = (beta1, beta2)`, `self.eps`; the state `self._state["m"]` and
# `self._state["v"]`, both (P,), updated in place. The bias corrections matter at small t:
# m and v start at 0, so without them the first steps are too small.


# %%
class Adam(optim.Adam):
    def _update(self, p, g, t):
        """One Adam step. Inputs: p: (P,) parameters, updated in place; g: (P,) gradient;
        t: the step number (1, 2, ...). Returns None."""
        raise NotImplementedError


# %% [markdown]
# ## 5.4 Spectral normalisation's backward
#
# Each weight matrix W: (m, n) is used as W_hat = W / sigma, with sigma = u^T W v its largest
# singular value, estimated by power iteration with persistent unit vectors u: (m,), v: (n,)
# (held constant within a step). Given dW_hat = dL/dW_hat, the gradient with respect to W
# has two terms: W appears in W_hat directly, and through sigma, with d sigma / dW = u v^T.
# Derive dL/dW and ADD it into dWs[l]. For layer l: `self.u[l]`, `self.v[l]`,
# `self.sigma[l]` (a scalar), and the W_hat of the forward, `self.W_hats[l]`. The Frobenius
# inner product of two matrices is `(A * B).sum()`; `np.outer(u, v)` is u v^T.


# %%
class SpectralNorm(lipschitz.SpectralNorm):
    def backward(self, dW_hats, dWs):
        """dWs[l] += dL/dW[l] for every layer, from dW_hats[l] = dL/dW_hat[l].

        Inputs: dW_hats: a tuple of (m_l, n_l) arrays; dWs: a tuple of arrays of the same
        shapes (training passes the MLP's own tuples), added into in place: `dW = dWs[l]`,
        then `dW += ...` (`dWs[l] += ...` stores into the tuple: a TypeError). Returns None.
        """
        raise NotImplementedError


# %% [markdown]
# ## 5.5 GroupSort's backward
#
# GroupSort sorts each group of k consecutive units of a: (N, M), M a multiple of k (k = 2 is
# MaxMin: (a1, a2) -> (min, max)). Per group h = P a, with P the permutation that sorts a:
# `order = np.argsort(a.reshape(N, -1, k), axis=-1)`, (N, M/k, k), says which input lands at
# each sorted place (h[j] = a[order[j]]; the forward is `np.take_along_axis`). The Jacobian is
# P, so da = P^T dh. For k = 2 every P is its own inverse; for k = 3 it is not, so think about
# which way each unit's gradient goes (`np.put_along_axis` writes by index). `self.k` is k;
# `self.f(a)` is the forward.


# %%
class GroupSort(mlp.GroupSort):
    def vjp(self, dh, a):
        """da = J^T dh = P^T dh, group by group. Inputs: dh, a: (N, M). Returns da: (N, M)."""
        raise NotImplementedError


# %% [markdown]
# ## 5.6 One Bjorck step, and its backward
#
# GroupSort keeps the gradient's norm only through orthonormal weights. Bjorck's iteration
# (Bjorck and Bowie, "An Iterative Algorithm for Computing the Best Estimate of an Orthogonal
# Matrix") makes W: (m, n) orthonormal, one step at a time:
#
#     W' = W A,   A = 3/2 I - 1/2 W^T W: (n, n)         (`lipschitz.bjorck_step(W)`)
#
# tinywgan applies it after each optimizer step, as a projection; to train through it instead
# you need its backward. Given dW' = dL/dW': (m, n), return dL/dW: (m, n). W appears twice:
# as the left factor and inside A (where W^T W holds it twice more).


# %%
def bjorck_step_backward(dW_next, W):
    """dL/dW of W' = W (3/2 I - 1/2 W^T W) from dW_next = dL/dW'. Inputs: dW_next, W: (m, n).
    Returns dW: (m, n)."""
    raise NotImplementedError


# %% [markdown]
# ## Try it, then check it

# %%
params = np.random.default_rng(0).normal(scale=0.05, size=10)      # (P,)
opt = Adam(lr=1e-3)                                                  # opt.step(params, grads)
a = np.array([[0.5, -1.0, 2.0, 0.1]])                                # (1, 4): two groups of 2
h = GroupSort(2).f(a)                                                # [[-1.0, 0.5, 0.1, 2.0]]

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 05_lipschitz_and_optim.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
