"""What a run depends on: the Config, the defaults per dataset and per method, the presets.

``make_config(preset=None, **fields)`` builds a validated Config: a preset's fields, or the
defaults for the dataset and then for the method, and the fields given over them. The training
loops that read it are in ``tinywgan.job.training`` (which re-exports these names).
"""
import dataclasses
from dataclasses import dataclass
from typing import Tuple

from .. import backend, validate
from ..measure import data
from ..core.mlp import get_activation
from ..core.optim import OPTIMIZERS
from ..core.steps import GAN_LOSSES, METHODS


def default_optimizer(method):
    """The optimizer a method trains with unless told otherwise: RMSProp for the clipped WGAN
    (momentum was reported to destabilise it, Arjovsky et al. 2017), Adam for every other."""
    return "rmsprop" if method == "wgan" else "adam"


#: Upper bounds, checked by ``Config.validate`` before anything is built, of what the memory
#: check (``preflight``, arithmetic on width, batch, eval_n...) cannot see: depth 10^6 of width 1
#: holds few numbers but a million layer objects (3.4 GB of them, built before a checkpoint's
#: arrays were compared), and 10^30 iterations train for ever. Far beyond a teaching run.
LIMITS = {"iters": 10 ** 9, "depth": 1024, "n_critic": 10 ** 4}
#: The smallest positive slope of 'leaky_relu:SLOPE' (0 is allowed: ReLU).
LEAKY_SLOPE_MIN = 1e-6


@dataclass
class Config:
    """Everything a run depends on. ``PRESETS`` holds named starting points."""
    method: str = "wgan-gp"           # one of METHODS
    dataset: str = "8gaussians"       # a name in data.DATASETS (the 2-D toys, or 'digits')
    iters: int = 8000                 # generator iterations
    batch: int = 256
    n_critic: int = 1                 # critic steps per generator step
    width: int = 128                  # hidden width of both networks
    depth: int = 3                    # hidden layers of both networks
    activation: str = "relu"
    latent: int = 2                   # z ~ N(0, I_latent)
    lam: float = 1.0                  # gradient-penalty weight (wgan-gp, wgan-lp)
    r1: float = 0.0                   # gamma of R1 = (gamma/2) E||grad f||^2 on real points
    r2: float = 0.0                   # gamma of R2, the same on generated points (0: off)
    clip: float = 0.01                # weight-clipping bound (wgan)
    optimizer: str = ""               # '' = the method's own (default_optimizer)
    lr_d: float = 2e-3
    lr_g: float = 2e-3
    betas: Tuple[float, float] = (0.5, 0.9)
    lr_decay: bool = True             # linear decay of both learning rates to 0 over `iters`
    ema: float = 0.0                  # decay of the generator weights' moving average, which
                                      # samples (TrainingJob.update_ema; 0: the last iterate)
    warmup: bool = False              # wgan: 100 critic steps for t < 25 and every 500th t
    gan_loss: str = "nonsaturating"   # gan: the generator's loss (steps.GAN_LOSSES)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    log_every: int = 100              # check, print and append to history.jsonl
    checkpoint_every: int = 0         # the main job's checkpoint (0: at every log step; else a
                                      # multiple of log_every)
    eval_every: int = 0               # evaluate every so many iterations (0: only at the end)
    curve_n: int = 500                # points per evaluation during training (cheap)
    eval_n: int = 2500                # points of the final evaluation
    fast: bool = True                 # the fused steps (tinywgan/fast.py) where they apply
    threads: object = 1               # BLAS threads of the session that wrote this (0: the
                                      # BLAS library's default; "auto": one or every core,
                                      # whichever is faster, chosen as it runs: threads.Chooser);
                                      # speed only, never a number (tinywgan.threads)

    def validate(self):
        """Refuse bad hyperparameters before any training, naming the field and the value."""
        try:
            validate.choice("method", self.method, METHODS)
            validate.choice("dataset", self.dataset, tuple(data.DATASETS))
            for name in ("iters", "batch", "n_critic", "width", "depth", "latent", "log_every",
                         "curve_n", "eval_n"):
                validate.count(name, getattr(self, name))
            for name, high in LIMITS.items():
                if getattr(self, name) > high:
                    raise ValueError("%s must be at most %d, got %r (a bound checked before "
                                     "anything is built)" % (name, high, getattr(self, name)))
            validate.count("eval_every", self.eval_every, low=0)
            if self.threads != "auto":
                validate.count("threads", self.threads, low=0)
            if validate.count("checkpoint_every", self.checkpoint_every, low=0) % self.log_every:
                raise ValueError("checkpoint_every must be a multiple of log_every (%d): a "
                                 "checkpoint is written at a log step, once the numbers are "
                                 "checked finite; got %d" % (self.log_every,
                                                             self.checkpoint_every))
            validate.count("seed", self.seed, low=0)
            for name in ("lr_d", "lr_g", "clip"):
                validate.number(name, getattr(self, name), low=0, low_open=True)
            for name in ("lam", "r1", "r2"):
                validate.number(name, getattr(self, name), low=0)
            if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
                raise ValueError("betas must be two numbers in [0, 1), got %r" % (self.betas,))
            for b in self.betas:
                validate.number("betas", b, low=0, high=1, high_open=True)
            validate.number("ema", self.ema, low=0, high=1, high_open=True)
            validate.choice("gan_loss", self.gan_loss, GAN_LOSSES)
            if self.optimizer:
                validate.choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
            validate.choice("device", self.device, backend.DEVICES)
            validate.choice("dtype", self.dtype, tuple(backend.DTYPES))
            slope = getattr(get_activation(self.activation), "slope", None)
            if slope is not None and 0 < slope < LEAKY_SLOPE_MIN:
                raise ValueError("activation %r: a leaky_relu slope is 0 or in [%g, 1), got %r "
                                 "(a smaller one is lost in float32 rounding, or flushed to 0 "
                                 "as a subnormal on a GPU)" % (self.activation, LEAKY_SLOPE_MIN,
                                                               slope))
        except (TypeError, ValueError) as e:
            raise ValueError("config: %s" % e) from None
        return self


