r"""The training loops: WGAN (clipping), WGAN-GP (and its one-sided WGAN-LP), spectral-norm
WGAN and the vanilla GAN, all through the step functions of ``tinywgan.steps``.

One generator iteration t (Arjovsky et al. 2017, Algorithm 1; Gulrajani et al. 2017, Alg. 1):

    repeat n_critic times (k = 0..n_critic-1):                          # Trainer.critic_step
        x_real ~ P_r,  z ~ N(0, I),  x_fake = G(z),  eps ~ U[0, 1] per example   (B rows each)
        D.grads <- grad_w L_D(x_real, x_fake, eps)          steps.critic_grads (L_D per method,
                                                            + R1, R2 where cfg.r1, cfg.r2 > 0)
        w <- optimizer step (wgan: then clip into [-c, c])  steps.update_critic
    z ~ N(0, I)                                                        # Trainer.generator_step
    G.grads <- grad_theta L_G(z)                            steps.generator_grads
    theta <- optimizer step

Which implementation computes the gradients is chosen once, in ``Trainer.__init__``: the plain
steps (``tinywgan/steps.py``, the derivation) or, for ReLU-family networks, the fused ones
(``tinywgan/fast.py``: the same numbers in fewer, larger products).

Randomness is counter-based: the draws of critic step (t, k) come from
``backend.rng(xp, seed, "critic", t, k)`` (x_real, then z, then eps) and those of the generator
step from ``(seed, "gen", t)``. A resumed run therefore needs no random-generator state:
restarting at iteration t draws exactly what the uninterrupted run drew.
"""
import dataclasses
import math
import time

import numpy as np

from . import backend, checkpoint, data, fast, metrics, preflight, resume, steps, validate
from .config import (DATASET_DEFAULTS, METHOD_DEFAULTS, METHODS, PRESETS, Config,
                     default_optimizer, make_config)
from .mlp import MLP
from .optim import make_optimizer
from .steps import INTERPOLATING, critic_grads, update_critic

