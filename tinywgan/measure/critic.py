"""A critic trained alone, against fixed real and fake distributions, to measure what it learns
(the WGAN-GP paper's Figure 1, the lessons' optimal critics): the Trainer's own critic step
(``core.steps.critic_grads`` and ``update_critic``) in a loop with no generator steps."""
from .. import backend, validate
from ..core.steps import INTERPOLATING, check_method, critic_grads, orthonormalise, update_critic


def fit_critic(D, opt, draw, n_steps, method="wgan-gp", lam=10.0, clip=0.01, seed=0,
               lr_decay=False, on_step=None, r1=0.0, r2=0.0):
    """Train the critic D alone for ``n_steps`` updates against FIXED distributions.

    Update t = 0..n_steps-1 draws ``x_real, x_fake = draw(rng)`` (each (B, d)) and then, for
    wgan-gp and wgan-lp, eps: (B, 1), from ``rng = backend.rng(D.xp, seed, "critic", t)``;
    ``critic_grads`` fills D.grads, ``update_critic`` steps ``opt`` (and clips).
    lr_decay: the learning rate falls linearly from ``opt.lr`` to 0 over the steps.
    on_step: None, or ``on_step(t + 1, out)`` after each update (t + 1 updates done; ``out`` is
    critic_grads's dict), e.g. to measure the critic as it learns.
    r1, r2: gamma of the zero-centred penalties (``critic_grads``; 0: off).
    Returns the last update's dict (critic_loss, w_estimate, ...).
    """
    check_method("fit_critic", D, method)
    n_steps = validate.count("fit_critic: n_steps", n_steps, low=0)
    if method == "wgan-gs":
        orthonormalise(D, start=True)
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
