r"""The main job's trainer: the core loop (``tinywgan.core.steps.Trainer``) with its parts built
from a Config, and what the job adds around it: evaluation, sampling, checkpoints.

    job = TrainingJob(make_config(dataset="ring"))     # builds G, D, their optimizers, the steps
    job.train()                                        # cfg.iters iterations, evaluated at the end
    job.save_checkpoint("c.npz"); TrainingJob.from_checkpoint("c.npz")

``build_parts(cfg)`` is the one place where a Config becomes networks and optimizers, and where
the plain steps (``tinywgan/core/steps.py``, the derivation) or the fused ones
(``tinywgan/fast.py``: the same numbers in fewer, larger products, for ReLU-family networks) are
chosen.
"""
import dataclasses

import numpy as np

from .. import backend, fast, threads
from ..core import steps
from ..core.steps import Trainer, TrainingDiverged
from ..core.mlp import MLP
from ..core.optim import make_optimizer
from ..measure import data, metrics
from . import checkpoint, preflight, resume
from .config import (DATASET_DEFAULTS, METHOD_DEFAULTS, METHODS, PRESETS, Config,
                     default_optimizer, make_config)

__all__ = ["Config", "DATASET_DEFAULTS", "METHOD_DEFAULTS", "METHODS", "PRESETS", "TrainingJob",
           "TrainingDiverged", "build_parts", "make_config"]


def build_parts(cfg):
    """The parts a Trainer takes, built from a validated Config: (G, D, opt_g, opt_d, step_fns).

    G: latent -> width x depth -> d, D: d -> width x depth -> 1 (spectral norm for wgan-sn,
    GroupSort for wgan-gs), d = data.DATASETS[cfg.dataset] (2 for the toys, 64 for the
    digits); the optimizers of the method (``default_optimizer``) unless cfg.optimizer names
    one; the fused steps where they apply (``fast.applies``) and cfg.fast, else the plain ones.
    Same numbers either way (tests/test_fast.py); cfg.fast=False (--no-fast) keeps the plain
    ones everywhere.
    """
    preflight.check_memory(preflight.estimate(cfg)[:1])  # the networks, before allocating
    hidden = [cfg.width] * cfg.depth
    common = dict(activation=cfg.activation, dtype=cfg.dtype, device=cfg.device,
                  check_finite=False)
    d = data.DATASETS[cfg.dataset]
    G = MLP([cfg.latent] + hidden + [d], seed=cfg.seed * 2 + 1, **common)
    D = MLP([d] + hidden + [1], spectral_norm=(cfg.method == "wgan-sn"), seed=cfg.seed * 2 + 2,
            **dict(common, activation="groupsort") if cfg.method == "wgan-gs" else common)
    opt = cfg.optimizer or default_optimizer(cfg.method)
    hyper = dict(betas=cfg.betas) if opt == "adam" else {}
    opt_g = make_optimizer(opt, lr=cfg.lr_g, **hyper)
    opt_d = make_optimizer(opt, lr=cfg.lr_d, **hyper)
    step_fns = fast.FusedSteps() if cfg.fast and fast.applies(cfg.method, G, D) else steps
    return G, D, opt_g, opt_d, step_fns


