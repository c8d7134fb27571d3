# %% [markdown]
# # Workbook 5: keeping the critic Lipschitz, and the optimizers
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# The Kantorovich-Rubinstein duality behind the WGAN needs a 1-Lipschitz critic. Besides the
# penalty (workbook 3) there are weight clipping (Arjovsky, Chintala and Bottou, "Wasserstein
# GAN") and spectral normalisation (Miyato, Kataoka, Koyama and Yoshida, "Spectral
# Normalization for Generative Adversarial Networks"). The optimizers then step the weights:
# RMSProp for the clipped WGAN, Adam for the others.
#
# A model's parameters live in ONE flat buffer `params: (P,)` (the layers' W[l] and b[l] are
# views into it), and its gradients in `grads: (P,)`: update them IN PLACE
# (`p -= ...`, `p[...] = ...`, `np.clip(..., out=p)`), never by rebinding a name.

# %%
import numpy as np

from tinywgan.core import lipschitz, optim

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
# ## Try it, then check it

# %%
params = np.random.default_rng(0).normal(scale=0.05, size=10)      # (P,)
opt = Adam(lr=1e-3)                                                  # opt.step(params, grads)

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 05_lipschitz_and_optim.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
