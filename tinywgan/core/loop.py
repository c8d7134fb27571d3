r"""The training loop: a Trainer that takes its parts (the two networks, their optimizers, the
step functions, where the real data come from) and loops; ``fit_critic``, the critic alone.

One generator iteration t (Arjovsky et al. 2017, Algorithm 1; Gulrajani et al. 2017, Alg. 1):

    repeat n_critic times (k = 0..n_critic-1):                          # Trainer.critic_step
        x_real ~ P_r,  z ~ N(0, I),  x_fake = G(z),  eps ~ U[0, 1] per example   (B rows each)
        D.grads <- grad_w L_D(x_real, x_fake, eps)          steps.critic_grads (L_D per method,
                                                            + R1, R2 where r1, r2 > 0)
        w <- optimizer step (wgan: then clip into [-c, c])  steps.update_critic
    z ~ N(0, I)                                                        # Trainer.generator_step
    G.grads <- grad_theta L_G(z)                            steps.generator_grads
    theta <- optimizer step

Randomness is counter-based: the draws of critic step (t, k) come from
``backend.rng(xp, seed, "critic", t, k)`` (x_real, then z, then eps) and those of the generator
step from ``(seed, "gen", t)``. A resumed run therefore needs no random-generator state:
restarting at iteration t draws exactly what the uninterrupted run drew.

The parts come from the caller (as in GAN_stability's ``Trainer(generator, discriminator,
g_optimizer, d_optimizer, ...)``): ``tinywgan.job.training`` builds them from a Config for the
main job; a lesson builds its own.
"""
import math
import time

