r"""The training loops: WGAN (clipping), WGAN-GP, spectral-norm WGAN and the vanilla GAN.

One generator iteration t (Arjovsky et al. 2017, Algorithm 1; Gulrajani et al. 2017, Alg. 1):

    repeat n_critic times (k = 0..n_critic-1):          # the critic step
        x ~ P_r,  z ~ N(0, I),  x_fake = G(z)                      # (B, d) each
        wgan-gp: eps ~ U[0,1] per example, x_hat = eps x + (1 - eps) x_fake
                 L_D = mean f(x_fake) - mean f(x) + lam mean (||grad f(x_hat)|| - 1)^2
        wgan:    L_D = mean f(x_fake) - mean f(x);  then every parameter clipped to [-c, c]
        wgan-sn: L_D = mean f(x_fake) - mean f(x)  with f computed from W / sigma(W)
        gan:     L_D = -mean log D(x) - mean log(1 - D(x_fake))  (from logits)
        w <- optimiser step on grad_w L_D
    z ~ N(0, I);  L_G = -mean f(G(z))  (gan: minimax or non-saturating)   # the generator step
    theta <- optimiser step on grad_theta L_G

Randomness is counter-based: the draws of critic step (t, k) come from
``backend.rng(xp, seed, "critic", t, k)`` and those of the generator step from
``(seed, "gen", t)``. A resumed run therefore needs no random-generator state: restarting at
iteration t draws exactly what the uninterrupted run drew.
"""
import dataclasses
import math
import time

import numpy as np

from . import backend, checkpoint, data, fast, metrics
from .config import (DATASET_DEFAULTS, METHOD_DEFAULTS, METHODS, PRESETS, Config,
                     make_config)
from .lipschitz import clip_weights
from .losses import (gan_discriminator_loss, gan_generator_loss, wasserstein_critic_loss,
                     wasserstein_generator_loss)
from .mlp import MLP
from .optim import make_optimizer

# The settings live in config.py; they are re-exported so that train.make_config(...) reads as
# one import in demos and notebooks.
__all__ = ["Config", "DATASET_DEFAULTS", "METHOD_DEFAULTS", "METHODS", "PRESETS", "Trainer",
           "TrainingDiverged", "critic_gradients", "fit_critic", "make_config", "update_critic"]


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or inf."""


def critic_gradients(D, x_real, x_fake, method, lam, gen):
    r"""The critic's loss on one batch, with its gradient left in ``D.grads`` (zeroed first).

        wgan, wgan-sn: L_D = mean f(x_fake) - mean f(x_real)   (f from W / sigma(W) under SN)
        wgan-gp:       L_D + lam mean (||grad_x f(x_hat)|| - 1)^2,
                       x_hat = eps x_real + (1 - eps) x_fake,  eps ~ U[0, 1] per example
        gan:           L_D = -mean log D(x_real) - mean log(1 - D(x_fake))   (from logits)

    Inputs: D: the critic MLP (d -> 1); x_real, x_fake: (B, d) on D's device; method: one of
    METHODS; lam: the penalty weight (wgan-gp only); gen: the random generator eps is drawn
    from (wgan-gp only), after the caller's draws of x_real and x_fake.
    Returns: a dict of 0-d device arrays: critic_loss, w_estimate = mean f(x_real) - mean
    f(x_fake), and for wgan-gp penalty and grad_norm (the mean ||grad_x f(x_hat)||).
    """
    D.spectral_normalise()                                 # W_hat = W / sigma(W); no-op unless SN
    D.zero_grad()
    f_real, c_real = D.forward(x_real)                                          # (B, 1)
    f_fake, c_fake = D.forward(x_fake)
    if method == "gan":
        loss, d_real, d_fake = gan_discriminator_loss(f_real, f_fake)
    else:
        loss, d_real, d_fake = wasserstein_critic_loss(f_real, f_fake)
    D.backward(d_real, c_real)                                                  # dW += dL/dW
    D.backward(d_fake, c_fake)
    out = {"critic_loss": loss, "w_estimate": f_real.mean() - f_fake.mean()}
    if method == "wgan-gp":
        eps = gen.random((x_real.shape[0], 1), dtype=D.dtype)                  # per example
        x_hat = eps * x_real + (1 - eps) * x_fake                               # (B, d)
        out["penalty"], norms = D.gradient_penalty(x_hat, lam)    # dW += d(penalty)/dW
        out["grad_norm"] = norms.mean()
    D.spectral_backward()                                  # dL/dW_hat -> dL/dW (no-op unless SN)
    return out


def update_critic(D, opt, method, clip):
    """With D.grads filled: one optimiser step, then (wgan) every parameter clipped to [-clip,
    clip]. Returns ||grad||^2 (a 0-d device array), the number the training log records."""
    grad_sq = D.grads @ D.grads
    opt.step(D.params, D.grads)
    if method == "wgan":
        clip_weights(D.params, clip)                                   # w <- clip(w, -c, c)
    return grad_sq


def fit_critic(D, opt, draw, steps, method="wgan-gp", lam=10.0, clip=0.01, seed=0):
    """Train the critic alone, against FIXED real and fake distributions (no generator steps),
    as the WGAN-GP paper's Figure 1 does: ``steps`` critic updates, update t on the batch
    ``draw(gen) -> (x_real, x_fake)`` (each (B, d)) with ``gen = backend.rng(D.xp, seed,
    "critic", t)``. The same loss and update as a Trainer's critic step (``critic_gradients``,
    ``update_critic``). Returns the last step's dict (critic_loss, w_estimate, ...)."""
    if method not in METHODS:
        raise ValueError("method must be one of %s, got %r" % (METHODS, method))
    if (method == "wgan-sn") != (D.sn is not None):
        raise ValueError("method %r needs a critic %s spectral normalisation: build it with "
                         "MLP(..., spectral_norm=%s)" % (method, "with" if method == "wgan-sn"
                                                         else "without",
                                                         method == "wgan-sn"))
    out = {}
    for t in range(steps):
        gen = backend.rng(D.xp, seed, "critic", t)
        x_real, x_fake = draw(gen)
        out = critic_gradients(D, x_real, x_fake, method, lam, gen)
        out["critic_grad_sq"] = update_critic(D, opt, method, clip)
    return out


