"""tinywgan: Wasserstein GANs from scratch in NumPy/CuPy, every gradient derived by hand.

The house, in reading order:

    tinywgan/core/      what a learner reads: layers, the MLP, the penalty's double backward,
                        the losses, clipping and spectral norm, the optimizers, the steps, the
                        loop (``tinywgan.core``'s docstring lists them)
    tinywgan/fast.py    the same steps fused into fewer, larger products (ReLU-family nets)
    tinywgan/measure/   data, metrics, finite differences and gradcheck (the answer key), plots
    tinywgan/job/       the main job: Config, parts, evaluation, checkpoints, run folder, bench,
                        the mode-collapse protocol
    tinywgan/lesson.py  what every lesson (demos/) shares
    tinywgan/exercises/ tinywgan/bugzoo/   the workbook and its grader; classic mistakes
    tinywgan/backend.py tinywgan/validate.py   the array module, and the checks at the doors

``python -m tinywgan --help`` for the commands.

The names below load their module on first use (PEP 562), so ``from tinywgan import lesson``
does not load NumPy: a lesson sets the BLAS thread count before NumPy reads it.
"""
import importlib

__version__ = "0.2.0"
__all__ = ["MLP", "Trainer", "TrainingJob", "array_module", "get_activation", "get_array_module",
           "make_config", "to_numpy"]
_HOME = {"MLP": "core.mlp", "Trainer": "core.steps", "TrainingJob": "job.training",
         "make_config": "job.config", "array_module": "backend", "get_activation": "core.mlp",
         "get_array_module": "backend", "to_numpy": "backend"}


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError("module 'tinywgan' has no attribute %r" % name)
    return getattr(importlib.import_module("." + _HOME[name], __name__), name)
