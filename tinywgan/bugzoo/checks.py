r"""The detectors' small runs, each taking the pieces to run with (the library's or a broken
copy), so that the same check measures both.

- ``critic_run``: a critic trained alone against fixed distributions (the loop of
  ``measure.critic.fit_critic``, with its critic step and its update as arguments);
- ``interpolate_gradient_norm``, ``off_slope_at_fakes``, ``w_estimate``: what a person
  watches of such a critic;
- ``critic_step_check``, ``generator_step_check``: a step's gradient against finite
  differences of its own loss (``tinywgan.measure.gradcheck``'s check, with the step as an
  argument);
- ``nonfinite_gradients``: one critic step at a critic whose input gradient is 0;
- ``batch_coupling``: how far a critic's output for one example moves with the others;
- ``on_segment``: the fraction of penalised points x_hat on the segment between their pair;
- ``generator_distance``: a short WGAN-GP run with a given generator step, and how far the
  samples end up from the data's modes.

Everything is float64 on the CPU, seeded: a run repeats.
"""
import types

import numpy as np

from .broken import copy_with
from .. import backend
from ..measure import data
from ..core import steps
from ..measure.finitediff import compare, numerical_gradient
from ..core.mlp import MLP
from ..core.optim import Adam
from ..job.training import TrainingJob, make_config

B = 64                     # batch of the critic-only runs


def draw_fixed(rng, n=B):
    """The fixed distributions a critic learns to tell apart: 8gaussians (real) and
    N(0, 0.5^2 I) (fake). Returns x_real, x_fake: (n, 2) each."""
    return data.sample("8gaussians", n, rng, np.float64), 0.5 * rng.standard_normal((n, 2))


def critic_run(n_steps, method="wgan-gp", lam=10.0, critic_grads=steps.critic_grads,
               update=steps.update_critic, penalty=None, opt=None, clip=0.01, seed=0):
    """A critic 2-64-64-1 (ReLU) trained alone for n_steps on ``draw_fixed``, with
    ``critic_grads`` and ``update`` in place of the library's steps (the loop of
    ``measure.critic.fit_critic``) and, if given, ``penalty`` as its gradient penalty. Adam at 1e-3
    unless ``opt`` is given. Returns the critic."""
    D = MLP([2, 64, 64, 1], "relu", dtype="float64", seed=seed)
    if penalty is not None:
        critic_grads = copy_with(critic_grads, gradient_penalty=penalty)
    opt = opt or Adam(lr=1e-3, betas=(0.5, 0.9))
    for t in range(n_steps):
        rng = backend.rng(np, seed, "critic", t)
        x_real, x_fake = draw_fixed(rng)                                       # (B, 2) each
        eps = rng.random((B, 1))                                               # one per example
        critic_grads(D, x_real, x_fake, eps, method, lam)
        update(D, opt, method, clip)
    return D


def _fresh_batch(n=512):
    rng = backend.rng(np, 1, "bugzoo", "eval")
    x_real, x_fake = draw_fixed(rng, n)
    return x_real, x_fake, rng.random((n, 1))


def interpolate_gradient_norm(D):
    """The mean of ||grad_x f(x_hat)|| over 512 fresh interpolates (1 for a critic the penalty
    holds at 1-Lipschitz)."""
    x_real, x_fake, eps = _fresh_batch()
    g = D.input_gradient(steps.interpolates(x_real, x_fake, eps))              # (512, 2)
    return float(np.sqrt((g * g).sum(axis=1)).mean())


def off_slope_at_fakes(D):
    """The fraction of 512 fresh generated points x_fake at which ||grad_x f|| is off 1 by more
    than 0.25: where the generator reads its gradient, a critic the penalty holds at
    1-Lipschitz has gradient norm near 1."""
    g = D.input_gradient(_fresh_batch()[1])                                   # (512, 2)
    return float((np.abs(np.sqrt((g * g).sum(axis=1)) - 1) > 0.25).mean())


def w_estimate(D):
    """mean f(x_real) - mean f(x_fake) over 512 fresh pairs: the critic's estimate of W."""
    x_real, x_fake, _ = _fresh_batch()
    return float(D(x_real).mean() - D(x_fake).mean())


def _biased(net, rng):
    for b in net.b:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    return net


def critic_step_check(critic_grads=steps.critic_grads, act="softplus", seed=0):
    """``gradcheck.check_critic_step``'s check (wgan-gp, lam 10, a 2-6-5-1 critic) of the given
    step: its gradient D.grads against differences of the loss it returns. Returns the
    relative error."""
    rng = np.random.default_rng(seed)
    D = _biased(MLP([2, 6, 5, 1], act, dtype="float64", seed=seed), rng)
    x_real, x_fake, eps = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1, rng.random((6, 1))

    def loss():
        return float(critic_grads(D, x_real, x_fake, eps, "wgan-gp", 10.0)["critic_loss"])
    loss()
    analytic = D.grads.copy()
    return compare("critic step", analytic,
                   numerical_gradient(loss, D.params, return_noise=True))["error"]