class Trainer:
    """Holds the two networks, their optimisers and the iteration count; runs the loops.

    Attributes: cfg, xp, G (latent -> d), D (d -> 1) with d = data.DATASETS[cfg.dataset] (2,
    or 64 for the digits), opt_g, opt_d, t (generator iterations done), history (list of dicts,
    one per logged iteration).
    """

    def __init__(self, cfg):
        self.cfg = cfg = cfg.validate()
        self.xp = backend.array_module(cfg.device)
        hidden = [cfg.width] * cfg.depth
        common = dict(activation=cfg.activation, dtype=cfg.dtype, device=cfg.device,
                      check_finite=False)
        d = data.DATASETS[cfg.dataset]               # 2 for the toys, 64 for the digits
        self.G = MLP([cfg.latent] + hidden + [d], seed=cfg.seed * 2 + 1, **common)
        self.D = MLP([d] + hidden + [1], spectral_norm=(cfg.method == "wgan-sn"),
                     seed=cfg.seed * 2 + 2, **common)
        opt = cfg.optimizer or ("rmsprop" if cfg.method == "wgan" else "adam")
        hyper = dict(betas=cfg.betas) if opt == "adam" else {}
        self.opt_d = make_optimizer(opt, lr=cfg.lr_d, **hyper)
        self.opt_g = make_optimizer(opt, lr=cfg.lr_g, **hyper)
        self.t = 0
        self.history = []

    # ---- one step each ---------------------------------------------------------------------
    def _fake(self, gen, n):
        z = gen.standard_normal((n, self.cfg.latent), dtype=self.G.dtype)       # (n, latent)
        return self.G(z)                                                        # (n, d)

    def critic_step(self, t, k):
        """One critic update. Returns a dict of 0-d device arrays (loss, w_estimate, ...).

        With ``cfg.fast`` and a piecewise-linear activation, ``fast.critic_step`` computes the same
        numbers in fused products; the code below is the readable derivation it is tested against.
        """
        if fast.applies(self):
            return fast.critic_step(self, t, k)
        cfg = self.cfg
        gen = backend.rng(self.xp, cfg.seed, "critic", t, k)
        x_real = data.sample(cfg.dataset, cfg.batch, gen, self.D.dtype)         # (B, d)
        x_fake = self._fake(gen, cfg.batch)                                     # (B, d)
        return self.critic_update(critic_gradients(self.D, x_real, x_fake, cfg.method, cfg.lam,
                                                   gen))

    def critic_update(self, out):
        """With D.grads filled: the optimiser step and the clipping (``update_critic``), and
        ||grad||^2 recorded in ``out``. Shared by the plain and the fast critic step."""
        out["critic_grad_sq"] = update_critic(self.D, self.opt_d, self.cfg.method, self.cfg.clip)
        return out

    def generator_step(self, t):
        """One generator update through the critic. Returns {'gen_loss', 'gen_grad_sq'}."""
        if fast.applies(self):
            return fast.generator_step(self, t)
        cfg, G, D = self.cfg, self.G, self.D
        gen = backend.rng(self.xp, cfg.seed, "gen", t)
        z = gen.standard_normal((cfg.batch, cfg.latent), dtype=G.dtype)         # (B, latent)
        D.spectral_normalise()
        G.zero_grad()
        x_fake, g_cache = G.forward(z)                                          # (B, d)
        f_fake, d_cache = D.forward(x_fake)                                     # (B, 1)
        if cfg.method == "gan":
            loss, d_fake = gan_generator_loss(f_fake, cfg.gan_loss)
        else:
            loss, d_fake = wasserstein_generator_loss(f_fake)
        dx_fake = D.backward(d_fake, d_cache, param_grads=False)                # (B, d)
        G.backward(dx_fake, g_cache)
        self.opt_g.step(G.params, G.grads)
        return {"gen_loss": loss, "gen_grad_sq": G.grads @ G.grads}

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
    def train(self, iters=None, progress=None, on_log=None):
        """Run until ``iters`` generator iterations are done in total (default cfg.iters).

        Every ``log_every`` iterations (and at the end): the numbers are brought to the host,
        checked (NaN/inf raises TrainingDiverged naming the iteration and the quantity), appended
        to ``history``, and passed to ``on_log(trainer, row)``; ``progress(row)`` prints.
        On the CPU the check runs every iteration (it costs nothing there); on a device it
        runs at the log steps, so the host and the device sync only then.
        """
        cfg = self.cfg
        iters = cfg.iters if iters is None else iters
        start, t0 = self.t, time.perf_counter()
        check_every = 1 if cfg.device == "cpu" else cfg.log_every
        while self.t < iters:
            out = self.step()
            logging = self.t % cfg.log_every == 0 or self.t == iters
            if logging or self.t % check_every == 0:
                row = {k: float(v) for k, v in out.items()}
                bad = [k for k, v in row.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingDiverged(
                        "training diverged at generator iteration %d: %s became %s. Try a "
                        "smaller learning rate (lr_d, lr_g), a larger lam, or dtype float64."
                        % (self.t, " and ".join(bad), row[bad[0]]))
            if logging:
                elapsed = time.perf_counter() - t0
                row.update(iter=self.t, seconds=elapsed,
                           it_per_s=(self.t - start) / max(elapsed, 1e-9))
                if cfg.eval_every and (self.t % cfg.eval_every == 0 or self.t == iters):
                    row.update(self.evaluate(cfg.curve_n))
                self.history.append(row)
                if progress is not None:
                    progress(row, iters)
                if on_log is not None:
                    on_log(self, row)
        return self.history

    # ---- evaluation ----------------------------------------------------------------------------
    def sample(self, n, seed_stream=("sample",)):
        """n generated points (n, d) on the device, from a fixed stream."""
        return self._fake(backend.rng(self.xp, self.cfg.seed, *seed_stream), n)

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
        if cfg.dataset in ("8gaussians", "25gaussians"):
            out.update(metrics.mode_coverage(fake, data.centres(cfg.dataset),
                                             data.mode_std(cfg.dataset)))
        return out

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_arrays(self):
        """Everything a resume needs, as named arrays: both networks' parameters, the critic's
        spectral-norm vectors, both optimisers' state. (No random-generator state is needed:
        the draws are counter-based.)"""
        arrays = {"G/params": self.G.params, "D/params": self.D.params}
        if self.D.sn is not None:
            arrays.update({"D/sn_u%d" % l: u for l, u in enumerate(self.D.sn.u)})
        for name, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            arrays.update({"%s/%s" % (name, k): v for k, v in opt.state_dict().items()})
        return arrays

    def save_checkpoint(self, path):
        """Write the state atomically to ``path`` (.npz, no pickle)."""
        checkpoint.save(path, self.state_arrays(),
                        {"config": dataclasses.asdict(self.cfg), "t": self.t})

    @classmethod
    def from_checkpoint(cls, path, device=None):
        """A Trainer restored from ``save_checkpoint``'s file, optionally on another device."""
        arrays, meta = checkpoint.load(path)
        try:
            fields = dict(meta["config"])
            t = int(meta["t"])
        except (KeyError, TypeError, ValueError):
            raise checkpoint.CheckpointError(
                "%s: not a tinywgan training checkpoint (its meta has no config and t); it was "
                "written by something else" % path) from None
        if device is not None:
            fields["device"] = device
        try:
            trainer = cls(make_config(**fields))
        except (TypeError, ValueError) as e:
            raise checkpoint.CheckpointError("%s: its config is not valid here: %s" % (path, e))
        expected = {k: v.shape for k, v in trainer.state_arrays().items()
                    if not k.endswith("/t")}
        opt_names = {k for k in arrays if k.startswith(("opt_d/", "opt_g/"))}
        expected.update({k: arrays[k].shape for k in opt_names})    # checked by the optimiser
        checkpoint.check_arrays(arrays, expected, where=str(path))
        xp = trainer.xp
        trainer.G.params[...] = xp.asarray(arrays["G/params"])
        trainer.D.params[...] = xp.asarray(arrays["D/params"])
        if trainer.D.sn is not None:
            trainer.D.sn.u = [xp.asarray(arrays["D/sn_u%d" % l]) for l in range(trainer.D.L)]
        for name, opt in (("opt_d", trainer.opt_d), ("opt_g", trainer.opt_g)):
            state = {k.split("/", 1)[1]: arrays[k] for k in opt_names if k.startswith(name)}
            try:
                opt.load_state_dict({k: v if k == "t" else xp.asarray(v)
                                     for k, v in state.items()})
            except ValueError as e:
                raise checkpoint.CheckpointError("%s: %s" % (path, e)) from None
        trainer.t = t
        return trainer
