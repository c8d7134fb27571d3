"""Resuming a run: what a training checkpoint must hold before any of it is used, and which
settings a resumed run may change.

A training checkpoint (``TrainingJob.save_checkpoint``) is a ``tinywgan.job.checkpoint`` file with

    arrays  G/params, D/params: (P,) in the run's dtype; G_ema/params: (P,) like G's (the
            moving average of its weights, when config["ema"] > 0); D/sn_u<l>: (d_l,)
            (wgan-sn only);
            opt_d/<name>, opt_g/<name>: each optimizer's state_dict (t, a 0-d int, and once
            t > 0 its moment vectors, (P,) like the params)
    meta    {"config": the Config as a dict, "t": generator iterations done (an int >= 0,
            at most config["iters"]), "seconds": training time so far (>= 0)}

``read`` checks all of it (names, shapes, exact dtypes, finite numbers, the meta's ranges)
before a TrainingJob is built, so a bad file is refused with its name and what is wrong, never
cast, and never found out at the first step. The meta comes first: its config is validated
(``Config.validate`` bounds widths, depth and iterations) and ``expected_arrays`` derives from
it, by arithmetic alone, the names, shapes and dtypes the arrays may have, which
``checkpoint.load`` compares with the zip's .npy headers before it decompresses any array.

**What a resume may change.** The saved config is the default; ``changes`` (field -> value)
go over it. Everything that only steers the steps from here on may change: the length
(``iters``, to extend a finished run), the learning rates and their decay, lam, R1's and R2's
gammas (r1, r2), clip, betas, batch, n_critic, the warm-up, the GAN loss, the device, the BLAS
threads, and the cadences of logging, evaluation and checkpoints. What defines the state in the checkpoint may
not (``FIXED``): the networks' shapes (width, depth, latent, the dataset's dimension), the
activation, the method (spectral norm's vectors, the loss), the optimizer (its state), the
dtype, the seed (the draws of every iteration) and the moving average's decay (``ema``: its
weights are in the checkpoint, shaped by it). With no change the resumed run is bit-identical
to an uninterrupted one (``tests/job/test_train.py``): the draws are counter-based, the optimizers'
state is saved, and the learning rate is a function of t.
"""
import dataclasses
import math

import numpy as np

from . import checkpoint
from .checkpoint import CheckpointError
from .config import default_optimizer, make_config
from ..core.optim import make_optimizer
from ..measure import data

#: The fields a resumed run keeps from its checkpoint (the module docstring says why).
FIXED = ("method", "dataset", "width", "depth", "latent", "activation", "optimizer", "dtype",
         "seed", "ema")


def read(path, changes=None):
    """The checkpoint at ``path``, its meta checked, and the config a resumed run trains with.

    Inputs: path: the checkpoint file; changes: None or a dict field -> value (None values are
    ignored) to apply over the saved config (see ``resumed_config``).
    Returns (cfg, saved_cfg, arrays, t, seconds). Raises CheckpointError for a file that
    cannot be used, ValueError for a change that cannot be made.
    """
    found = []

    def expected(meta):
        found.extend(_saved(path, meta))
        return expected_arrays(found[0])
    arrays, meta = checkpoint.load(path, expected)
    saved, t, seconds = found
    return resumed_config(saved, changes, t), saved, arrays, t, float(seconds)