# The settings live in config.py; they are re-exported so that train.make_config(...) reads as
# one import in demos and notebooks.
__all__ = ["Config", "DATASET_DEFAULTS", "METHOD_DEFAULTS", "METHODS", "PRESETS", "Trainer",
           "TrainingDiverged", "fit_critic", "make_config"]


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or inf: ``iteration`` (generator iterations done),
    ``quantities`` (the names of the numbers that did) and ``value`` (the first one's) say
    where."""

    def __init__(self, iteration, quantities, value):
        self.iteration, self.quantities, self.value = iteration, quantities, value
        super().__init__("training diverged at generator iteration %d: %s became %s. Try a "
                         "smaller learning rate (lr_d, lr_g), a larger lam, or dtype float64."
                         % (iteration, " and ".join(quantities), value))


def fit_critic(D, opt, draw, n_steps, method="wgan-gp", lam=10.0, clip=0.01, seed=0,
               lr_decay=False, on_step=None, r1=0.0, r2=0.0):
    """Train the critic alone, against FIXED real and fake distributions (no generator steps),
    as the WGAN-GP paper's Figure 1 does, with the Trainer's own critic step.

    Update t = 0..n_steps-1 draws ``x_real, x_fake = draw(rng)`` (each (B, d)) and then, for
    wgan-gp and wgan-lp, eps: (B, 1), from ``rng = backend.rng(D.xp, seed, "critic", t)``;
    ``steps.critic_grads`` fills D.grads, ``steps.update_critic`` steps ``opt`` (and clips).
    lr_decay: the learning rate falls linearly from ``opt.lr`` to 0 over the steps.
    on_step: None, or ``on_step(t + 1, out)`` after each update (t + 1 updates done; ``out`` is
    critic_grads's dict), e.g. to measure the critic as it learns.
    r1, r2: gamma of the zero-centred penalties (``steps.critic_grads``; 0: off).
    Returns the last update's dict (critic_loss, w_estimate, ...).
    """
    validate.choice("fit_critic: method", method, METHODS)
    if (method == "wgan-sn") != (D.sn is not None):
        raise ValueError("method %r needs a critic %s spectral normalisation: build it with "
                         "MLP(..., spectral_norm=%s)" % (method, "with" if method == "wgan-sn"
                                                         else "without",
                                                         method == "wgan-sn"))
    lr, out = opt.lr, {}
    for t in range(n_steps):
        if lr_decay:
            opt.lr = lr * (1 - t / n_steps)                             # linear decay to 0
        rng = backend.rng(D.xp, seed, "critic", t)
        x_real, x_fake = draw(rng)                                     # (B, d) each
        eps = rng.random((x_real.shape[0], 1), dtype=D.dtype) if method in INTERPOLATING \
            else None                                                  # one per example
        D.power_iterate()                                              # SN only
        out = critic_grads(D, x_real, x_fake, eps, method, lam, r1, r2)
        update_critic(D, opt, method, clip)
        if on_step is not None:
            on_step(t + 1, out)
    opt.lr = lr
    return out


class Trainer:
    """Holds the two networks, their optimizers and the iteration count; runs the loops.

    Attributes: cfg, xp, G (latent -> d), D (d -> 1) with d = data.DATASETS[cfg.dataset] (2,
    or 64 for the digits), opt_g, opt_d, t (generator iterations done), seconds (time spent in
    ``train``, over every session of a resumed run), history (list of dicts, one per logged
    iteration).
    """

    def __init__(self, cfg):
        self.cfg = cfg = cfg.validate()
        preflight.check_memory(preflight.estimate(cfg)[:1])  # the networks, before allocating
        self.xp = backend.array_module(cfg.device)
        hidden = [cfg.width] * cfg.depth
        common = dict(activation=cfg.activation, dtype=cfg.dtype, device=cfg.device,
                      check_finite=False)
        d = data.DATASETS[cfg.dataset]               # 2 for the toys, 64 for the digits
        self.G = MLP([cfg.latent] + hidden + [d], seed=cfg.seed * 2 + 1, **common)
        self.D = MLP([d] + hidden + [1], spectral_norm=(cfg.method == "wgan-sn"),
                     seed=cfg.seed * 2 + 2, **common)
        opt = cfg.optimizer or default_optimizer(cfg.method)
        hyper = dict(betas=cfg.betas) if opt == "adam" else {}
        self.opt_d = make_optimizer(opt, lr=cfg.lr_d, **hyper)
        self.opt_g = make_optimizer(opt, lr=cfg.lr_g, **hyper)
        # Which implementation computes the gradients, chosen here once: the fused steps
        # (tinywgan/fast.py) for ReLU-family networks, else the plain ones (tinywgan/steps.py,
        # the derivation). Same signatures, same numbers (tests/test_fast.py); cfg.fast=False
        # (--no-fast) keeps the plain ones everywhere.
        if cfg.fast and fast.applies(cfg.method, self.G, self.D):
            self.steps = fast.FusedSteps()
        else:
            self.steps = steps
        self.t, self.seconds = 0, 0.0
        self.history = []
        self.changed = {}               # from_checkpoint: {field: (saved, now)} changed on resume

    def describe_steps(self):
        """Which implementation computes this trainer's gradients, for a person."""
        if self.steps is steps:
            return "plain steps (tinywgan/steps.py)"
        return "fused steps (tinywgan/fast.py; the plain ones: tinywgan/steps.py)"

    # ---- one step each ---------------------------------------------------------------------
    def critic_step(self, t, k):
        """One critic update: draw, gradients, optimizer step. Returns a dict of 0-d device
        arrays (critic_loss, w_estimate, ..., critic_grad_sq)."""
        cfg, G, D = self.cfg, self.G, self.D
        rng = backend.rng(self.xp, cfg.seed, "critic", t, k)
        x_real = data.sample(cfg.dataset, cfg.batch, rng, D.dtype)              # (B, d)
        z = rng.standard_normal((cfg.batch, cfg.latent), dtype=G.dtype)         # (B, latent)
        eps = rng.random((cfg.batch, 1), dtype=D.dtype) if cfg.method in INTERPOLATING \
            else None                                                           # (B, 1)
        D.power_iterate()                                       # SN: u, v one step; else no-op
        out = self.steps.critic_grads(D, x_real, self.steps.generate(G, z), eps, cfg.method,
                                      cfg.lam, cfg.r1, cfg.r2)
        out["critic_grad_sq"] = D.grads @ D.grads
        update_critic(D, self.opt_d, cfg.method, cfg.clip)
        return out

    def generator_step(self, t):
        """One generator update through the critic. Returns {'gen_loss', 'gen_grad_sq'}."""
        cfg, G, D = self.cfg, self.G, self.D
        rng = backend.rng(self.xp, cfg.seed, "gen", t)
        z = rng.standard_normal((cfg.batch, cfg.latent), dtype=G.dtype)         # (B, latent)
        D.power_iterate()
        out = self.steps.generator_grads(G, D, z, cfg.method, cfg.gan_loss)
        out["gen_grad_sq"] = G.grads @ G.grads
        self.opt_g.step(G.params, G.grads)
        return out

    def critic_steps_at(self, t):
        """n_critic, or 100 during the WGAN reference warm-up (t < 25 and every 500th t)."""
        if self.cfg.warmup and (t < 25 or t % 500 == 0):
            return 100
        return self.cfg.n_critic

    def set_learning_rates(self, t):
        """Linear decay to 0 over cfg.iters when cfg.lr_decay."""
        frac = 1.0 - t / self.cfg.iters if self.cfg.lr_decay else 1.0
        self.opt_d.lr = self.cfg.lr_d * frac
        self.opt_g.lr = self.cfg.lr_g * frac

    def step(self):
        """One generator iteration (critic steps, then the generator step). Returns the
        last critic step's and the generator step's numbers, as 0-d device arrays."""
        t = self.t
        self.set_learning_rates(t)
        for k in range(self.critic_steps_at(t)):
            out = self.critic_step(t, k)
        out.update(self.generator_step(t))
        self.t = t + 1
        return out

    # ---- the loop ----------------------------------------------------------------------------
    def train(self, iters=None, progress=None, on_log=None, stop=None):
        """Run until ``iters`` generator iterations are done in total (default cfg.iters), or
        until ``stop()`` (checked after every whole iteration) returns True.

        Every ``log_every`` iterations (and at the end): the numbers are brought to the host,
        checked (NaN/inf raises TrainingDiverged naming the iteration and the quantity), appended
        to ``history``, and passed to ``on_log(trainer, row)``; ``progress(row)`` prints.
        On the CPU the check runs every iteration (it costs nothing there); on a device it
        runs at the log steps, so the host and the device sync only then.
        A row's ``seconds`` is ``self.seconds``, the training time of every session so far.
        """
        cfg = self.cfg
        iters = cfg.iters if iters is None else iters
        start, before, t0 = self.t, self.seconds, time.perf_counter()
        check_every = 1 if cfg.device == "cpu" else cfg.log_every
        try:
            while self.t < iters:
                out = self.step()
                self.seconds = before + time.perf_counter() - t0
                logging = self.t % cfg.log_every == 0 or self.t == iters
                if logging or self.t % check_every == 0:
                    row = {k: float(v) for k, v in out.items()}
                    bad = [k for k, v in row.items() if not math.isfinite(v)]
                    if bad:
                        raise TrainingDiverged(self.t, bad, row[bad[0]])
                if logging:
                    row.update(iter=self.t, seconds=self.seconds, it_per_s=(self.t - start)
                               / max(self.seconds - before, 1e-9))
                    if cfg.eval_every and (self.t % cfg.eval_every == 0 or self.t == iters):
                        row.update(self.evaluate(cfg.curve_n))
                    self.history.append(row)
                    if progress is not None:
                        progress(row, iters)
                    if on_log is not None:
                        on_log(self, row)
                if stop is not None and stop():
                    break
        finally:
            if self.t > start:              # (a finished run resumed as it is: no time)
                self.seconds = before + time.perf_counter() - t0
        return self.history

    # ---- evaluation ----------------------------------------------------------------------------
    def sample(self, n, seed_stream=("sample",)):
        """n generated points (n, d) on the device, from a fixed stream."""
        rng = backend.rng(self.xp, self.cfg.seed, *seed_stream)
        return self.G(rng.standard_normal((n, self.cfg.latent), dtype=self.G.dtype))

    def evaluate(self, n=None, floor_pairs=1):
        """Exact W1 between n generated and n real points, the real-vs-real floor at the same n
        (the mean over ``floor_pairs`` independent real sets: one pair's floor varies by a
        factor of two between seeds), and mode coverage. Host-side; returns a dict.

        The digits are a finite set (1797 images), and a resample would match images with
        themselves at distance 0: their real sets are disjoint slices of one permutation
        instead, so n is at most 1797 // (floor_pairs + 1) there."""
        cfg = self.cfg
        n = cfg.eval_n if n is None else n
        if cfg.dataset == "digits":
            n = min(n, data.DIGITS_N // (floor_pairs + 1))
            rows = backend.rng(np, cfg.seed, "eval-real").permutation(data.DIGITS_N)
            images = data.digits()                                              # (1797, 64)

            def real(k):
                return images[rows[k * n:(k + 1) * n]]                          # (n, 64)
        else:
            def real(k):
                return data.sample(cfg.dataset, n, backend.rng(np, cfg.seed, "eval-real", k))
        fake = backend.to_numpy(self.sample(n, ("eval-fake",)))
        ref = real(0)
        floor = np.mean([metrics.w1_exact(real(k), ref) for k in range(1, floor_pairs + 1)])
        out = {"w1": metrics.w1_exact(fake, ref), "w1_floor": float(floor), "eval_n": n}
        if cfg.dataset in data.MIXTURES:
            out.update(metrics.mode_coverage(fake, data.centres(cfg.dataset),
                                             data.mode_std(cfg.dataset)))
        return out

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_arrays(self):
        """Everything a resume needs, as named arrays: both networks' parameters, the critic's
        spectral-norm vectors, both optimizers' state. (No random-generator state is needed:
        the draws are counter-based.)"""
        arrays = {"G/params": self.G.params, "D/params": self.D.params}
        if self.D.sn is not None:
            arrays.update({"D/sn_u%d" % l: u for l, u in enumerate(self.D.sn.u)})
        for name, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            arrays.update({"%s/%s" % (name, k): v for k, v in opt.state_dict().items()})
        return arrays

    def save_checkpoint(self, path):
        """Write the state atomically to ``path`` (.npz, no pickle; ``tinywgan.resume`` lists
        what it holds)."""
        checkpoint.save(path, self.state_arrays(), {"config": dataclasses.asdict(self.cfg),
                                                    "t": self.t, "seconds": self.seconds})

    @classmethod
    def from_checkpoint(cls, path, device=None, changes=None):
        """A Trainer restored from ``save_checkpoint``'s file, checked whole first
        (``tinywgan.resume``). ``device``: run it on another device; ``changes``: a dict field
        -> value over its saved config (``resume.FIXED`` fields cannot change). The trainer's
        ``changed`` says what did: {field: (saved, now)}.
        Raises CheckpointError for a file that cannot be used, ValueError for a change that
        cannot be made."""
        changes = dict(changes or {}, **({"device": device} if device is not None else {}))
        cfg, saved, arrays, t, seconds = resume.read(path, changes)
        trainer = cls(cfg)
        resume.restore(trainer, arrays, t, seconds, path)
        trainer.changed = resume.changed(saved, cfg)
        return trainer