#: The defaults (``Config()``) were tuned for WGAN-GP on 8gaussians on a 2-core CPU: a small
#: network (width 128), one critic step per generator step, lam 1 and a learning rate of 2e-3
#: decayed linearly to 0 reach 8/8 modes and >= 95 % high-quality samples in about 30 s, where
#: the reference settings (``gan_toy``) reach 47 % after 100 s. The 25-mode grid needs a longer
#: schedule and no Adam momentum (beta1 = 0: with 0.5 the generator's long runs collapsed).
#: The 64-pixel digits take the WGAN-GP paper's image settings (five critic steps, lam 10,
#: Adam betas (0.5, 0.9)) with MLPs of width 256 and a learning rate of 1e-3: W1 within 5 % of
#: its real-vs-real floor in 8000 iterations, about 80 s (demos/13_digits.py).
#: The literature's unscaled ring (8gaussians shrunk by 1.414) and grid (25gaussians grown by
#: 2.828), ``python -m tinywgan table``: a learning rate of 4e-3 and 12000 iterations, about
#: 50 s each on one core. Measured for WGAN-GP by ``train``'s final evaluation over seeds 0 and
#: 1: ring 98.3 / 98.4 % high quality (the defaults: 95.9 / 95.6; 14000 iterations at 2e-3:
#: 97.3 / 97.6), grid 93.4 / 93.2 % (16000 iterations at 2e-3, 66 s: 94.2 / 92.0; Adam betas
#: (0.5, 0.9): collapse). The table scores other draws of 2500 samples over seeds 0-4: ring
#: 97.7 +- 0.3 %, grid 92.8 +- 0.7 %.
#: ``make_config`` applies these unless the field is given or a preset is chosen.
DATASET_DEFAULTS = {
    "25gaussians": dict(iters=16000, betas=(0.0, 0.9)),
    "ring": dict(iters=12000, lr_d=4e-3, lr_g=4e-3),
    "grid": dict(iters=12000, lr_d=4e-3, lr_g=4e-3, betas=(0.0, 0.9)),
    "digits": dict(n_critic=5, lam=10.0, width=256, depth=2, latent=32, batch=64, lr_d=1e-3,
                   lr_g=1e-3, betas=(0.5, 0.9)),
}

#: RpGAN's R1 and R2 (Huang et al. 2024 train RpGAN with both, "R3GAN"): the paper's
#: (gamma/2)(R1 + R2) is r1 = r2 = gamma (``steps``). gamma 0.1: the GAN + R1 row's on the ring
#: (``protocol.R1_GAMMA``), whose mode std 0.01 is near 8gaussians' 0.014; R1 fights the slopes
#: a critic needs to resolve so narrow a mode (gamma 10 there: 2/8 modes).
RPGAN_GAMMA = 0.1

#: The other Lipschitz methods do not thrive on WGAN-GP's settings: one critic step leaves a
#: clipped or spectrally normalised critic too weak (3/8 modes), and RMSProp at 2e-3 kills the
#: clipped critic. Five critic steps (the WGAN papers' n_critic) with a smaller learning rate
#: and 3000 iterations reach 8/8 on 8gaussians in about 40 s. These win over DATASET_DEFAULTS;
#: a given field or a preset wins over both.
METHOD_DEFAULTS = {
    "wgan": dict(n_critic=5, lr_d=5e-4, lr_g=5e-4, iters=3000),
    "wgan-sn": dict(n_critic=5, lr_d=1e-3, lr_g=1e-3, iters=3000),
    "wgan-gs": dict(n_critic=5, lr_d=1e-3, lr_g=1e-3, iters=3000),
    "rpgan": dict(r1=RPGAN_GAMMA, r2=RPGAN_GAMMA),
}

#: Named starting points: the reference toy settings (gan_toy.py) and the WGAN paper's.
PRESETS = {
    "gan_toy": dict(width=512, depth=3, lam=0.1, n_critic=5, batch=256, lr_d=1e-4, lr_g=1e-4,
                    betas=(0.5, 0.9), lr_decay=False, iters=100000, latent=2),
    "wgan_paper": dict(method="wgan", optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5, clip=0.01,
                       batch=64, n_critic=5, lr_decay=False, warmup=True),
}


def make_config(preset=None, **overrides):
    """A Config from a preset name (or None for the defaults) and field overrides (None values
    are ignored). Without a preset, ``DATASET_DEFAULTS[dataset]`` and then
    ``METHOD_DEFAULTS[method]`` fill the fields not given."""
    if preset is not None and preset not in PRESETS:
        raise ValueError("unknown preset %r; expected one of %s" % (preset, sorted(PRESETS)))
    given = {k: v for k, v in overrides.items() if v is not None}
    if preset is not None:
        fields = dict(PRESETS[preset])
    else:
        fields = dict(DATASET_DEFAULTS.get(given.get("dataset", Config.dataset), {}))
        fields.update(METHOD_DEFAULTS.get(given.get("method", Config.method), {}))
    fields.update(given)
    unknown = set(fields) - {f.name for f in dataclasses.fields(Config)}
    if unknown:
        raise ValueError("unknown config fields %s" % sorted(unknown))
    if "betas" in fields:
        fields["betas"] = tuple(fields["betas"])
    return Config(**fields).validate()