def _saved(path, meta):
    """(saved Config, t, seconds) from a checkpoint's meta, each checked."""
    if not isinstance(meta.get("config"), dict) or "t" not in meta:
        raise CheckpointError("%s: not a tinywgan training checkpoint (its meta has no config "
                              "and t); it was written by something else" % path)
    try:
        saved = make_config(**meta["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError("%s: its config is not valid here (%s); was it written by another "
                              "version of tinywgan?" % (path, e)) from None
    t, seconds = meta["t"], meta.get("seconds", 0.0)
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= saved.iters:
        raise CheckpointError("%s: its iteration count t = %r is not an int in [0, %d] (its "
                              "config's iters): the file is damaged" % (path, t, saved.iters))
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or \
            not math.isfinite(seconds) or seconds < 0:
        raise CheckpointError("%s: its training time %r is not a number >= 0: the file is "
                              "damaged" % (path, seconds))
    return saved, t, seconds


def expected_arrays(cfg):
    """{name: (shape, dtype)} of every array a training checkpoint of ``cfg`` may hold (the
    optimizers' moments only once t > 0; t: dtype None, any integer), computed without building
    anything: G and D's (P,) params as ``preflight.estimate`` counts them (the moving average's
    like G's), spectral norm's u_l (widths[l],), each optimizer's state."""
    dt = np.dtype(cfg.dtype)
    d = data.DATASETS[cfg.dataset]
    hidden = [cfg.width] * cfg.depth
    widths_g, widths_d = [cfg.latent] + hidden + [d], [d] + hidden + [1]
    sizes = {"G": sum(a * b + b for a, b in zip(widths_g[:-1], widths_g[1:])),
             "D": sum(a * b + b for a, b in zip(widths_d[:-1], widths_d[1:]))}
    out = {"G/params": ((sizes["G"],), dt), "D/params": ((sizes["D"],), dt)}
    if cfg.ema:
        out["G_ema/params"] = out["G/params"]
    if cfg.method == "wgan-sn":
        out.update({"D/sn_u%d" % l: ((n,), dt) for l, n in enumerate(widths_d[:-1])})
    name = _effective(cfg, "optimizer")
    state = make_optimizer(name, lr=cfg.lr_d, **(dict(betas=cfg.betas) if name == "adam"
                                                  else {}))._names
    for opt, net in (("opt_d", "D"), ("opt_g", "G")):
        out["%s/t" % opt] = ((), None)
        out.update({"%s/%s" % (opt, k): ((sizes[net],), dt) for k in state})
    return out


def resumed_config(saved, changes=None, t=0):
    """``saved`` (a Config) with ``changes`` (dict field -> value; None values ignored) applied,
    validated. Raises ValueError naming each FIXED field asked to change, or an ``iters`` below
    the ``t`` iterations already done."""
    given = {k: v for k, v in (changes or {}).items() if v is not None}
    cfg = make_config(**dict(dataclasses.asdict(saved), **given))
    refused = ["%s %s -> %s" % (k, _effective(saved, k), _effective(cfg, k)) for k in FIXED
               if _effective(saved, k) != _effective(cfg, k)]
    if refused:
        raise ValueError("a resumed run cannot change %s: the checkpoint's arrays and draws are "
                         "the run's; drop the flag, or train a new run in another folder"
                         % ", ".join(refused))
    if cfg.iters < t:
        raise ValueError("iters = %d is below the %d iterations this run has done (a run cannot "
                         "go back); give iters >= %d" % (cfg.iters, t, t))
    return cfg


def changed(saved, cfg):
    """{field: (saved value, new value)} for every field whose value in use differs."""
    pairs = {f.name: (_effective(saved, f.name), _effective(cfg, f.name))
             for f in dataclasses.fields(cfg)}
    return {k: pair for k, pair in pairs.items() if pair[0] != pair[1]}


def restore(trainer, arrays, t, seconds, path):
    """Check ``arrays`` against what a fresh ``trainer`` holds (names, shapes, exact dtypes,
    finite values, the optimizers' state against their params) and load them into it. Raises
    CheckpointError naming ``path`` and what is wrong."""
    state = trainer.state_arrays()
    expected = {k: v for k, v in state.items() if not k.startswith(("opt_d/", "opt_g/"))}
    opt_names = [k for k in arrays if k.startswith(("opt_d/", "opt_g/"))]
    expected.update({k: arrays[k] for k in opt_names})         # checked by the optimizers below
    checkpoint.check_arrays(arrays, expected, where=str(path))
    bad = ["%s (%d of %d)" % (k, (~np.isfinite(a)).sum(), a.size) for k, a in arrays.items()
           if a.dtype.kind == "f" and not np.isfinite(a).all()]
    if bad:
        raise CheckpointError("%s: NaN or inf in %s; tinywgan writes a checkpoint only after "
                              "checking its numbers, so the file was altered or damaged: use an "
                              "earlier checkpoint or start again" % (path, ", ".join(bad)))
    for name, opt, net in (("opt_d", trainer.opt_d, trainer.D), ("opt_g", trainer.opt_g,
                                                                  trainer.G)):
        try:                                # checked against the params before it is taken
            opt.load_state_dict(_state(arrays, name), net.params)
        except ValueError as e:
            raise CheckpointError("%s: %s: %s" % (path, name, e)) from None
    xp = trainer.xp
    trainer.G.params[...] = xp.asarray(arrays["G/params"])
    if trainer.G_ema is not None:
        trainer.G_ema.params[...] = xp.asarray(arrays["G_ema/params"])
    trainer.D.params[...] = xp.asarray(arrays["D/params"])
    if trainer.D.sn is not None:
        trainer.D.sn.u = [xp.asarray(arrays["D/sn_u%d" % l]) for l in range(trainer.D.L)]
    trainer.t, trainer.seconds = t, seconds


def _state(arrays, name):
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(name + "/")}


def _effective(cfg, field):
    """A field's value as the run uses it ('' optimizer: the method's own)."""
    if field == "optimizer":
        return cfg.optimizer or default_optimizer(cfg.method)
    return getattr(cfg, field)
