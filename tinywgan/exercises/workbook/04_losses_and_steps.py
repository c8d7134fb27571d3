# %% [markdown]
# # Workbook 4: the losses, and the two training steps
#
# Grade with `python -m tinywgan exercises check . NAME` from a terminal in this folder, or
# run the last cell (workbook 1 explains the grader).
#
# A WGAN's critic f estimates the Wasserstein-1 distance between the real and generated
# distributions, W = sup over 1-Lipschitz f of E f(real) - E f(fake) (Arjovsky, Chintala and
# Bottou, "Wasserstein GAN"). An optimizer DESCENDS, so the critic descends on the negative of
# what it maximises, and the generator on -E f(G(z)). The vanilla GAN (Goodfellow et al.,
# "Generative Adversarial Nets") works with logits l and D = sigma(l) instead.
#
# Every loss returns its value and its gradient with respect to the outputs it was given
# (shapes: (N, 1) for N outputs); the steps then backpropagate those through the networks.

# %%
import numpy as np

from tinywgan import MLP
from tinywgan.core import mlp, steps

# %% [markdown]
# ## 4.1 The Wasserstein losses
#
#     critic:     L = mean f(fake) - mean f(real)      (its negative estimates W)
#     generator:  L = -mean f(G(z))
#
# The real and fake batches need not have the same size (N and M rows).


# %%
def wasserstein_critic_loss(f_real, f_fake):
    """The critic's loss. Inputs: f_real: (N, 1), f_fake: (M, 1).
    Returns (L: a scalar, dL/df_real: (N, 1), dL/df_fake: (M, 1))."""
    raise NotImplementedError


def wasserstein_generator_loss(f_fake):
    """The generator's loss. Inputs: f_fake: (M, 1). Returns (L: a scalar, dL/df_fake: (M, 1))."""
    raise NotImplementedError


# %% [markdown]
# ## 4.2 The GAN losses, from logits
#
#     discriminator:               L = -mean log D(l_real) - mean log(1 - D(l_fake))
#     generator, 'minimax':        L = mean log(1 - D(l_fake))
#     generator, 'nonsaturating':  L = -mean log D(l_fake)
#
# with D = sigma(l). The grader also tries logits of +-50 and +-1000, where a trained
# discriminator's can be: the loss and its gradient must be finite and exact there. log(sigma(l))
# is -inf once sigma(l) rounds to 0; use log sigma(l) = -softplus(-l) and
# log(1 - sigma(l)) = -softplus(l), with `mlp.softplus` (= logaddexp(0, l)) and
# `mlp.sigmoid`, both exact at every l, and d softplus(l)/dl = sigma(l).


# %%
def gan_discriminator_loss(logit_real, logit_fake):
    """The discriminator's loss. Inputs: logit_real: (N, 1), logit_fake: (M, 1).
    Returns (L: a scalar, dL/dlogit_real: (N, 1), dL/dlogit_fake: (M, 1))."""
    raise NotImplementedError


def gan_generator_loss(logit_fake, kind="nonsaturating"):
    """The generator's loss of the given kind ('minimax' or 'nonsaturating', as above).
    Inputs: logit_fake: (M, 1). Returns (L: a scalar, dL/dlogit_fake: (M, 1))."""
    raise NotImplementedError


# %% [markdown]
# ## 4.3 The generator's step: its gradient THROUGH the critic
#
# The generator's loss is a function of the critic's output, the critic's output of its
# input x_fake = G(z), and that of G's weights. So (chain rule, right to left):
#
#     dL/dtheta = (dG/dtheta)^T dL/dx_fake,    dL/dx_fake = (df/dx)^T dL/df
#
# dL/df comes from the loss (4.1 for every WGAN, 4.2 for method 'gan'); dL/dx_fake is the
# CRITIC's backward to its input, with no parameter gradients
# (`D.backward(d_f, cache, param_grads=False)` returns it); G's backward takes it from there
# (`G.backward(dx_fake, cache)` adds into G's buffers: zero them first, `G.zero_grad()`). The
# critic's own gradients must be left as they are.


# %%
def generator_grads(G, D, z, method="wgan-gp", gan_loss="nonsaturating"):
    """The generator's gradient, left in G.grads (zeroed first); D.grads untouched.

    Inputs: G: an MLP latent -> d; D: an MLP d -> 1; z: (B, latent); method: one of
    steps.METHODS ('gan' uses the GAN generator loss ``gan_loss``, every other method the
    Wasserstein one). Returns {"gen_loss": the loss, a scalar}.
    """
    raise NotImplementedError


# %% [markdown]
# ## 4.4 The critic's step: the whole loss, every method
#
# One step's gradient of the critic's whole loss (`steps.critic_grads` in tinywgan), D.grads
# zeroed first (`D.zero_grad()`), then each term added:
#
#     wgan, wgan-sn   L = mean f(x_fake) - mean f(x_real)                        (4.1)
#     gan             the discriminator's loss of 4.2 on the logits f
#     wgan-gp         L + lam/B sum_i (||grad_x f(x_hat_i)|| - 1)^2              (3.3)
#     wgan-lp         the same, one-sided
#
# with x_hat = eps x_real + (1 - eps) x_fake, one eps per example (given: eps: (B, 1)).
# `D.forward(x)` returns f and the cache, `D.backward(d_f, cache)` adds the loss's gradient,
# `D.gradient_penalty(x_hat, lam, one_sided=...)` adds the penalty's (or call your 3.3).
# Spectral normalisation ('wgan-sn'): D computes with W / sigma(W). Call
# `D.spectral_normalise()` before the forward passes and `D.spectral_backward()` after the
# last backward (it maps the gradients with respect to W / sigma onto W); both do nothing for
# a network without it. Return the numbers as a dict of scalars:
#
#     critic_loss   the whole loss, penalty included
#     w_estimate    mean f(x_real) - mean f(x_fake)
#     penalty       R                                  (wgan-gp and wgan-lp only)
#     grad_norm     the mean of ||grad_x f(x_hat_i)||  (wgan-gp and wgan-lp only)


# %%
def critic_grads(D, x_real, x_fake, eps=None, method="wgan-gp", lam=1.0):
    """The critic's loss on one batch, its gradient left in D.grads (zeroed first).

    Inputs: D: an MLP d -> 1 (built with spectral_norm=True for 'wgan-sn'); x_real: (B, d),
    x_fake: (B, d); eps: (B, 1) in [0, 1] (wgan-gp and wgan-lp; None otherwise);
    method: one of steps.METHODS; lam >= 0.
    Returns a dict of scalars: critic_loss, w_estimate, and for wgan-gp and wgan-lp penalty
    and grad_norm.
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it, then check it

# %%
D = MLP([2, 6, 1], activation="tanh", dtype="float64", seed=0)
G = MLP([2, 6, 2], activation="tanh", dtype="float64", seed=1)
z = np.random.default_rng(0).normal(size=(5, 2))                # (B, latent)
x_fake, g_cache = G.forward(z)                                  # (B, 2)
steps.METHODS, steps.GAN_LOSSES, mlp.sigmoid(np.array([-40.0, 0.0, 40.0]))

# %%
if __name__ == "__main__":           # a notebook's kernel, or `python 04_losses_and_steps.py`
    from tinywgan.exercises import check
    check(globals())                 # grades the exercises defined above