def generator_step_check(generator_grads=steps.generator_grads, seed=0):
    """``gradcheck.check_generator_step``'s check (Wasserstein loss, tanh) of the given step:
    G.grads against differences of the loss it returns. Returns the relative error."""
    rng = np.random.default_rng(seed)
    G = _biased(MLP([2, 6, 5, 2], "tanh", dtype="float64", seed=seed), rng)
    D = _biased(MLP([2, 7, 1], "tanh", dtype="float64", seed=seed + 1), rng)
    z = rng.normal(size=(5, 2))

    def loss():
        return float(generator_grads(G, D, z, "wgan-gp")["gen_loss"])
    loss()
    analytic = G.grads.copy()
    return compare("generator step", analytic,
                   numerical_gradient(loss, G.params, return_noise=True))["error"]


def nonfinite_gradients(penalty=None, seed=0):
    """One wgan-gp step of a ReLU critic whose last layer is zero (a common zero
    initialisation: f is constant and grad_x f = 0 at every x_hat), with ``penalty`` as its
    gradient penalty if given. Returns how many entries of D.grads are NaN or inf."""
    D = MLP([2, 16, 16, 1], "relu", dtype="float64", seed=seed)
    D.W[-1][...] = 0
    critic_grads = steps.critic_grads if penalty is None else \
        copy_with(steps.critic_grads, gradient_penalty=penalty)
    x_real, x_fake = draw_fixed(backend.rng(np, seed, "bugzoo", "zero"))
    with np.errstate(all="ignore"):
        critic_grads(D, x_real, x_fake, np.full((B, 1), 0.5), "wgan-gp", 10.0)
    return int((~np.isfinite(D.grads)).sum())


def batch_coupling(critic=MLP, seed=0):
    """How much a critic's output for one example moves when the OTHER examples of its batch
    change: a critic 2-16-16-1 (ReLU) of class ``critic`` at a batch of B real points and at
    the same batch with its second half swapped for fake points. Returns the largest change
    of f over the first half's rows (0 for a function of each example alone)."""
    D = critic([2, 16, 16, 1], "relu", dtype="float64", seed=seed)
    x_real, x_fake = draw_fixed(backend.rng(np, seed, "bugzoo", "batch"))
    mixed = np.concatenate([x_real[:B // 2], x_fake[B // 2:]])                 # (B, 2)
    return float(np.abs(D(x_real) - D(mixed))[:B // 2].max())


def on_segment(draw_eps, interpolates=steps.interpolates, seed=0):
    """The fraction of x_hat = interpolates(x_real, x_fake, eps), eps = draw_eps(rng, B, d),
    that lie on the segment from x_fake to x_real (within 1e-9), over one batch."""
    rng = backend.rng(np, seed, "bugzoo", "eps")
    x_real, x_fake = draw_fixed(rng)
    x_hat = interpolates(x_real, x_fake, draw_eps(rng, *x_real.shape))
    d = x_real - x_fake                                                        # (B, 2)
    t = ((x_hat - x_fake) * d).sum(axis=1) / (d * d).sum(axis=1)               # projection
    off = np.linalg.norm(x_hat - x_fake - t[:, None] * d, axis=1)              # distance to line
    return float(((off < 1e-9) & (t >= 0) & (t <= 1)).mean())


def library_eps(rng, B, d):
    """The library's draw (``train``): eps: (B, 1) ~ U[0, 1), one per example."""
    return rng.random((B, 1))


def generator_distance(generator_grads=steps.generator_grads, iters=300, seed=0):
    """A short WGAN-GP run on 8gaussians (width 32, depth 2, batch 64: products small enough
    that BLAS keeps to one thread; the library's defaults otherwise) whose generator step is
    ``generator_grads``. Returns the mean distance from 1000 generated points to their nearest
    mode centre."""
    trainer = TrainingJob(make_config(iters=iters, width=32, depth=2, batch=64, log_every=iters,
                                  seed=seed))
    trainer.step_fns = types.SimpleNamespace(generate=steps.generate,
                                          critic_grads=trainer.step_fns.critic_grads,
                                          generator_grads=generator_grads)
    trainer.train()
    x = backend.to_numpy(trainer.sample(1000)).astype(np.float64)              # (1000, 2)
    c = data.centres("8gaussians")                                             # (8, 2)
    return float(np.sqrt(((x[:, None, :] - c[None]) ** 2).sum(axis=2)).min(axis=1).mean())