from .. import backend, validate
from . import steps
from .steps import INTERPOLATING, METHODS, critic_grads, update_critic


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or inf: ``iteration`` (generator iterations done),
    ``quantities`` (the names of the numbers that did) and ``value`` (the first one's) say
    where."""

    def __init__(self, iteration, quantities, value):
        self.iteration, self.quantities, self.value = iteration, quantities, value
        super().__init__("training diverged at generator iteration %d: %s became %s. Try a "
                         "smaller learning rate (lr_d, lr_g), a larger lam, or dtype float64."
                         % (iteration, " and ".join(quantities), value))


def _check_critic(where, D, method):
    """The door's check that a critic fits its method (spectral norm iff wgan-sn)."""
    validate.choice(where + ": method", method, METHODS)
    if (method == "wgan-sn") != (D.sn is not None):
        raise ValueError("%s: method %r needs a critic %s spectral normalisation: build it with "
                         "MLP(..., spectral_norm=%s)" % (where, method, "with" if method ==
                                                         "wgan-sn" else "without",
                                                         method == "wgan-sn"))


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
    _check_critic("fit_critic", D, method)
    n_steps = validate.count("fit_critic: n_steps", n_steps, low=0)
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
    """The two networks, their optimizers and the iteration count; runs the loop.

    Args:
        G: the generator MLP (latent -> d); D: the critic MLP (d -> 1), with spectral norm iff
            method is 'wgan-sn'.
        opt_g, opt_d: their optimizers (``tinywgan.core.optim``); their ``lr`` at construction
            is the learning rate the schedule starts from.
        real: ``real(n, rng) -> (n, d)`` real points on D's device and dtype, drawn from
            ``rng`` (``backend.rng``), e.g. ``lambda n, rng: data.sample("ring", n, rng, dt)``.
        step_fns: where the gradients are computed: the module ``tinywgan.core.steps`` (the
            derivation) or ``tinywgan.fast.FusedSteps()`` (the same functions, fused), anything
            with ``generate``, ``critic_grads`` and ``generator_grads`` of those signatures.
        method, lam, r1, r2, clip, gan_loss: the critic's loss (``steps.critic_grads``).
        batch, n_critic: rows per draw; critic steps per generator step.
        seed: the seed of every draw (module docstring). warmup: 100 critic steps for t < 25
            and every 500th t (the WGAN paper's schedule). lr_decay_iters: the learning rates
            fall linearly to 0 at this iteration (0: constant).

    Attributes: the arguments, ``xp`` (D's array module), ``t`` (generator iterations done),
    ``seconds`` (time spent in ``train``, over every session of a resumed run), ``history``
    (one dict per logged iteration).
    """

    def __init__(self, G, D, opt_g, opt_d, real, step_fns=steps, method="wgan-gp", lam=1.0,
                 r1=0.0, r2=0.0, clip=0.01, gan_loss="nonsaturating", batch=256, n_critic=1,
                 seed=0, warmup=False, lr_decay_iters=0):
        _check_critic("Trainer", D, method)
        if G.widths[-1] != D.widths[0] or D.widths[-1] != 1 or G.xp is not D.xp \
                or G.dtype != D.dtype:
            raise ValueError("Trainer: G must map to D's input and D to one number, on one "
                             "device and dtype; got G %s and D %s" % (G, D))
        self.G, self.D, self.opt_g, self.opt_d, self.real = G, D, opt_g, opt_d, real
        self.step_fns, self.method, self.gan_loss = step_fns, method, gan_loss
        self.lam, self.r1, self.r2, self.clip = lam, r1, r2, clip
        self.batch = validate.count("Trainer: batch", batch)
        self.n_critic = validate.count("Trainer: n_critic", n_critic)
        self.seed = validate.count("Trainer: seed", seed, low=0)
        self.warmup = validate.flag("Trainer: warmup", warmup)
        self.lr_decay_iters = validate.count("Trainer: lr_decay_iters", lr_decay_iters, low=0)
        self.lr_g, self.lr_d = opt_g.lr, opt_d.lr
        self.xp, self.latent = D.xp, G.widths[0]
        self.t, self.seconds, self.history = 0, 0.0, []

    # ---- one step each ---------------------------------------------------------------------
    def critic_step(self, t, k):
        """One critic update: draw, gradients, optimizer step. Returns a dict of 0-d device
        arrays (critic_loss, w_estimate, ..., critic_grad_sq)."""
        G, D, B = self.G, self.D, self.batch
        rng = backend.rng(self.xp, self.seed, "critic", t, k)
        x_real = self.real(B, rng)                                              # (B, d)
        z = rng.standard_normal((B, self.latent), dtype=G.dtype)                # (B, latent)
        eps = rng.random((B, 1), dtype=D.dtype) if self.method in INTERPOLATING else None
        D.power_iterate()                                       # SN: u, v one step; else no-op
        x_fake = self.step_fns.generate(G, z)                                   # (B, d)
        out = self.step_fns.critic_grads(D, x_real, x_fake, eps, self.method, self.lam,
                                         self.r1, self.r2)
        out["critic_grad_sq"] = D.grads @ D.grads
        update_critic(D, self.opt_d, self.method, self.clip)
        return out

    def generator_step(self, t):
        """One generator update through the critic. Returns {'gen_loss', 'gen_grad_sq'}."""
        G, D = self.G, self.D
        rng = backend.rng(self.xp, self.seed, "gen", t)
        z = rng.standard_normal((self.batch, self.latent), dtype=G.dtype)       # (B, latent)
        D.power_iterate()
        out = self.step_fns.generator_grads(G, D, z, self.method, self.gan_loss)
        out["gen_grad_sq"] = G.grads @ G.grads
        self.opt_g.step(G.params, G.grads)
        return out

    def critic_steps_at(self, t):
        """n_critic, or 100 during the WGAN reference warm-up (t < 25 and every 500th t)."""
        if self.warmup and (t < 25 or t % 500 == 0):
            return 100
        return self.n_critic

    def set_learning_rates(self, t):
        """Linear decay to 0 at ``lr_decay_iters`` (if not 0)."""
        frac = 1.0 - t / self.lr_decay_iters if self.lr_decay_iters else 1.0
        self.opt_d.lr = self.lr_d * frac
        self.opt_g.lr = self.lr_g * frac

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
    def train(self, iters, log_every=100, on_log=None, stop=None):
        """Run until ``iters`` generator iterations are done in total, or until ``stop()``
        (checked after every whole iteration) returns True.

        Every ``log_every`` iterations (and at the end) the numbers are brought to the host,
        checked (NaN/inf raises TrainingDiverged naming the iteration and the quantity), and
        appended to ``history`` as a dict, which ``on_log(trainer, row)`` then receives (and may
        add to). On the CPU the check runs every iteration (it costs nothing there); on a device
        only at the log steps, so the host and the device sync only then.
        A row's ``seconds`` is ``self.seconds``, the training time of every session so far.
        """
        iters = validate.count("Trainer.train: iters", iters, low=0)
        log_every = validate.count("Trainer.train: log_every", log_every)
        start, before, t0 = self.t, self.seconds, time.perf_counter()
        check_every = 1 if backend.device_name(self.xp) == "cpu" else log_every
        try:
            while self.t < iters:
                out = self.step()
                self.seconds = before + time.perf_counter() - t0
                logging = self.t % log_every == 0 or self.t == iters
                if logging or self.t % check_every == 0:
                    row = {k: float(v) for k, v in out.items()}
                    bad = [k for k, v in row.items() if not math.isfinite(v)]
                    if bad:
                        raise TrainingDiverged(self.t, bad, row[bad[0]])
                if logging:
                    row.update(iter=self.t, seconds=self.seconds, it_per_s=(self.t - start)
                               / max(self.seconds - before, 1e-9))
                    self.history.append(row)
                    if on_log is not None:
                        on_log(self, row)
                if stop is not None and stop():
                    break
        finally:
            if self.t > start:              # (a finished run resumed as it is: no time)
                self.seconds = before + time.perf_counter() - t0
        return self.history