class TrainingJob(Trainer):
    """A Trainer whose parts come from a Config (``build_parts``), with the job's evaluation
    and checkpoints.

    Attributes (besides the Trainer's): cfg; changed ({field: (saved, now)}, what
    ``from_checkpoint`` changed on resume); G_ema (cfg.ema > 0: a generator holding the moving
    average of G's weights, ``update_ema``, which ``sample`` draws from; else None); chooser
    (cfg.threads "auto" on the CPU with threadpoolctl installed: the ``threads.Chooser`` that
    picks one BLAS thread or every core for each iteration; else None).
    """

    def __init__(self, cfg):
        self.cfg = cfg = cfg.validate()
        G, D, opt_g, opt_d, step_fns = build_parts(cfg)
        dtype = D.dtype
        super().__init__(G, D, opt_g, opt_d,
                         real=lambda n, rng: data.sample(cfg.dataset, n, rng, dtype),
                         step_fns=step_fns, method=cfg.method, lam=cfg.lam, r1=cfg.r1,
                         r2=cfg.r2, clip=cfg.clip, gan_loss=cfg.gan_loss, batch=cfg.batch,
                         n_critic=cfg.n_critic, seed=cfg.seed, warmup=cfg.warmup,
                         lr_decay_iters=cfg.iters if cfg.lr_decay else 0)
        self.changed = {}
        self.G_ema = None
        if cfg.ema:
            self.G_ema = MLP(G.widths, activation=G.act, dtype=G.dtype, device=G.device,
                             check_finite=False)
            self.G_ema.params[...] = G.params
        blas = threads.blas_controller() if cfg.threads == threads.AUTO and \
            cfg.device == "cpu" else None
        self.chooser = threads.Chooser(blas) if blas is not None else None

    def step(self):
        """The Trainer's iteration (at the BLAS threads ``chooser`` picks, where there is one),
        then the moving average's (``update_ema``)."""
        out = super().step() if self.chooser is None else self.chooser.run(super().step)
        if self.G_ema is not None:
            self.update_ema()
        return out

    def update_ema(self):
        r"""The moving average of the generator's weights (Yazici et al. 2019, "The Unusual
        Effectiveness of Averaging in GAN Training"), after iteration t (self.t = t done):

            theta_ema <- theta_ema + (1 - beta_t) (theta - theta_ema),
            beta_t = min(cfg.ema, (1 + t) / (10 + t))                     theta, theta_ema: (P,)

        from theta_ema = theta at initialisation. The ramp (1 + t) / (10 + t) averages over the
        last (10 + t) / 9 or so iterations until it reaches cfg.ema, whose horizon is about
        1 / (1 - cfg.ema) iterations: a short run is not pulled back to its random start."""
        beta = min(self.cfg.ema, (1 + self.t) / (10 + self.t))
        self.G_ema.params += (1 - beta) * (self.G.params - self.G_ema.params)

    def describe_steps(self):
        """Which implementation computes this trainer's gradients, for a person."""
        if self.step_fns is steps:
            return "plain steps (tinywgan/core/steps.py)"
        return "fused steps (tinywgan/fast.py; the plain ones: tinywgan/core/steps.py)"

    def train(self, iters=None, progress=None, on_log=None, stop=None):
        """The core loop (``Trainer.train``) for ``iters`` (default cfg.iters) iterations,
        logging every cfg.log_every; at a log step every cfg.eval_every iterations (and at the
        end, if eval_every) the row gets ``evaluate(cfg.curve_n)``; then ``progress(row, iters)``
        prints and ``on_log(job, row)`` (the run folder) saves."""
        cfg = self.cfg
        iters = cfg.iters if iters is None else iters

        def log(job, row):
            if cfg.eval_every and (job.t % cfg.eval_every == 0 or job.t == iters):
                row.update(job.evaluate(cfg.curve_n))
            if progress is not None:
                progress(row, iters)
            if on_log is not None:
                on_log(job, row)
        return super().train(iters, cfg.log_every, on_log=log, stop=stop)

    # ---- evaluation ----------------------------------------------------------------------------
    def sample(self, n, seed_stream=("sample",)):
        """n generated points (n, d) on the device, from a fixed stream, by the trained
        generator: the moving average G_ema if cfg.ema, else G."""
        rng = backend.rng(self.xp, self.cfg.seed, *seed_stream)
        G = self.G if self.G_ema is None else self.G_ema
        return G(rng.standard_normal((n, self.cfg.latent), dtype=G.dtype))

    def evaluate(self, n=None, floor_pairs=1):
        """Exact W1 between n generated and n real points, the real-vs-real floor at the same n
        (the mean over ``floor_pairs`` independent real sets: one pair's floor varies by a
        factor of two between seeds), and mode coverage. Host-side; returns a dict. The
        1 + floor_pairs assignments run side by side, one per core (``metrics.w1_exact_pairs``).

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
        w1, *floors = metrics.w1_exact_pairs([(fake, ref)] + [(real(k), ref) for k in
                                                               range(1, floor_pairs + 1)])
        out = {"w1": w1, "w1_floor": float(np.mean(floors)), "eval_n": n}
        if cfg.dataset in data.MIXTURES:
            out.update(metrics.mode_coverage(fake, data.centres(cfg.dataset),
                                             data.mode_std(cfg.dataset)))
        return out

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_arrays(self):
        """Everything a resume needs, as named arrays: both networks' parameters, the moving
        average's, the critic's spectral-norm vectors, both optimizers' state. (No
        random-generator state is needed: the draws are counter-based.)"""
        arrays = {"G/params": self.G.params, "D/params": self.D.params}
        if self.G_ema is not None:
            arrays["G_ema/params"] = self.G_ema.params
        if self.D.sn is not None:
            arrays.update({"D/sn_u%d" % l: u for l, u in enumerate(self.D.sn.u)})
        for name, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            arrays.update({"%s/%s" % (name, k): v for k, v in opt.state_dict().items()})
        return arrays

    def save_checkpoint(self, path):
        """Write the state atomically to ``path`` (.npz, no pickle; ``tinywgan.job.resume`` lists
        what it holds)."""
        checkpoint.save(path, self.state_arrays(), {"config": dataclasses.asdict(self.cfg),
                                                    "t": self.t, "seconds": self.seconds})

    @classmethod
    def from_checkpoint(cls, path, device=None, changes=None):
        """A Trainer restored from ``save_checkpoint``'s file, checked whole first
        (``tinywgan.job.resume``). ``device``: run it on another device; ``changes``: a dict field
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
